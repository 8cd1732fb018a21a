"""The one privacy layer: what a shared page, the index, summary.json and the deltas may show of a small group.

**The rule.** A count under ``privacy.min_units`` is shown as "fewer than N" (:func:`small_count_text`), and the
group's rate and successes are not shown at all.

**Complementary suppression.** The values of a segment (its missing value included) partition the units it
compares, and the total is shown. Hiding one group alone would let a reader recover it by subtracting the shown
groups from the total, so :func:`hidden_cells` hides more groups of the partition, the smallest first, until no
hidden group can be recovered exactly: at least two are hidden, the bounds a reader knows ("fewer than N" for a
small group, at least N for one hidden to protect it) leave each hidden count more than one possible value, and
the hidden successes are neither none nor all of the hidden units (which would give every hidden rate, 0% or
100%).

The decision is a deterministic function of the partition's counts, ``min_units`` and the values' labels (ties
broken by label), never of the page or of the order of the rows: every page of a report that shows the same
partition hides the same groups, so no pair of pages together gives back what one of them hid. A table that
shows a partition split further (the cohorts of "since the previous run") hides at least what the unsplit
partition hides (``forced``), then protects each of its own partitions the same way.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

HIDDEN_NOTE = "fewer than {n} {unit}s (hidden)"


def is_small(n: Any, min_units: int) -> bool:
    """Whether a count is under the threshold (a missing count is treated as small)."""
    try:
        return bool(float(n) < min_units)
    except (TypeError, ValueError):
        return True


def small_count_text(n: Any, min_units: int, unit: str | None = "unit") -> str:
    """``"1,234 users"``, or ``"fewer than 10 users"`` under the threshold; ``unit=None``: the number alone."""
    suffix = f" {unit}s" if unit else ""
    if is_small(n, min_units):
        return f"fewer than {min_units:,}{suffix}"
    return f"{int(n):,}{suffix}"


def count_or_hidden(n: Any, hidden: bool, min_units: int, unit: str | None = "unit") -> str:
    """A count as a shared page may print it: "fewer than N" when small, "a hidden number of" when hidden to
    protect a small group, the number otherwise."""
    if is_small(n, min_units):
        return small_count_text(n, min_units, unit)
    if hidden:
        return f"a hidden number of{f' {unit}s' if unit else ''}"
    return small_count_text(n, min_units, unit)


# --------------------------------------------------------------------------- the decision


def _ranges_open(units: Sequence[int], small: Sequence[bool], hidden: set[int], min_units: int) -> bool:
    """Whether every hidden count keeps more than one value given the hidden total and the known bounds."""
    if not hidden:
        return True
    total = sum(units[i] for i in hidden)
    lo = {i: 0 if small[i] else min_units for i in hidden}
    hi = {i: min_units - 1 if small[i] else total for i in hidden}
    for i in hidden:
        others_lo = sum(lo[j] for j in hidden if j != i)
        others_hi = sum(hi[j] for j in hidden if j != i)
        low, high = max(lo[i], total - others_hi), min(hi[i], total - others_lo)
        if low >= high:
            return False
    return True


def _safe(units, successes, small, hidden: set[int], min_units: int) -> bool:
    if not hidden:
        return True
    if len(hidden) < 2:
        return False
    if not _ranges_open(units, small, hidden, min_units):
        return False
    if successes is not None:
        n, x = sum(units[i] for i in hidden), sum(successes[i] for i in hidden)
        if x == 0 or x == n:  # every hidden rate would be 0% (or 100%)
            return False
    return True


def hidden_cells(
    units: Sequence[int],
    min_units: int,
    successes: Sequence[int] | None = None,
    labels: Sequence[Hashable] | None = None,
    forced: Iterable[int] = (),
) -> list[bool]:
    """Which cells of one partition a shared page hides (module docstring): every cell under ``min_units``,
    those in ``forced``, then the smallest shown cells (ties by label) until none hidden is recoverable.

    When even hiding every cell leaves it recoverable (one cell, or every success), all cells are hidden: the
    total then tells what the partition holds, and the caller's total is what must be judged.
    """
    units = [int(u) for u in units]
    successes = None if successes is None else [int(x) for x in successes]
    labels = list(labels) if labels is not None else list(range(len(units)))
    small = [u < min_units for u in units]
    hidden = {i for i, s in enumerate(small) if s} | {int(i) for i in forced}
    if not hidden:
        return [False] * len(units)
    order = sorted(range(len(units)), key=lambda i: (units[i], str(labels[i])))
    for i in order:
        if _safe(units, successes, small, hidden, min_units):
            break
        if i not in hidden:
            hidden.add(i)
    else:
        if not _safe(units, successes, small, hidden, min_units):
            hidden = set(range(len(units)))
    return [i in hidden for i in range(len(units))]


def suppress_partition(
    rows: pd.DataFrame,
    min_units: int,
    within: str | Sequence[str] = "segment",
    units: str = "units",
    successes: str | None = "successes",
    label: str = "value",
    forced: pd.Series | None = None,
) -> pd.Series:
    """``hidden`` for each row: :func:`hidden_cells` over each partition (the rows sharing ``within``).

    ``rows`` must hold every group of each partition (the small ones too). ``successes``: the column of
    successes (None when the table has none); ``forced``: rows that must be hidden anyway (a boolean Series).
    """
    hidden = pd.Series(False, index=rows.index, dtype=bool)
    if not len(rows):
        return hidden
    keys = [within] if isinstance(within, str) else list(within)
    has_x = successes is not None and successes in rows.columns
    for _, part in rows.groupby(keys, sort=False, dropna=False) if keys else [(None, rows)]:
        force = [] if forced is None else [k for k, i in enumerate(part.index) if bool(forced.get(i, False))]
        flags = hidden_cells(
            part[units].fillna(0).astype("int64").tolist(),
            min_units,
            part[successes].fillna(0).astype("int64").tolist() if has_x else None,
            [str(v) for v in part[label]] if label in part.columns else None,
            force,
        )
        hidden[part.index] = flags
    return hidden


def hidden_values(rows: pd.DataFrame, min_units: int, **kwargs: Any) -> set[tuple[str, str]]:
    """The (segment, value) groups the rule hides, from counts of every value of each segment."""
    flags = suppress_partition(rows, min_units, **kwargs)
    return {(str(s), str(v)) for s, v in zip(rows.loc[flags, "segment"], rows.loc[flags, "value"], strict=True)}


def suppress(rows: pd.DataFrame, min_units: int, within: str = "segment", unit: str = "unit") -> pd.DataFrame:
    """The rows with ``hidden`` and ``note``; a hidden row loses every number and every sentence quoting one.

    Every hidden row's note says "fewer than N units (hidden)", the rows hidden to protect a small one too: a
    reader cannot tell which of the hidden rows is the small one.
    """
    out = rows.copy()
    numeric = [
        c for c in out.columns if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])
    ]
    out["hidden"] = suppress_partition(out, min_units, within=within).to_numpy()
    out[numeric] = out[numeric].astype("float64").where(~out["hidden"], np.nan)
    for quoting in ("strata", "compares"):  # rate ratios and rates in words would leak the hidden group
        if quoting in out.columns:
            out[quoting] = out[quoting].where(~out["hidden"], "")
    out["note"] = np.where(out["hidden"], HIDDEN_NOTE.format(n=min_units, unit=unit), "")
    return out


def weekly(df: pd.DataFrame, min_units: int) -> pd.DataFrame:
    """A weekly series (``period``, units, successes, rate...) as a shared chart may draw it: the weeks the rule
    hides (the periods partition the units) left out."""
    if not len(df):
        return df
    part = df.assign(_all="", value=df["period"].astype(str))
    return df[~suppress_partition(part, min_units, within="_all").to_numpy()]


def events_table(events: pd.DataFrame, min_units: int) -> pd.DataFrame:
    """An events table (event, rows, users) as a shared page prints it: the rows per event partition the
    events, so the events the rule hides show no numbers; a count under the threshold reads "fewer than N"."""
    out = events.copy()
    if not len(out):
        return out
    part = out.assign(_all="", value=out["event"].astype(str), units=out["rows"])
    hidden = suppress_partition(part, min_units, within="_all", successes=None).to_numpy()
    for col in ("rows", "users"):
        if col in out.columns:
            out[col] = [
                count_or_hidden(n, h, min_units, None) if (h or is_small(n, min_units)) else f"{int(n):,}"
                for n, h in zip(out[col], hidden, strict=True)
            ]
    return out


def partition_safe(units: Sequence[int], shown: Sequence[bool], min_units: int) -> bool:
    """Brute force, for tests: no hidden cell of a partition has exactly one value consistent with the total,
    the shown cells and the bounds a reader knows (a small cell in [0, N-1], a protecting one at least N)."""
    hidden = [i for i, s in enumerate(shown) if not s]
    if not hidden:
        return True
    total = sum(units[i] for i in hidden)
    bounds = [(0, min_units - 1) if units[i] < min_units else (min_units, total) for i in hidden]
    seen: list[set[int]] = [set() for _ in hidden]

    def walk(k: int, left: int, picked: list[int]) -> None:
        if k == len(hidden) - 1:
            lo, hi = bounds[k]
            if lo <= left <= hi:
                for j, v in enumerate([*picked, left]):
                    seen[j].add(v)
            return
        lo, hi = bounds[k]
        for v in range(lo, min(hi, left) + 1):
            walk(k + 1, left - v, [*picked, v])

    walk(0, total, [])
    return all(len(s) > 1 for s in seen)


__all__ = [
    "count_or_hidden",
    "coverage_note",
    "events_table",
    "hidden_cells",
    "hidden_values",
    "is_small",
    "partition_safe",
    "small_count_text",
    "suppress",
    "suppress_partition",
    "weekly",
]


def coverage_note(segment: str, part: pd.DataFrame, total: int, min_units: int, unit: str = "unit") -> str:
    """The hygiene note on a segment's missing value, as the partition's rule allows: the count and its share
    when the missing group is shown, "fewer than N" when it is small, no number when it is hidden to protect
    another group."""
    from .segments import MISSING

    flags = suppress_partition(part.assign(segment=segment), min_units)
    at = part.value == MISSING
    n = int(part.loc[at, "units"].sum())
    hidden = bool(flags[at].any())
    if hidden or is_small(n, min_units):
        count = small_count_text(n, min_units, unit) if is_small(n, min_units) else f"some {unit}s"
        return f"{segment}: {count} have no value (coverage gap; the number is hidden for privacy)."
    share = f" ({n / total:.1%})" if total else ""
    return f"{segment}: {n:,}{share} {unit}s have no value (coverage gap)."
