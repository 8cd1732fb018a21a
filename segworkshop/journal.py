"""The session's record: success definition, segments, hypotheses, findings, scores, votes, next steps, notes.

Why this layout: several participants write at once (several kernels, several processes, one folder), and
nothing may be lost or overwritten. So the journal is **append-only**: every save writes a new small JSON file
(a *revision* of an entry), atomically (write to a temporary file, then rename), under
``journal/<kind>/<participant>/``. Editing an entry writes a newer revision with the same entry id; removing it
writes a tombstone revision. Reading takes the newest revision of each entry. No file is ever rewritten, so
concurrent writers never conflict and no lock is needed; the files are plain, diffable JSON, and the history of
every entry is kept.

Participant names and texts are data: any characters are allowed; a name is never used raw in a path (the
folder is a slug plus a short hash of the name), and texts are stored as typed (escaping is the job of
whatever displays them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
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

    def _records(self, kind: str, author: str | None) -> Iterable[dict[str, Any]]:
        base = self.root / kind
        if not base.is_dir():
            return
        folders = [base / participant_folder(author)] if author else sorted(p for p in base.iterdir() if p.is_dir())
        for folder in folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.json")):
                if path.name.startswith(".tmp-"):
                    continue
                with path.open(encoding="utf-8") as handle:
                    yield json.load(handle)

    def _current(self, kind: str, entry_id: str) -> Entry:
        for entry in self.entries(kind):
            if entry.id == entry_id:
                return entry
        raise KeyError(f"no {kind} entry {entry_id!r} in {self.root}")

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in ENTRY_KINDS:
            raise ConfigError(f"unknown journal kind {kind!r}; kinds: {', '.join(ENTRY_KINDS)}.")
