"""Unsuccessful units: what they have in common, compared with the successful ones, and where they stop.

For every segment value: its share among unsuccessful units vs its share among successful units, the
difference with Newcombe's interval, a test by the kit's rule, and BH q-values over every row. For a sequence
success definition: how far the unsuccessful units got (the last step reached).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from . import stats
from .compare import resolve_segments, segment_counts
from .segments import segment_table


def profile(ws: Any, by: Sequence[Any] | None = None, correction: str = "fdr_bh") -> pd.DataFrame:
    """Over-representation of each segment value among unsuccessful units (sorted: most over-represented first)."""
    segments = list({s.name: s for s in resolve_segments(ws, by)}.values())  # a name once, first wins
    counts, _ = segment_counts(segment_table(ws, segments), [s.name for s in segments], with_pairs=False)
    first = counts[counts.segment == segments[0].name]
    total_n, total_x = int(first.units.sum()), int(first.successes.sum())
    fail_total = total_n - total_x
    rows = []
    for r in counts.itertuples(index=False):
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
                "unsuccessful": fails,
                "share_unsuccessful": fails / fail_total if fail_total else float("nan"),
                "share_successful": r.successes / total_x if total_x else float("nan"),
                "diff": (fails / fail_total if fail_total else 0) - (r.successes / total_x if total_x else 0),
                "diff_ci_low": low,
                "diff_ci_high": high,
                "p_value": test.p_value,
                "test": test.method,
                "small": r.units < ws.config.privacy_min_units,
            }
        )
    df = pd.DataFrame(rows)
    df["q_value"] = stats.adjust(df["p_value"].to_numpy(), correction)
    df["over_represented"] = (df["q_value"] <= stats.ALPHA) & (df["diff"] > 0)
    return df.sort_values(["over_represented", "diff"], ascending=False, kind="stable").reset_index(drop=True)


def stopping_points(ws: Any) -> pd.DataFrame | None:
    """For a sequence success: unsuccessful units by the last step they reached (None for other kinds)."""
    definition = ws.config.success
    if definition.kind != "sequence":
        return None
    units = ws.unit_table(traits=[])
    failed = units.filter(~units.success)
    counts = failed.group_by("steps_reached").aggregate(units=failed.count()).to_pandas()
    steps = ["(no step)"] + [s.describe() for s in definition.steps[:-1]] + ["(every step, but too late)"]
    counts = counts.set_index("steps_reached").reindex(range(len(steps)), fill_value=0).reset_index()
    counts["last_step"] = [steps[i] for i in counts.steps_reached]
    total = counts.units.sum()
    counts["share"] = counts.units / total if total else float("nan")
    return counts[["steps_reached", "last_step", "units", "share"]]
