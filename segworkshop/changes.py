"""What changed since the previous run of the weekly report: disjoint cohorts, mature units, one correction.

A weekly run sees the same users as the previous one plus the newest. Comparing the two runs' rates directly
counts the same users twice (the samples overlap, so no two-sample test is valid) and lets a success window that
was still open last week look like a change. Instead, this run's mature units (population.py: a unit counts once
``start + success.within_days <= data end``) are split by the previous run's data end ``prev_end``, recorded in
its summary.json:

* the **earlier cohorts**: ``start + within_days <= prev_end`` — the units the previous run could judge (when
  the data of those windows was not revised since; :func:`since` notes it when the previous counts differ);
* the **new cohort**: ``prev_end < start + within_days <= data end`` — the units whose window closed since.

The two groups share no unit, and the earlier cohorts' outcomes were final by the previous run's data end (their
windows had closed), so windows maturing on the same units cannot look like a change, and the new cohort's rate
against the earlier cohorts' rate is a comparison of two independent groups: Fisher's exact test
(``stats.two_proportion_test``) and Newcombe's interval for the difference (new minus earlier), for the baseline
and for every value of every segment except cohort segments (first seen week/month, which split units by the same
time axis as the cohorts). Behaviour values follow the landmark rule as everywhere (units marked ``LEFT_OUT`` are
not compared). Both cohorts are counted on this run's data, in one engine query. A flagged change says that the
newest units differ from the earlier ones, not why (a campaign, a season and a product change look alike).

Every row with units in both cohorts is one comparison of the family; Benjamini–Hochberg q-values are computed
over that whole family, rows hidden for privacy included, and a change is "beyond noise" when q <= 0.05.

Runs are compared only when they define the comparison the same way: the same unit, success definition
(window included), segments and privacy threshold (:func:`definition`, recorded in summary.json with its
``fingerprint``). Otherwise, and when there is no previous run, when the previous summary predates these fields,
when there is no success window, or when no window closed since the previous run, :func:`since` returns no rows
and a sentence saying why.

Privacy: a row whose group has fewer than ``privacy_min_units`` units in either cohort loses its numbers, and
so does every row the one rule of :mod:`segworkshop.privacy` hides in the whole partition (what compare and
summary.json hide) or in either cohort's, so that no count is recovered by subtraction from the baseline.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from . import stats
from .errors import DataError
from .population import LEFT_OUT, data_end, mature_condition, require_window
from .segments import Segment, parse_segments, segment_table

if TYPE_CHECKING:
    from .workshop import Workshop

ALPHA = stats.ALPHA
CORRECTION = "fdr_bh"
BASELINE = "baseline"

# statuses of a Changes
COMPARED = "compared"
FIRST_RUN = "no previous run"
OLD_SUMMARY = "previous run not comparable"
NOT_COMPARABLE = "definition changed"
NO_WINDOW = "no success window"
NO_NEW_COHORT = "no new cohort"
NO_DATA = "no data end"

ROW_COLUMNS = [
    "kind",
    "segment",
    "value",
    "earlier_units",
    "earlier_successes",
    "earlier_rate",
    "new_units",
    "new_successes",
    "new_rate",
    "change",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "beyond_noise",
    "test",
    "hidden",
]


# --------------------------------------------------------------------------- what a run records


def definition(ws: Workshop, segments: list[Segment] | None = None) -> dict[str, Any]:
    """What must be equal for two runs to be compared: unit, success definition, segments, privacy threshold.

    Each part has its readable form (for messages) and, for success and segments, an exact form (every field
    of the parsed definition, so that two definitions that read alike but differ still differ).
    """
    segments = parse_segments(ws.config.segments) if segments is None else segments
    return {
        "unit": ws.unit,
        "success": ws.config.success.describe(),
        "success_spec": _canonical(asdict(ws.config.success)),
        "segments": [s.describe() for s in segments],
        "segments_spec": _canonical([_segment_spec(s) for s in segments]),
        "privacy_min_units": ws.config.privacy_min_units,
    }


def fingerprint(defined: dict[str, Any]) -> str:
    """A short hash of :func:`definition` (equal definitions, equal fingerprints)."""
    return hashlib.sha256(_canonical(defined).encode()).hexdigest()[:16]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _segment_spec(s: Segment) -> dict[str, Any]:
    spec = asdict(s)
    spec.pop("spec", None)  # the raw YAML form: the parsed fields say the same, normalised
    return spec


def record(ws: Workshop) -> dict[str, Any]:
    """The fields a run writes to summary.json so that the next run can compare with it, and its counts.

    ``data_end`` (ISO 8601, UTC: the data end population.py used), ``definition`` and ``fingerprint``;
    ``baseline`` and ``segments``: units and successes among mature units, with groups under the privacy
    threshold left out and a second group of a segment left out when exactly one is (no count recovered by
    subtraction). A baseline under the threshold is recorded as hidden; without a success window no segment is
    counted (segments cannot be compared fairly without one).
    """
    from .compare import compare, suppress_small

    segments = parse_segments(ws.config.segments)
    end = data_end(ws)
    defined = definition(ws, segments)
    out: dict[str, Any] = {
        "data_end": end.isoformat() if end is not None else None,
        "definition": defined,
        "fingerprint": fingerprint(defined),
    }
    min_units = ws.config.privacy_min_units
    b = ws.baseline()
    if b["units"] >= min_units:
        out["baseline"] = {k: b[k] for k in ("units", "successes", "rate")}
    else:
        out["baseline"] = {"hidden": f"fewer than {min_units} units"}
    if segments and ws.config.success.within_days is None:
        out["segments"] = []  # compare refuses without a window (population.require_window); so does since()
    elif segments:
        rows = suppress_small(compare(ws, strata=False).rows, min_units)
        out["segments"] = [
            {"segment": r.segment, "value": r.value, "units": int(r.units), "successes": int(r.successes)}
            for r in rows.itertuples()
            if not r.hidden
        ]
    else:
        out["segments"] = []
    return out


# --------------------------------------------------------------------------- the comparison


@dataclass
class Changes:
    """The result of :func:`since`: ``rows`` (every row computed, hidden ones included) and what they mean."""

    status: str
    message: str
    unit: str = "user"
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROW_COLUMNS))
    previous_started: str | None = None
    previous_end: datetime | None = None
    data_end: datetime | None = None
    within_days: float | None = None
    min_units: int = 10
    alpha: float = ALPHA
    correction: str = CORRECTION
    notes: list[str] = field(default_factory=list)
    skipped_segments: list[str] = field(default_factory=list)  # cohort segments, not compared

    @property
    def compared(self) -> bool:
        return self.status == COMPARED

    @property
    def comparisons(self) -> int:
        """The size of the family corrected together: every row with units in both cohorts."""
        return int(self.rows["p_value"].notna().sum()) if len(self.rows) else 0

    @property
    def hidden_comparisons(self) -> int:
        """Comparisons in the family whose rows are hidden for privacy."""
        if not len(self.rows):
            return 0
        return int((self.rows["p_value"].notna() & self.rows["hidden"]).sum())

    @property
    def flagged(self) -> pd.DataFrame:
        """Rows beyond noise (q <= alpha), hidden rows included (for analysis, not for a shared page)."""
        if not len(self.rows):
            return self.rows
        return self.rows[self.rows["beyond_noise"].fillna(False).astype(bool)]

    def shareable(self) -> pd.DataFrame:
        """Rows as a shared page may show them: hidden rows keep their labels and lose every number."""
        out = self.rows.copy()
        if not len(out):
            return out
        numbers = [c for c in ROW_COLUMNS if c not in ("kind", "segment", "value", "hidden", "beyond_noise", "test")]
        out[numbers] = out[numbers].astype("float64").where(~out["hidden"], np.nan)
        out["beyond_noise"] = out["beyond_noise"].where(~out["hidden"], None)
        out["test"] = out["test"].where(~out["hidden"], "")
        return out

    def baseline(self) -> dict[str, Any] | None:
        """The baseline row (all units), or None when nothing was compared."""
        if not len(self.rows):
            return None
        part = self.rows[self.rows["kind"] == BASELINE]
        return part.iloc[0].to_dict() if len(part) else None

    def to_dict(self) -> dict[str, Any]:
        """The summary.json block: what was compared, and the rows a shared page shows (hidden rows omitted)."""
        from .compare import json_rows

        shown = self.rows[~self.rows["hidden"]] if len(self.rows) else self.rows
        return {
            "status": self.status,
            "message": self.message,
            "previous_started": self.previous_started,
            "previous_data_end": _iso(self.previous_end),
            "data_end": _iso(self.data_end),
            "comparisons": self.comparisons,
            "hidden_comparisons": self.hidden_comparisons,
            "correction": self.correction,
            "alpha": self.alpha,
            "notes": self.notes,
            "rows": json_rows(shown.drop(columns=["hidden"]), ROW_COLUMNS[:-1]) if len(shown) else [],
        }


def since(ws: Workshop, previous: dict[str, Any] | None) -> Changes:
    """This run against the previous run's summary (see the module docstring for what is compared)."""
    unit = ws.unit
    base = {"unit": unit, "min_units": ws.config.privacy_min_units, "within_days": ws.config.success.within_days}
    if previous is None:
        return Changes(
            FIRST_RUN, "No earlier report of this workshop next to this one: nothing to compare yet.", **base
        )
    started = previous.get("started")
    base["previous_started"] = started
    try:
        require_window(ws, "Comparing with the previous run")
    except DataError as exc:
        return Changes(NO_WINDOW, str(exc), **base)
    defined = definition(ws)
    before = previous.get("definition")
    if not isinstance(before, dict) or "data_end" not in previous:
        version = previous.get("version", "an earlier version")
        return Changes(
            OLD_SUMMARY,
            f"The previous report ({started or 'date unknown'}, segworkshop {version}) did not record its data end "
            "and success definition, so this run cannot tell which units it judged: its numbers cannot be "
            "compared without counting the same units twice. Changes are shown from the next run on.",
            **base,
        )
    differences = _differences(before, defined)
    if differences:
        return Changes(NOT_COMPARABLE, " ".join(differences), **base)
    prev_end = _parse_end(previous.get("data_end"))
    end = data_end(ws)
    base.update(previous_end=prev_end, data_end=end)
    if prev_end is None or end is None:
        return Changes(NO_DATA, "A data end is missing (no events): nothing to compare.", **base)
    if end <= prev_end:
        return Changes(
            NO_NEW_COHORT,
            f"This run's data ends at {_when(end)}, not after the previous run's ({_when(prev_end)}): no {unit}'s "
            "success window closed since, so there is no new cohort to compare yet.",
            **base,
        )
    return _compare_cohorts(ws, prev_end, end, previous, base)


def _differences(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out = []
    if before.get("unit") != now["unit"]:
        out.append(f"The unit changed from {before.get('unit')} to {now['unit']}: changes are not comparable.")
    if before.get("success_spec") != now["success_spec"]:
        old, new = before.get("success"), now["success"]
        words = f"from “{old}” to “{new}”" if old != new else f"(both read “{new}” but differ in detail)"
        out.append(f"The success definition changed {words}: changes are not comparable.")
    if before.get("segments_spec") != now["segments_spec"]:
        old = "; ".join(before.get("segments") or []) or "none"
        new = "; ".join(now["segments"]) or "none"
        words = f"from [{old}] to [{new}]" if old != new else f"(both read [{new}] but differ in detail)"
        out.append(f"The segments changed {words}: changes are not comparable.")
    if before.get("privacy_min_units") != now["privacy_min_units"]:
        out.append(
            f"The privacy threshold changed from {before.get('privacy_min_units')} to {now['privacy_min_units']} "
            "units: changes are not comparable."
        )
    return out


def cohort_counts(ws: Workshop, prev_end: datetime, segments: list[Segment]) -> pd.DataFrame:
    """Units and successes per cohort (``new``: window closed after ``prev_end``), for the baseline and every
    value of ``segments``, in one query over :func:`segment_table` (mature units only; ``LEFT_OUT`` dropped).

    Columns: segment ("" for the baseline), value, new (bool), units, successes.
    """
    table = segment_table(ws, segments)
    closed_before = mature_condition(table, ws.config.success.within_days, prev_end)  # judged by the previous run
    table = table.mutate(_new=closed_before.ifelse(False, True))
    hits = table.success.ifelse(1, 0).sum()
    null = ibis.null("string")
    parts = [
        table.group_by(_new=table._new)
        .aggregate(units=table.count(), successes=hits)
        .mutate(segment=ibis.literal(""), value=null)
    ]
    for s in segments:
        parts.append(
            table.group_by(_new=table._new, value=table[s.name])
            .aggregate(units=table.count(), successes=hits)
            .mutate(segment=ibis.literal(s.name))
        )
    columns = ["segment", "value", "_new", "units", "successes"]
    query = ibis.union(*[p.select(*columns) for p in parts], distinct=False) if len(parts) > 1 else parts[0]
    df = query.select(*columns).to_pandas().rename(columns={"_new": "new"})
    df["units"] = df["units"].astype("int64")
    df["successes"] = df["successes"].fillna(0).astype("int64")
    df["new"] = df["new"].astype(bool)
    df["value"] = df["value"].where(df["segment"] != "", "")
    return df[df["value"] != LEFT_OUT].reset_index(drop=True)


def _compare_cohorts(
    ws: Workshop, prev_end: datetime, end: datetime, previous: dict[str, Any], base: dict[str, Any]
) -> Changes:
    unit, min_units = ws.unit, ws.config.privacy_min_units
    configured = parse_segments(ws.config.segments)
    segments = [s for s in configured if s.kind != "cohort"]
    skipped = [s.name for s in configured if s.kind == "cohort"]
    counts = cohort_counts(ws, prev_end, segments)
    wide = _wide(counts)
    baseline = wide[wide.segment == ""]
    new_units = int(baseline.new_units.sum())
    earlier_units = int(baseline.earlier_units.sum())
    within = ws.config.success.within_days
    days = _num(within)
    if new_units == 0:
        return Changes(
            NO_NEW_COHORT,
            f"No {unit}'s {days}-day success window closed between the previous run's data end ({_when(prev_end)}) "
            f"and this run's ({_when(end)}): there is no new cohort to compare yet.",
            skipped_segments=skipped,
            **base,
        )
    order = {s.name: s for s in segments}
    wide["_seg"] = [-1 if s == "" else [x.name for x in segments].index(s) for s in wide.segment]
    wide["_key"] = [() if s == "" else order[s].sort_key(v) for s, v in zip(wide.segment, wide.value, strict=True)]
    wide = wide.sort_values(["_seg", "_key"], ignore_index=True).drop(columns=["_seg", "_key"])
    rows = _row_statistics(wide, order, unit)
    rows["q_value"] = stats.adjust(rows["p_value"].to_numpy(), CORRECTION)
    rows["beyond_noise"] = [bool(q <= ALPHA) if not math.isnan(q) else None for q in rows["q_value"]]
    rows["hidden"] = _hidden(rows, min_units)
    rows = rows[ROW_COLUMNS]
    notes = _revision_note(previous, int(baseline.earlier_units.sum()), int(baseline.earlier_successes.sum()), unit)
    if rows.loc[rows.kind == BASELINE, "hidden"].all():
        notes.append(f"The new cohort has fewer than {min_units} {unit}s (the privacy threshold): every row is hidden.")
    new = f"{new_units:,}" if new_units >= min_units else f"fewer than {min_units}"
    earlier = f"{earlier_units:,}" if earlier_units >= min_units else f"fewer than {min_units}"
    message = (
        f"The new cohort — the {new} {unit}s whose {days}-day success window closed after the previous run's data "
        f"end ({_when(prev_end)}) and by this run's ({_when(end)}) — against the earlier cohorts — the {earlier} "
        f"{unit}s whose window had closed by {_when(prev_end)}, the ones the previous run judged."
    )
    return Changes(COMPARED, message, rows=rows, notes=notes, skipped_segments=skipped, **base)


def _wide(counts: pd.DataFrame) -> pd.DataFrame:
    """One row per (segment, value) with the earlier and the new cohort's units and successes (0 when absent)."""
    pivot = counts.pivot_table(
        index=["segment", "value"], columns="new", values=["units", "successes"], aggfunc="sum", fill_value=0
    )
    out = pd.DataFrame(
        {
            "segment": [i[0] for i in pivot.index],
            "value": [i[1] for i in pivot.index],
            "earlier_units": _column(pivot, "units", False),
            "earlier_successes": _column(pivot, "successes", False),
            "new_units": _column(pivot, "units", True),
            "new_successes": _column(pivot, "successes", True),
        }
    )
    return out.reset_index(drop=True)


def _column(pivot: pd.DataFrame, what: str, new: bool) -> np.ndarray:
    if (what, new) in pivot.columns:
        return pivot[(what, new)].to_numpy(dtype="int64")
    return np.zeros(len(pivot), dtype="int64")


def _row_statistics(wide: pd.DataFrame, segments: dict[str, Segment], unit: str) -> pd.DataFrame:
    records = []
    for r in wide.itertuples(index=False):
        n0, x0, n1, x1 = int(r.earlier_units), int(r.earlier_successes), int(r.new_units), int(r.new_successes)
        both = n0 > 0 and n1 > 0
        test = stats.two_proportion_test(x1, n1, x0, n0) if both else None
        low, high = stats.difference_interval(x1, n1, x0, n0) if both else (math.nan, math.nan)
        is_base = r.segment == ""
        records.append(
            {
                "kind": BASELINE if is_base else ("behaviour" if segments[r.segment].behavioural else "segment"),
                "segment": BASELINE if is_base else r.segment,
                "value": f"all {unit}s" if is_base else r.value,
                "earlier_units": n0,
                "earlier_successes": x0,
                "earlier_rate": x0 / n0 if n0 else math.nan,
                "new_units": n1,
                "new_successes": x1,
                "new_rate": x1 / n1 if n1 else math.nan,
                "change": x1 / n1 - x0 / n0 if both else math.nan,
                "ci_low": low,
                "ci_high": high,
                "p_value": test.p_value if test else math.nan,
                "test": test.method if test else "",
            }
        )
    return pd.DataFrame.from_records(records)


def _hidden(rows: pd.DataFrame, min_units: int) -> pd.Series:
    """The rows a shared page and summary.json leave out, by the one rule (segworkshop.privacy), per segment:
    the groups it hides in the whole partition (both cohorts together: what compare and summary.json's
    segments hide), the rows under the threshold in either cohort, then more until neither cohort's partition
    gives a hidden row back by subtraction. Only ever more than the whole partition hides, never other rows."""
    from .privacy import suppress_partition

    hidden = pd.Series(False, index=rows.index, dtype=bool)
    base = rows["kind"] == BASELINE
    hidden[base] = rows.loc[base, ["earlier_units", "new_units"]].min(axis=1) < min_units
    total = rows.assign(units=rows["earlier_units"] + rows["new_units"])
    total["successes"] = rows["earlier_successes"] + rows["new_successes"]
    segs = rows[~base]
    if not len(segs):
        return hidden
    flags = suppress_partition(total[~base], min_units)
    flags |= segs[["earlier_units", "new_units"]].min(axis=1) < min_units
    for _ in range(len(segs)):  # a fixed point: each pass only adds rows
        before = flags.copy()
        for cohort in ("earlier", "new"):
            part = segs.rename(columns={f"{cohort}_units": "units", f"{cohort}_successes": "successes"})
            flags = flags | suppress_partition(
                part[["segment", "value", "units", "successes"]], min_units, forced=flags
            )
        if flags.equals(before):
            break
    hidden[segs.index] = flags
    return hidden.astype(bool)


def _revision_note(previous: dict[str, Any], units: int, successes: int, unit: str) -> list[str]:
    """The earlier cohorts are the units the previous run judged: if its counts differ, the data was revised."""
    before = previous.get("baseline") or {}
    if "units" not in before:
        return []
    if (before["units"], before.get("successes")) == (units, successes):
        return []
    return [
        f"The previous run counted {before['units']:,} {unit}s with {before.get('successes', 0):,} successes; the same "
        f"windows now hold {units:,} with {successes:,}: the data of the earlier cohorts was revised (late or corrected "
        "events). Both cohorts here are counted on this run's data."
    ]


# --------------------------------------------------------------------------- helpers


def _parse_end(text: Any) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else str(x)


__all__ = ["Changes", "cohort_counts", "definition", "fingerprint", "record", "since"]
