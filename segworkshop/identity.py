"""People, not ids: a person's anonymous and logged-in ids counted as one unit, the way each vendor merges them.

Exports name a person by more than one id. Mixpanel's ``distinct_id`` is ``$device:<id>`` until the login and
the user id after it; Segment sends ``anonymousId`` before ``identify`` and ``userId`` after; GA4 has one
``user_pseudo_id`` per device and a ``user_id`` once signed in. Counted raw, each person is two units or more:
the baseline drops, start dates move to the login, and the anonymous half looks like a segment of its own.

``data.identity: {known: <logged-in id>, anonymous: <device / anonymous id>}`` (each a column spec, as in the
presets; each preset that needs one sets it, ``identity: false`` switches it off). A unit's id is, per event:

1. the known id, when the event carries one;
2. else the known id its anonymous id was **first** seen with: the earliest row carrying both ids (ties at that
   instant: the smallest known id), so one device shared by two people goes to the first who logged in;
3. else the event's own user id (the preset's ``user_id``), else its anonymous id: someone who never logs in
   is one person per id.

The links (one row per anonymous id) are one aggregate over the rows that carry both ids, optionally with a
table of links of its own (``links:``, e.g. Segment's warehouse ``identifies``), built once per opened workshop
and joined to the events: an engine expression, never a loop over events.

Amplitude (``amplitude_id``), PostHog (``person_id``) and Heap (``user_id``) export ids the vendor has already
merged: their presets read that id and need no links.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:  # config.py reads identity rules without loading the engine
    import ibis.expr.types as ir

KNOWN, ANONYMOUS = "_sw_known", "_sw_anonymous"


@dataclass(frozen=True)
class IdentityRule:
    """Which id is the logged-in person and which the device (column specs), plus an optional links table."""

    known: Any
    anonymous: Any
    links: Any = None  # a source (path or {table: …}) of rows with both ids, e.g. Segment's `identifies`


def parse_identity(raw: Any, where: str = "") -> IdentityRule | bool | None:
    """``data.identity``: absent (None: the preset's rule), ``false`` (off) or ``{known, anonymous[, links]}``."""
    if raw is None:
        return None
    if raw is False or (isinstance(raw, str) and raw.lower() in ("off", "none", "false")):
        return False
    if (
        not isinstance(raw, Mapping)
        or not {"known", "anonymous"} <= set(raw)
        or set(raw)
        - {
            "known",
            "anonymous",
            "links",
        }
    ):
        raise ConfigError(
            f"{where}`data.identity` must be `false` (count each id as it is) or a mapping "
            "`{known: <the logged-in id column>, anonymous: <the device / anonymous id column>}` "
            "(optionally `links: {table: identifies}`), e.g. `{known: userId, anonymous: anonymousId}`."
        )
    for key in ("known", "anonymous"):
        value = raw[key]
        if not isinstance(value, (str, list)):
            raise ConfigError(f"{where}`data.identity.{key}` must be a column name or path, found {value!r}.")
    return IdentityRule(known=raw["known"], anonymous=raw["anonymous"], links=raw.get("links"))


def id_links(pairs: ir.Table) -> ir.Table:
    """One row per anonymous id: the known id it was first seen with (ties: the smallest), from rows of
    ``(_sw_anonymous, _sw_known, timestamp)``."""
    both = pairs.filter(pairs[ANONYMOUS].notnull() & pairs[KNOWN].notnull() & pairs.timestamp.notnull())
    first = both.group_by(ANONYMOUS).aggregate(_sw_first=both.timestamp.min())
    at_first = both.join(first, [both[ANONYMOUS] == first[ANONYMOUS], both.timestamp == first._sw_first])
    return at_first.group_by(both[ANONYMOUS].name(ANONYMOUS)).aggregate(**{KNOWN: at_first[KNOWN].min()})


def stitch(events: ir.Table, links: ir.Table) -> ir.Table:
    """Events whose user_id is the person's: the known id, else the linked one, else the event's own id, else
    its anonymous id.

    ``events`` carries the ``_sw_known`` and ``_sw_anonymous`` columns, which the result drops.
    """
    import ibis

    linked = links.select(_sw_link_anonymous=links[ANONYMOUS], _sw_linked=links[KNOWN])
    joined = events.left_join(linked, events[ANONYMOUS] == linked._sw_link_anonymous)
    person = ibis.coalesce(joined[KNOWN], joined._sw_linked, joined.user_id, joined[ANONYMOUS])
    keep = [c for c in events.columns if c not in (KNOWN, ANONYMOUS)]
    return joined.select(*[person.name("user_id") if c == "user_id" else joined[c] for c in keep])


@dataclass(frozen=True)
class IdentitySummary:
    """How many ids of the export became how many people (for validate)."""

    ids: int  # distinct user ids as exported (the preset's user_id, before stitching)
    people: int  # distinct units after stitching
    linked: int  # anonymous ids joined to a logged-in person

    def sentence(self, rule: str) -> str:
        if self.ids == self.people:
            return f"identity ({rule}): {self.people:,} people; no anonymous id needed merging."
        return (
            f"identity ({rule}): {self.ids:,} ids in the export merged into {self.people:,} people "
            f"({self.linked:,} anonymous ids joined the person who logged in on them)."
        )


def summarize_identity(unstitched: ir.Table, stitched: ir.Table, links: ir.Table) -> IdentitySummary:
    """Distinct ids before and after stitching, and the number of links: three counts."""
    ids = int(unstitched.user_id.nunique().to_pyarrow().as_py() or 0)
    people = int(stitched.user_id.nunique().to_pyarrow().as_py() or 0)
    linked = int(links.count().to_pyarrow().as_py() or 0)
    return IdentitySummary(ids=ids, people=people, linked=linked)
