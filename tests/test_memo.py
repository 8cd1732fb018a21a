"""Results computed once per state of an opened workshop (memo.py), and the report's shared kernel (report.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from segworkshop import Workshop, memo, report, stats
from segworkshop.compare import compare, strata_checks
from segworkshop.session import Session


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the engine's segment counts (what compare, the hypotheses and discover each run)."""
    from segworkshop import compare as compare_module

    calls: list[str] = []
    real = compare_module.count_segments

    def counted(table, names, with_pairs, **options):
        calls.append(",".join(names))
        return real(table, names, with_pairs, **options)

    monkeypatch.setattr(compare_module, "count_segments", counted)
    return calls


def test_a_result_is_computed_once_per_state_and_each_caller_gets_a_copy(small_workshop, monkeypatch):
    calls = _counting(monkeypatch)
    ws = Workshop.load(small_workshop)
    first = compare(ws)
    first.rows.loc[0, "q_value"] = -1.0  # a page annotating its copy
    second = compare(ws)
    assert len(calls) == 1
    assert second.rows.loc[0, "q_value"] != -1.0
    fresh = compare(Workshop.load(small_workshop))  # a newly opened workshop computes its own
    pd.testing.assert_frame_equal(second.rows, fresh.rows)
    assert len(calls) == 2


def test_another_state_or_other_arguments_compute_again(small_workshop, monkeypatch):
    from dataclasses import replace

    from segworkshop.config import parse_success

    calls = _counting(monkeypatch)
    ws = Workshop.load(small_workshop)
    compare(ws)
    compare(ws, ["channel"])
    compare(ws, strata=False)
    wider = ws.with_config(replace(ws.config, success=parse_success({"event": "purchase", "within_days": 20})))
    assert wider.memo is ws.memo  # the same data: one memo
    assert compare(wider).baseline != compare(ws).baseline
    assert len(calls) == 4
    same = ws.with_config(replace(ws.config, title="another title"))  # not a setting results depend on
    compare(same)
    assert len(calls) == 4


def test_arguments_without_a_value_key_are_not_memoised(small_workshop):
    seen = []

    @memo.per_state
    def f(ws, value):
        seen.append(value)
        return len(seen)

    holder = Workshop.load(small_workshop)
    assert f(holder, [1, {"a": 2}]) == f(holder, [1, {"a": 2}]) == 1
    frame = pd.DataFrame({"a": [1]})
    assert (f(holder, frame), f(holder, frame)) == (2, 3)


def test_headless_sessions_share_the_opened_data_until_a_file_changes(small_workshop, monkeypatch):
    calls = _counting(monkeypatch)
    a, b = Session(small_workshop), Session(small_workshop)
    assert a.workshop.memo is b.workshop.memo
    a.workshop.baseline()
    compare(a.workshop)
    compare(b.workshop)
    assert len(calls) == 1
    live = Session(small_workshop, interactive=True)  # a live notebook reads the data again
    assert live.workshop.memo is not a.workshop.memo
    events = small_workshop.parent / "events.csv"
    events.write_text(events.read_text() + "u0000,visit,2026-03-30T00:00:00Z,web,\n")
    c = Session(small_workshop)
    assert c.workshop.memo is not a.workshop.memo
    compare(c.workshop)
    assert len(calls) == 2


def test_every_view_of_the_opened_data_shares_its_end(small_workshop, monkeypatch):
    """The data end (one query over every event) is asked once per opened data, not once per view: a room's
    question reads the workshop under the session's decisions, a new view each time (0.25 s each at 1M users)."""
    from segworkshop.workshop import Workshop as WorkshopClass

    session = Session(small_workshop)
    first, second = session.workshop, session.workshop
    assert first is not second and first.memo is second.memo
    end = first.data_end
    last = first.events_with_placeholder_ids.timestamp.max().to_pyarrow().as_py()
    assert end is not None and end.replace(tzinfo=None) == last.replace(tzinfo=None)

    def no_second_query(self, keep_placeholders):
        raise AssertionError("the data end was asked again")

    monkeypatch.setattr(WorkshopClass, "_events_table", no_second_query)
    assert second.data_end == end and Session(small_workshop).workshop.data_end == end


def test_a_journal_decision_is_a_new_state(small_workshop):
    s = Session(small_workshop)
    before = compare(s.workshop)
    s.save_success({"event": "search", "within_days": 14})
    after = compare(Session(small_workshop).workshop)
    assert after.success.startswith("search") and before.success.startswith("purchase")
    assert after.baseline != before.baseline


def test_strata_checks_match_tables_built_by_hand(small_workshop):
    """Each row's Simpson check within another segment, against the 2×2 tables counted with plain pandas."""
    ws = Workshop.load(small_workshop)
    result = compare(ws, ["channel", "platform"])
    pairs = result.pairs
    checks = strata_checks(result.rows, pairs, ["channel", "platform"])
    row = result.rows.iloc[0]
    grid = pairs[(pairs.segment == "channel") & (pairs.other == "platform")]
    tables = {}
    for w, part in grid.groupby("other_value", sort=False):
        mine, rest = part[part.value == row.value], part[part.value != row.value]
        a, n = mine.successes.sum(), mine.units.sum()
        r, m = rest.successes.sum(), rest.units.sum()
        tables[str(w)] = np.array([[a, n - a], [r, m - r]], dtype=float)
    expected = stats.strata_check(tables, "platform")
    (got,) = checks[("channel", row.value)]
    assert got.cmh_p_value == pytest.approx(expected.cmh_p_value, abs=1e-15)
    assert got.pooled_risk_ratio == pytest.approx(expected.pooled_risk_ratio, abs=1e-15)
    assert (got.reversal, got.confounded) == (expected.reversal, expected.confounded)


# --------------------------------------------------------------------------- the report's kernel


def _notebooks(folder: Path, sources: list[str]) -> Path:
    """Step notebooks ``01_a`` … with a parameters cell and one code cell each."""
    folder.mkdir()
    for i, source in enumerate(sources, start=1):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        params = nbformat.v4.new_code_cell('workshop = ""\nparticipant = ""\ninteractive = True')
        params.metadata["tags"] = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# Step {i}"), params, nbformat.v4.new_code_cell(source)]
        nbformat.write(nb, str(folder / f"{i:02d}_step{i}.ipynb"))
    return folder


@pytest.mark.e2e
def test_steps_share_a_kernel_but_not_a_namespace_and_a_dead_kernel_is_replaced(small_workshop, tmp_path):
    books = _notebooks(
        tmp_path / "books",
        [
            "import os\nleaked = os.getpid()\nprint(leaked)",
            "import os\nassert 'leaked' not in globals(), 'a step saw another step variables'\nprint(os.getpid())",
            "import os\nos._exit(1)",  # the kernel dies
            "import os\nprint(os.getpid())",
        ],
    )
    result = report.run(small_workshop, tmp_path / "out", notebooks=books)
    assert [s.ok for s in result.steps] == [True, True, False, True], [s.error for s in result.steps]
    pids = []
    for step in ("01_step1", "02_step2", "04_step4"):
        nb = json.loads((result.out / "executed" / f"{step}.ipynb").read_text())
        out = next(o["text"] for c in nb["cells"] for o in c.get("outputs", []) if o.get("name") == "stdout")
        pids.append(int("".join(out)))
    assert pids[0] == pids[1] != pids[2]  # one kernel for the first two, a new one after the third died
    assert "DeadKernelError" in result.steps[2].error or "died" in result.steps[2].error.lower()
    page = (result.out / "01_step1.html").read_text()
    assert "reset" not in page  # the kernel's reset cell is not part of a page
    assert os.getpid() != pids[0]
    summary = json.loads((result.out / "summary.json").read_text())
    assert [s["ok"] for s in summary["steps"]] == [True, True, False, True]


# --------------------------------------------------------------------------- the kept unit table


def _frame(table) -> pd.DataFrame:
    return table.to_pandas().sort_values("unit_id", ignore_index=True)


@pytest.mark.parametrize("kind", ["event", "sequence"])
def test_the_kept_unit_table_is_the_unit_table(small_workshop, kind):
    """Read from the table kept in the engine, every unit table a session asks for is the one built from the
    events: traits of the events and of the users table, units that never started, a sequence's steps."""
    from dataclasses import replace

    from segworkshop.config import parse_success

    ws = Workshop.load(small_workshop)
    if kind == "sequence":
        ws = ws.with_config(replace(ws.config, success=parse_success({"sequence": ["search", "purchase"]})))
    kept = ws.with_config(ws.config)
    ws.keep_unit_tables = False  # the reference: built from the events every time
    for traits, unstarted in [(None, False), ([], True), (["platform"], False), (["channel", "platform"], True)]:
        pd.testing.assert_frame_equal(
            _frame(kept.unit_table(traits, include_unstarted=unstarted)),
            _frame(ws.unit_table(traits, include_unstarted=unstarted)),
        )
    assert kept.baseline() == ws.baseline()


def test_the_kept_unit_table_is_built_once_and_grows_with_the_traits_asked(small_workshop, monkeypatch):
    from segworkshop import workshop as workshop_module

    builds: list[list[str]] = []
    real = workshop_module.build_unit_table

    def counted(events, definition, **kwargs):
        builds.append(list(kwargs["event_traits"]))
        return real(events, definition, **kwargs)

    monkeypatch.setattr(workshop_module, "build_unit_table", counted)
    ws = Workshop.load(small_workshop)
    ws.unit_table(["channel"])
    ws.unit_table([], include_unstarted=True)
    ws.unit_table(["platform"])  # a plain segment: in the first build
    assert len(builds) == 1
    total = int(ws.unit_table(["order_value"]).count().to_pandas())  # an event trait not kept yet: built again
    assert builds[-1] == ["platform", "order_value"] and len(builds) == 2
    ws.unit_table(["platform", "order_value"])
    assert len(builds) == 2
    assert total == int(Workshop.load(small_workshop).unit_table(["order_value"]).count().to_pandas())


def test_a_session_keeps_one_unit_table_per_success_definition(small_workshop):
    session = Session(small_workshop, interactive=False)
    ws = session.workshop
    assert ws.keep_unit_tables
    before = compare(ws).baseline
    session.journal.add("success", "facilitator", {"definition": {"event": "purchase", "within_days": 10}})
    after = session.workshop
    assert after.memo is ws.memo and after.keep_unit_tables
    assert compare(after).baseline != before
    fresh = Workshop(after.config)
    fresh.keep_unit_tables = False
    assert compare(after).baseline == compare(fresh).baseline


def test_the_latest_few_unit_tables_are_kept(small_workshop):
    """A room trying success definitions one after another keeps the latest memo.KEEP_TABLES unit tables."""
    from dataclasses import replace

    from segworkshop.config import parse_success

    ws = Workshop.load(small_workshop)
    views = [
        ws.with_config(replace(ws.config, success=parse_success({"event": "purchase", "within_days": d})))
        for d in range(8, 8 + memo.KEEP_TABLES + 2)
    ]
    counts = [int(v.unit_table([]).filter(lambda t: t.success).count().to_pandas()) for v in views]
    held = [k for k in ws.memo if isinstance(k, tuple) and k[0] == "unit_table"]
    assert len(held) == memo.KEEP_TABLES
    assert counts == sorted(counts) and counts[-1] > counts[0]  # each its own table: wider windows, more successes
    again = views[0].unit_table([]).filter(lambda t: t.success).count().to_pandas()  # evicted: built again
    assert int(again) == counts[0]
