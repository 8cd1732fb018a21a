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

**Tables linked by their margins.** A page whose cells are also summed on other pages (a segment's weekly trend:
each value's total is on the dashboard, each week's on the overall trend) can give a hidden cell back through
a margin even when every one of its own partitions is protected. :func:`pinned` is the audit: every published
total is a linear equation over the finest cells, and a linear program (scipy's HiGHS) finds the range each
protected group's units, successes and failures can take; a range holding one whole number is a disclosure.
:func:`hide_until_safe` hides the page's smallest cells next to a pinned group until none is.
"""

from __future__ import annotations

import math
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
    lo = {i: 1 if small[i] else min_units for i in hidden}  # a hidden row is listed: it has a unit
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


# --------------------------------------------------------------------------- tables linked by their margins


def pinned(
    units: Sequence[int],
    successes: Sequence[int],
    published: Sequence[Sequence[int]],
    protected: Sequence[Sequence[int]],
    min_units: int,
    only: Iterable[int] | None = None,
) -> list[bool]:
    """Which ``protected`` groups a reader can pin to one value (their units, successes or failures) from the
    ``published`` totals (module docstring); ``only``: check these protected groups, report the others False.

    Every group is a set of indices into the finest cells, whose true ``units`` and ``successes`` are given; a
    page that shows a group's units and rate publishes both sums (a shown cell is a published set of one). The
    reader is granted more than a page says: which cells exist, each small cell's units in [1, N-1], each other
    cell's at least N, successes between 0 and the units. A group's range comes from a linear program over the
    cells a published total leaves unknown; a range that holds one whole number pins it.
    """
    from scipy.optimize import linprog
    from scipy.sparse import block_diag, csr_matrix, hstack, identity

    units = [int(u) for u in units]
    successes = [int(x) for x in successes]
    sets = [sorted({int(i) for i in p}) for p in published]
    known = {p[0] for p in sets if len(p) == 1}  # a shown cell: its counts are printed
    unknown = [i for i in range(len(units)) if i not in known]
    local = {c: k for k, c in enumerate(unknown)}
    k = len(unknown)
    rows, cols, rhs_n, rhs_x = [], [], [], []
    for p in sets:
        free = [c for c in p if c not in known]
        if not free:
            continue
        r = len(rhs_n)
        rows += [r] * len(free)
        cols += [local[c] for c in free]
        rhs_n.append(sum(units[c] for c in free))
        rhs_x.append(sum(successes[c] for c in free))
    m = len(rhs_n)
    eq = csr_matrix(([1.0] * len(rows), (rows, cols)), shape=(m, k))
    a_eq = block_diag([eq, eq], format="csr")  # the units' equations, then the successes'
    b_eq = np.array(rhs_n + rhs_x, dtype=float)
    a_ub = hstack([-identity(k), identity(k)]).tocsr()  # successes - units <= 0
    bounds = [(1, min_units - 1) if units[c] < min_units else (min_units, None) for c in unknown]
    bounds += [(0, None)] * k
    wanted = set(range(len(protected))) if only is None else {int(i) for i in only}
    # feasible points seen so far (the true counts first, then each program's optimum): a quantity that already
    # takes two whole numbers over them is not pinned, and needs no program of its own
    pool = [np.array([units[c] for c in unknown] + [successes[c] for c in unknown], dtype=float)]
    problem = (a_ub, np.zeros(k), a_eq if m else None, b_eq if m else None, bounds)
    out = []
    for g, group in enumerate(protected):
        cells = {int(i) for i in group}
        if g not in wanted or not cells:
            out.append(False)
            continue
        if cells <= known:  # every cell printed: pinned by the page itself
            out.append(True)
            continue
        at = np.zeros(k)
        at[[local[c] for c in cells if c not in known]] = 1.0
        quantities = (np.concatenate([at, 0 * at]), np.concatenate([0 * at, at]), np.concatenate([at, -at]))
        out.append(any(_one_value(linprog, q, problem, pool) for q in quantities))
    return out


def _two_values(objective: np.ndarray, points: list[np.ndarray]) -> bool:
    values = np.vstack(points) @ objective
    return math.floor(values.max() + 1e-6) - math.ceil(values.min() - 1e-6) >= 1


def _one_value(linprog, objective: np.ndarray, problem: tuple, pool: list[np.ndarray]) -> bool:
    """Whether ``objective`` (a linear quantity of the unknown cells) takes one whole-number value over the
    polytope; each optimum found joins ``pool``."""
    a_ub, b_ub, a_eq, b_eq, bounds = problem
    if _two_values(objective, pool):
        return False
    for sign in (-1.0, 1.0):  # the maximum, then the minimum
        res = linprog(sign * objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if res.status == 3:  # unbounded: the quantity can be anything above (below) a value
            return False
        if res.status != 0:  # no solution the true counts satisfy: the model is wrong, judge it pinned
            return True
        pool.append(res.x)
        if _two_values(objective, pool):
            return False
    return True


def hide_until_safe(
    units: Sequence[int],
    successes: Sequence[int],
    groups: Sequence[Sequence[int]],
    fixed: Sequence[Sequence[int]],
    protected: Sequence[Sequence[int]],
    min_units: int,
    labels: Sequence[Hashable] | None = None,
    hidden: Iterable[int] = (),
) -> list[bool]:
    """Which of a page's ``groups`` (sets of cells whose totals it would show) it hides: the small ones and
    ``hidden``, then, while :func:`pinned` pins a ``protected`` group given ``fixed`` (totals other pages show)
    and the shown groups, the smallest shown group (ties by label) that shares a cell or a fixed total with it.

    Stops when nothing is pinned, or when what is pinned is given away by ``fixed`` alone (this page cannot
    mend it; the page that publishes those totals must).
    """
    units = [int(u) for u in units]
    labels = list(labels) if labels is not None else list(range(len(groups)))
    sizes = [sum(units[i] for i in g) for g in groups]
    hid = {g for g, n in enumerate(sizes) if n < min_units} | {int(g) for g in hidden}
    fixed_of: dict[int, list[int]] = {}
    for f, cells in enumerate(fixed):
        for c in cells:
            fixed_of.setdefault(int(c), []).append(f)
    group_of: dict[int, list[int]] = {}
    for g, cells in enumerate(groups):
        for c in cells:
            group_of.setdefault(int(c), []).append(g)

    def near(group: Sequence[int]) -> dict[int, int]:
        """The page's groups that share a cell (0) or a fixed total (its number of cells) with ``group``:
        the smaller the link, the more hiding that group widens this one's range."""
        cells = {int(c) for c in group}
        out = {g: 0 for c in cells for g in group_of.get(c, [])}
        for f in {f for c in cells for f in fixed_of.get(c, [])}:
            for g in {g for c in fixed[f] for g in group_of.get(int(c), [])}:
                out[g] = min(out.get(g, len(fixed[f])), len(fixed[f]))
        return out

    unique: list[list[int]] = []
    for group in protected:
        cells = sorted({int(c) for c in group})
        if cells and cells not in unique:
            unique.append(cells)
    protected = sorted(unique, key=lambda g: (len(g), g))
    suspects: Iterable[int] | None = None  # hiding more only widens every range: what was safe stays safe
    for _ in range(len(groups) + 1):
        published = [*fixed, *(groups[g] for g in range(len(groups)) if g not in hid)]
        flags = pinned(units, successes, published, protected, min_units, only=suspects)
        suspects = [i for i, bad in enumerate(flags) if bad]
        more: set[int] = set()
        for i in suspects:
            links = {g: d for g, d in near(protected[i]).items() if g not in hid}
            if not links or any(links.get(g) == min(links.values()) for g in more):
                continue  # nothing here to hide, or this round already hides a group as close to it
            best = min(links, key=lambda g: (links[g], sizes[g], str(labels[g])))
            more.add(best)
        if not more:
            break
        hid |= more
    return [g in hid for g in range(len(groups))]


def linked_trend(fine: pd.DataFrame, drawn: pd.DataFrame, min_units: int) -> pd.Series:
    """Which points of a segment's weekly trend chart a shared page hides (a boolean Series on ``drawn``).

    ``fine``: units and successes per (``period``, ``value``), every value; ``drawn``: the chart's points, the
    same periods with the smaller values summed into one line (``compare.top_values``). The chart's points are
    linked to other pages by their margins: each value's total is on the dashboard, each week's on the overall
    trend, the whole on page 02, each as the one partition rule leaves them. :func:`hide_until_safe` hides
    points until no small cell, value, week or point can be pinned from all of them together.
    """
    if not len(drawn):
        return pd.Series(False, index=drawn.index, dtype=bool)
    fine = fine.reset_index(drop=True)
    units = fine["units"].astype("int64").tolist()
    successes = fine["successes"].astype("int64").tolist()
    values = fine["value"].astype(str)
    periods = fine["period"].astype(str)
    merged = set(values) - set(drawn["value"].astype(str))
    line = values.where(~values.isin(merged), next(iter(set(drawn["value"].astype(str)) - set(values)), "other"))
    where = {key: list(idx) for key, idx in fine.groupby([periods, line]).groups.items()}
    groups = [where.get((str(p), str(v)), []) for p, v in zip(drawn["period"], drawn["value"], strict=True)]
    labels = [f"{p}|{v}" for p, v in zip(drawn["period"], drawn["value"], strict=True)]
    fixed, protected = [list(range(len(fine)))], []
    for key in (values, periods):
        cells = {k: list(idx) for k, idx in fine.groupby(key).groups.items()}
        names = sorted(cells)
        part = pd.DataFrame(
            {
                "segment": "",
                "value": names,
                "units": [sum(units[i] for i in cells[k]) for k in names],
                "successes": [sum(successes[i] for i in cells[k]) for k in names],
            }
        )
        shown = ~suppress_partition(part, min_units)
        fixed += [cells[k] for k, ok in zip(names, shown, strict=True) if ok]
        protected += [cells[k] for k, n in zip(names, part["units"], strict=True) if n < min_units]
    protected += [[i] for i, n in enumerate(units) if n < min_units]
    protected += [g for g in groups if 0 < sum(units[i] for i in g) < min_units]
    return pd.Series(hide_until_safe(units, successes, groups, fixed, protected, min_units, labels), index=drawn.index)


def pairs_leave_no_small_rest(
    pairs: Sequence[tuple[str, str, str, str, int]], singles: pd.DataFrame, min_units: int
) -> bool:
    """Whether the pair groups a page shows (segment a = value a and segment b = value b, with their units) leave
    no small rest: a single group (``singles``: segment, value, units, as the dashboard shows them) minus the
    shown pairs it makes with the values of one other segment is a group of its own ("value a, and not value
    b"), whose units and successes a reader gets by subtraction; it must be empty or of at least N units."""
    size = {(str(r.segment), str(r.value)): int(r.units) for r in singles.itertuples(index=False)}
    taken: dict[tuple[str, str, str], int] = {}
    for sa, va, sb, vb, n in pairs:
        for single, other in (((str(sa), str(va)), str(sb)), ((str(sb), str(vb)), str(sa))):
            key = (*single, other)
            taken[key] = taken.get(key, 0) + int(n)
    for (segment, value, _), n in taken.items():
        rest = size.get((segment, value), n) - n
        if 0 < rest < min_units:
            return False
    return True


def partition_safe(units: Sequence[int], shown: Sequence[bool], min_units: int) -> bool:
    """Brute force, for tests: no hidden cell of a partition has exactly one value consistent with the total,
    the shown cells and the bounds a reader knows (a small cell in [1, N-1], a protecting one at least N)."""
    hidden = [i for i, s in enumerate(shown) if not s]
    if not hidden:
        return True
    total = sum(units[i] for i in hidden)
    bounds = [(1, min_units - 1) if units[i] < min_units else (min_units, total) for i in hidden]
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
    "hide_until_safe",
    "is_small",
    "linked_trend",
    "pairs_leave_no_small_rest",
    "partition_safe",
    "pinned",
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
