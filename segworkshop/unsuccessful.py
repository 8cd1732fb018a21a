"""Unsuccessful units: what they have in common, compared with the successful ones, and where they stop.

For every segment value: its share among unsuccessful units vs its share among successful units, the
difference with Newcombe's interval, a test by the kit's rule, and BH q-values over every row. Only units whose
success window is closed count, and a behaviour is compared among the units not yet successful when its window
ends (population.py): its shares are among those units. For a sequence success definition: how far the
unsuccessful units got (the last step reached).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import stats
from .compare import SegmentCounts, count_segments, resolve_segments
from .population import data_end, mature_condition, require_window
from .segments import segment_table

if TYPE_CHECKING:
    from .workshop import Workshop


def profile(ws: Workshop, by: Sequence[Any] | None = None, correction: str = "fdr_bh") -> pd.DataFrame:
    """Over-representation of each segment value among unsuccessful units (sorted: most over-represented first)."""
    require_window(ws, "the unsuccessful-users profile")
    segments = list({s.name: s for s in resolve_segments(ws, by)}.values())  # a name once, first wins
    counted = count_segments(segment_table(ws, segments), [s.name for s in segments], with_pairs=False)
    return profile_rows(counted, ws.config.privacy_min_units, correction)


def profile_rows(counted: SegmentCounts, min_units: int, correction: str = "fdr_bh") -> pd.DataFrame:
    """The profile from counts already made (e.g. by a compare or a discover scan on the same units)."""
    counts = counted.singles
    rows = []
    for r in counts.itertuples(index=False):
        total_n, total_x = counted.totals(r.segment)  # a behaviour's own population (landmark)
        fail_total = total_n - total_x
        fails = int(r.units - r.successes)
        a = (fails, fail_total)  # share of the unsuccessful in this group
        b = (int(r.successes), total_x)  # share of the successful in this group
        low, high = stats.difference_interval(*a, *b)
        test = stats.two_proportion_test(*a, *b)
        rows.append(
            {
                "segment": r.segment,
                "value": r.value,
                "units": int(r.units),
                "successes": int(r.successes),  # the counts the privacy rule judges, as on every other page
                "unsuccessful": fails,
                "share_unsuccessful": fails / fail_total if fail_total else float("nan"),
                "share_successful": r.successes / total_x if total_x else float("nan"),
                "diff": (fails / fail_total if fail_total else 0) - (r.successes / total_x if total_x else 0),
                "diff_ci_low": low,
                "diff_ci_high": high,
                "p_value": test.p_value,
                "test": test.method,
                "small": r.units < min_units,
            }
        )
    df = pd.DataFrame(rows)
    df["q_value"] = stats.adjust(df["p_value"].to_numpy(), correction)
    df["over_represented"] = (df["q_value"] <= stats.ALPHA) & (df["diff"] > 0)
    return df.sort_values(["over_represented", "diff"], ascending=False, kind="stable").reset_index(drop=True)


def shared_stops(stops: pd.DataFrame, min_units: int) -> pd.DataFrame:
    """Stopping points as a shared page shows them: the steps reached partition the unsuccessful units, so the
    one privacy rule (segworkshop.privacy) hides a step under the threshold and the next smallest with it."""
    from .privacy import HIDDEN_NOTE, suppress_partition

    part = stops.assign(segment="", value=stops["last_step"].astype(str))
    hidden = suppress_partition(part, min_units, successes=None).to_numpy()
    out = stops.copy()
    out[["units", "share"]] = out[["units", "share"]].astype("float64").where(~hidden)
    out["note"] = [HIDDEN_NOTE.format(n=min_units, unit="unit") if h else "" for h in hidden]
    return out


def stopping_points(ws: Workshop) -> pd.DataFrame | None:
    """For a sequence success: unsuccessful units by the last step they reached (None for other kinds)."""
    definition = ws.config.success
    if definition.kind != "sequence":
        return None
    units = ws.unit_table(traits=[])
    mature = mature_condition(units, definition.within_days, data_end(ws))
    if mature is not None:
        units = units.filter(mature)
    failed = units.filter(~units.success)
    counts = failed.group_by("steps_reached").aggregate(units=failed.count()).to_pandas()
    steps = ["(no step)"] + [s.describe() for s in definition.steps[:-1]] + ["(every step, but too late)"]
    counts = counts.set_index("steps_reached").reindex(range(len(steps)), fill_value=0).reset_index()
    counts["last_step"] = [steps[i] for i in counts.steps_reached]
    total = counts.units.sum()
    counts["share"] = counts.units / total if total else float("nan")
    return counts[["steps_reached", "last_step", "units", "share"]]
