"""Results computed once per state of an opened workshop, and reused by every page that shows them.

A report runs the eight step notebooks in one kernel (report.py), and several pages show the same result: the
readout re-shows the dashboard's comparison, the hypotheses page and the readout check the same hypotheses,
the ledger and the scoop both need the comparison of every other trait. A function decorated with
:func:`per_state` keeps its result on the opened data — one :class:`~segworkshop.workshop.Workshop` and every
view of it under another success definition or segment list (``Workshop.with_config``) share one memo — keyed
on the workshop's state (every setting but the data, which the memo belongs to: success definition, segments,
unit, privacy threshold, engine) and on the call's arguments. The journal's decisions reach a page through
the configuration (``Session.config``) or as arguments (the hypotheses entered), so a changed decision is a
new key; data read again (changed files: ``Session`` reopens them) is a new Workshop with an empty memo.

The same memo keeps engine-side tables (:func:`kept`): the unit table, built once per success definition and
kept in the engine (``Workshop._kept_unit_table``), which every later question reads instead of the events.

Callers get their own copy of a result, so a page that annotates its result (the ledger writes its q-values
into a comparison's rows) never changes what another page reads. Arguments that cannot be keyed by value (a
DataFrame, an Ibis expression) are simply not memoised.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .config import WorkshopConfig
    from .workshop import Workshop

F = TypeVar("F", bound=Callable[..., Any])


class _Unkeyable(Exception):
    """An argument that has no value-based key (the call is computed, not memoised)."""


def _frozen(value: Any) -> Any:
    """A hashable key for ``value`` that changes whenever its content does; :class:`_Unkeyable` otherwise."""
    if value is None or isinstance(value, (str, int, float, bool, Path)):
        return (type(value).__name__, value)
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_frozen(v) for v in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((repr(k), _frozen(v)) for k, v in value.items())))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(repr(_frozen(v)) for v in value)))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # a field left out of comparison (the config's raw mapping, kept for copying) is no part of the state
        fields = tuple((f.name, _frozen(getattr(value, f.name))) for f in dataclasses.fields(value) if f.compare)
        return (type(value).__qualname__, fields)
    raise _Unkeyable(type(value).__name__)


def state_key(ws: Workshop) -> Any:
    """The workshop's settings that results depend on, the data aside (the memo belongs to the opened data)."""
    config = dataclasses.replace(ws.config, data=None, title="", participants=(), path=None)
    return _frozen(config)


def unit_state_key(ws: Workshop) -> Any:
    """The settings a unit table depends on (the success definition, the unit, the engine), the data aside:
    not the segments or the privacy threshold, which only decide what is shown of it."""
    config = dataclasses.replace(
        ws.config, data=None, title="", participants=(), path=None, segments=(), privacy_min_units=0
    )
    return _frozen(config)


_LOCK = threading.Lock()
_MISSING = object()
MAX_RESULTS = 256  # per opened data: a room that runs for hours keeps its latest results, not all of them


def _recall(memo: dict[Any, Any], key: Any) -> Any:
    """The entry under ``key``, now the most recently used (:data:`_MISSING` when none); under :data:`_LOCK`."""
    found = memo.pop(key, _MISSING)
    if found is not _MISSING:
        memo[key] = found  # most recently used last
    return found


def _store(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value`` under ``key`` as the most recently used, the oldest dropped past :data:`MAX_RESULTS`;
    under :data:`_LOCK`."""
    memo.pop(key, None)
    memo[key] = value
    while len(memo) > MAX_RESULTS:
        memo.pop(next(iter(memo)))


def per_state(fn: F) -> F:
    """Memoise ``fn(ws, *args, **kwargs)`` on ``ws``'s opened data, keyed on its state and the arguments."""

    @functools.wraps(fn)
    def memoised(ws: Workshop, *args: Any, **kwargs: Any) -> Any:
        memo = getattr(ws, "memo", None)
        if memo is None:
            return fn(ws, *args, **kwargs)
        try:
            key = (fn.__module__, fn.__qualname__, state_key(ws), _frozen(args), _frozen(kwargs))
        except _Unkeyable:
            return fn(ws, *args, **kwargs)
        with _LOCK:  # the room's request threads share one opened workshop
            found = _recall(memo, key)
        if found is _MISSING:
            found = fn(ws, *args, **kwargs)
            with _LOCK:
                _store(memo, key, found)
        return copy.deepcopy(found)

    return memoised  # type: ignore[return-value]


KEEP_TABLES = 4  # engine-side tables of one kind kept per opened data (a unit table of 1M units is ~100 MB)


def kept(ws: Workshop, key: tuple, value: Any = _MISSING, most: int = KEEP_TABLES) -> Any:
    """What ``ws``'s opened data keeps under ``key`` (None when nothing), or, with ``value``, keep that and
    return it: engine-side tables (the kept unit table, workshop.py) that every view of the data shares. The
    most recently used stay: at most ``most`` of one kind (``key[0]``: a room that tries many success
    definitions holds the latest few unit tables in the engine's memory, not all), and :data:`MAX_RESULTS`
    entries in all, as :func:`per_state`'s results."""
    memo = getattr(ws, "memo", None)
    if memo is None:
        return None if value is _MISSING else value
    with _LOCK:
        if value is _MISSING:
            found = _recall(memo, key)
            return None if found is _MISSING else found
        _store(memo, key, value)
        same = [k for k in memo if isinstance(k, tuple) and k[:1] == key[:1]]
        for old in same[: max(0, len(same) - most)]:
            memo.pop(old)  # its table is dropped from the engine once nothing refers to it (ibis's finaliser)
        return value


def files_stamp(config: WorkshopConfig) -> list[Any]:
    """What says the data files changed: each source file's path, size and modification time (every file of a
    folder source), a mapping's settings, and the description of a source that is not a file (a table)."""
    data = config.data
    stamp: list[Any] = []
    for spec in (data.events, data.users, data.accounts):
        if isinstance(spec, Mapping) and "path" in spec:  # {path: FILE, columns: {...}}: the files, and the mapping
            stamp.append(repr(sorted((k, repr(v)) for k, v in spec.items() if k != "path")))
            spec = spec["path"]
        if isinstance(spec, (str, Path)):
            path = Path(spec) if Path(spec).is_absolute() else config.base_dir / spec
            for f in sorted(path.glob("**/*")) if path.is_dir() else [path]:
                if f.exists():
                    st = f.stat()
                    stamp.append([str(f), st.st_size, st.st_mtime_ns])
        else:
            stamp.append(repr(spec))
    return stamp


_OPENED: dict[Any, Workshop] = {}
KEEP_OPENED = 2


def opened(config: WorkshopConfig) -> Workshop:
    """The Workshop of ``config`` already opened in this process when neither the configuration nor its files
    changed since (the steps of a report share one kernel: report.py), else a newly opened one. The latest
    :data:`KEEP_OPENED` stay open."""
    from .workshop import Workshop

    try:
        key = (_frozen(dataclasses.replace(config, data=None)), _frozen(config.data), repr(files_stamp(config)))
    except _Unkeyable:
        return Workshop(config)
    ws = _OPENED.pop(key, None) or Workshop(config)
    _OPENED[key] = ws  # most recent last
    while len(_OPENED) > KEEP_OPENED:
        _OPENED.pop(next(iter(_OPENED)))
    return ws


__all__ = ["KEEP_TABLES", "files_stamp", "kept", "opened", "per_state", "state_key", "unit_state_key"]
