"""Discover what no one hypothesised: scan traits and behaviours for the segments whose success differs most.

What is scanned, without being told:

* every **trait** fit to segment on (text with at most ``max_values`` values; numbers cut into quartiles), by the
  shared rule of traitrules.py: never an id, a time stored as a number, or a duplicate of a preset's trait;
* every **behaviour** "did X in the first ``behaviour_days`` days after the start", by the same landmark rule
  as every behaviour segment (population.py): measured over ``[start, start + N days)`` for every unit and
  compared on success after day N among the units not yet successful at day N (the others are left out and
  counted) — never the success events themselves, nor events that only happen after success (≥ 95% of the
  successful units that did X did it only after succeeding). Behaviours that are simply earlier steps of the
  success path (90% of the successful units did them first, or a step of a sequence definition) are kept and
  labelled ``path``: a team needs to see them, but they are not discoveries. The window is ``behaviour_days``
  (7); when the success window is no longer than that, half the success window (whole days, at least 1);
* **frequency**: days a week doing each of the ``frequent`` most common events in the same window (at least 7
  days, so skipped when the success window is 7 days or less), with a tipping point found for each;
* **pairs** of the strongest single conditions (A = a and B = b), among the units compared on both.

The events are read in two passes, whatever the number of candidates: one aggregate for the unit table
(start, success, when each event column first has a value), then one join of the events to it that counts every
behaviour, times every event around success and picks the traits' first values (:func:`scan_candidates`); the
rest are small queries on the event names and columns, and on the cached per-unit table.

Units whose success window is still open are left out of everything (censoring). Each candidate group is
compared with the rest of the units compared on its segment by the kit's test rule; Benjamini–Hochberg runs over
**every** candidate evaluated — and, since pairs are picked after looking at the singles, over every pair that
could have been picked (counted as p = 1 when not computed). Both numbers are reported. Candidates are ranked
by the binomial quality
``sqrt(n / N) · (rate − baseline rate)`` (size and lift balanced; docs/statistics.md, 10), after a minimum size of
``max(30, privacy threshold)`` units.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from . import stats, traitrules
from .compare import count_segments, json_rows, require_outcomes, require_success_events
from .errors import DataError
from .memo import per_state
from .population import DEFAULT_BEHAVIOUR_DAYS, LEFT_OUT, Population, population, require_window
from .segments import (
    MISSING,
    Segment,
    finish_behaviour,
    parse_segment,
    segment_table,
)
from .unit_table import UNIT_COLUMNS, days_interval, present
from .worksheet import RELIABLE_UNITS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from .workshop import Workshop

MIN_UNITS = RELIABLE_UNITS
RECORDED_ON_SUCCESS = 0.95  # the share of an event column's values on the success events that makes it a leak
ROW_KEYS = ("kind", "segment", "value", "units", "successes", "rate", "lift", "p_value", "q_value")


@dataclass
class Discovery:
    """The scan's result: ranked rows, how many candidates were evaluated, tipping points found."""

    rows: pd.DataFrame
    evaluated: int
    baseline: dict[str, Any]
    family: int = 0  # the comparisons the correction covers: evaluated, plus pairs that could have been picked
    tipping: dict[str, stats.TippingPoint] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    excluded_events: dict[str, str] = field(default_factory=dict)  # event -> why it was not scanned
    population: Population | None = None
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)  # behaviour -> units left out at its landmark
    family_note: str = ""  # set when a session ledger gave the q-values (ledger.py)
    counts: Any = None  # the SegmentCounts of every scanned segment (reused, e.g. by the ledger)

    def to_dict(self, max_rows: int | None = None) -> dict[str, Any]:
        rows = self.rows if max_rows is None else self.rows.head(max_rows)
        out = json_rows(rows, ROW_KEYS)
        return {
            "baseline": self.baseline,
            "evaluated": self.evaluated,
            "family": self.family,
            "correction": "fdr_bh",
            "rows": out,
            "tipping_points": {k: {**tp.__dict__, "cut": str(tp.cut)} for k, tp in self.tipping.items()},
            "excluded_events": self.excluded_events,
            "left_out": {
                "too_recent": self.population.too_recent if self.population else 0,
                "too_recent_note": self.population.describe() if self.population else "",
                "succeeded_in_window": self.left_out,
            },
        }


def _safe_name(prefix: str, name: str) -> str:
    return prefix + re.sub(r"\W+", "_", str(name)).strip("_")


def behaviour_window(ws: Workshop, behaviour_days: float = DEFAULT_BEHAVIOUR_DAYS) -> float:
    """The window discovery measures behaviours in: ``behaviour_days`` when the success window is longer; else
    half the success window, in whole days, at least 1 (the landmark needs success time left after it)."""
    within = ws.config.success.within_days
    if within is None or behaviour_days < within:
        return float(behaviour_days)
    return max(1.0, float(math.floor(within / 2)))


@dataclass
class Candidates:
    """What discover scans: the segments, the events left out (and why), the behaviours on the success path, and
    the per-unit table (every started unit) carrying the traits and behaviour counts they are labelled from."""

    segments: list[Segment]
    excluded: dict[str, str]
    path: set[str]
    units: ir.Table


def candidate_segments(
    ws: Workshop, *, max_values: int = 12, behaviour_days: float = DEFAULT_BEHAVIOUR_DAYS, frequent: int = 3
) -> tuple[list[Segment], dict[str, str], set[str]]:
    """The segments discovery scans, the events left out (and why), and the behaviours on the success path."""
    base = unit_anchors(ws).cache()
    found = scan_candidates(
        ws, base, population(ws, base), max_values=max_values, behaviour_days=behaviour_days, frequent=frequent
    )
    return found.segments, found.excluded, found.path


def unit_anchors(ws: Workshop) -> ir.Table:
    """The unit table discover starts from, in one aggregate over the events: start, success, and for every
    event column the instant of its first value (the values are picked in :func:`_unit_pass`)."""
    return ws.unit_table(traits=_event_trait_columns(ws), first_values=False)


def _event_trait_columns(ws: Workshop) -> list[str]:
    """Event columns that can carry a trait the users (accounts) table does not have (as trait_profile lists)."""
    table = ws.trait_table
    own = set(table.columns) if table is not None else set()
    return [c for c in ws.event_trait_columns() if c not in own]


def scan_candidates(
    ws: Workshop,
    base: ir.Table,
    pop: Population,
    *,
    max_values: int = 12,
    behaviour_days: float = DEFAULT_BEHAVIOUR_DAYS,
    frequent: int = 3,
) -> Candidates:
    """The candidates (module docstring) from ``base`` (:func:`unit_anchors`, cached) and its population: every
    behaviour, the events' timing around success and the traits' first values come from one pass over the
    events (:func:`_unit_pass`); the rest are small queries on the event names and columns."""
    from .profile import event_counts, trait_profile

    window = behaviour_window(ws, behaviour_days)
    counts = event_counts(ws.events_with_placeholder_ids, users=False)  # event names only: no id is read
    success_events = set(ws.config.success.events)
    if ws.config.success.start is not None:
        success_events.add(ws.config.success.start.event)
    # the units as the baseline counts them (started, window closed); an event column whose values (>= 95%) are
    # recorded on the success events only exists once a unit has succeeded: it says nothing about who will
    traits = trait_profile(ws, pop.mature, on_events=sorted(ws.config.success.events))  # not the start: known then
    leaks = list(traits[(traits.source == "events") & (traits.on_events >= RECORDED_ON_SUCCESS)].column)
    excluded_traits = {c: "recorded on the success event" for c in leaks}
    traits = traits[~traits.column.isin(leaks)]
    segments: list[Segment] = []
    numeric = []
    for t in traits.itertuples():
        if traitrules.excluded(t.verdict):  # ids, times stored as numbers, duplicates: never scanned nor binned
            continue
        if t.type == "text" or t.type == "yes/no":
            if 2 <= t.values <= max_values:
                segments.append(parse_segment(t.column))
        elif t.type in ("integer", "number") and t.values > 1:
            numeric.append(t.column)
    candidates = [e for e in counts.event if e not in success_events]
    excluded = {e: "part of the success definition" for e in success_events if e in set(counts.event)}
    excluded.update(excluded_traits)
    did = {e: parse_segment({"name": _safe_name("did_", e), "did": e, "within_days": window}) for e in candidates}
    days = {}
    if window >= 7:  # every candidate's days a week: which ones are kept is known after the pass
        days = {
            e: parse_segment({"name": _safe_name("days_", e), "frequency": e, "window_days": window})
            for e in candidates
        }
    chosen = [s.column for s in segments] + numeric
    event_traits = _event_trait_columns(ws)
    picks = [c for c in chosen if c in event_traits]
    units = _unit_pass(ws, base, event_traits, picks, [*did.values(), *days.values()], candidates).cache()
    units = _with_table_traits(ws, units, [c for c in chosen if c not in event_traits])
    segments += _quartile_bins(units, numeric)
    timing = _timing(units, candidates)
    path = set(ws.config.success.events) if ws.config.success.kind == "sequence" else set()
    for event in candidates:
        row = timing.get(event)
        if row and row["after_only_share"] >= 0.95:
            excluded[event] = "happens only after success"
            continue
        if row and row["before_share"] >= 0.90:
            path.add(event)
        segments.append(did[event])
    segments += [days[e] for e in candidates if e in days and e not in excluded][:frequent]
    return Candidates(segments, excluded, path, units)


@ibis.udf.agg.builtin
def bit_or(value: int) -> int:
    """The bitwise OR of the values (DuckDB, PostgreSQL and Spark SQL all have ``bit_or``)."""


WORD_BITS = 31  # bits per word of a bit set: 1 << 30 still fits the 32-bit integer every engine shifts


def _bit_set(name: str, size: int, position: ir.IntegerValue, where: ir.BooleanValue) -> dict[str, ir.Value]:
    """Aggregates holding, per group, the set of ``position`` values (0 .. size − 1) of the rows ``where`` holds,
    as the bits of words ``<name>0``, ``<name>1``… (:func:`_bit` reads them): one aggregate per 31 positions
    instead of one count per position."""
    word = position // WORD_BITS
    bit = ibis.literal(1, "int32") << (position % WORD_BITS).cast("int32")  # PostgreSQL shifts by an integer
    return {f"{name}{w}": bit_or(bit, where=where & (word == w)) for w in range(math.ceil(size / WORD_BITS))}


def _bit(table: ir.Table, name: str, position: int) -> ir.IntegerValue:
    """1 when ``position`` is in the bit set ``name`` of :func:`_bit_set`, else 0."""
    return (table[f"{name}{position // WORD_BITS}"].fill_null(0) // 2 ** (position % WORD_BITS)) % 2


def _any_bit(table: ir.Table, name: str, low: int, high: int) -> ir.IntegerValue:
    """1 when any position in ``[low, high)`` is in the bit set ``name``, else 0: one test per word."""
    tests = []
    for word in range(low // WORD_BITS, (high - 1) // WORD_BITS + 1):
        first, last = max(low, word * WORD_BITS) % WORD_BITS, (min(high, (word + 1) * WORD_BITS) - 1) % WORD_BITS
        mask = (1 << (last + 1)) - (1 << first)
        tests.append((table[f"{name}{word}"].fill_null(0) & mask) != 0)
    return ibis.or_(*tests).ifelse(1, 0)


def _unit_pass(
    ws: Workshop,
    base: ir.Table,
    event_traits: list[str],
    picks: list[str],
    behaviours: list[Segment],
    events: list[str],
) -> ir.Table:
    """One pass over the events, joined to their unit's start and success: for every behaviour ``_b_<name>``
    (did X: 1 when the unit had the event in the window, else 0; how often: the days with it, then per week),
    per event whether the unit had one before success (``_bf<j>``, 1 or 0) and at or after it (``_af<j>``),
    since the start, and the first value of each event trait in ``picks``. Adds these columns to ``base``
    (whose ``_tf<i>`` instants it consumes).

    The behaviours are discover's: "did X" and "days doing X" for events X of ``events``, over one window. One
    aggregate per unit, of a few bit sets (:func:`_bit_set`): which (event, day since the start's calendar day)
    pairs occur in the window, and which (event, before or after success) pairs occur; so neither a grouping per
    unit and day nor a count per event and day is needed. Before it, only the rows that count are kept: at a
    trait's first instant, or of a scanned event at or after the start (for a unit without success, inside the
    window only)."""
    keep = [c for c in base.columns if not c.startswith("_tf")]
    if not behaviours and not picks:
        return base.select(*keep)
    windows = {s.window for s in behaviours}
    if len(windows) > 1 or any(s.step.where or s.step.event not in events for s in behaviours):
        raise ValueError("discover's behaviours are plain events of the scan over one window")
    window = windows.pop() if behaviours else 0.0
    days = math.floor(window) + 2  # calendar days a window of `window` days can touch, with room to spare
    firsts = {f"_tf{k}": base[f"_tf{event_traits.index(c)}"] for k, c in enumerate(picks)}
    anchor = base.select(_u=base.unit_id, _start=base.start_at, _won=base.success_at, **firsts)
    e = ws.unit_events_with_placeholder_ids  # joined to the units: a "NULL" id matches none
    joined = e.join(anchor, e[ws.unit_key] == anchor._u)
    ts = joined.timestamp
    # each row's event as its index in `events` (null: not scanned), so that the tests below compare integers
    none = ibis.null("int64")
    index = ibis.cases(*((joined.event == n, j) for j, n in enumerate(events)), else_=none) if events else none
    since = ts >= joined._start
    inside = (since & (ts < joined._start + days_interval(window))).fill_null(False)
    flags = {
        "_in": inside,
        "_before": (since & (ts < joined._won)).fill_null(False),  # a unit without success has neither
        "_after": (ts >= joined._won).fill_null(False),
    }
    at_first = {
        f"_at{k}": ((ts == joined[f"_tf{k}"]) & present(joined[c])).fill_null(False) for k, c in enumerate(picks)
    }
    day = ibis.ifelse(inside, ts.date().delta(joined._start.date(), unit="day"), 0)
    rows = joined.mutate(_j=index, **flags, **at_first, _day=day)
    scanned = rows._j.notnull() & ibis.or_(*(rows[f] for f in flags))
    rows = rows.filter(ibis.or_(scanned, *(rows[f] for f in at_first)) if at_first else scanned)
    aggs = {
        **_bit_set("_d", len(events) * days, rows._j * days + rows._day, rows._in),
        **_bit_set("_t", 2 * len(events), 2 * rows._j + rows._after.ifelse(1, 0), rows._before | rows._after),
        **{c: rows[c].min(where=rows[f"_at{k}"]) for k, c in enumerate(picks)},
    }
    per_unit = rows.group_by(rows._u).aggregate(**aggs)
    position = {name: j for j, name in enumerate(events)}
    columns: dict[str, ir.Value] = {}
    for s in behaviours:  # did: any day with the event (one test per word); how often: the days, one test each
        low = position[s.step.event] * days
        if s.kind == "frequency":
            columns[f"_b_{s.name}"] = sum(_bit(per_unit, "_d", low + d) for d in range(days)).cast("int64")
        else:
            columns[f"_b_{s.name}"] = _any_bit(per_unit, "_d", low, low + days)
    for j in range(len(events)):
        columns[f"_bf{j}"], columns[f"_af{j}"] = _bit(per_unit, "_t", 2 * j), _bit(per_unit, "_t", 2 * j + 1)
    columns.update({c: per_unit[c] for c in picks})
    per_unit = per_unit.select(_u=per_unit._u, **columns)
    out = base.left_join(per_unit, base.unit_id == per_unit._u).select(*keep, *columns)
    timing = [f"_{k}{j}" for j in range(len(events)) for k in ("bf", "af")]
    return finish_behaviour(out.fill_null(dict.fromkeys(timing, 0)), behaviours)


def _with_table_traits(ws: Workshop, units: ir.Table, columns: list[str]) -> ir.Table:
    """``columns`` of the users (accounts) table joined on, as the unit table joins them (a column named like
    one of its own is not taken)."""
    columns = [c for c in columns if c not in UNIT_COLUMNS]
    if not columns:
        return units
    table = ws.trait_table.select(ws.unit_key, *columns)
    joined = units.left_join(table, units.unit_id == table[ws.unit_key])
    return joined.select(*units.columns, *columns)


def _quartile_bins(units: ir.Table, columns: list[str]) -> list[Segment]:
    """Numeric traits cut at their (unit-level) quartiles, over every started unit."""
    if not columns:
        return []
    aggs = {}
    for i, c in enumerate(columns):
        for j, q in enumerate((0.25, 0.5, 0.75)):
            aggs[f"q{i}_{j}"] = units[c].cast("float64").quantile(q)
    row = units.aggregate(**aggs).to_pandas().iloc[0]
    out = []
    for i, c in enumerate(columns):
        edges = sorted({float(row[f"q{i}_{j}"]) for j in range(3) if not pd.isna(row[f"q{i}_{j}"])})
        if len(edges) >= 1:
            out.append(parse_segment({"name": c, "column": c, "bins": edges}))
    return out


def _timing(units: ir.Table, events: list[str]) -> dict[str, dict[str, float]]:
    """Per event, among successful units: the share that did it before success, and the share that did it
    only after success (of those that did it at all since the start), from :func:`_unit_pass`'s counts."""
    if not events:
        return {}
    won = units.filter(units.success)
    aggs: dict[str, ir.Value] = {"_total": won.count()}
    for j in range(len(events)):
        before, after = won[f"_bf{j}"] > 0, won[f"_af{j}"] > 0
        aggs[f"u{j}"] = (before | after).ifelse(1, 0).sum()
        aggs[f"b{j}"] = before.ifelse(1, 0).sum()
        aggs[f"o{j}"] = (~before & after).ifelse(1, 0).sum()
    row = won.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    total = int(row["_total"] or 0)
    out = {}
    for j, event in enumerate(events):
        did, before, after_only = (int(row[f"{k}{j}"] or 0) for k in ("u", "b", "o"))
        if did:
            out[event] = {
                "before_share": (before / total) if total else 0.0,
                "after_only_share": after_only / did,
            }
    return out


class Scan:
    """A prepared scan: candidate segments decided and the per-unit table built once (cached in the engine),
    so that :meth:`run` can be repeated cheaply, e.g. over shuffled outcomes."""

    def __init__(
        self,
        ws: Workshop,
        *,
        max_values: int = 12,
        behaviour_days: float = DEFAULT_BEHAVIOUR_DAYS,
        frequent: int = 3,
        pairs_of: int = 6,
        min_units: int | None = None,
    ) -> None:
        require_window(ws, "discover")
        stats.warm_up()  # scipy and statsmodels load while the engine scans
        require_success_events(ws, "discover")
        base = unit_anchors(ws).cache()  # one aggregate over the events, read by every step below
        self.population = population(ws, base)
        if self.population.mature:
            require_outcomes(ws, self.population, "discover")
        found = scan_candidates(
            ws, base, self.population, max_values=max_values, behaviour_days=behaviour_days, frequent=frequent
        )
        self.segments, self.excluded, self.path = found.segments, found.excluded, found.path
        self.minimum = max(MIN_UNITS, ws.config.privacy_min_units) if min_units is None else min_units
        self.pairs_of = pairs_of
        if not self.segments:
            raise DataError(
                "discover has nothing to scan: no trait fit to segment on and no event besides the success "
                f"definition ({', '.join(ws.config.success.events)}). Add trait columns (a users table, or event "
                "columns such as platform) or export the other events users do, then run it again."
            )
        self.table = segment_table(ws, self.segments, units=found.units).cache()

    def run(self, shuffle: int | None = None) -> Discovery:
        """Test, correct and rank; ``shuffle=seed`` permutes the success flag across units first (a null
        check: what chance alone "discovers" here; nothing should survive the correction in ~19 of 20 seeds)."""
        segments = self.segments
        table = _permute_success(self.table, shuffle) if shuffle is not None else self.table
        names = [s.name for s in segments]
        counted = count_segments(table, names, with_pairs=False)
        counts = counted.singles
        pop = self.population
        total_n, total_x = pop.mature, pop.successes
        base_rate = pop.rate
        by_name = {s.name: s for s in segments}
        kinds = {s.name: _kind(s, self.path) for s in segments}
        singles = counts[(counts.value != MISSING)].copy()
        singles = singles[~((singles.value == "no") & singles.segment.map(lambda n: by_name[n].kind == "did"))]
        singles["kind"] = singles.segment.map(kinds)
        rows = [
            _row(r.kind, r.segment, r.value, int(r.units), int(r.successes), *counted.totals(r.segment))
            for r in singles.itertuples()
        ]
        df = pd.DataFrame(rows, columns=[*ROW_KEYS, "quality", "test", "compared"])
        big = df[df.units >= self.minimum]
        strongest = big.assign(a=big.quality.abs()).sort_values(  # ties by name, as below: engine-independent
            ["a", "units", "segment", "value"], ascending=[False, False, True, True], kind="stable"
        )
        strongest = strongest[strongest.kind.isin(["trait", "behaviour"])].head(self.pairs_of)
        pair_rows = _pairs(table, strongest)
        df = pd.concat([df, pd.DataFrame(pair_rows)], ignore_index=True) if pair_rows else df
        df = df[df.units >= self.minimum].reset_index(drop=True)
        # next to each comparison, the units it leaves out and why (a reader can recount)
        df["left_out_too_recent"] = pop.too_recent
        df["left_out_succeeded_in_window"] = (pop.mature - df["compared"]).astype("int64")
        evaluated = len(df)
        # the pairs were picked after looking at the singles: every pair that could have been picked is in the
        # family (as p = 1 when not computed), or the correction would not cover the selection
        family = len(big) + _possible_pairs(big) if pair_rows else evaluated
        df["q_value"] = stats.adjust(df["p_value"].to_numpy(), "fdr_bh", family=family)
        df["abs_quality"] = df.quality.abs()
        # ties (two names for the same group of units) broken by name: the same order on every engine and run
        df = df.sort_values(
            ["abs_quality", "units", "segment", "value"], ascending=[False, False, True, True], kind="stable"
        ).drop(columns="abs_quality")
        df = df.reset_index(drop=True)
        tipping = {}
        for s in segments:
            if s.kind == "frequency":
                part = counts[(counts.segment == s.name) & (counts.value != MISSING)]
                part = part.set_index("value")[["units", "successes"]].reindex(s.labels(), fill_value=0)
                if (part.units > 0).sum() >= 2:
                    tipping[s.name] = stats.tipping_point_in_counts(
                        list(part.index), part.successes.to_numpy(), part.units.to_numpy()
                    )
        return Discovery(
            rows=df,
            evaluated=evaluated,
            family=family,
            baseline={"units": total_n, "successes": total_x, "rate": base_rate},
            tipping=tipping,
            segments=segments,
            excluded_events=self.excluded,
            population=pop,
            left_out=counted.left_out,
            counts=counted,
        )


@per_state
def discover(ws: Workshop, *, shuffle: int | None = None, **options: Any) -> Discovery:
    """Scan, test, correct and rank (see the module docstring); options as :class:`Scan`."""
    return Scan(ws, **options).run(shuffle)


def _permute_success(table: Any, seed: int) -> Any:
    """The same units and the same number of successes, the flags shuffled (a seeded permutation)."""
    import ibis

    keyed = table.mutate(
        _pos=ibis.row_number().over(order_by=table.unit_id),
        _shuffled=ibis.row_number().over(order_by=[(table.unit_id + f"|{seed}").hash(), table.unit_id]),
    )
    flags = keyed.select(_to=keyed._shuffled, _flag=keyed.success)
    joined = keyed.join(flags, keyed._pos == flags._to)
    return joined.select(*[c for c in table.columns if c != "success"], success=joined._flag)


def _kind(s: Segment, path: set[str]) -> str:
    if s.kind in ("trait", "bins"):
        return "trait"
    if s.kind == "did" and s.step.event in path:
        return "path"
    if s.kind == "frequency":
        return "frequency"
    return "behaviour"


def _row(kind: str, segment: str, value: str, n: int, x: int, total_n: int, total_x: int) -> dict[str, Any]:
    rest_n, rest_x = total_n - n, total_x - x
    rate = x / n if n else math.nan
    base = total_x / total_n if total_n else math.nan
    test = stats.two_proportion_test(x, n, rest_x, rest_n)
    return {
        "kind": kind,
        "segment": segment,
        "value": value,
        "units": n,
        "successes": x,
        "rate": rate,
        "lift": stats.lift(x, n, rest_x, rest_n),
        "p_value": test.p_value,
        "q_value": math.nan,
        # size and lift balanced, against the units compared on this segment (a behaviour's own population)
        "quality": math.sqrt(n / total_n) * (rate - base) if total_n and n else 0.0,
        "test": test.method,
        "compared": total_n,  # the units this row is compared among (a behaviour's: not yet successful)
    }


def _possible_pairs(singles: pd.DataFrame) -> int:
    """How many pairs of single conditions from different segments there are to pick from."""
    sizes = singles.groupby("segment").size()
    total = int(sizes.sum())
    return int((total * total - int((sizes * sizes).sum())) // 2)


def _pairs(table: Any, strongest: pd.DataFrame) -> list[dict[str, Any]]:
    """Units in both of two strong single groups (from different segments), counted in one query."""
    conditions = list(strongest[["segment", "value"]].itertuples(index=False, name=None))
    combos = [(a, b) for i, a in enumerate(conditions) for b in conditions[i + 1 :] if a[0] != b[0]]
    if not combos:
        return []
    aggs = {}
    for k, ((sa, va), (sb, vb)) in enumerate(combos):
        both = (table[sa] == va) & (table[sb] == vb)
        compared = (table[sa] != LEFT_OUT) & (table[sb] != LEFT_OUT)  # the units compared on both (landmark)
        aggs[f"n{k}"] = both.ifelse(1, 0).sum()
        aggs[f"x{k}"] = (both & table.success).ifelse(1, 0).sum()
        aggs[f"N{k}"] = compared.ifelse(1, 0).sum()
        aggs[f"X{k}"] = (compared & table.success).ifelse(1, 0).sum()
    row = table.aggregate(**aggs).to_pandas().iloc[0]
    out = []
    for k, ((sa, va), (sb, vb)) in enumerate(combos):
        n, x = int(row[f"n{k}"] or 0), int(row[f"x{k}"] or 0)
        if n:
            pop_n, pop_x = int(row[f"N{k}"] or 0), int(row[f"X{k}"] or 0)
            pair = _row("pair", f"{sa} & {sb}", f"{va} & {vb}", n, x, pop_n, pop_x)
            out.append({**pair, "pair": [sa, va, sb, vb]})  # the parts, for a reader (and the ledger's key)
    return out


__all__ = ["Candidates", "Discovery", "Scan", "candidate_segments", "discover", "scan_candidates", "unit_anchors"]
