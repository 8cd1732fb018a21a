"""`import segworkshop` and `segworkshop --help` stay light: the package face is lazy (PEP 562) and the CLI imports
the heavy libraries (Ibis, pandas, statsmodels, ...) only inside the commands that use them.

Each check runs in a fresh interpreter (this test process has long imported everything), from the source tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("ibis", "pandas", "statsmodels", "scipy", "papermill", "nbconvert", "altair", "duckdb", "pyarrow")


def python(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's package, whatever is installed
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def imported_after(code: str) -> list[str]:
    """The heavy top-level packages loaded once ``code`` has run in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint('\\n' + __import__('json').dumps(sorted(set({HEAVY!r}) & set(sys.modules))))"
    result = python("-c", probe)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_import_segworkshop_loads_no_heavy_library():
    assert imported_after("import segworkshop") == []
    assert imported_after("import segworkshop.cli") == []
    assert imported_after("from segworkshop import ConfigError, DataError, SegworkshopError, __version__") == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["validate", "--help"], ["demo", "--help"]])
def test_help_loads_no_heavy_library(argv):
    run = f"from segworkshop.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code == 0"
    assert imported_after(run) == []


@pytest.mark.parametrize("module", ["segworkshop", "segworkshop.cli"])
def test_python_m_help_imports_nothing_heavy(module):
    """As a user runs it: `python -m segworkshop --help` (what the console script does), per -X importtime."""
    result = python("-X", "importtime", "-m", module, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout
    loaded = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")}
    assert {m.split(".")[0] for m in loaded} & set(HEAVY) == set()
    assert "Commands:" in result.stdout and "demo-data" in result.stdout


def test_the_lazy_names_resolve():
    import segworkshop
    from segworkshop import config, errors, workshop

    assert segworkshop.Workshop is workshop.Workshop
    assert segworkshop.load_config is config.load_config and segworkshop.DataError is errors.DataError
    assert segworkshop.__version__ == version("segworkshop")
    assert set(segworkshop.__all__) <= set(dir(segworkshop))
    assert not {"import_module", "TYPE_CHECKING", "Any", "_LAZY"} & set(dir(segworkshop))
    for name in segworkshop.__all__:
        assert getattr(segworkshop, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        segworkshop.nope  # noqa: B018
    star: dict = {}
    exec("from segworkshop import *", star)
    assert set(segworkshop.__all__) <= set(star)


def test_workshop_is_loaded_on_first_use():
    code = (
        "import segworkshop, sys\nassert 'ibis' not in sys.modules\nsegworkshop.Workshop\nassert 'ibis' in sys.modules"
    )
    result = python("-c", code)
    assert result.returncode == 0, result.stderr


def test_the_cli_demo_kinds_are_the_generators():
    from segworkshop import cli, demo

    assert cli.DEMO_DATASETS == demo.DATASETS
