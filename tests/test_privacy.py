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
