"""The session's ledger: every comparison a working session computes, corrected together, one q per comparison.

A session looks at the data on many pages — the segmented dashboard, the hypotheses, the tipping points, the
scoop (discover's scan and every other trait), the unsuccessful-users profile. Correcting each page on its own
would give one comparison several q-values (and a weaker guarantee than any page claims). The ledger lists the
comparisons of all those pages once, keyed by *what* is compared (the segment's definition, not its name:
``used_search`` on the dashboard and ``did_search`` in discover are the same comparison when their windows
agree), and runs one Benjamini–Hochberg correction over the union — plus, as discover does, every pair of
conditions it could have picked (counted as p = 1). Each page then shows the ledger's q.

The same 2×2 table gives the same p on every page (a value vs the rest of the units compared on its segment;
the unsuccessful-users profile tests that table transposed, and Fisher's exact test does not change under
transposition), so a comparison entered twice is one entry. The hypotheses are in the ledger too (their support
test); their refutation tests get the same correction over a family of the same size (see hypotheses.py).

The ledger is computed once per state of the session (configuration, the journal's decisions and hypotheses,
the data) and kept as JSON in ``<workshop>/.segworkshop/`` so that every step of a report reads the same one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import stats
from .segments import Segment
from .version import __version__

if TYPE_CHECKING:
    from .session import Session
    from .workshop import Workshop

PAGES = ("dashboard", "hypotheses", "tipping points", "other traits", "discover", "unsuccessful users")
CACHE = ".segworkshop"


def segment_key(seg: Segment) -> str:
    """What a segment compares, independent of its name (two names for one definition share a key)."""
    parts = [seg.kind, seg.column or "", ",".join(f"{b:g}" for b in seg.bins), seg.cohort or ""]
    if seg.behavioural:
        parts += [seg.step.describe(), f"{seg.window:g}", str(seg.at_least or "")]
    return "|".join(parts)


def row_key(seg: Segment, value: Any, versus: Any = None) -> str:
    """One comparison: a value of a segment against the rest of the units compared on it (or one other value)."""
    return json.dumps([segment_key(seg), str(value), None if versus is None else str(versus)])


def pair_key(a: Segment, va: Any, b: Segment, vb: Any) -> str:
    """Units in both of two groups against the rest (order-free)."""
    first, second = sorted([(segment_key(a), str(va)), (segment_key(b), str(vb))])
    return json.dumps(["pair", *first, *second])


def tipping_key(seg: Segment) -> str:
    return json.dumps(["tipping", segment_key(seg)])


@dataclass
class Ledger:
    """p-values by comparison key, where each came from, and the uncomputed comparisons that still count."""

    p: dict[str, float] = field(default_factory=dict)
    pages: dict[str, list[str]] = field(default_factory=dict)
    padding: int = 0  # comparisons looked at but not computed (discover's possible pairs): p = 1
    correction: str = "fdr_bh"
    _q_by_key: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)
    _q_state: tuple[int, int] | None = field(default=None, init=False, repr=False, compare=False)

    def add(self, key: str, p_value: float, page: str) -> None:
        """Enter a comparison (once: the same key always has the same p)."""
        if p_value is None or (isinstance(p_value, float) and math.isnan(p_value)):
            return
        self.p.setdefault(key, float(p_value))
        where = self.pages.setdefault(key, [])
        if page not in where:
            where.append(page)

    @property
    def family(self) -> int:
        return len(self.p) + self.padding

    def _q(self) -> dict[str, float]:
        """q by key, corrected over the family as it stands (recomputed when entries or padding change)."""
        state = (len(self.p), self.padding)
        if self._q_state != state:
            keys = list(self.p)
            q = stats.adjust([self.p[k] for k in keys], self.correction, family=self.family)
            self._q_by_key, self._q_state = dict(zip(keys, q, strict=True)), state
        return self._q_by_key

    def q(self, key: str) -> float:
        """The session's q for one comparison (nan if the ledger never computed it)."""
        return float(self._q().get(key, math.nan))

    def others(self, keys: Iterable[str]) -> list[float]:
        """The p-values of every comparison but ``keys``, padding included (as p = 1): the rest of the family."""
        skip = set(keys)
        return [p for k, p in self.p.items() if k not in skip] + [1.0] * self.padding

    def note(self) -> str:
        """The sentence a page prints under its q-values."""
        seen = sorted({page for where in self.pages.values() for page in where}, key=_page_order)
        extra = f", plus {self.padding:,} pairs discover could have picked" if self.padding else ""
        return (
            f"q-values: Benjamini–Hochberg over all {self.family:,} comparisons this session computed "
            f"({', '.join(seen)}{extra}); the same comparison has the same q on every page."
        )

    # ------------------------------------------------------------------ applying it to a page's result

    def apply_comparison(self, result: Any) -> Any:
        """compare()'s result with the ledger's q on every row (in place; returned for chaining)."""
        by_name = {s.name: s for s in result.segments}
        result.rows["q_value"] = [
            self.q(row_key(by_name[r.segment], r.value)) for r in result.rows.itertuples(index=False)
        ]
        result.family_note = self.note()
        result.renote()
        return result

    def apply_discovery(self, found: Any) -> Any:
        """discover()'s result with the ledger's q on every row, and its tipping points' q."""
        by_name = {s.name: s for s in found.segments}
        found.rows["q_value"] = [self.q(_discover_key(r, by_name)) for r in found.rows.itertuples(index=False)]
        found.family = self.family
        found.family_note = self.note()
        return found

    def apply_profile(self, rows: pd.DataFrame, segments: Sequence[Segment]) -> pd.DataFrame:
        """The unsuccessful-users profile with the ledger's q (over-represented: q <= alpha and more)."""
        by_name = {s.name: s for s in segments}
        out = rows.copy()
        out["q_value"] = [self.q(row_key(by_name[r.segment], r.value)) for r in out.itertuples(index=False)]
        out["over_represented"] = (out["q_value"] <= stats.ALPHA) & (out["diff"] > 0)
        return out.sort_values(["over_represented", "diff"], ascending=False, kind="stable").reset_index(drop=True)

    def tipping_q(self, seg: Segment) -> float:
        return self.q(tipping_key(seg))

    # ------------------------------------------------------------------ storage

    def to_json(self) -> str:
        return json.dumps({"p": self.p, "pages": self.pages, "padding": self.padding, "correction": self.correction})

    @classmethod
    def from_json(cls, text: str) -> Ledger:
        raw = json.loads(text)
        return cls(p=raw["p"], pages=raw["pages"], padding=int(raw["padding"]), correction=raw["correction"])


def _page_order(page: str) -> int:
    return PAGES.index(page) if page in PAGES else len(PAGES)


def _discover_key(r: Any, by_name: dict[str, Segment]) -> str:
    if r.kind == "pair":
        sa, va, sb, vb = r.pair  # the parts (a value may itself contain " & ")
        return pair_key(by_name[sa], va, by_name[sb], vb)
    return row_key(by_name[r.segment], r.value)


# --------------------------------------------------------------------------- building it


def usable_other_traits(ws: Workshop, chosen: Sequence[Segment]) -> list[str]:
    """The traits the scoop compares besides the chosen segments: every trait fit to segment on."""
    from .profile import trait_profile

    names = {s.name for s in chosen} | {s.column for s in chosen if s.column}
    traits = [t for t in ws.trait_columns() if t not in names]
    if not traits:
        return []
    fit = trait_profile(ws, ws.baseline()["units"])
    ok = set(fit[fit.verdict == "ok"].column)
    return [t for t in traits if t in ok]


def build_ledger(ws: Workshop, chosen: Sequence[Segment], hypotheses: Sequence[Any] = ()) -> Ledger:
    """Compute every comparison the session's pages show and enter it once (see the module docstring)."""
    from .compare import compare
    from .discover import Scan
    from .hypotheses import check_hypotheses, tipping_point
    from .unsuccessful import profile_rows

    ledger = Ledger()
    min_units = ws.config.privacy_min_units
    profiles = []  # (rows, segments): the profile's tests come from counts the other pages already made
    if chosen:
        dashboard = compare(ws, list(chosen), strata=False)
        by_name = {s.name: s for s in dashboard.segments}
        for r in dashboard.rows.itertuples(index=False):
            ledger.add(row_key(by_name[r.segment], r.value), r.p_value, "dashboard")
        profiles.append((profile_rows(dashboard.counts, min_units), by_name))
        for seg in chosen:
            if seg.ordered and seg.kind != "cohort":
                ledger.add(tipping_key(seg), tipping_point(ws, seg).p_value, "tipping points")
    others = usable_other_traits(ws, chosen)
    if others:
        extra = compare(ws, others, strata=False)
        by_name = {s.name: s for s in extra.segments}
        for r in extra.rows.itertuples(index=False):
            ledger.add(row_key(by_name[r.segment], r.value), r.p_value, "other traits")
    scan = Scan(ws)
    found = scan.run()
    by_name = {s.name: s for s in found.segments}
    for r in found.rows.itertuples(index=False):
        ledger.add(_discover_key(r, by_name), r.p_value, "discover")
    ledger.padding = max(0, found.family - found.evaluated)
    for name, point in found.tipping.items():
        ledger.add(tipping_key(by_name[name]), point.p_value, "discover")
    profiles.append((profile_rows(found.counts, min_units), by_name))
    for rows, names in profiles:  # the profile page: chosen segments and everything discover scans
        for r in rows.itertuples(index=False):
            ledger.add(row_key(names[r.segment], r.value), r.p_value, "unsuccessful users")
    if hypotheses:
        checked = check_hypotheses(ws, hypotheses)
        for h, r in zip(hypotheses, checked.itertuples(index=False), strict=True):
            ledger.add(hypothesis_key(ws, h), r.p_value, "hypotheses")
    return ledger


def hypothesis_key(ws: Workshop, h: Any) -> str:
    from .compare import resolve_segments

    seg = resolve_segments(ws, [h.segment])[0]
    return row_key(seg, h.value, h.versus)


# --------------------------------------------------------------------------- once per state of the session


def fingerprint(ws: Workshop, chosen: Sequence[Segment], hypotheses: Sequence[Any]) -> str:
    """What the ledger depends on: the definitions, the hypotheses, the data (files' size and time) and its end."""
    from .memo import files_stamp
    from .population import data_end

    data = ws.config.data
    files = files_stamp(ws.config)
    end = data_end(ws)
    state = {
        "version": __version__,
        "unit": ws.unit,
        "success": ws.config.success.describe(),
        "segments": [repr(s.spec) for s in chosen],
        "hypotheses": [[repr(h.segment), h.value, h.versus] for h in hypotheses],
        "privacy": ws.config.privacy_min_units,
        "data": files,
        "columns": repr(sorted(data.columns.items())),
        "preset": data.preset,
        # how the data is read: a changed identity rule, zone or time unit changes who and when units are
        "reading": [repr(data.identity), data.time_zone, data.time_unit, repr(data.observed_until)],
        "engine": repr(ws.config.engine),
        "end": end.isoformat() if end else None,
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:20]


def session_ledger(session: Session) -> Ledger:
    """The ledger of a session (a :class:`~segworkshop.session.Session`), computed once per state and kept."""
    ws = session.workshop
    chosen = session.segments()
    hypotheses = session.hypotheses()
    folder = Path(session.folder) / CACHE
    key = fingerprint(ws, chosen, hypotheses)
    path = folder / f"ledger-{key}.json"
    if path.exists():
        try:
            return Ledger.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError):
            pass  # a torn or old file: compute it again
    ledger = build_ledger(ws, chosen, hypotheses)
    try:
        folder.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(ledger.to_json(), encoding="utf-8")
        os.replace(tmp, path)  # atomic: steps running at once read a whole file or none
    except OSError:
        pass  # a read-only folder: the ledger is still right, just not kept
    return ledger


__all__ = ["Ledger", "build_ledger", "pair_key", "row_key", "segment_key", "session_ledger", "tipping_key"]
