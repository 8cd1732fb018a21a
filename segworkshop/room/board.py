"""What the room shares and what its people enter, through the journal.

The facilitator holds the step, one countdown and the reveal; everyone sees them. The countdown lives on the
server's clock (a start instant, a duration, the time left when paused), so every screen shows the same time
left and a reload loses nothing. Participants enter their top-3 hypotheses (segment and value from the
workshop's segments), findings (with the exploration they came from) and dot votes; each edits and removes only
their own entries. Everything is a journal entry under the participant's name, so ``segworkshop run`` renders
the served session as any other.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..hypotheses import DIRECTIONS
from ..journal import FACILITATOR, Entry
from ..session import Session
from ..steps import FINDING_TAGS
from ..worksheet import DOTS_PER_PERSON

STEPS = (
    "Welcome: join the room",
    "Your top 3 hypotheses",
    "Verdicts",
    "Scoop your neighbor: explore for 20 minutes",
    "Group the findings",
    "Vote on the experiments",
    "Readout",
)
TOP_HYPOTHESES = 3
MAX_TEXT = 1000
OWN_KINDS = ("hypotheses", "findings", "votes")


class RoomError(ValueError):
    """A request the room refuses, with the reason in words (shown to the person who made it)."""


@dataclass(frozen=True)
class Timer:
    """One countdown on the server's clock."""

    duration: float = 0.0  # seconds, as set (with the minutes added)
    started: float | None = None  # server epoch seconds when it last (re)started; None while paused or unset
    left_at_pause: float | None = None  # seconds left when paused

    def left(self, now: float) -> float:
        if self.started is not None:
            return max(0.0, self.duration - (now - self.started))
        return self.left_at_pause if self.left_at_pause is not None else self.duration

    def to_dict(self, now: float) -> dict[str, Any]:
        return {"left": round(self.left(now), 3), "running": self.started is not None, "duration": self.duration}


class Room:
    """The room of one workshop folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.session = Session(self.folder)
        self.journal = self.session.journal

    # ------------------------------------------------------------------ shared state (facilitator)

    def _control(self) -> dict[str, Any]:
        entries = self.journal.entries("room")
        return dict(entries[-1].data) if entries else {"step": 0, "revealed": False, "timer": {}}

    def _set_control(self, **changes: Any) -> None:
        control = {**self._control(), **changes}
        self.journal.set("room", control, author=FACILITATOR)

    def timer(self) -> Timer:
        return Timer(**self._control().get("timer", {}))

    def set_step(self, step: int) -> None:
        if not isinstance(step, int) or not 0 <= step < len(STEPS):
            raise RoomError(f"the steps are 0 to {len(STEPS) - 1}.")
        self._set_control(step=step)

    def revealed(self) -> bool:
        """Whether the facilitator has revealed everyone's entries (and the verdicts)."""
        return bool(self._control().get("revealed"))

    def reveal(self, revealed: bool) -> None:
        self._set_control(revealed=bool(revealed))

    def start_timer(self, minutes: float | None = None, now: float | None = None) -> None:
        """Start (or resume) the countdown; ``minutes`` sets a new duration."""
        now = time.time() if now is None else now
        t = self.timer()
        if minutes is not None:
            t = Timer(duration=_minutes(minutes) * 60)
        left = t.left(now)
        self._set_control(timer={"duration": left, "started": now, "left_at_pause": None})

    def pause_timer(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        t = self.timer()
        self._set_control(timer={"duration": t.duration, "started": None, "left_at_pause": t.left(now)})

    def add_minutes(self, minutes: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        t = self.timer()
        extra = _minutes(minutes) * 60
        if t.started is not None:
            self._set_control(timer={"duration": t.duration + extra, "started": t.started, "left_at_pause": None})
        else:
            self._set_control(
                timer={"duration": t.duration + extra, "started": None, "left_at_pause": t.left(now) + extra}
            )

    # ------------------------------------------------------------------ what participants enter

    @cached_property
    def segment_values(self) -> dict[str, list[str]]:
        """The values of each chosen segment (for the pickers), computed once per served session."""
        return self.session.segment_values()

    def add_hypothesis(self, name: str, data: dict[str, Any]) -> Entry:
        segment, value = data.get("segment"), data.get("value")
        values = self.segment_values
        if segment not in values:
            raise RoomError(f"pick one of the workshop's segments: {', '.join(values)}.")
        if value not in values[segment]:
            raise RoomError(f"{segment} has no value {value!r}; pick one of {', '.join(values[segment])}.")
        versus = data.get("versus") or None
        if versus is not None and (versus not in values[segment] or versus == value):
            raise RoomError(f"compare {segment} = {value} with another value of {segment}, or with the rest.")
        direction = data.get("direction", "more")
        if direction not in DIRECTIONS:
            raise RoomError(f"say whether they succeed {', '.join(DIRECTIONS)}.")
        if len(self.journal.entries("hypotheses", author=name)) >= TOP_HYPOTHESES:
            raise RoomError(f"you have entered your top {TOP_HYPOTHESES}: remove one to add another.")
        entry = {"segment": segment, "value": value, "versus": versus, "direction": direction}
        entry["text"] = _text(data.get("text", ""))
        return self.journal.add("hypotheses", name, entry)

    def add_finding(self, name: str, data: dict[str, Any]) -> Entry:
        tag = data.get("tag", "learning")
        if tag not in FINDING_TAGS:
            raise RoomError(f"a finding is one of: {', '.join(FINDING_TAGS)}.")
        text = _text(data.get("text", ""))
        if not text:
            raise RoomError("write what you found (a sentence is enough).")
        entry: dict[str, Any] = {"text": text, "tag": tag, "about": _text(data.get("about", ""), 200)}
        if isinstance(data.get("exploration"), dict):  # the exact comparison, checked, so the report can redraw it
            from ..explore import Exploration

            asked = {k: v for k, v in data["exploration"].items() if k in ("segment", "within")}
            entry["exploration"] = Exploration.from_dict(asked).to_dict()
        return self.journal.add("findings", name, entry)

    def add_candidate(self, name: str, data: dict[str, Any]) -> Entry:
        """An experiment candidate (the worksheet's: who is targeted, expected lift, share in the test), as the
        notebooks' candidate form saves it; prioritisation (page 07) evaluates it on the real traffic."""
        title = _text(data.get("name", ""), 200)
        if not title:
            raise RoomError("name the experiment.")
        if title in {c.name for c in self.session.candidates()}:
            raise RoomError(f"there is a candidate called {title!r} already.")
        segment, value = data.get("segment") or None, data.get("value") or None
        if segment is not None:
            values = self.segment_values
            if segment not in values or value not in values[segment]:
                raise RoomError("target everyone, or a segment and one of its values.")
        lift, share = data.get("expected_lift", 0.1), data.get("share", 0.5)
        if not isinstance(lift, (int, float)) or not -1 < lift <= 10:
            raise RoomError("the expected lift is a relative change, e.g. 0.1 for +10%.")
        if not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise RoomError("the share in the test is between 0 and 1.")
        entry = {"name": title, "segment": segment, "value": value, "expected_lift": float(lift), "share": float(share)}
        return self.journal.add("scores", name, {**entry, "scores": {}})

    def group(self, entry_id: str, group: str) -> Entry:
        """The facilitator puts a finding in a group (the room's affinity grouping); an empty name ungroups it."""
        found = next((e for e in self.journal.entries("findings") if e.id == entry_id), None)
        if found is None:
            raise RoomError("that finding is gone.")
        return self.journal.edit("findings", entry_id, {**found.data, "group": _text(group, 80)}, author=found.author)

    def vote(self, name: str, ballot: dict[str, Any]) -> Entry:
        """A participant's dots (their latest ballot counts), at most :data:`DOTS_PER_PERSON`."""
        names = {c.name for c in self.session.candidates()}
        clean: dict[str, int] = {}
        for candidate, dots in (ballot or {}).items():
            if candidate not in names:
                raise RoomError(f"there is no candidate {candidate!r} to vote for.")
            if not isinstance(dots, int) or dots < 0:
                raise RoomError("dots are whole numbers.")
            if dots:
                clean[candidate] = dots
        if sum(clean.values()) > DOTS_PER_PERSON:
            raise RoomError(f"you have {DOTS_PER_PERSON} dots in all.")
        mine = self.journal.entries("votes", author=name)
        if mine:
            return self.journal.edit("votes", mine[-1].id, {"ballot": clean}, author=name)
        return self.journal.add("votes", name, {"ballot": clean})

    def remove(self, name: str, kind: str, entry_id: str) -> None:
        """Remove one of your own entries (the facilitator may remove any)."""
        if kind not in OWN_KINDS:
            raise RoomError(f"only {', '.join(OWN_KINDS)} can be removed here.")
        entry = next((e for e in self.journal.entries(kind) if e.id == entry_id), None)
        if entry is None:
            raise RoomError("that entry is gone already.")
        if name != FACILITATOR and entry.author != name:
            raise PermissionError("you can remove only your own entries.")
        self.journal.remove(kind, entry_id, author=entry.author)

    # ------------------------------------------------------------------ the explorer

    def options(self) -> dict[str, Any]:
        """What the pages' pickers offer: each chosen segment's values (hypotheses), what the explorer can split
        by (the chosen segments, then every other usable trait) and the subgroups it can look within."""
        from ..ledger import usable_other_traits

        chosen = self.session.segments()
        values = self.segment_values
        explore = [{"label": s.name, "spec": s.spec} for s in chosen]
        explore += [{"label": t, "spec": t} for t in usable_other_traits(self.session.workshop, chosen)]
        within = [{"segment": s.name, "value": v} for s in chosen if s.kind == "trait" for v in values.get(s.name, [])]
        return {"segments": values, "explore": explore, "within": within}

    def explore(self, data: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        """One explorer question: success per value of a segment, optionally within a subgroup, with the
        session's q (explore.py); ``exploration`` is what a finding keeps to redraw it. ``timeout_s``: the
        engine's query is interrupted past it (explore.ExplorationTimeout, a DataError the page is shown)."""
        from ..explore import ROW_KEYS, Exploration

        spec = Exploration.from_dict({k: v for k, v in data.items() if k in ("segment", "within")})
        result = self.session.explore(spec, timeout_s=timeout_s)
        rows = result.rows[[c for c in ROW_KEYS if c in result.rows.columns]]
        rows = rows.astype(object).where(rows.notna(), None)
        return {
            "exploration": {**spec.to_dict(), "label": spec.describe()},
            "rows": rows.to_dict(orient="records"),
            "note": result.family_note,
        }

    def verdicts(self) -> list[dict[str, Any]]:
        """The room's hypotheses with their verdicts, as the report shows them (the session's q, small groups
        hidden): an analysis, run in the app's bounded worker."""
        from ..hypotheses import shareable

        rows = shareable(self.session.check_hypotheses())
        keep = ["author", "text", "segment", "value", "versus", "direction", "verdict", "explanation", "q_value"]
        rows = rows[[c for c in keep if c in rows.columns]]
        return rows.astype(object).where(rows.notna(), None).to_dict(orient="records")

    # ------------------------------------------------------------------ what everyone sees

    def state(self, name: str | None, facilitator: bool = False, now: float | None = None) -> dict[str, Any]:
        """The room as a page shows it. Until the facilitator reveals, a participant sees only their own
        hypotheses and findings (the board always sees everything)."""
        now = time.time() if now is None else now
        control = self._control()
        revealed = bool(control.get("revealed"))  # the one journal read of the control, shared with the timer
        see_all = facilitator or revealed

        entries = {kind: self.journal.entries(kind) for kind in OWN_KINDS}  # each kind read once per poll

        def shown(kind: str) -> list[dict[str, Any]]:
            return [
                {"id": e.id, "author": e.author, "mine": e.author == name, **e.data}
                for e in entries[kind]
                if see_all or e.author == name
            ]

        tally: Counter = Counter()
        for ballot_entry in entries["votes"]:
            tally.update(ballot_entry.data.get("ballot", {}))
        mine = next((e.data.get("ballot", {}) for e in entries["votes"] if name and e.author == name), {})
        return {
            "step": control.get("step", 0),
            "steps": list(STEPS),
            "revealed": revealed,
            "timer": Timer(**control.get("timer", {})).to_dict(now),
            "now": now,
            "name": name,
            "hypotheses": shown("hypotheses"),
            "findings": shown("findings"),
            "candidates": [c.name for c in self.session.candidates()],
            "votes": {
                "tally": dict(tally),
                "voters": len({e.author for e in entries["votes"]}),
                "mine": mine,
                "dots": DOTS_PER_PERSON,
            },
            "participants": sorted({e.author for found in entries.values() for e in found} - {FACILITATOR}),
            "top": TOP_HYPOTHESES,
            "tags": list(FINDING_TAGS),
            "directions": list(DIRECTIONS),
        }


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    """What a person typed, trimmed and bounded; stored as typed (pages show it as text)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RoomError("text fields take text.")
    value = value.strip()
    if len(value) > limit:
        raise RoomError(f"at most {limit} characters, please.")
    return value


def _minutes(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 240:
        raise RoomError("minutes are a number between 0 and 240.")
    return float(value)
