"""The bundled demo datasets: find them in the source tree's ``data/`` folder, or generate them once.

An installed (non-editable) package has no ``data/`` folder; then the seeded generator writes the same
datasets into the user's cache folder (``$XDG_CACHE_HOME/segworkshop`` or ``~/.cache/segworkshop``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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
