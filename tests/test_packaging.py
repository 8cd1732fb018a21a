"""A wheel (a non-editable install) carries what the commands need: the step notebooks as package data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from segworkshop import report

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_has_the_step_notebooks(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("segworkshop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    books = sorted(n for n in names if n.endswith(".ipynb"))
    assert books == [f"segworkshop/notebooks/{p.name}" for p in report.step_notebooks()]
    assert len(books) == 8 and "segworkshop/cli.py" in names
    folder = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert [Path(b).name for b in books] == folder  # the wheel's notebooks are the repository's notebooks/
    for book in books:  # byte for byte
        assert zipfile.ZipFile(wheel).read(book) == (ROOT / "notebooks" / Path(book).name).read_bytes()


def test_the_editable_install_finds_the_top_level_notebooks():
    assert report.NOTEBOOKS.resolve() == (ROOT / "notebooks").resolve()
