"""The explorer of the served room: any one segment, optionally within a subgroup, as compare shows it.

A participant picks a trait (``platform``, a nested path), a behaviour (``{did: search, within_days: 7}``,
``{frequency: login, per: week, window_days: 14}``), bins of a numeric trait (``{column: order_value, bins:
[0, 20, 50]}``) or a configured segment by name, optionally only among the units of one value of a trait
(``within: {segment: platform, value: ios}``), and sees per value: units, successes, the rate with its 95%
Wilson interval, the lift against the rest (of the subgroup), the p-value and the session's q. The spec
(:class:`Exploration`) is plain JSON, so a finding keeps the exact comparison and a report redraws it.

The numbers are compare's (:func:`segworkshop.compare.row_statistics`), counted as every page counts them
(:func:`segworkshop.segments.segment_table`: censoring, the landmark rule for behaviours); the subgroup is a
filter on that engine-side table, so only aggregates come back. Groups under ``privacy.min_units`` are hidden
by :func:`segworkshop.compare.suppress_small` (a second group too when only one would be).

**q.** The explorer's p-values belong to the session's family (ledger.py). When the session's ledger already
holds every comparison of the exploration (same definition, whatever its name: ``channel`` on the dashboard,
``did search in 7 days`` in discover), the q is the ledger's. Otherwise this exploration's p-values are added to
the ledger's family — Benjamini–Hochberg over ``ledger.others(keys)`` (the ledger's p-values, its padding as
p = 1) plus these — and ``family_note`` says so. A subgroup's comparison ("ios users: email vs the rest of ios
users") is never a whole-population one, so it has its own key (:func:`comparison_key`).

**Time.** On DuckDB, ``timeout_s`` bounds the call: past it the running query is interrupted and
:class:`ExplorationTimeout` (a ``DataError`` and a ``TimeoutError``) is raised. The interrupt stops whatever
the workshop's connection runs at that moment, so give a worker its own connection (its own ``Session``) or
bound it from outside. Other engines are checked between the steps only (a running query finishes): a web
worker's own timeout bounds those. Building the session's ledger (:meth:`Session.ledger`, once per state of
the session, then read from disk) is not part of the budget: warm it when the room opens.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from . import stats
from .compare import (
    count_segments,
    hygiene_notes,
    json_rows,
    landmark_note,
    resolve_segments,
    row_statistics,
    suppress_small,
)
from .errors import ConfigError, DataError, did_you_mean, listing
from .ledger import row_key, segment_key
from .population import Population, data_end, mature_condition, population, require_window
from .segments import Segment, parse_segment, segment_label, segment_table

if TYPE_CHECKING:
    from .ledger import Ledger
    from .workshop import Workshop

ROW_KEYS = (
    "value",
    "units",
    "successes",
    "rate",
    "ci_low",
    "ci_high",
    "lift",
    "p_value",
    "q_value",
    "hidden",
)
WITHIN_KINDS = ("trait", "bins", "cohort")  # what can define a subgroup (a behaviour cannot: see _within)
EXAMPLE = "{segment: platform, value: ios}"


# --------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class Exploration:
    """What a participant explores: ``segment`` as workshop.yaml's ``segments:`` takes it (a trait name or
    path, a configured segment's name, or a mapping), and optionally ``within``: ``{segment: <trait>,
    value: <value>}``, only the units with that value. Plain JSON (:meth:`to_dict`), so a finding stores it."""

    segment: Any
    within: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "segment", _segment_spec(self.segment, "segment"))
        if self.within is not None:
            object.__setattr__(self, "within", _within_spec(self.within))

    def to_dict(self) -> dict[str, Any]:
        return {"segment": _plain(self.segment), "within": _plain(self.within) if self.within else None}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Exploration:
        if not isinstance(raw, Mapping) or "segment" not in raw:
            raise ConfigError(
                "an exploration is a mapping with `segment:` (and optionally `within:`), e.g. "
                f"{{segment: channel, within: {EXAMPLE}}}."
            )
        extra = set(raw) - {"segment", "within"}
        if extra:
            raise ConfigError(f"an exploration has `segment` and `within` only; unknown keys {sorted(extra)}.")
        return cls(segment=raw["segment"], within=raw.get("within"))

    def key(self) -> str:
        """A stable id of the spec (the same across processes and key orders): 16 hex digits."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __hash__(self) -> int:
        return hash(self.key())

    def describe(self) -> str:
        """``platform`` / ``did_search within platform = ios``: the spec in a line (before it meets the data)."""
        seg = self.segment if isinstance(self.segment, str) else self.segment.get("name") or _default_name(self.segment)
        if not self.within:
            return str(seg)
        w = self.within["segment"]
        w = w if isinstance(w, str) else w.get("name") or _default_name(w)
        return f"{seg} within {w} = {_as_label(self.within['value'])}"


def _plain(value: Any) -> Any:
    """A JSON-only copy (mappings become dicts, tuples lists); anything else JSON cannot hold is refused."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"an exploration must be plain JSON (text, numbers, lists, mappings): {exc}.") from None


def _segment_spec(raw: Any, where: str) -> Any:
    if isinstance(raw, Segment):
        raw = raw.spec if raw.spec is not None else raw.name
    if isinstance(raw, str):
        if not raw.strip():
            raise ConfigError(f"`{where}` is empty: name a trait (e.g. `platform`) or give a segment mapping.")
        return raw
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"`{where}` is a trait name or a segment mapping such as {{did: search, within_days: 7}}, "
            f"{{frequency: login, per: week, window_days: 14}} or {{column: order_value, bins: [0, 20, 50]}}; "
            f"found {raw!r}."
        )
    spec = _plain(dict(raw))
    _parse(spec, where)  # a malformed mapping fails here, before it meets the data
    return spec


def _within_spec(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or set(raw) != {"segment", "value"}:
        raise ConfigError(f"`within` is a mapping with `segment` and `value`, e.g. {EXAMPLE}; found {raw!r}.")
    value = raw["value"]
    if value is None or isinstance(value, (list, dict)) or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(
            f"`within.value` must be one value of the segment, e.g. {EXAMPLE} (units with no value: "
            f"`(missing)`); found {value!r}."
        )
    spec = _segment_spec(raw["segment"], "within.segment")
    if isinstance(spec, Mapping):
        seg = _parse(spec, "within.segment")
        if seg.kind not in WITHIN_KINDS:
            raise ConfigError(_behaviour_within(seg.name))
    return {"segment": spec, "value": _plain(value)}


def _behaviour_within(name: str) -> str:
    return (
        f"`within.segment` ({name}) is a behaviour: a subgroup is one value of a trait, bins or a cohort. A "
        "behaviour is compared among units not yet successful at its landmark, so a subgroup of it would mix "
        "two definitions of success. Explore the behaviour itself, within a trait (e.g. "
        f"{{segment: {{did: search}}, within: {EXAMPLE}}})."
    )


def _default_name(raw: Mapping[str, Any]) -> str:
    """A name for a mapping given without one: discover's (``did_search``, ``days_login``), else the column."""
    if raw.get("name"):
        return str(raw["name"])
    if raw.get("column"):
        return str(raw["column"])
    for kind, prefix in (("did", "did_"), ("frequency", "days_"), ("count", "count_")):
        if isinstance(raw.get(kind), str):
            return prefix + re.sub(r"\W+", "_", raw[kind]).strip("_")
    if raw.get("cohort") in ("week", "month"):
        return f"first_{raw['cohort']}"
    return "segment"


def _parse(spec: Mapping[str, Any], where: str) -> Segment:
    named = dict(spec)
    if not named.get("name") and not named.get("column"):
        named["name"] = _default_name(named)
    return parse_segment(named, where)


def _as_label(value: Any) -> str:
    """A value as the engine labels it (segment values are text: a yes/no column reads ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def comparison_key(seg: Segment, value: Any, within: Segment | None = None, within_value: Any = None) -> str:
    """The ledger key of one explored row: the ledger's own key (:func:`segworkshop.ledger.row_key`) for the
    whole population, a key of its own for a subgroup (the same definitions, whatever their names)."""
    if within is None:
        return row_key(seg, value)
    return json.dumps(["within", segment_key(within), str(within_value), segment_key(seg), str(value), None])


# --------------------------------------------------------------------------- the result


@dataclass
class ExplorationResult:
    """One exploration, data first: ``rows`` as the room shows them (groups under the privacy threshold
    hidden: ``hidden`` True and no numbers), the units compared, the units left out and why, and how q came."""

    spec: Exploration
    segment: Segment
    unit: str
    success: str
    rows: pd.DataFrame
    baseline: dict[str, Any]  # the units compared (in the subgroup), their successes and rate
    within: dict[str, Any] | None  # segment, value, units judged in the subgroup
    left_out: dict[str, Any]
    family: int  # the comparisons the q-values are corrected over
    family_note: str
    q_source: str  # "ledger" | "ledger + exploration" | "exploration"
    min_units: int
    correction: str = "fdr_bh"
    hygiene: list[str] = field(default_factory=list)
    elapsed_s: float = math.nan

    @property
    def title(self) -> str:
        """``Success by platform, among users with channel = email``."""
        where = f", among {self.unit}s with {self.within['segment']} = {self.within['value']}" if self.within else ""
        return f"Success by {self.segment.name}{where}"

    def to_dict(self) -> dict[str, Any]:
        """JSON for the room: the spec and its key, the rows (``ROW_KEYS`` first), the notes."""
        return {
            "exploration": self.spec.to_dict(),
            "key": self.spec.key(),
            "title": self.title,
            "segment": self.segment.name,
            "definition": self.segment.describe(),
            "within": self.within,
            "unit": self.unit,
            "success": self.success,
            "baseline": self.baseline,
            "rows": json_rows(self.rows, ROW_KEYS),
            "family": self.family,
            "family_note": self.family_note,
            "q_source": self.q_source,
            "correction": self.correction,
            "privacy_min_units": self.min_units,
            "hygiene": self.hygiene,
            "left_out": self.left_out,
            "elapsed_s": self.elapsed_s,
        }

    def finding(self, text: str, tag: str = "learning") -> dict[str, Any]:
        """The journal data of a finding about this exploration (``journal.add("findings", author, data)``):
        the findings log's fields plus ``exploration``, the spec a report redraws it from."""
        if not str(text).strip():
            raise ConfigError("a finding needs its text: what did you find?")
        return {"text": str(text).strip(), "tag": tag, "about": self.title, "exploration": self.spec.to_dict()}


def exploration_of(finding: Mapping[str, Any]) -> Exploration | None:
    """The exploration a finding's data keeps (None for a finding logged without one)."""
    raw = finding.get("exploration") if isinstance(finding, Mapping) else None
    return Exploration.from_dict(raw) if raw else None


class ExplorationTimeout(DataError, TimeoutError):
    """The exploration did not finish within its ``timeout_s``."""


# --------------------------------------------------------------------------- exploring


def explore(
    ws: Workshop,
    spec: Exploration | Mapping[str, Any] | str,
    *,
    ledger: Ledger | None = None,
    timeout_s: float | None = None,
) -> ExplorationResult:
    """Success rate per value of one segment, optionally within a subgroup, with the session's q (module
    docstring). ``spec``: an :class:`Exploration`, its ``to_dict()`` form, or a segment spec alone;
    ``ledger``: the session's (``Session.ledger()``); ``timeout_s``: the time budget (DuckDB: enforced)."""
    started = time.perf_counter()
    spec = _as_spec(spec)
    require_window(ws, "exploring a segment")
    stats.warm_up()
    seg = _resolve(ws, spec.segment, "segment")
    wseg, wvalue = _within(ws, spec, seg)
    with _Budget(ws, timeout_s, spec.describe()) as budget:
        table = segment_table(ws, [seg] if wseg is None else [seg, wseg])  # checks columns, events, landmark
        budget.check()
        pop = population(ws) if wseg is None else _subgroup_population(ws, wseg, wvalue)
        budget.check()
        if wseg is not None:
            table = table.filter(table[wseg.name] == wvalue)  # the subgroup, in the engine
        counts = count_segments(table, [seg.name], with_pairs=False)
        budget.check()
    singles = counts.singles
    if singles.empty:
        raise DataError(_nothing_compared(ws, seg, wseg, wvalue, counts.left_out.get(seg.name, {})))
    min_units = ws.config.privacy_min_units
    notes = hygiene_notes([seg], singles, None, counts, min_units)  # refuses an id-like trait before any test
    singles = singles.assign(_key=[seg.sort_key(v) for v in singles.value]).sort_values("_key", ignore_index=True)
    rows = row_statistics(singles.drop(columns="_key"), counts, {seg.name: seg}, ws, pop)
    keys = [comparison_key(seg, v, wseg, wvalue) for v in rows.value]
    q, family, note, source = session_q(rows["p_value"].to_numpy(dtype=float), keys, ledger)
    rows["q_value"] = q
    shown = suppress_small(rows, min_units)
    shown = shown[[*ROW_KEYS, *[c for c in shown.columns if c not in ROW_KEYS]]]
    n, x = counts.totals(seg.name)
    succeeded = counts.left_out.get(seg.name, {"units": 0, "successes": 0})
    left_out = {
        "too_recent": pop.too_recent,
        "too_recent_note": _too_recent_note(pop, wseg, wvalue),
        "succeeded_in_window": dict(succeeded) if seg.behavioural else {"units": 0, "successes": 0},
        "succeeded_in_window_note": landmark_note(seg, succeeded["units"], ws.unit) if seg.behavioural else "",
    }
    return ExplorationResult(
        spec=spec,
        segment=seg,
        unit=ws.unit,
        success=ws.config.success.describe(),
        rows=shown.reset_index(drop=True),
        baseline={"units": n, "successes": x, "rate": x / n if n else math.nan},
        within=None if wseg is None else {"segment": wseg.name, "value": wvalue, "units": pop.mature},
        left_out=left_out,
        family=family,
        family_note=note,
        q_source=source,
        min_units=min_units,
        correction=ledger.correction if ledger is not None else "fdr_bh",
        hygiene=notes,
        elapsed_s=time.perf_counter() - started,
    )


def session_q(p_values: np.ndarray, keys: list[str], ledger: Ledger | None) -> tuple[np.ndarray, int, str, str]:
    """q-values of one exploration's rows, its family size, the sentence saying how, and where q came from.

    Every key in the ledger: the ledger's q (the same as on every other page). Otherwise Benjamini–Hochberg
    over the ledger's other comparisons (:meth:`Ledger.others`: its p-values and padding) plus these rows.
    Without a ledger: over these rows only.
    """
    k = len(keys)
    if ledger is None:
        q = stats.adjust(p_values)
        note = (
            f"q-values: Benjamini–Hochberg over this exploration's {k} comparisons only (no session ledger: "
            "what else the session looked at is not corrected for)."
        )
        return q, k, note, "exploration"
    if all(key in ledger.p for key in keys):
        return np.array([ledger.q(key) for key in keys]), ledger.family, ledger.note(), "ledger"
    rest = ledger.others(keys)
    q = stats.adjust(np.concatenate([p_values, np.asarray(rest, dtype=float)]), ledger.correction)[:k]
    new = sum(key not in ledger.p for key in keys)
    family = len(rest) + k
    note = (
        f"{ledger.note()} This exploration is not among them: its {new} new comparison{'s' if new != 1 else ''} "
        f"were added to the session's family ({family:,} in all) for the q-values shown here."
    )
    return q, family, note, "ledger + exploration"


def _as_spec(spec: Any) -> Exploration:
    if isinstance(spec, Exploration):
        return spec
    if isinstance(spec, Mapping) and "segment" in spec:
        return Exploration.from_dict(spec)
    return Exploration(segment=spec)


def _resolve(ws: Workshop, raw: Any, where: str) -> Segment:
    """A configured segment by name, a trait (did-you-mean when unknown), or a mapping (named by default)."""
    if isinstance(raw, Mapping):
        return _parse(raw, where)
    try:
        return resolve_segments(ws, [raw])[0]
    except DataError as exc:
        raise DataError(f"`{where}`: {exc}") from None


def _within(ws: Workshop, spec: Exploration, seg: Segment) -> tuple[Segment | None, str | None]:
    if spec.within is None:
        return None, None
    wseg = _resolve(ws, spec.within["segment"], "within.segment")
    if wseg.behavioural:
        raise ConfigError(_behaviour_within(wseg.name))
    if segment_key(wseg) == segment_key(seg):
        raise ConfigError(
            f"`within` is {wseg.name} = {_as_label(spec.within['value'])}, the segment being explored: within one "
            "of its values there is nothing to compare. Pick a subgroup on another trait."
        )
    if wseg.name == seg.name:
        raise ConfigError(
            f"`segment` and `within.segment` are both named {seg.name!r} but define different segments: give one "
            "of them another `name:`."
        )
    return wseg, _as_label(spec.within["value"])


def _subgroup_population(ws: Workshop, wseg: Segment, value: str) -> Population:
    """Started, judged and successful units of one subgroup (one query, every value of the subgroup's segment,
    so that an unknown value is named with the ones there are)."""
    units = ws.unit_table(traits=[wseg.column] if wseg.kind in ("trait", "bins") else [])
    within_days = ws.config.success.within_days
    end = data_end(ws)
    mature = mature_condition(units, within_days, end)
    ripe = mature if mature is not None else ibis.literal(True)
    df = (
        units.group_by(value=segment_label(wseg, units))
        .aggregate(
            started=units.count(),
            mature=ripe.ifelse(1, 0).sum(),
            successes=(ripe & units.success).ifelse(1, 0).sum(),
        )
        .to_pandas()
    )
    values = sorted(df["value"].astype(str), key=wseg.sort_key)
    if value not in values:
        raise DataError(
            f"`within`: {wseg.name} has no value {value!r}.{did_you_mean(value, values)} "
            f"Values of {wseg.name}: {listing(values)}."
        )
    row = df[df["value"].astype(str) == value].iloc[0]
    started, judged = int(row.started), int(row["mature"] or 0)
    if judged == 0:
        raise DataError(
            f"`within`: all {started:,} {ws.unit}s with {wseg.name} = {value} are too recent to judge (their "
            f"{within_days:g}-day success window is still open at the data end). Pick another value, or a shorter "
            "`success.within_days`."
        )
    return Population(
        unit=ws.unit,
        started=started,
        mature=judged,
        successes=int(row.successes or 0),
        too_recent=started - judged,
        data_end=end,
        within_days=within_days,
    )


def _too_recent_note(pop: Population, wseg: Segment | None, value: str | None) -> str:
    sentence = pop.describe()
    if wseg is None or not sentence:
        return sentence
    return sentence.replace(f"{pop.unit}s started", f"{pop.unit}s with {wseg.name} = {value} started", 1)


def _nothing_compared(ws: Workshop, seg: Segment, wseg: Segment | None, value: str | None, left: dict) -> str:
    among = f" with {wseg.name} = {value}" if wseg is not None else ""
    if seg.behavioural and left.get("units"):
        return (
            f"segment {seg.name!r}: every judged {ws.unit}{among} succeeded within its first {seg.window:g} days "
            f"(the behaviour window), so none is left to compare on it. Shorten `{seg.window_key}`."
        )
    return f"segment {seg.name!r}: no {ws.unit}s{among} to compare (see `segworkshop validate`)."


class _Budget:
    """The time budget of one exploration: checked between the steps, and on DuckDB a watchdog that interrupts
    the connection's running query once the budget is spent (again every 50 ms until the call has ended)."""

    def __init__(self, ws: Workshop, timeout_s: float | None, what: str) -> None:
        if timeout_s is not None and not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
            raise ConfigError(f"`timeout_s` must be a number of seconds > 0, found {timeout_s!r}.")
        self.timeout_s, self.what = timeout_s, what
        self.start = time.perf_counter()
        self.fired = False
        self._done = threading.Event()
        con = getattr(ws.con, "con", None) if getattr(ws.con, "name", "") == "duckdb" else None
        self._interrupt = getattr(con, "interrupt", None)

    def __enter__(self) -> _Budget:
        if self.timeout_s is not None and self._interrupt is not None:
            threading.Thread(target=self._watch, name="segworkshop-explore-budget", daemon=True).start()
        return self

    def _watch(self) -> None:
        if self._done.wait(self.timeout_s):
            return
        self.fired = True
        while not self._done.is_set():
            self._interrupt()
            self._done.wait(0.05)

    def check(self) -> None:
        if self.timeout_s is not None and time.perf_counter() - self.start > self.timeout_s:
            self.fired = True
            raise self.error()

    def error(self) -> ExplorationTimeout:
        return ExplorationTimeout(
            f"exploring {self.what} took longer than its {self.timeout_s:g} s and was stopped. Pick a segment with "
            "fewer values or a shorter behaviour window, or allow more time (`timeout_s`)."
        )

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        self._done.set()
        if exc is not None and self.fired and not isinstance(exc, ExplorationTimeout):
            raise self.error() from exc


__all__ = [
    "ROW_KEYS",
    "Exploration",
    "ExplorationResult",
    "ExplorationTimeout",
    "comparison_key",
    "exploration_of",
    "explore",
    "session_q",
]
