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
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from . import stats
from .errors import DataError, did_you_mean, listing
from .segments import MISSING, NO, YES, Segment, parse_segment, parse_segments, segment_table

UNRELIABLE_UNITS = 30  # rates on fewer units are shown greyed out
MAX_VALUES = 8
ID_LIKE_VALUES = 50
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


def resolve_segments(ws: Any, by: Sequence[Any] | None) -> list[Segment]:
    """Segments by name from workshop.yaml, or trait columns, or segment mappings; default: all configured."""
    configured = parse_segments(ws.config.segments)
    if not by:
        if not configured:
            raise DataError(
                "no segments to compare: add `segments: [platform, country]` to workshop.yaml, or name traits with "
                f"--by. Traits available: {listing(ws.trait_columns())}."
            )
        return configured
    named = {s.name: s for s in configured}
    out = []
    for item in by:
        if isinstance(item, str) and item in named:
            out.append(named[item])
        elif isinstance(item, str) and item not in ws.trait_columns():
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
        }

    def shareable(self) -> pd.DataFrame:
        """Rows as a shared report may show them: groups under the privacy threshold hidden."""
        return suppress_small(self.rows, self.min_units)


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


def compare(
    ws: Any,
    by: Sequence[Any] | None = None,
    *,
    strata: bool = True,
    alpha: float = stats.ALPHA,
    correction: str = "fdr_bh",
) -> Comparison:
    """Compare success across segments (see the module docstring). ``by``: names, columns or segment specs."""
    stats.warm_up()
    segments = resolve_segments(ws, by)
    table = segment_table(ws, segments)
    names = [s.name for s in segments]
    singles, pairs = segment_counts(table, names, strata and len(names) > 1)
    total_units = int(singles[singles.segment == names[0]].units.sum())
    total_successes = int(singles[singles.segment == names[0]].successes.sum())
    if total_units == 0:
        raise DataError("no units to compare: the unit table is empty (see `segworkshop validate`).")
    baseline = {"units": total_units, "successes": total_successes, "rate": total_successes / total_units}
    order = {s.name: s for s in segments}
    singles["_key"] = [order[s].sort_key(v) for s, v in zip(singles.segment, singles.value, strict=True)]
    singles["_seg"] = [names.index(s) for s in singles.segment]
    singles = singles.sort_values(["_seg", "_key"], ignore_index=True).drop(columns=["_seg", "_key"])
    rows = _row_statistics(singles, total_units, total_successes, ws.config.privacy_min_units)
    rows["q_value"] = stats.adjust(rows["p_value"].to_numpy(), correction)
    hygiene = _hygiene(segments, rows, pairs, total_units, ws.config.privacy_min_units)
    if pairs is not None:
        rows["strata"] = [
            _strata_notes(r, pairs, names, alpha) for r in rows[["segment", "value", "q_value"]].to_dict("records")
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
    )


def segment_counts(table: ir.Table, names: list[str], with_pairs: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One round trip: units and successes per (segment, value) and, optionally, per pair of segments."""
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
    columns = ["segment", "value", "other", "other_value", "units", "successes"]
    query = (
        ibis.union(*[p.select(*columns) for p in parts], distinct=False)
        if len(parts) > 1
        else parts[0].select(*columns)
    )
    df = query.to_pandas()
    df["units"] = df["units"].astype("int64")
    df["successes"] = df["successes"].fillna(0).astype("int64")
    single = df[df["other"].isna()][["segment", "value", "units", "successes"]].reset_index(drop=True)
    pairs = df[df["other"].notna()].reset_index(drop=True) if with_pairs else None
    return single, pairs


def _row_statistics(counts: pd.DataFrame, total_n: int, total_x: int, min_units: int) -> pd.DataFrame:
    records = []
    for row in counts.itertuples(index=False):
        n1, x1 = int(row.units), int(row.successes)
        n2, x2 = total_n - n1, total_x - x1
        low, high = stats.wilson_interval(x1, n1)
        test = stats.two_proportion_test(x1, n1, x2, n2)
        d_low, d_high = stats.difference_interval(x1, n1, x2, n2) if n2 > 0 else (math.nan, math.nan)
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
                "rest_rate": x2 / n2 if n2 else math.nan,
                "diff": x1 / n1 - x2 / n2 if n2 else math.nan,
                "diff_ci_low": d_low,
                "diff_ci_high": d_high,
                "test": test.method,
                "unreliable": n1 < UNRELIABLE_UNITS,
            }
        )
    return pd.DataFrame.from_records(records)


def _hygiene(
    segments: list[Segment], rows: pd.DataFrame, pairs: pd.DataFrame | None, total: int, min_units: int
) -> list[str]:
    notes = []
    for s in segments:
        part = rows[rows.segment == s.name]
        values = len(part)
        if s.kind == "trait" and values > ID_LIKE_VALUES and values >= 0.5 * total:
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
            notes.append(f"{s.name}: {missing:,} {_share(missing, total)} units have no value (coverage gap).")
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
                        f"{a} and {b} overlap: {both:,} units did both; these segments are not mutually exclusive."
                    )
    return notes


def _share(part: int, total: int) -> str:
    return f"({part / total:.1%})" if total else ""


def _strata_notes(row: dict, pairs: pd.DataFrame, names: list[str], alpha: float) -> str:
    """Does this row's effect hold within each other segment? Notes for reversals, vanishing and confounding."""
    notes = []
    seg, value = row["segment"], row["value"]
    for other in names:
        if other == seg:
            continue
        if names.index(other) > names.index(seg):
            part = pairs[(pairs.segment == seg) & (pairs.other == other)]
            mine, strata = part.value, part.other_value
        else:
            part = pairs[(pairs.segment == other) & (pairs.other == seg)]
            mine, strata = part.other_value, part.value
        tables = {}
        for w in strata.unique():
            in_w = strata == w
            a = part[in_w & (mine == value)][["units", "successes"]].sum()
            r = part[in_w & (mine != value)][["units", "successes"]].sum()
            tables[str(w)] = np.array(
                [[a.successes, a.units - a.successes], [r.successes, r.units - r.successes]], dtype=float
            )
        check = stats.strata_check(tables, other)
        if check is None:
            continue
        vanishes = row["q_value"] <= alpha and check.cmh_p_value >= alpha
        if check.reversal:
            notes.append(check.describe())
        elif vanishes:
            notes.append(
                f"Vanishes within {other}: holding {other} fixed the difference is not significant "
                f"(CMH p = {check.cmh_p_value:.3g})."
            )
        elif check.confounded and row["q_value"] <= alpha:
            notes.append(check.describe())
    return " ".join(notes)


def suppress_small(rows: pd.DataFrame, min_units: int) -> pd.DataFrame:
    """Hide groups under the privacy threshold so that they cannot be recovered by subtraction.

    Rows with fewer than ``min_units`` units lose their numbers (shown as "fewer than N"). If exactly one row
    of a segment is hidden, the next smallest row of that segment is hidden too: otherwise the total minus the
    others would reveal it.
    """
    out = rows.copy()
    numeric = [c for c in out.columns if c not in ("segment", "value", "small", "test", "strata")]
    out["hidden"] = out["units"] < min_units
    for _, part in out.groupby("segment", sort=False):
        hidden = part[part.hidden]
        if len(hidden) == 1 and len(part) > 1:
            out.loc[part[~part.hidden].units.idxmin(), "hidden"] = True
    out[numeric] = out[numeric].astype("float64").where(~out["hidden"], np.nan)
    if "strata" in out.columns:  # the strata notes quote odds ratios: they would leak the hidden group
        out["strata"] = out["strata"].where(~out["hidden"], "")
    out["note"] = np.where(out["hidden"], f"fewer than {min_units} units (hidden)", "")
    return out


# --------------------------------------------------------------------------- trend


def trend(ws: Any, by: str | Any | None = None, every: str = "week") -> pd.DataFrame:
    """Success rate per period of first seen (``week`` or ``month``), per segment value, with intervals.

    ``complete`` is False for periods whose success window has not fully elapsed by the end of the data: their
    rates are still rising and must not be read as a drop.
    """
    if every not in ("week", "month"):
        raise DataError(f"--every must be `week` or `month`, not {every!r}.")
    period = parse_segment({"name": "_period", "cohort": every})
    segments = [period] + (resolve_segments(ws, [by]) if by is not None else [])
    table = segment_table(ws, segments)
    keys = ["_period"] + ([segments[1].name] if by is not None else [])
    agg = table.group_by(keys).aggregate(
        units=table.count(), successes=table.success.ifelse(1, 0).sum(), _last=table.first_seen.max()
    )
    df = agg.to_pandas().rename(columns={"_period": "period"})
    end = ws.events.timestamp.max().to_pyarrow().as_py()
    window = ws.config.success.within_days
    df["units"] = df["units"].astype("int64")
    df["successes"] = df["successes"].fillna(0).astype("int64")
    df["rate"] = df["successes"] / df["units"]
    bounds = [stats.wilson_interval(x, n) for x, n in zip(df.successes, df.units, strict=True)]
    df["ci_low"] = [b[0] for b in bounds]
    df["ci_high"] = [b[1] for b in bounds]
    if window is None or end is None:
        df["complete"] = True
    else:
        df["complete"] = [pd.Timestamp(t) + pd.Timedelta(days=window) <= pd.Timestamp(end) for t in df._last]
    df["small"] = df["units"] < ws.config.privacy_min_units
    if by is not None:
        seg = segments[1]
        df = df.rename(columns={seg.name: "value"})
        df.insert(1, "segment", seg.name)
        df["_key"] = [seg.sort_key(v) for v in df.value]
        df = df.sort_values(["period", "_key"]).drop(columns="_key")
    else:
        df = df.sort_values("period")
    return df.drop(columns="_last").reset_index(drop=True)


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
