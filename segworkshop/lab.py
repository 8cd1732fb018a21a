"""Open a workshop folder in JupyterLab (``segworkshop lab``): the step notebooks, starting with the data check.

JupyterLab is the ``lab`` extra (``pip install 'segworkshop[lab]'``); without it the error says how to get it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .errors import SegworkshopError

FIRST_STEP = "01_data_check.ipynb"


def lab_command(folder: str | Path = ".", host: str | None = None, port: int | None = None) -> list[str]:
    """The command line that opens workshop ``folder`` in JupyterLab, at its first step notebook.

    ``host`` / ``port``: where JupyterLab listens (its own default: this machine, port 8888). Run as root (a
    container, a VM) JupyterLab refuses to start unless told; the command then says ``--allow-root`` itself.

    Raises :class:`SegworkshopError` when ``folder`` has no workshop.yaml and notebooks/, or JupyterLab is not
    installed.
    """
    folder = Path(folder)
    books = folder / "notebooks"
    if not (folder / "workshop.yaml").exists() or not books.is_dir():
        raise SegworkshopError(
            f"{folder} is not a workshop folder (no workshop.yaml and notebooks/): run segworkshop init."
        )
    jupyter = shutil.which("jupyter-lab") or shutil.which("jupyter")
    if jupyter is None or (
        jupyter.endswith("jupyter")
        and subprocess.run([jupyter, "lab", "--version"], capture_output=True).returncode != 0
    ):
        raise SegworkshopError(
            "JupyterLab is not installed: pip install 'segworkshop[lab]' (or pip install jupyterlab)."
        )
    args = [jupyter] if jupyter.endswith("jupyter-lab") else [jupyter, "lab"]
    if host is not None:
        args.append(f"--ServerApp.ip={host}")
    if port is not None:
        args.append(f"--ServerApp.port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    return [*args, f"--notebook-dir={folder.resolve()}", str(books / FIRST_STEP)]


def open_lab(folder: str | Path = ".", host: str | None = None, port: int | None = None) -> int:
    """Run JupyterLab on workshop ``folder`` until it is closed; returns its exit code."""
    return subprocess.call(lab_command(folder, host, port))
