"""Who may do what in the room: two tokens (the join link's, the facilitator's) and a key per participant.

The tokens are made once per workshop folder and kept in ``<folder>/.segworkshop/room.json`` (readable by its
owner only), so that a restarted server keeps the links already handed out. Every comparison of a token is in
constant time (:func:`hmac.compare_digest`). A participant's name is claimed with a key that only their browser
holds (it keeps it across reloads): the same name from another browser is refused, so nobody edits or removes
someone else's entries by typing their name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..session import clean_participant

FILE = ".segworkshop/room.json"
FACILITATOR, PARTICIPANT = "facilitator", "participant"


@dataclass(frozen=True)
class RoomTokens:
    participant: str  # in the join link: everyone in the room
    facilitator: str  # in the facilitator's link only

    def role(self, given: str | None) -> str | None:
        """``facilitator``, ``participant`` or None (a wrong or missing token), in constant time."""
        given = given or ""
        is_facilitator = hmac.compare_digest(given.encode(), self.facilitator.encode())
        is_participant = hmac.compare_digest(given.encode(), self.participant.encode())
        if is_facilitator:
            return FACILITATOR
        return PARTICIPANT if is_participant else None


class Members:
    """The room's names, each claimed by one browser's key (stored as a hash, never the key itself)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def join(self, name: str, key: str | None) -> str:
        """Claim ``name`` (or reclaim it with its ``key``); returns the key. A name another browser holds is
        refused with a message that says so."""
        name = clean_name(name)
        with self._lock:
            state = _read(self.path)
            members = state.setdefault("members", {})
            held = members.get(name)
            if held is not None:
                if key and hmac.compare_digest(held, _digest(key)):
                    return key
                raise PermissionError(f"the name {name!r} is already taken in this room: pick another one.")
            key = secrets.token_urlsafe(18)
            members[name] = _digest(key)
            _write(self.path, state)
            return key

    def check(self, name: str, key: str | None) -> bool:
        """Whether ``key`` holds ``name``."""
        held = _read(self.path).get("members", {}).get(name)
        return bool(held and key and hmac.compare_digest(held, _digest(key)))


def clean_name(name: object) -> str:
    """A name to join with: the session's rule (:func:`segworkshop.session.clean_participant`)."""
    try:
        return clean_participant(name)
    except ValueError as exc:
        raise ValueError(str(exc).replace("type your name", "type your name to join")) from None


def room_tokens(folder: Path) -> RoomTokens:
    """The workshop's room tokens, made on first use and kept."""
    path = Path(folder) / FILE
    state = _read(path)
    if not state.get("participant") or not state.get("facilitator"):
        state["participant"] = secrets.token_urlsafe(16)
        state["facilitator"] = secrets.token_urlsafe(24)
        _write(path, state)
    return RoomTokens(participant=state["participant"], facilitator=state["facilitator"])


def members(folder: Path) -> Members:
    return Members(Path(folder) / FILE)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        raise ConfigError(f"{path} is not valid JSON: delete it to make new room links.") from None


def _write(path: Path, state: dict) -> None:
    """Atomically, readable by its owner only (it holds the tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-room-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
