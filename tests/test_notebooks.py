"""The step notebooks: stored clean, parameterised, and run headless on every demo dataset (via `segworkshop demo`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from segworkshop import demo
from segworkshop.cli import main
from segworkshop.report import step_notebooks

BOOKS = step_notebooks()


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.stem)
def test_stored_without_outputs_with_a_parameters_cell(book: Path):
    nb = json.loads(book.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    source = "".join(params[0]["source"])
    for name in ("workshop", "participant", "interactive"):
        assert f"\n{name} = " in "\n" + source
    default = re.search(r'^workshop = "(.*?)"', source, re.M).group(1)
    assert (book.parent / default).is_file(), default  # opened in place from the source tree, it runs as is
    assert nb["cells"][0]["cell_type"] == "markdown" and "".join(nb["cells"][0]["source"]).startswith("# ")


def test_eight_steps_in_order():
    assert [b.stem[:2] for b in BOOKS] == [f"{i:02d}" for i in range(1, 9)]


@pytest.mark.e2e
def test_demo_runs_every_notebook_on_every_dataset(tmp_path: Path, monkeypatch):
    # a relative --out, as a user types it (papermill changes directories while notebooks run in parallel)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--out", "out", "--jobs", "2"], catch_exceptions=False)
    assert Path.cwd() == tmp_path  # running notebooks in parallel must not move the process
    assert not (BOOKS[0].parent / "out").exists()
    tmp_path = tmp_path / "out"
    assert result.exit_code == 0, result.output
    for kind in demo.DATASETS:
        folder = tmp_path / kind
        pages = sorted(p.name for p in folder.glob("*.html"))
        assert pages == sorted(["index.html", *[f"{b.stem}.html" for b in BOOKS]]), kind
        summary = json.loads((folder / "summary.json").read_text())
        assert all(step["ok"] for step in summary["steps"]), [s for s in summary["steps"] if not s["ok"]]
        index = (folder / "index.html").read_text()
        assert "Readout" in index and "Experiments chosen" in index
        assert f"report: {folder / 'index.html'}" in result.output
