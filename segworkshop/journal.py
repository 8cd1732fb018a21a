"""The session's record: success definition, segments, hypotheses, findings, scores, votes, next steps, notes.

Why this layout: several participants write at once (several kernels, several processes, one folder), and
nothing may be lost or overwritten. So the journal is **append-only**: every save writes a new small JSON file
(a *revision* of an entry), atomically (write to a temporary file, then rename), under
``journal/<kind>/<participant>/``. Editing an entry writes a newer revision with the same entry id; removing it
writes a tombstone revision. Reading takes the newest revision of each entry. No file is ever rewritten, so
concurrent writers never conflict and no lock is needed; the files are plain, diffable JSON, and the history of
every entry is kept.

A shared or synced folder leaves other things behind: half-written or empty files, macOS ``._`` resource forks,
sync-conflict copies (``x (conflicted copy).json``, ``x.sync-conflict-….json``, ``x (1).json``), folders named
like entries, symlinks, FIFOs. Reading never opens anything but a regular file (a FIFO would block forever),
never raises over such a file and skips everything that is not a well-formed entry; :meth:`Journal.skipped` lists
what was skipped and why, :meth:`Journal.skipped_note` says it in one sentence for validate and the report.
Temporary files of a writer that was killed mid-save are removed once stale (see ``STALE_TEMP_SECONDS``), never
while a live writer may still rename them.

Participant names and texts are data: any characters are allowed; a name is never used raw in a path (the
folder is a slug plus a short hash of the name), and texts are stored as typed (escaping is the job of
whatever displays them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENTRY_KINDS = ("success", "segments", "hypotheses", "findings", "scores", "votes", "notes", "room")
FACILITATOR = "facilitator"

#: A writer's temporary file (``.tmp-….json``) older than this (by mtime) belongs to a killed writer: removed.
STALE_TEMP_SECONDS = 600
#: No entry is anywhere near this big; a bigger file is not read (it is not an entry).
MAX_ENTRY_BYTES = 16 * 1024 * 1024

_TEMP_NAME = re.compile(r"^\.tmp-[A-Za-z0-9_]+\.json$")  # what tempfile.mkstemp(prefix=".tmp-", suffix=".json") makes
_CONFLICT_NAME = re.compile(
    r"(conflicted copy|conflict|\.sync-conflict-|\s\(\d+\)\.json$|~\d*\.json$)",
    re.IGNORECASE,
)
_RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "id": str,
    "author": str,
    "at": str,
    "ns": int,
    "deleted": bool,
    "data": dict,
}
_FILE_TYPES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclass(frozen=True)
class Skipped:
    """A file in the journal that reading skipped: where it is and why, in words a facilitator understands."""

    path: str  # relative to the workshop folder, e.g. "journal/hypotheses/ana-1a2b3c4d5e/x (1).json"
    reason: str

    def __str__(self) -> str:
        return f"{self.path} ({self.reason})"


def _file_type(mode: int) -> str:
    for test, name in _FILE_TYPES:
        if test(mode):
            return name
    return "not a regular file"


class _Foreign(Exception):
    """Internal: this file is not a well-formed entry (the message is the reason)."""


@dataclass(frozen=True)
class Entry:
    """The newest revision of one journal entry."""

    kind: str
    id: str
    author: str
    data: dict[str, Any]
    created: str
    updated: str
    revision: int
    history: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)


def participant_folder(name: str) -> str:
    """A safe folder name for a participant: a readable slug plus a hash of the exact name."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("a participant needs a name (any characters, not empty).")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24] or "participant"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}"


class Journal:
    """The journal of one workshop folder (``<folder>/journal``)."""

    def __init__(self, folder: str | Path) -> None:
        self.root = Path(folder) / "journal"

    # ------------------------------------------------------------------ writing

    def add(self, kind: str, author: str, data: dict[str, Any]) -> Entry:
        """Save a new entry; returns it (its ``id`` is what edit and remove take)."""
        entry_id = uuid.uuid4().hex
        self._write(kind, author, entry_id, data, deleted=False)
        return self._current(kind, entry_id)

    def edit(self, kind: str, entry_id: str, data: dict[str, Any], author: str | None = None) -> Entry:
        """Save a new revision of an entry (the old one stays in the history)."""
        current = self._current(kind, entry_id)
        self._write(kind, author or current.author, entry_id, data, deleted=False)
        return self._current(kind, entry_id)

    def remove(self, kind: str, entry_id: str, author: str | None = None) -> None:
        """Remove an entry (a tombstone revision: the history is kept on disk)."""
        current = self._current(kind, entry_id)
        self._write(kind, author or current.author, entry_id, current.data, deleted=True)

    def set(self, kind: str, data: dict[str, Any], author: str = FACILITATOR) -> Entry:
        """Save the single current value of a kind (e.g. the success definition): a new revision each time."""
        entries = self.entries(kind)
        if entries:
            return self.edit(kind, entries[-1].id, data, author)
        return self.add(kind, author, data)

    def _write(self, kind: str, author: str, entry_id: str, data: dict[str, Any], deleted: bool) -> None:
        self._check_kind(kind)
        json.dumps(data)  # fail before writing anything if the data cannot be stored
        folder = self.root / kind / participant_folder(author)
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        record = {
            "kind": kind,
            "id": entry_id,
            "author": author,
            "at": now,
            "ns": time.time_ns(),
            "deleted": deleted,
            "data": data,
        }
        name = f"{record['ns']:020d}-{entry_id[:12]}-{uuid.uuid4().hex[:8]}.json"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------ reading

    def entries(self, kind: str, author: str | None = None) -> list[Entry]:
        """Current entries of a kind (oldest first), optionally of one author."""
        self._check_kind(kind)
        revisions: dict[str, list[dict[str, Any]]] = {}
        for record in self._records(kind, author):
            revisions.setdefault(record["id"], []).append(record)
        out = []
        for entry_id, revs in revisions.items():
            revs.sort(key=lambda r: (r["ns"], r["at"]))
            last = revs[-1]
            if last["deleted"]:
                continue
            out.append(
                Entry(
                    kind=kind,
                    id=entry_id,
                    author=last["author"],
                    data=last["data"],
                    created=revs[0]["at"],
                    updated=last["at"],
                    revision=len(revs),
                    history=tuple(revs),
                )
            )
        return sorted(out, key=lambda e: (e.created, e.id))

    def latest(self, kind: str) -> Entry | None:
        """The most recently updated entry of a kind (for single-valued kinds such as the success definition)."""
        entries = self.entries(kind)
        return max(entries, key=lambda e: e.updated) if entries else None

    def authors(self) -> list[str]:
        names = set()
        for kind in ENTRY_KINDS:
            names.update(e.author for e in self.entries(kind))
        return sorted(names)

    def skipped(self) -> list[Skipped]:
        """Every file under the journal's kind folders that reading skips, with the reason (sorted by path).

        A fresh look at the folder each call (nothing is cached); never raises."""
        out: list[Skipped] = []
        for kind in ENTRY_KINDS:
            for _ in self._records(kind, None, out):
                pass
        return sorted(out, key=lambda s: s.path)

    def skipped_note(self) -> str | None:
        """One sentence naming what reading skipped (for validate and the report), or None when nothing was."""
        skipped = self.skipped()
        if not skipped:
            return None
        shown = "; ".join(str(s) for s in skipped[:3])
        more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        files = "1 file" if len(skipped) == 1 else f"{len(skipped)} files"
        return (
            f"{files} in the journal {'was' if len(skipped) == 1 else 'were'} skipped, not read as entries: "
            f"{shown}{more}. Remove {'it' if len(skipped) == 1 else 'them'} or restore a good copy; "
            "the other entries are read as usual."
        )

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root.parent).as_posix()
        except ValueError:
            return path.as_posix()

    def _records(self, kind: str, author: str | None, skipped: list[Skipped] | None = None) -> Iterable[dict[str, Any]]:
        """The well-formed records of a kind. Anything else is skipped (into ``skipped`` when given)."""

        def skip(path: Path, reason: str) -> None:
            if skipped is not None:
                skipped.append(Skipped(self._rel(path), reason))

        base = self.root / kind
        try:
            base_mode = os.lstat(base).st_mode
        except OSError:
            return  # no such kind yet
        if not stat.S_ISDIR(base_mode) and not (stat.S_ISLNK(base_mode) and base.is_dir()):
            skip(base, f"the {kind} folder is not a folder ({_file_type(base_mode)})")
            return
        if author:
            folders = [base / participant_folder(author)]
        else:
            try:
                names = sorted(os.listdir(base))
            except OSError as error:
                skip(base, f"the folder could not be listed ({error.strerror or error})")
                return
            folders = []
            for name in names:
                path = base / name
                reason = self._folder_problem(path)
                if reason is None:
                    folders.append(path)
                elif reason:
                    skip(path, reason)
        seen: dict[tuple[str, int], Path] = {}
        for folder in folders:
            if author and self._folder_problem(folder) is not None:
                continue
            try:
                names = sorted(os.listdir(folder))
            except OSError as error:
                if not isinstance(error, FileNotFoundError):
                    skip(folder, f"the folder could not be listed ({error.strerror or error})")
                continue
            for name in names:
                path = folder / name
                try:
                    record = self._read(path, kind)
                except FileNotFoundError:
                    continue  # gone since the listing (e.g. a writer's temp file, just renamed)
                except _Foreign as foreign:
                    if str(foreign):
                        skip(path, str(foreign))
                    continue
                key = (record["id"], record["ns"])
                if key in seen:
                    skip(path, f"a duplicate of {seen[key].name} (a copy made by a sync tool or by hand)")
                    continue
                seen[key] = path
                yield record

    def _folder_problem(self, path: Path) -> str | None:
        """Why a participant folder is not read ("" = ignore silently), or None when it is a folder to read."""
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return ""
        except OSError as error:
            return f"could not be looked at ({error.strerror or error})"
        if stat.S_ISDIR(mode):
            return None
        if path.name.startswith("._"):
            return "a macOS resource fork (._ file), not a participant's folder"
        if stat.S_ISLNK(mode):
            target = self._link_target(path)
            if target is None:
                return "a symlink whose target is missing or outside the journal folder"
            if not target.is_dir():
                return "a symlink that does not lead to a participant's folder"
            return None
        if path.name.startswith("."):
            return "a hidden file, not a participant's folder"
        return f"not a participant's folder ({_file_type(mode) if not stat.S_ISREG(mode) else 'a file'})"

    def _link_target(self, path: Path) -> Path | None:
        """Where a symlink leads, if it exists and is inside the journal folder."""
        try:
            target = Path(os.path.realpath(path))
            root = Path(os.path.realpath(self.root))
            target.relative_to(root)
            os.stat(target)
        except (OSError, ValueError, RuntimeError):
            return None
        return target

    def _read(self, path: Path, kind: str) -> dict[str, Any]:
        """One record file, or :class:`_Foreign` with the reason ("" = skip silently). Never opens a non-regular
        file, never blocks."""
        name = path.name
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            raise
        except OSError as error:
            raise _Foreign(f"could not be looked at ({error.strerror or error})") from None
        if _TEMP_NAME.match(name) and stat.S_ISREG(info.st_mode):
            if time.time() - info.st_mtime > STALE_TEMP_SECONDS:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                except OSError:
                    raise _Foreign("a temporary file left by an interrupted save (could not be removed)") from None
            raise _Foreign("")  # a save in progress (or just cleaned up): not foreign
        if name.startswith("._"):
            raise _Foreign("a macOS resource fork (._ file), not an entry")
        if name.startswith("."):
            raise _Foreign("a hidden file (a temporary or metadata file of an editor or sync tool)")
        if not name.endswith(".json"):
            raise _Foreign("not a journal file (the name does not end in .json)")
        if _CONFLICT_NAME.search(name):
            raise _Foreign("a sync-conflict copy (the original is read; this copy is not)")
        target = path
        if stat.S_ISLNK(info.st_mode):
            resolved = self._link_target(path)
            if resolved is None:
                raise _Foreign("a symlink whose target is missing or outside the journal folder")
            target = resolved
            try:
                info = os.stat(target)
            except OSError:
                raise _Foreign("a symlink whose target is missing or outside the journal folder") from None
        if not stat.S_ISREG(info.st_mode):
            raise _Foreign(f"not a regular file ({_file_type(info.st_mode)})")
        if info.st_size > MAX_ENTRY_BYTES:
            raise _Foreign(f"too large to be an entry ({info.st_size} bytes)")
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(target, flags)
        except FileNotFoundError:
            raise
        except OSError as error:
            raise _Foreign(f"could not be read ({error.strerror or error})") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the look and the open
                raise _Foreign("not a regular file (changed while being read)")
            chunks = []
            size = 0
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_ENTRY_BYTES:
                    raise _Foreign("too large to be an entry")
                chunks.append(chunk)
        except OSError as error:
            raise _Foreign(f"could not be read ({error.strerror or error})") from None
        finally:
            os.close(fd)
        raw = b"".join(chunks)
        if not raw.strip():
            raise _Foreign("empty (a save that never finished, or a placeholder left by a sync tool)")
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise _Foreign("not UTF-8 text (not a journal entry, or damaged)") from None
        except (ValueError, RecursionError):
            raise _Foreign("not valid JSON (half-written or edited by hand)") from None
        problem = _shape_problem(record, kind)
        if problem:
            raise _Foreign(f"not a journal entry ({problem})")
        return record

    def _current(self, kind: str, entry_id: str) -> Entry:
        for entry in self.entries(kind):
            if entry.id == entry_id:
                return entry
        raise KeyError(f"no {kind} entry {entry_id!r} in {self.root}")

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in ENTRY_KINDS:
            raise ConfigError(f"unknown journal kind {kind!r}; kinds: {', '.join(ENTRY_KINDS)}.")


def _shape_problem(record: Any, kind: str) -> str | None:
    """What is wrong with a parsed record's shape, or None when it is a well-formed entry of ``kind``."""
    if not isinstance(record, dict):
        return f"JSON {type(record).__name__}, not an object"
    for key, expected in _RECORD_FIELDS.items():
        if key not in record:
            return f"no {key!r} field"
        value = record[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"the {key!r} field is not a {getattr(expected, '__name__', expected)}"
    if record["kind"] != kind:
        return f"an entry of kind {record['kind']!r} in the {kind!r} folder"
    if not record["id"]:
        return "an empty 'id'"
    return None
