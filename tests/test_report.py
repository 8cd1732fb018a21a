"""End to end: every step notebook through papermill, rendered to pages that are safe to share.

One report is built for the whole module (it takes about a minute): a small workshop whose journal already holds
what a session would, including a hypothesis that tries to inject a script.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from segworkshop import report
from segworkshop.journal import Journal

pytestmark = pytest.mark.e2e

INJECTION = "<script>alert(1)</script> android users stall"


def fill_journal(folder: Path) -> None:
    j = Journal(folder)
    j.add(
        "hypotheses",
        "Ana",
        {
            "segment": "channel",
            "value": "email",
            "versus": None,
            "direction": "more",
            "expected_lift": None,
            "text": "Email signups buy more",
        },
    )
    j.add(
        "hypotheses",
        "Bo <i>",
        {
            "segment": "platform",
            "value": "android",
            "versus": None,
            "direction": "less",
            "expected_lift": 0.1,
            "text": INJECTION,
        },
    )
    j.add("findings", "Ana", {"text": "Search users come back", "tag": "learning", "about": "searched = yes"})
    j.add("findings", "Bo <i>", {"text": "Try a checkout nudge", "tag": "candidate test", "about": ""})
    j.add("notes", "Ana", {"topic": "Trends observed", "text": "email steady week to week"})
    j.add(
        "scores",
        "Ana",
        {
            "name": "Email nurture",
            "segment": "channel",
            "value": "email",
            "expected_lift": 0.1,
            "share": 0.5,
            "scores": {"risk": 2, "fit": 4, "strategy": 4, "cost": 2},
        },
    )
    j.add(
        "scores",
        "Bo <i>",
        {
            "name": "Checkout nudge",
            "segment": None,
            "value": None,
            "expected_lift": 0.05,
            "share": 0.5,
            "scores": {"risk": 3, "fit": 3, "strategy": 3, "cost": 3},
        },
    )
    j.add("votes", "Ana", {"ballot": {"Email nurture": 2, "Checkout nudge": 1}})
    j.add("votes", "Bo <i>", {"ballot": {"Checkout nudge": 3}})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, report.RunResult]:
    from conftest import write_small_workshop

    yaml = write_small_workshop(tmp_path_factory.mktemp("session") / "workshop")
    fill_journal(yaml.parent)
    result = report.run(yaml, yaml.parent / "reports" / "first", jobs=2)
    return yaml, result


def pages(result: report.RunResult) -> list[Path]:
    return sorted(result.out.glob("*.html"))


def test_every_step_runs_and_has_a_page(built):
    _, result = built
    assert [s.notebook for s in result.steps] == [p.stem for p in report.step_notebooks()]
    assert result.ok, [(s.notebook, s.error) for s in result.steps if not s.ok]
    assert {p.name for p in pages(result)} == {"index.html"} | {f"{s.notebook}.html" for s in result.steps}


def test_no_network_loads_no_code_no_tracebacks(built):
    _, result = built
    for page in pages(result):
        text = page.read_text(encoding="utf-8")
        loads = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", text)
        assert not loads, (page.name, loads)
        for cdn in ("cdn.jsdelivr", "cdnjs", "unpkg.com", "require.js", "mathjax", "googleapis"):
            assert cdn not in text.lower(), (page.name, cdn)
        assert "<script" not in text.lower(), page.name
        assert "Traceback" not in text and "from segworkshop" not in text and "import " not in text, page.name


def test_participant_text_is_escaped(built):
    _, result = built
    readout = (result.out / "08_readout.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; android users stall" in readout
    assert "Bo &lt;i&gt;" in readout
    assert INJECTION not in readout


def test_raw_unit_ids_never_appear(built):
    _, result = built
    ids = re.compile(r"\bu0\d{3}\b")  # the small workshop's user ids: u0000 … u0599
    for page in pages(result):
        assert not ids.search(page.read_text(encoding="utf-8")), page.name


def test_index_has_readout_steps_and_metadata(built):
    yaml, result = built
    index = (result.out / "index.html").read_text(encoding="utf-8")
    assert "Small test workshop" in index
    assert "purchase within 14 days" in index
    assert str(yaml.parent / "events.csv") in index
    for step in result.steps:
        assert f'href="{step.page}"' in index
    assert "Readout" in index and "Email nurture" in index
    summary = json.loads((result.out / "summary.json").read_text())
    # mature users only: a 14-day window closed by the last event (censoring, population.py)
    events = pd.read_csv(yaml.parent / "events.csv", parse_dates=["timestamp"])
    start = events.groupby("user_id").timestamp.min()
    assert summary["baseline"]["units"] == (start + pd.Timedelta(days=14) <= events.timestamp.max()).sum() < 600


def test_charts_are_inline_svg_one_per_chart(built):
    _, result = built
    for step in result.steps:
        executed = json.loads((result.out / "executed" / f"{step.notebook}.ipynb").read_text())
        made = sum(
            'class="sw-chart"' in "".join(o.get("data", {}).get("text/html", ""))
            for c in executed["cells"]
            for o in c.get("outputs", [])
        )
        page = (result.out / step.page).read_text(encoding="utf-8")
        assert page.count('class="marks"') == made, step.notebook
    assert (result.out / "03_segments.html").read_text().count('class="marks"') >= 4


def test_small_groups_are_hidden(built):
    _, result = built
    text = (result.out / "03_segments.html").read_text(encoding="utf-8")
    assert "fewer than 10 units (hidden)" in text


def test_second_run_shows_changes(built):
    """Runs compare disjoint cohorts split at the previous run's data end (segworkshop.changes); the same data
    again has no new cohort, and a previous run whose data ended three weeks earlier gets a corrected table."""
    yaml, first = built
    before = json.loads((first.out / "summary.json").read_text())
    assert before["changes"]["status"] == "no previous run"
    assert before["data_end"] and len(before["fingerprint"]) == 16
    assert before["definition"]["success"] == "purchase within 14 days (from first event)"
    second = report.run(yaml, yaml.parent / "reports" / "second", only=["08"])
    index = (second.out / "index.html").read_text(encoding="utf-8")
    assert "Since the previous run" in index and "there is no new cohort to compare yet" in index
    assert json.loads((second.out / "summary.json").read_text())["changes"]["status"] == "no new cohort"

    # a previous run of the same workshop whose data ended three weeks before this data's end
    earlier = dict(before, started="9999-01-01T00:00:00+00:00")  # the latest earlier report
    earlier.pop("baseline")  # its counts would be of the full data, not of the earlier windows
    end = datetime.fromisoformat(before["data_end"])
    earlier["data_end"] = (end - timedelta(days=21)).isoformat()
    (yaml.parent / "reports" / "earlier").mkdir()
    (yaml.parent / "reports" / "earlier" / "summary.json").write_text(json.dumps(earlier))
    third = report.run(yaml, yaml.parent / "reports" / "third", only=["08"])
    index = (third.out / "index.html").read_text(encoding="utf-8")
    block = json.loads((third.out / "summary.json").read_text())["changes"]
    assert block["status"] == "compared" and block["comparisons"] > 1
    assert "beyond noise?" in index and "q (BH)" in index
    assert f"Benjamini–Hochberg over all {block['comparisons']} comparisons computed" in index
    assert all(min(r["new_units"], r["earlier_units"]) >= 10 for r in block["rows"])
    assert block["rows"][0]["segment"] == "baseline"


def test_a_broken_notebook_leaves_the_rest_intact(built, tmp_path):
    yaml, _ = built
    books = tmp_path / "notebooks"
    books.mkdir()
    for book in report.step_notebooks(["01", "08"]):
        shutil.copy(book, books / book.name)
    broken = json.loads((books / "01_data_check.ipynb").read_text())
    broken["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "id": "boom",
            "source": "raise RuntimeError('the export is missing a column')",
        }
    )
    (books / "01_data_check.ipynb").write_text(json.dumps(broken))
    result = report.run(yaml, tmp_path / "out", notebooks=books)
    status = {s.notebook: s for s in result.steps}
    assert not status["01_data_check"].ok and status["08_readout"].ok
    assert "RuntimeError: the export is missing a column" in status["01_data_check"].error
    index = (result.out / "index.html").read_text()
    assert "Some steps failed" in index and "the export is missing a column" in index
    page = (result.out / "01_data_check.html").read_text()
    assert "This step failed" in page and "Traceback" not in page
    assert "Events" in page  # what ran before the failure is still shown


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # networking off: every host resolves nowhere and every request goes to a closed proxy
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
]


def test_pages_render_offline_in_chromium(built, tmp_path):
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: tests/run.sh installs Debian's chromium for this test")
        pytest.skip("needs Debian's chromium (tests/run.sh installs it)")
    _, result = built
    for page in pages(result):
        dom = subprocess.run(
            [
                chromium(),
                *OFFLINE_FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                "--dump-dom",
                "--virtual-time-budget=2000",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        assert "</main>" in dom, page.name
        expected = page.read_text(encoding="utf-8").count('class="marks"')
        drawn = len(re.findall(r'<svg[^>]*class="marks"', dom))
        assert drawn == expected, (page.name, drawn, expected)
        # drawn means marks inside: paths or rects with real geometry
        if expected:
            assert re.search(r'<path[^>]* d="M', dom), page.name


def test_previous_run_is_of_the_same_workshop(tmp_path):
    for name, workshop, started in [
        ("a", "/w/one.yaml", "2026-01-01"),
        ("b", "/w/two.yaml", "2026-01-03"),
        ("c", "/w/one.yaml", "2026-01-02"),
        ("now", "/w/one.yaml", "2026-01-04"),
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps({"workshop": workshop, "started": started}))
    previous = report._previous_summary(tmp_path / "now", "/w/one.yaml")
    assert previous == {"workshop": "/w/one.yaml", "started": "2026-01-02"}
    assert report._previous_summary(tmp_path / "now", "/w/three.yaml") is None


def test_same_inputs_same_report(built, tmp_path):
    yaml, first = built
    again = report.run(yaml, tmp_path / "elsewhere" / "again", only=["03", "04", "08"], jobs=2)
    for step in again.steps:
        assert (again.out / step.page).read_bytes() == (first.out / step.page).read_bytes(), step.page
    stamp = re.compile(r"Report of [^·]+·")
    index_a = stamp.sub("", (first.out / "index.html").read_text())
    index_b = stamp.sub("", (again.out / "index.html").read_text())
    # the same readout; the list of steps differs only because this run did three of them
    readout = lambda text: text.split("<h2>Readout</h2>", 1)[1]  # noqa: E731
    assert readout(index_a) == readout(index_b)
