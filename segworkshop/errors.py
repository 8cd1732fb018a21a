"""The project's exceptions: a few named classes whose messages say what is wrong, where, and how to fix it.

The CLI turns any :class:`SegworkshopError` into one readable paragraph and exit code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SegworkshopError(Exception):
    """Base class: everything segworkshop raises on purpose."""


class ConfigError(SegworkshopError):
    """workshop.yaml (or the equivalent Python arguments) is wrong: names the key and the fix."""


class DataError(SegworkshopError):
    """The data cannot be used as configured: names the file or table, the column and the fix."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The few candidates that look most like ``name`` (for 'did you mean' hints)."""
    pool = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[h] for h in hits]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean 'x'?' or an empty string."""
    hits = closest(name, candidates)
    if not hits:
        return ""
    return " Did you mean " + " or ".join(repr(h) for h in hits) + "?"


def listing(names: Iterable[str], limit: int = 25) -> str:
    """A short comma-separated listing of names, cut after ``limit``."""
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", … ({len(names) - limit} more)"
    return shown


def first_line(value: object, limit: int | None = 300) -> str:
    """The first non-empty line of an error (or text), cut at ``limit`` characters: what a message quotes of a
    library's error. An exception with no text gives its type's name."""
    lines = [ln for ln in str(value).strip().splitlines() if ln.strip()]
    if not lines:
        return type(value).__name__ if isinstance(value, BaseException) else ""
    return lines[0][:limit] if limit else lines[0]
