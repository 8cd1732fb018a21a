"""The one privacy layer (segworkshop.privacy): the rule, complementary suppression checked by brute force, and
a subtraction attack on a whole report (every page and summary.json) around a 6-unit group."""

from __future__ import annotations

import html as htmlmod
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segworkshop import privacy
from segworkshop.changes import _hidden

N = 10


def test_small_count_text():
    assert privacy.small_count_text(3, N, "user") == "fewer than 10 users"
    assert privacy.small_count_text(1234, N, "user") == "1,234 users"
    assert privacy.small_count_text(10, N, None) == "10"


def test_one_small_cell_takes_the_next_smallest_with_it():
    assert privacy.hidden_cells([6, 294, 100], N, [6, 40, 36]) == [True, False, True]
    assert privacy.hidden_cells([50, 60, 70], N) == [False, False, False]
    # a tie is broken by label, not by row order: the same cells on every page
    a = privacy.hidden_cells([5, 40, 40], N, labels=["x", "b", "a"])
    b = privacy.hidden_cells([40, 40, 5], N, labels=["a", "b", "x"])
    assert a == [True, False, True] and b == [True, False, True]


def test_hidden_successes_are_never_none_or_all():
    # 6 of 6 and 20 of 20 hidden together would still say both rates are 100%
    hidden = privacy.hidden_cells([6, 20, 300], N, [6, 20, 40])
    assert hidden == [True, True, True]


@pytest.mark.parametrize("seed", range(300))
def test_no_hidden_cell_is_recoverable_by_subtraction(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    units = [int(rng.choice([rng.integers(0, N), rng.integers(N, 40)])) for _ in range(k)]
    successes = [int(rng.integers(0, u + 1)) for u in units]
    hidden = privacy.hidden_cells(units, N, successes)
    assert all(h for u, h in zip(units, hidden, strict=True) if u < N)
    assert privacy.partition_safe(units, [not h for h in hidden], N) or all(hidden)
    if any(hidden) and not all(hidden):
        x = sum(s for s, h in zip(successes, hidden, strict=True) if h)
        n = sum(u for u, h in zip(units, hidden, strict=True) if h)
        assert 0 < x < n
    # deterministic: a function of the counts, whatever the order of the rows
    order = rng.permutation(k)
    again = privacy.hidden_cells([units[i] for i in order], N, [successes[i] for i in order], labels=list(order))
    first = privacy.hidden_cells(units, N, successes, labels=list(range(k)))
    assert [first[i] for i in order] == again


def test_the_brute_force_catches_a_lone_hidden_cell():
    assert not privacy.partition_safe([6, 294, 100], [False, True, True], N)
    assert privacy.partition_safe([6, 294, 100], [False, True, False], N)


def test_changes_hide_what_the_whole_partition_hides_and_protect_each_cohort():
    rows = pd.DataFrame(
        {
            "kind": ["baseline", "segment", "segment", "segment"],
            "segment": ["baseline", "g", "g", "g"],
            "value": ["all", "tiny", "big", "mid"],
            "earlier_units": [300, 4, 200, 96],
            "earlier_successes": [60, 4, 30, 26],
            "new_units": [100, 2, 94, 4],
            "new_successes": [20, 2, 10, 8 - 4],
        }
    )
    hidden = _hidden(rows, N)
    total = privacy.hidden_cells([6, 294, 100], N, [6, 40, 30])
    assert all(hidden[1:].to_numpy()[np.array(total)])  # what compare hides
    segs = rows[rows.kind == "segment"]
    for cohort in ("earlier", "new"):
        shown = [not h for h in hidden[segs.index]]
        assert privacy.partition_safe(list(segs[f"{cohort}_units"]), shown, N) or not any(shown)


def test_events_and_weeks():
    events = pd.DataFrame({"event": ["visit", "buy", "rare"], "rows": [500, 80, 3], "users": [300, 60, 3]})
    shown = privacy.events_table(events, N)
    assert shown.loc[2, "rows"] == "fewer than 10" and shown.loc[2, "users"] == "fewer than 10"
    assert "80" not in shown.loc[1, "rows"] and shown.loc[0, "rows"] == "500"
    weeks = pd.DataFrame({"period": ["w1", "w2", "w3"], "units": [3, 50, 60], "successes": [3, 10, 12]})
    assert list(privacy.weekly(weeks, N).period) == ["w3"]


# --------------------------------------------------------------------------- the subtraction attack on a report

TINY = "tv"


def _tiny_workshop(folder: Path) -> Path:
    from conftest import write_small_workshop

    yaml = write_small_workshop(folder, users=400)
    users = pd.read_csv(folder / "users.csv")
    events = pd.read_csv(folder / "events.csv")
    buyers = sorted(set(events[events.event == "purchase"].user_id))
    early = events.groupby("user_id").timestamp.min().sort_values()
    chosen = [u for u in early.index if u in set(buyers)][:6]  # judged: first seen early, all six buy
    users.loc[users.user_id.isin(chosen), "channel"] = TINY
    users.to_csv(folder / "users.csv", index=False)
    from segworkshop.journal import Journal

    j = Journal(folder)
    for value in [TINY, "email", "organic", "paid"]:
        j.add("hypotheses", "Ana", {"segment": "channel", "value": value, "versus": None, "direction": "more",
                                    "expected_lift": None, "text": f"{value} buys more"})  # fmt: skip
        j.add("scores", "Ana", {"name": f"Nudge {value}", "segment": "channel", "value": value, "expected_lift": 0.1,
                                "share": 0.5, "scores": {"risk": 2, "fit": 4, "strategy": 4, "cost": 2}})  # fmt: skip
    return yaml


def _tables(page: str) -> list[tuple[list[str], list[list[str]]]]:
    out = []
    for t in re.findall(r"<table.*?</table>", page, flags=re.S):
        head = [htmlmod.unescape(re.sub(r"<.*?>", "", h)).strip() for h in re.findall(r"<th.*?</th>", t, flags=re.S)]
        rows = []
        for tr in re.findall(r"<tr.*?</tr>", t, flags=re.S):
            cells = [htmlmod.unescape(re.sub(r"<.*?>", "", c)).strip() for c in re.findall(r"<td.*?</td>", tr, re.S)]
            if cells:
                rows.append(cells)
        out.append((head, rows))
    return out


def _number(text: str) -> int | None:
    text = text.replace(",", "")
    return int(text) if re.fullmatch(r"\d+", text) else None


@pytest.mark.e2e
def test_a_small_group_cannot_be_recovered_from_the_report(tmp_path):
    from segworkshop import report

    yaml = _tiny_workshop(tmp_path / "workshop")
    result = report.run(yaml, yaml.parent / "reports" / "first", jobs=2)
    summary = json.loads((result.out / "summary.json").read_text())
    values = ["email", "organic", "paid", TINY]
    units: dict[str, set[int]] = {v: set() for v in values}
    successes: dict[str, set[int]] = {v: set() for v in values}
    for row in summary.get("segments", []):
        if row["segment"] == "channel":
            units[row["value"]].add(row["units"])
            successes[row["value"]].add(row["successes"])
    for r in summary.get("changes", {}).get("rows", []):
        if r.get("segment") == "channel":
            units[r["value"]].add(int(r["earlier_units"]) + int(r["new_units"]))
    tiny_rows = []
    for path in sorted(result.out.glob("*.html")):
        page = path.read_text(encoding="utf-8")
        for head, rows in _tables(page):
            for cells in rows:
                hit = [v for v in values if v in cells or any(c.endswith(f"= {v}") for c in cells)]
                if not hit:
                    continue
                if TINY in hit:  # the group's own numbers (the population's left-out counts are not)
                    theirs = ("left out", "#", "expected lift", "team score", "dots")  # population or team input
                    mine = [c for h, c in zip(head, cells, strict=False) if not h.startswith(theirs)]
                    tiny_rows.append((path.name, mine))
                for name, cell in zip(head, cells, strict=False):
                    n = _number(cell)
                    if n is None or name.startswith("left out"):  # the population's, not the group's
                        continue
                    if "unit" in name.lower() and "week" not in name.lower():
                        units[hit[0]].add(n)
                    elif "succe" in name.lower() and "/" not in name:
                        successes[hit[0]].add(n)
        assert "100.0%" not in " ".join(" ".join(c) for _, c in tiny_rows), path.name
    truth = pd.read_csv(yaml.parent / "users.csv")
    assert (truth.channel == TINY).sum() == 6
    b = summary["baseline"]
    others = [v for v in values if v != TINY]
    for total, shown in ((b["units"], units), (b["successes"], successes)):
        for combo in itertools.product(*[sorted(shown[v]) or [None] for v in others]):
            if None in combo:
                continue
            assert total - sum(combo) != 6, (combo, shown)
    for name, cells in tiny_rows:
        numbers = [c for c in cells if re.search(r"\d", c) and "fewer than" not in c]
        assert not numbers, (name, cells)
    assert not units[TINY] and not successes[TINY]


# --------------------------------------------------------------------------- tables linked by their margins


def _integer_range(quantity, cells, shown_facts, units, min_units):
    """The attacker, apart from the implementation: an integer program (scipy's milp) over every cell's units
    and successes, given the published totals (sets of cells with their sums), each cell's class bounds
    (small: 1..N-1, else at least N) and 0 <= successes <= units. Returns (min, max) of ``quantity``, a vector
    over [units..., successes...]."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    k = len(units)
    rows, lo = [], []
    for cells_, (n, x) in shown_facts:
        a = np.zeros(2 * k)
        a[list(cells_)] = 1
        b = np.zeros(2 * k)
        b[[k + c for c in cells_]] = 1
        rows += [a, b]
        lo += [n, x]
    cons = [LinearConstraint(np.array(rows), lo, lo)] if rows else []
    cons.append(LinearConstraint(np.hstack([-np.eye(k), np.eye(k)]), -np.inf, 0))
    low = [1 if u < min_units else min_units for u in units] + [0] * k
    high = [min_units - 1 if u < min_units else np.inf for u in units] + [np.inf] * k
    ends = []
    for sign in (1, -1):
        res = milp(sign * quantity, constraints=cons, integrality=np.ones(2 * k), bounds=Bounds(low, high))
        assert res.status == 0, res.message
        ends.append(round(sign * res.fun))
    return tuple(ends)


def _random_grid(rng, values: int, weeks: int, small_share: float) -> pd.DataFrame:
    rows = []
    for w in range(weeks):
        for v in range(values):
            if rng.random() < 0.1:
                continue  # no unit of this value first seen that week
            small = rng.random() < small_share
            n = int(rng.integers(1, N) if small else rng.integers(N, 90))
            rows.append({"period": f"2026-w{w:02d}", "value": f"v{v}", "units": n,
                         "successes": int(rng.binomial(n, rng.uniform(0.05, 0.95))), "complete": True})  # fmt: skip
    return pd.DataFrame(rows)


def _published(fine: pd.DataFrame, drawn: pd.DataFrame, hidden: pd.Series):
    """What the pages publish about a segment's weekly grid, rebuilt from their rules: each value's total as the
    dashboard shows it, each week's as the overall trend shows it, the whole, and the chart's points left."""
    facts = []
    cells = lambda mask: [i for i, m in enumerate(mask) if m]  # noqa: E731
    fine = fine.reset_index(drop=True)
    for key in ("value", "period"):
        totals = fine.groupby(key, as_index=False)[["units", "successes"]].sum()
        totals = totals.assign(segment="", value=totals[key].astype(str))
        shown = ~privacy.suppress_partition(totals, N)
        for name, ok in zip(totals[key], shown, strict=True):
            if ok:
                at = cells(fine[key] == name)
                facts.append((at, (int(fine.units[at].sum()), int(fine.successes[at].sum()))))
    facts.append((list(range(len(fine))), (int(fine.units.sum()), int(fine.successes.sum()))))
    drawn_values = set(drawn.value)
    for r in drawn[~hidden.to_numpy()].itertuples(index=False):
        in_line = fine.value.isin([r.value]) if r.value in set(fine.value) else ~fine.value.isin(drawn_values)
        at = cells((fine.period == r.period) & in_line)
        assert int(fine.units[at].sum()) == r.units and int(fine.successes[at].sum()) == r.successes
        facts.append((at, (int(r.units), int(r.successes))))
    return facts


def _exposed(fine: pd.DataFrame, facts) -> list[str]:
    """The small cells, values and weeks whose units, successes or failures the integer program pins."""
    fine = fine.reset_index(drop=True)
    units = fine.units.tolist()
    k = len(units)
    groups = [([i], f"{r.period}/{r.value}") for i, r in enumerate(fine.itertuples()) if r.units < N]
    for key in ("value", "period"):
        for name, part in fine.groupby(key):
            if part.units.sum() < N:
                groups.append((list(part.index), str(name)))
    out = []
    for at, name in groups:
        one = np.zeros(k)
        one[at] = 1
        for label, q in (("units", np.r_[one, 0 * one]), ("successes", np.r_[0 * one, one]),
                         ("failures", np.r_[one, -one])):  # fmt: skip
            low, high = _integer_range(q, at, facts, units, N)
            if low == high:
                out.append(f"{name}: {label} = {low}")
    return out


def test_a_value_total_no_longer_gives_back_a_week_the_trend_hides():
    # v1 has 3 units in week 1; the week's rule alone hides it and the next smallest of that week (v2), but the
    # dashboard prints v1's total and the chart v1's other weeks: 103 - 50 - 50 = 3
    fine = pd.DataFrame({
        "period": ["w1", "w1", "w1", "w2", "w2", "w2", "w3", "w3", "w3"],
        "value": ["v0", "v1", "v2", "v0", "v1", "v2", "v0", "v1", "v2"],
        "units": [80, 3, 40, 80, 50, 40, 80, 50, 40],
        "successes": [20, 3, 10, 20, 10, 10, 20, 10, 10],
        "complete": True,
    })  # fmt: skip
    old = privacy.suppress_partition(fine.assign(segment=fine.period), N)
    facts = _published(fine, fine, old)
    assert "w1/v1: units = 3" in _exposed(fine, facts)  # the leak as it was
    hidden = privacy.linked_trend(fine, fine, N)
    assert hidden[1] and hidden.sum() > old.sum()
    assert _exposed(fine, _published(fine, fine, hidden)) == []
    assert privacy.linked_trend(fine, fine, N).equals(hidden)  # deterministic


@pytest.mark.parametrize("seed", range(20))  # the week-by-week rule alone leaks in 19 of these 20
def test_no_small_cell_of_a_weekly_grid_is_pinned_by_any_page(seed):
    from segworkshop.compare import top_values

    rng = np.random.default_rng(seed)
    fine = _random_grid(rng, int(rng.integers(2, 11)), int(rng.integers(2, 7)), float(rng.uniform(0.05, 0.5)))
    drawn = top_values(fine)  # more than 8 values: the smaller ones drawn as one line, "other"
    hidden = privacy.linked_trend(fine, drawn, N)
    assert hidden[drawn.units.to_numpy() < N].all()
    exposed = _exposed(fine, _published(fine, drawn, hidden))
    # what the other pages give away alone (a week whose every unit succeeded, say) is theirs to mend
    alone = _exposed(fine, _published(fine, drawn, pd.Series(True, index=drawn.index)))
    assert set(exposed) <= set(alone), seed


def test_a_pair_on_the_scoop_leaves_no_small_rest():
    singles = pd.DataFrame({"segment": ["a", "a", "b", "b"], "value": ["x", "y", "p", "q"],
                            "units": [40, 200, 45, 195]})  # fmt: skip
    safe = privacy.pairs_leave_no_small_rest
    assert safe([("a", "x", "b", "p", 30)], singles, N)  # rests 10 and 15
    assert not safe([("a", "x", "b", "p", 33)], singles, N)  # a = x and not b = p: 40 - 33 = 7 units
    assert not safe([("a", "x", "b", "p", 40)], singles, N)  # x's rest is empty, p's is 5
    assert safe([("a", "x", "b", "p", 20)], singles, N) and safe([("a", "x", "b", "q", 15)], singles, N)
    assert not safe([("a", "x", "b", "p", 20), ("a", "x", "b", "q", 15)], singles, N)  # together: 40 - 35 = 5
