"""The installed package's version, from its metadata (one place; the package face re-exports it)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _installed() -> str:
    try:
        return version("segworkshop")
    except PackageNotFoundError:  # running from a tree that was never installed
        return "0+unknown"


__version__ = _installed()
