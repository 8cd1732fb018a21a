"""Success rate per segment value, against the rest of the units, with honest statistics.

For every value of every segment: units, successes, rate with a Wilson interval, the difference from the
rest with Newcombe's interval, lift (rate / rate of the rest − 1), a p-value by the kit's test rule, and a
Benjamini–Hochberg q-value over every row computed. Next to each row: whether its effect reverses, vanishes or
moves within strata of the other segments (Mantel–Haenszel). Alongside: hygiene (coverage, too many values,
small groups under the privacy threshold, overlapping binary segments).

The engine returns aggregates only: one query gives the counts per value of each segment and per pair of
segments (for the strata checks), so the rows fetched are bounded by segments × values, not by units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from . import privacy, stats
from .errors import DataError, did_you_mean, listing
from .memo import per_state
from .population import LEFT_OUT, Population, data_end, landmark_sentence, period_judged, population, require_window
from .segments import MISSING, NO, YES, Segment, parse_segment, parse_segments, refuse_id_like, segment_table
from .worksheet import ID_LIKE_SHARE, ID_LIKE_VALUES, MAX_SEGMENT_VALUES, RELIABLE_UNITS

if TYPE_CHECKING:
    from .workshop import Workshop

UNRELIABLE_UNITS = RELIABLE_UNITS  # rates on fewer units are shown greyed out
MAX_VALUES = MAX_SEGMENT_VALUES
ROW_KEYS = (
    "segment",
    "value",
    "units",
    "successes",
    "rate",
    "ci_low",
    "ci_high",
    "lift",
    "p_value",
    "q_value",
    "small",
)


def resolve_segments(ws: Workshop, by: Sequence[Any] | None) -> list[Segment]:
    """Segments by name from workshop.yaml, or trait columns, or segment mappings; default: all configured."""
    configured = parse_segments(ws.config.segments)
    if not by:
        if not configured:
            raise DataError(
                "no segments to compare: add `segments: [platform, country]` to workshop.yaml, or name traits with "
                f"`by=`. Traits available: {listing(ws.trait_columns())}."
            )
        return configured
    named = {s.name: s for s in configured}
    out = []
    for item in by:
        if isinstance(item, str) and item in named:
            out.append(named[item])
        elif isinstance(item, str) and not ws.has_trait(item):
            choices = [*named, *ws.trait_columns()]
            raise DataError(
                f"no segment or trait named {item!r}.{did_you_mean(item, choices)} "
                f"Segments: {listing(named) or '(none configured)'}; traits: {listing(ws.trait_columns())}."
            )
        else:
            out.append(parse_segment(item))
    return out


@dataclass
class Comparison:
    """The result of :func:`compare`: data first (``rows``), display elsewhere."""

    unit: str
    success: str
    baseline: dict[str, Any]
    rows: pd.DataFrame
    hygiene: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    min_units: int = 10
    correction: str = "fdr_bh"
    population: Population | None = None
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)  # behaviour segment -> left out at its landmark
    family_note: str = ""  # set when a session ledger gave the q-values (ledger.py)
    pairs: pd.DataFrame | None = None  # counts per pair of segments, for the strata notes
    counts: SegmentCounts | None = None  # the counts the rows come from (reused, e.g. by the ledger)
    alpha: float = stats.ALPHA
    # (segment, value) -> the Simpson check within each other segment: computed once, the notes follow the q
    strata_checks: dict[tuple[str, str], list[stats.StrataCheck]] | None = None

    def renote(self) -> None:
        """Recompute the strata notes from the rows' current q-values (after a ledger replaced them: a note
        that an effect "vanishes" within another segment is only made for rows that are significant)."""
        if self.strata_checks is None or "strata" not in self.rows.columns:
            return
        self.rows["strata"] = [
            _strata_notes(r, self.strata_checks, self.alpha)
            for r in self.rows[["segment", "value", "q_value"]].to_dict("records")
        ]

    @property
    def comparisons(self) -> int:
        """The size of the family corrected together (every row computed)."""
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON contract (stable): unit, success, baseline, rows[...]; extra keys follow."""
        rows = json_rows(self.rows, ROW_KEYS)
        return {
            "unit": self.unit,
            "success": self.success,
            "baseline": self.baseline,
            "rows": rows,
            "comparisons": self.comparisons,
            "correction": self.correction,
            "privacy_min_units": self.min_units,
            "hygiene": self.hygiene,
            "left_out": self.left_out_notes(),
        }

    def left_out_notes(self) -> dict[str, Any]:
        """The units no row counts, and why: too recent to judge (window still open), and per behaviour
        segment those that succeeded before its window ended (landmark)."""
        pop = self.population
        return {
            "too_recent": pop.too_recent if pop else 0,
            "too_recent_note": pop.describe() if pop else "",
            "data_end": pop.to_dict()["data_end"] if pop else None,
            "succeeded_in_window": {
                s.name: {
                    **self.left_out.get(s.name, {"units": 0, "successes": 0}),
                    "window_days": s.window,
                    "note": landmark_note(s, self.left_out.get(s.name, {}).get("units", 0), self.unit),
                }
                for s in self.segments
                if s.behavioural
            },
        }

    def shareable(self) -> pd.DataFrame:
        """Rows as a shared report may show them: groups under the privacy threshold hidden."""
        return suppress_small(self.rows, self.min_units)


def landmark_note(segment: Segment, units: int, unit: str) -> str:
    """ "1,210 users succeeded before day 7: not compared on used_search"."""
    return f"{units:,} {unit}s succeeded before day {segment.window:g}: not compared on {segment.name}."


def json_rows(df: pd.DataFrame, first: Sequence[str]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: the contract's keys first, in order, then the rest; nan → null, ±inf → text."""
    out = []
    for r in df.to_dict(orient="records"):
        row = {k: _json_value(r[k]) for k in first}
        row.update({k: _json_value(v) for k, v in r.items() if k not in first})
        out.append(row)
    return out


def _json_value(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else (float(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, np.bool_):
        return bool(v)
    return v


@per_state
def compare(
    ws: Workshop,
    by: Sequence[Any] | None = None,
    *,
    strata: bool = True,
    alpha: float = stats.ALPHA,
    correction: str = "fdr_bh",
) -> Comparison:
    """Compare success across segments (see the module docstring). ``by``: names, columns or segment specs."""
    require_window(ws, "compare")
    segments = resolve_segments(ws, by)
    stats.warm_up()  # overlaps the unit table's query (the Python work before it would only share the GIL)
    refuse_id_like(ws, segments)
    require_success_events(ws, "compare")
    pop = population(ws)
    if pop.mature == 0:
        raise DataError(_no_units(pop))
    require_outcomes(ws, pop, "compare")
    table = segment_table(ws, segments)
    names = [s.name for s in segments]
    # the crossed cells first only when a second read of the table is cheap (the kept unit table, no behaviour)
    cheap = ws.unit_tables_kept and not any(s.behavioural for s in segments)
    counts = count_segments(table, names, strata and len(names) > 1, crossed=cheap)
    singles, pairs = counts.singles, counts.pairs
    baseline = {"units": pop.mature, "successes": pop.successes, "rate": pop.rate}
    order = {s.name: s for s in segments}
    singles["_key"] = [order[s].sort_key(v) for s, v in zip(singles.segment, singles.value, strict=True)]
    singles["_seg"] = [names.index(s) for s in singles.segment]
    singles = singles.sort_values(["_seg", "_key"], ignore_index=True).drop(columns=["_seg", "_key"])
    rows = row_statistics(singles, counts, order, ws, pop)
    rows["q_value"] = stats.adjust(rows["p_value"].to_numpy(), correction)
    hygiene = hygiene_notes(segments, rows, pairs, counts, ws.config.privacy_min_units)
    checks = None
    if pairs is not None:
        checks = strata_checks(rows, pairs, names)
        rows["strata"] = [
            _strata_notes(r, checks, alpha) for r in rows[["segment", "value", "q_value"]].to_dict("records")
        ]
    return Comparison(
        unit=ws.unit,
        success=ws.config.success.describe(),
        baseline=baseline,
        rows=rows,
        hygiene=hygiene,
        segments=segments,
        min_units=ws.config.privacy_min_units,
        correction=correction,
        population=pop,
        left_out=counts.left_out,
        pairs=pairs,
        alpha=alpha,
        counts=counts,
        strata_checks=checks,
    )


def require_success_events(ws: Workshop, what: str) -> None:
    """Refuse (as validate does) a success definition whose events never occur: every rate would be 0 and
    every comparison empty, reported as if it were a finding. One aggregate over the events."""
    definition = ws.config.success
    steps = [*definition.steps, *([definition.start] if definition.start else [])]
    wanted = list(dict.fromkeys(s.event for s in steps))
    events = ws.events_with_placeholder_ids  # event names only: no id is read
    found = set(events.filter(events.event.isin(wanted)).select("event").distinct().to_pandas()["event"])
    missing = [name for name in wanted if name not in found]
    if not missing:
        return
    common = events.group_by("event").aggregate(n=events.count()).order_by(ibis.desc("n")).limit(200)
    known = [str(e) for e in common.to_pandas()["event"].dropna()]
    name = missing[0]
    raise DataError(
        f"{what}: the success definition uses event {name!r}, which never occurs in {ws.mapped.label}, so no unit "
        f"could succeed and every rate would be 0.{did_you_mean(name, known)} The most common events are: "
        f"{listing(known[:10])}. Fix `success:` in workshop.yaml (`segworkshop validate` lists every event)."
    )


def require_outcomes(ws: Workshop, pop: Population, what: str) -> None:
    """Refuse a comparison with nothing to compare: no unit succeeds (every lift would be 0/0), or every one."""
    if pop.successes == 0:
        raise DataError(
            f"{what}: no {pop.unit} succeeds under `{ws.config.success.describe()}` (0 of {pop.mature:,}): "
            "every rate is 0 and a lift would be 0/0, so there is nothing to compare. The events occur but never "
            "as defined: widen `success.within_days`, check the step order and the `where:` filters "
            "(`segworkshop validate` shows the baseline)."
        )


def _no_units(pop: Population) -> str:
    if pop.started and pop.too_recent == pop.started:
        return (
            f"no units to compare: all {pop.started:,} {pop.unit}s are too recent to judge (their "
            f"{pop.within_days:g}-day success window is still open at the data end). Use a shorter "
            "`success.within_days`, or data that reaches further."
        )
    return "no units to compare: the unit table is empty (see `segworkshop validate`)."


@dataclass
class SegmentCounts:
    """Units and successes per compared value (``singles``), per pair of segments (``pairs``), and the units a
    behaviour segment leaves out (``left_out``: segment -> units and successes that succeeded inside its
    window; see population.py)."""

    singles: pd.DataFrame
    pairs: pd.DataFrame | None
    left_out: dict[str, dict[str, int]]

    def totals(self, segment: str) -> tuple[int, int]:
        """Units and successes compared on ``segment`` (a behaviour compares fewer units than a trait)."""
        part = self.singles[self.singles.segment == segment]
        return int(part.units.sum()), int(part.successes.sum())


JOINT_CELLS = 20_000  # the most cells of the table crossing every segment that is fetched to sum singles and pairs


def count_segments(table: ir.Table, names: list[str], with_pairs: bool, crossed: bool = True) -> SegmentCounts:
    """Units and successes per (segment, value) and, optionally, per pair of segments: one round trip (two when
    the crossed cells below are too many).

    With pairs (and ``crossed``), the counts are first asked per cell of all the segments crossed
    (:func:`_crossed_counts`), and every single and pair is summed from those cells; past :data:`JOINT_CELLS`
    cells, a second round trip asks one ``group_by`` per segment and per pair, so a caller whose ``table`` is
    costly to read twice (not kept in the engine, or joined to the events) passes ``crossed=False``. Either
    way the rows fetched are bounded by the segments' values, never by the units. Values marked
    :data:`LEFT_OUT` (a behaviour's landmark) are counted in ``left_out`` and dropped from the comparisons,
    pairs included: a unit not compared on a behaviour is in no table that stratifies by it.
    """
    df = _crossed_counts(table, names) if with_pairs and crossed else None
    if df is None:
        df = _grouped_counts(table, names, with_pairs)
    df["units"] = df["units"].astype("int64")
    df["successes"] = df["successes"].fillna(0).astype("int64")
    single = df[df["other"].isna()][["segment", "value", "units", "successes"]].reset_index(drop=True)
    out = single[single.value == LEFT_OUT]
    left_out = {r.segment: {"units": int(r.units), "successes": int(r.successes)} for r in out.itertuples(index=False)}
    single = single[single.value != LEFT_OUT].reset_index(drop=True)
    pairs = None
    if with_pairs:
        pairs = df[df["other"].notna()]
        pairs = pairs[(pairs.value != LEFT_OUT) & (pairs.other_value != LEFT_OUT)]
        # in one order whatever the engine's: the strata are summed in it, to the last digit
        pairs = pairs.sort_values(["segment", "other", "value", "other_value"], ignore_index=True)
    return SegmentCounts(single, pairs, left_out)


COUNT_COLUMNS = ["segment", "value", "other", "other_value", "units", "successes"]


def _crossed_counts(table: ir.Table, names: list[str]) -> pd.DataFrame | None:
    """Units and successes per segment value and per pair of segments, summed from one ``group_by`` of every
    segment at once: a single grouping of the units instead of one per segment and per pair (15 pairs of six
    traits: 0.6 s at 1M units, against 0.15 s). None when that table has more than :data:`JOINT_CELLS` cells."""
    if {"units", "successes"} & set(names):
        return None
    crossed = table.group_by(names).aggregate(units=table.count(), successes=table.success.ifelse(1, 0).sum())
    cells = crossed.limit(JOINT_CELLS + 1).to_pandas()
    if len(cells) > JOINT_CELLS:
        return None
    parts = []
    for i, a in enumerate(names):
        for b in [None, *names[i + 1 :]]:
            keys = [a] if b is None else [a, b]
            part = cells.groupby(keys, dropna=False, sort=False)[["units", "successes"]].sum().reset_index()
            part = part.rename(columns={a: "value", **({b: "other_value"} if b else {})})
            parts.append(part.assign(segment=a, other=b, **({} if b else {"other_value": None})))
    return pd.concat(parts, ignore_index=True)[COUNT_COLUMNS]


def _grouped_counts(table: ir.Table, names: list[str], with_pairs: bool) -> pd.DataFrame:
    """Units and successes per segment value (and per pair of segments): one ``group_by`` each, in one union."""
    parts = []
    null = ibis.null("string")
    hits = table.success.ifelse(1, 0).sum()
    for i, a in enumerate(names):
        parts.append(
            table.group_by(value=table[a])
            .aggregate(units=table.count(), successes=hits)
            .mutate(segment=ibis.literal(a), other=null, other_value=null)
        )
        if with_pairs:
            for b in names[i + 1 :]:
                parts.append(
                    table.group_by(value=table[a], other_value=table[b])
                    .aggregate(units=table.count(), successes=hits)
                    .mutate(segment=ibis.literal(a), other=ibis.literal(b))
                )
    query = (
        ibis.union(*[p.select(*COUNT_COLUMNS) for p in parts], distinct=False)
        if len(parts) > 1
        else parts[0].select(*COUNT_COLUMNS)
    )
    return query.to_pandas()


def success_table(ws: Workshop, by: Sequence[Any] | None = None) -> pd.DataFrame:
    """``segment, value, units, successes, rate`` for every value of each segment (default: the configured
    ones), counted as every comparison counts them: units whose success window is closed, behaviours at their
    landmark. The plain table the demo prints; :func:`compare` adds the statistics."""
    segments = resolve_segments(ws, by)
    names = [s.name for s in segments]
    singles = count_segments(segment_table(ws, segments), names, with_pairs=False).singles
    singles = singles.assign(_order=singles.segment.map(names.index)).sort_values(["_order", "value"])
    singles["rate"] = singles.successes / singles.units
    return singles[["segment", "value", "units", "successes", "rate"]].reset_index(drop=True)


def segment_counts(table: ir.Table, names: list[str], with_pairs: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`count_segments` as (singles, pairs), for callers that need no left-out counts."""
    counts = count_segments(table, names, with_pairs)
    return counts.singles, counts.pairs


def row_statistics(
    counts: pd.DataFrame, seg_counts: SegmentCounts, segments: dict[str, Segment], ws: Workshop, pop: Population
) -> pd.DataFrame:
    """Each value against the rest of the units compared on its segment (for a behaviour: the units not yet
    successful at its landmark), with the units left out and why; ``q_value`` is left for the caller's
    correction. Public so that every page computing a row of this table (compare, explore) computes it alike."""
    min_units = ws.config.privacy_min_units
    within = ws.config.success.within_days
    records = []
    for row in counts.itertuples(index=False):
        seg = segments[row.segment]
        total_n, total_x = seg_counts.totals(row.segment)
        n1, x1 = int(row.units), int(row.successes)
        n2, x2 = total_n - n1, total_x - x1
        low, high = stats.wilson_interval(x1, n1)
        test = stats.two_proportion_test(x1, n1, x2, n2)
        d_low, d_high = stats.difference_interval(x1, n1, x2, n2) if n2 > 0 else (math.nan, math.nan)
        rest_rate = x2 / n2 if n2 else math.nan
        left = seg_counts.left_out.get(row.segment, {}).get("units", 0)
        records.append(
            {
                "segment": row.segment,
                "value": row.value,
                "units": n1,
                "successes": x1,
                "rate": x1 / n1,
                "ci_low": low,
                "ci_high": high,
                "lift": stats.lift(x1, n1, x2, n2),
                "p_value": test.p_value,
                "q_value": math.nan,
                "small": n1 < min_units,
                "rest_rate": rest_rate,
                "diff": x1 / n1 - rest_rate if n2 else math.nan,
                "diff_ci_low": d_low,
                "diff_ci_high": d_high,
                "test": test.method,
                "unreliable": n1 < UNRELIABLE_UNITS,
                "block": "behaviour" if seg.behavioural else "trait",
                "compared": total_n,
                "left_out_too_recent": pop.too_recent,
                "left_out_succeeded_in_window": left if seg.behavioural else 0,
                "compares": (
                    landmark_sentence(seg, str(row.value), x1 / n1, rest_rate, ws.unit, within)
                    if seg.behavioural
                    else ""
                ),
            }
        )
    return pd.DataFrame.from_records(records)


def hygiene_notes(
    segments: list[Segment], rows: pd.DataFrame, pairs: pd.DataFrame | None, counts: SegmentCounts, min_units: int
) -> list[str]:
    """Notes on coverage, too many values, single values, small groups and overlapping binary segments; raises
    on a segment that looks like an id (as many values as units)."""
    notes = []
    for s in segments:
        part = rows[rows.segment == s.name]
        total = counts.totals(s.name)[0]
        values = len(part)
        if s.kind == "trait" and values > ID_LIKE_VALUES and values >= ID_LIKE_SHARE * total:
            raise DataError(
                f"segment {s.name!r} has {values:,} values for {total:,} units: it looks like an id, not a segment. "
                "Pick a trait with a handful of values, or bin it (`bins:`)."
            )
        if values > MAX_VALUES:
            notes.append(
                f"{s.name}: {values} values; the worksheet suggests 3-8 segments. Group the small ones "
                "(e.g. map rare values to 'other') before drawing conclusions."
            )
        if values < 2:
            notes.append(f"{s.name}: only one value ({listing(part.value)}): nothing to compare.")
        missing = part.loc[part.value == MISSING, "units"].sum()
        if missing:
            notes.append(privacy.coverage_note(s.name, part, total, min_units))
        small = part[part.units < min_units]
        if len(small):
            notes.append(
                f"{s.name}: {len(small)} value(s) under the privacy threshold of {min_units} units "
                f"({listing(small.value, 8)}): hidden in shared reports."
            )
    binary = [s.name for s in segments if s.kind == "did"]
    if pairs is not None and len(binary) > 1:
        for i, a in enumerate(binary):
            for b in binary[i + 1 :]:
                both = pairs[
                    ((pairs.segment == a) & (pairs.other == b) | (pairs.segment == b) & (pairs.other == a))
                    & (pairs.value == YES)
                    & (pairs.other_value == YES)
                ].units.sum()
                if both:
                    notes.append(
                        f"{a} and {b} overlap: {privacy.small_count_text(both, min_units)} did both; these segments "
                        "are not mutually exclusive."
                    )
    return notes


def _share(part: int, total: int) -> str:
    return f"({part / total:.1%})" if total else ""


def strata_checks(
    rows: pd.DataFrame, pairs: pd.DataFrame, names: list[str]
) -> dict[tuple[str, str], list[stats.StrataCheck]]:
    """Does each row's effect hold within each other segment? One :func:`stats.strata_check` per row and other
    segment, on the 2×2 table of each of the other segment's values (the row's value against the rest of its
    segment), from the pair counts; rows and other segments without two usable strata have no check."""
    checks: dict[tuple[str, str], list[stats.StrataCheck]] = {}
    for seg in dict.fromkeys(rows.segment):
        values = list(rows.value[rows.segment == seg])
        for other in names:
            if other == seg:
                continue
            if names.index(other) > names.index(seg):
                part = pairs[(pairs.segment == seg) & (pairs.other == other)]
                mine, strata = part.value.to_numpy(), part.other_value.to_numpy()
            else:
                part = pairs[(pairs.segment == other) & (pairs.other == seg)]
                mine, strata = part.other_value.to_numpy(), part.value.to_numpy()
            units, wins = part.units.to_numpy(), part.successes.to_numpy()
            order = list(pd.unique(strata))
            in_stratum = {w: strata == w for w in order}
            total = {w: (units[m].sum(), wins[m].sum()) for w, m in in_stratum.items()}
            for value in values:
                is_value = mine == value
                tables = {}
                for w, m in in_stratum.items():
                    n, x = units[m & is_value].sum(), wins[m & is_value].sum()
                    rn, rx = total[w][0] - n, total[w][1] - x
                    tables[str(w)] = np.array([[x, n - x], [rx, rn - rx]], dtype=float)
                check = stats.strata_check(tables, other)
                if check is not None:
                    checks.setdefault((seg, value), []).append(check)
    return checks


def _strata_notes(row: dict, checks: dict[tuple[str, str], list[stats.StrataCheck]], alpha: float) -> str:
    """The notes of one row from its strata checks: reversals, effects that vanish within another segment, and
    confounding (the last two only for a row beyond noise, so they follow the row's q)."""
    notes = []
    for check in checks.get((row["segment"], row["value"]), []):
        vanishes = row["q_value"] <= alpha and check.cmh_p_value >= alpha
        if check.reversal:
            notes.append(check.describe())
        elif vanishes:
            notes.append(
                f"Vanishes within {check.stratum}: holding {check.stratum} fixed the difference is not significant "
                f"(CMH p = {check.cmh_p_value:.3g})."
            )
        elif check.confounded and row["q_value"] <= alpha:
            notes.append(check.describe())
    return " ".join(notes)


def suppress_small(rows: pd.DataFrame, min_units: int) -> pd.DataFrame:
    """Hide groups under the privacy threshold so that they cannot be recovered by subtraction: the one rule,
    :func:`segworkshop.privacy.suppress` (re-exported here)."""
    from .privacy import suppress

    return suppress(rows, min_units)


# --------------------------------------------------------------------------- trend


@per_state
def trend(ws: Workshop, by: str | Any | None = None, every: str = "week") -> pd.DataFrame:
    """Success rate per period of first seen (``week`` or ``month``), per segment value, with intervals.

    Only units whose success window is closed are counted (population.py). ``complete`` is False for a period
    some of whose units could still succeed (it ends less than the success window before the data end): its
    rate rests on the early part of the period only and must not be read as a change.
    """
    if every not in ("week", "month"):
        raise DataError(f"`every=` must be `week` or `month`, not {every!r}.")
    require_window(ws, "trend")
    period = parse_segment({"name": "_period", "cohort": every})
    segments = [period] + (resolve_segments(ws, [by]) if by is not None else [])
    table = segment_table(ws, segments)
    if by is not None and segments[1].behavioural:
        table = table.filter(table[segments[1].name] != LEFT_OUT)
    keys = ["_period"] + ([segments[1].name] if by is not None else [])
    agg = table.group_by(keys).aggregate(units=table.count(), successes=table.success.ifelse(1, 0).sum())
    df = agg.to_pandas().rename(columns={"_period": "period"})
    window = ws.config.success.within_days
    df["units"] = df["units"].astype("int64")
    df["successes"] = df["successes"].fillna(0).astype("int64")
    df["rate"] = df["successes"] / df["units"]
    bounds = [stats.wilson_interval(x, n) for x, n in zip(df.successes, df.units, strict=True)]
    df["ci_low"] = [b[0] for b in bounds]
    df["ci_high"] = [b[1] for b in bounds]
    end = data_end(ws)
    df["complete"] = [period_judged(p, every, window, end) for p in df.period]
    df["small"] = df["units"] < ws.config.privacy_min_units
    if by is not None:
        seg = segments[1]
        df = df.rename(columns={seg.name: "value"})
        df.insert(1, "segment", seg.name)
        df["_key"] = [seg.sort_key(v) for v in df.value]
        df = df.sort_values(["period", "_key"]).drop(columns="_key")
    else:
        df = df.sort_values("period")
    return df.reset_index(drop=True)


def top_values(df: pd.DataFrame, max_values: int = 8, other: str = "other") -> pd.DataFrame:
    """Keep the ``max_values - 1`` largest values of a trend (by units) and sum the rest into ``other``.

    Counts are summed per period; rates and Wilson intervals are recomputed from the sums.
    """
    if "value" not in df.columns or df["value"].nunique() <= max_values:
        return df
    keep = df.groupby("value")["units"].sum().nlargest(max_values - 1).index
    merged = df.assign(value=df["value"].where(df["value"].isin(keep), other))
    keys = [c for c in ("period", "segment", "value") if c in merged.columns]
    out = merged.groupby(keys, sort=False, as_index=False).agg(
        units=("units", "sum"), successes=("successes", "sum"), complete=("complete", "all")
    )
    out["rate"] = out["successes"] / out["units"]
    bounds = [stats.wilson_interval(x, n) for x, n in zip(out.successes, out.units, strict=True)]
    out["ci_low"] = [b[0] for b in bounds]
    out["ci_high"] = [b[1] for b in bounds]
    return out.sort_values(keys[:1]).reset_index(drop=True)


__all__ = ["NO", "YES", "Comparison", "compare", "resolve_segments", "suppress_small", "top_values", "trend"]
