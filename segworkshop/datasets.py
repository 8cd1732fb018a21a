"""The bundled demo datasets: find them in the source tree's ``data/`` folder, or generate them once; run the
kit on them (:func:`run_demo`, what ``segworkshop demo`` does) or write a new one (:func:`write_demo_data`).

An installed (non-editable) package has no ``data/`` folder; then the seeded generator writes the same
datasets into the user's cache folder (``$XDG_CACHE_HOME/segworkshop`` or ``~/.cache/segworkshop``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .report import RunResult
    from .validate import ValidationReport
    from .workshop import Workshop

REPO_DATA = Path(__file__).resolve().parent.parent / "data"
EXAMPLES = Path(__file__).resolve().parent.parent / "workshop" / "examples"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "segworkshop" / "demo"


def demo_workshop_path(kind: str, progress: Callable[[str], None] | None = None) -> Path:
    """The workshop.yaml of demo dataset ``kind`` (saas, ecomm, finserv), generating it if needed."""
    bundled = REPO_DATA / kind / "workshop.yaml"
    if bundled.exists():
        return bundled
    from . import demo

    folder = cache_dir() / kind
    target = folder / "workshop.yaml"
    if not target.exists():
        if progress:
            progress(f"{kind}: generating the demo data into {folder}")
        demo.write(kind, folder, demo.BUNDLED_UNITS[kind], seed=0, progress=progress)
    return target


def example_workshop_path(kind: str, progress: Callable[[str], None] | None = None) -> Path:
    """The example session on demo dataset ``kind`` (workshop/examples/<kind>: a journal as a session left it);
    without the source tree, the bare demo workshop (an empty journal)."""
    example = EXAMPLES / kind / "workshop.yaml"
    if example.exists() and REPO_DATA.joinpath(kind, "workshop.yaml").exists():
        return example
    return demo_workshop_path(kind, progress)


@dataclass
class DemoRun:
    """What :func:`run_demo` did on one demo dataset."""

    kind: str
    path: Path  # the workshop.yaml that was run (the example session, or the bare demo workshop)
    workshop: Workshop
    validation: ValidationReport
    table: pd.DataFrame | None = None  # success per value of each configured segment; None when validation failed
    report: RunResult | None = None  # the rendered report, when one was asked for

    @property
    def ok(self) -> bool:
        return self.validation.ok and (self.report is None or self.report.ok)


def run_demo(
    kind: str,
    out: str | Path | None = None,
    *,
    jobs: int = 2,
    progress: Callable[[str], None] | None = None,
    on_baseline: Callable[[DemoRun], None] | None = None,
) -> DemoRun:
    """Run the kit on demo dataset ``kind``: validate its example session, count success per configured segment,
    and, with ``out``, render that session's report into ``out`` (``out/index.html``; ``jobs`` notebooks at a time).

    Stops after validation when it fails (``table`` and ``report`` stay None). ``on_baseline`` is called with the
    result once the baseline table is ready, before the report (which takes minutes) is rendered.
    """
    from .compare import success_table
    from .validate import validate
    from .workshop import Workshop

    path = example_workshop_path(kind, progress=progress)
    ws = Workshop.load(path)
    if progress:
        progress(f"{kind}: validating {ws.mapped.label}")
    result = DemoRun(kind, path, ws, validate(ws))
    if not result.validation.ok:
        return result
    result.table = success_table(ws, ws.plain_segments())
    if on_baseline:
        on_baseline(result)
    if out is not None:
        from .report import run

        result.report = run(path, Path(out), jobs=jobs, progress=progress)
    return result


@dataclass(frozen=True)
class DemoData:
    """A demo dataset :func:`write_demo_data` generated."""

    path: Path  # the folder: Parquet files and workshop.yaml
    kind: str
    units: int
    seed: int


def write_demo_data(
    kind: str,
    out: str | Path | None = None,
    units: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> DemoData:
    """Generate demo dataset ``kind`` (Parquet + workshop.yaml) into ``out`` (default: ``demo-<kind>`` in the
    working directory) with ``units`` users (accounts for saas; default: the bundled size)."""
    from . import demo

    units = units or demo.BUNDLED_UNITS[kind]
    folder = Path(out) if out is not None else Path(f"demo-{kind}")
    demo.write(kind, folder, units, seed=seed, progress=progress)
    return DemoData(folder, kind, units, seed)
