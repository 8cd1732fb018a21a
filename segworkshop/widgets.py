"""ipywidgets for the session: pickers, forms, the timer and voting. Every save goes to the journal at once.

Each widget is a small class with a ``.box`` (what the notebook displays) and methods a test can call (set the
controls' values, ``.save.click()``). Text typed by participants is stored as typed and escaped whenever it is
shown (``html.escape``).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from .errors import SegworkshopError
from .hypotheses import DIRECTIONS
from .journal import FACILITATOR
from .prioritize import JUDGEMENT, QUESTIONS
from .session import Session
from .worksheet import DOTS_PER_PERSON, MAX_SEGMENTS, MIN_SEGMENTS

LAYOUT_WIDE = w.Layout(width="95%")


def _status(widget: w.HTML, message: str, ok: bool = True) -> None:
    colour = "#2e7d32" if ok else "#b8443d"
    widget.value = f'<span style="color:{colour}">{html.escape(message)}</span>'


def _safe(action: Callable[[], str], status: w.HTML) -> Callable[[Any], None]:
    """Run a save; show its message, or the project's error message (never a traceback, never lose input)."""

    def handler(_button: Any = None) -> None:
        try:
            _status(status, action())
        except (SegworkshopError, ValueError, KeyError) as exc:
            _status(status, str(exc), ok=False)

    return handler


class NameBox:
    """Who is typing: the name every entry of this notebook is saved under (blank: the facilitator).

    Typed into a box rather than into Python (no quotes to forget, no SyntaxError), checked by the same rule as
    the room's join page, and remembered for this workshop folder, so a restarted kernel starts with it.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        shown = "" if session.participant == FACILITATOR else session.participant
        self.name = w.Text(value=shown, placeholder="your name (blank: the facilitator)", description="You are")
        self.save = w.Button(description="Use this name", button_style="primary")
        self.status = w.HTML()
        self.save.on_click(_safe(self._save, self.status))
        _status(self.status, self._who())
        self.box = w.VBox([w.HBox([self.name, self.save]), self.status])

    def _who(self) -> str:
        if self.session.participant == FACILITATOR:
            return "Entries are saved as the facilitator's. Type your name if you are a participant."
        return f"Entries are saved under {self.session.participant!r}."

    def _save(self) -> str:
        self.session.set_participant(self.name.value)
        self.name.value = "" if self.session.participant == FACILITATOR else self.session.participant
        return self._who()


class SuccessPicker:
    """Pick the success definition from the real event list (with counts) and save it to the journal."""

    def __init__(self, session: Session, event_counts: list[tuple[str, int]]) -> None:
        self.session = session
        options = [(f"{name} ({count:,})", name) for name, count in event_counts]
        current = session.config.success
        self.kind = w.ToggleButtons(
            options=["event", "any_of", "all_of", "sequence"], value=current.kind, description="Kind"
        )
        self.events = w.SelectMultiple(
            options=options,
            value=tuple(s.event for s in current.steps if s.event in dict(event_counts)),
            rows=min(10, max(3, len(options))),
            description="Events",
            layout=LAYOUT_WIDE,
        )
        self.within_days = w.BoundedIntText(
            value=int(current.within_days or 0), min=0, max=3650, description="Within days", tooltip="0: no window"
        )
        self.start = w.Dropdown(
            options=[("first event", "first_event"), *options],
            value=current.start.event if current.start else "first_event",
            description="From",
        )
        self.save = w.Button(description="Save success definition", button_style="primary")
        self.status = w.HTML()
        self.save.on_click(_safe(self._save, self.status))
        self.box = w.VBox([self.kind, self.events, self.within_days, self.start, self.save, self.status])

    def definition(self) -> dict[str, Any]:
        chosen = list(self.events.value)
        if not chosen:
            raise ValueError("pick at least one event")
        kind = self.kind.value
        if kind == "event" and len(chosen) > 1:
            kind = "any_of"
        out: dict[str, Any] = {"event": chosen[0]} if kind == "event" else {kind: chosen}
        if self.within_days.value:
            out["within_days"] = int(self.within_days.value)
        if self.start.value != "first_event":
            out["start"] = self.start.value
        return out

    def _save(self) -> str:
        definition = self.definition()
        self.session.save_success(definition)
        return f"Saved: {self.session.config.success.describe()}"


class SegmentPicker:
    """Choose the session's segments from the checklists mapped onto this data (and the configured ones)."""

    def __init__(self, session: Session, suggestions: list[tuple[str, Any]]) -> None:
        self.session = session
        current = [s if isinstance(s, str) else s.get("name") for s in session.config.segments]
        self.specs: dict[str, Any] = {}
        for _label, spec in suggestions:
            key = spec if isinstance(spec, str) else spec["name"]
            self.specs.setdefault(key, spec)
        for spec in session.config.segments:
            self.specs.setdefault(spec if isinstance(spec, str) else spec["name"], spec)
        labels = {
            key: label for label, spec in suggestions for key in [spec if isinstance(spec, str) else spec["name"]]
        }
        self.checks = {
            key: w.Checkbox(
                value=key in current,
                description=f"{key} — {labels.get(key, 'configured')}",
                indent=False,
                layout=LAYOUT_WIDE,
            )
            for key in self.specs
        }
        self.save = w.Button(description="Save segments", button_style="primary")
        self.status = w.HTML()
        self.save.on_click(_safe(self._save, self.status))
        self.box = w.VBox([*self.checks.values(), self.save, self.status])

    def chosen(self) -> list[Any]:
        return [self.specs[k] for k, box in self.checks.items() if box.value]

    def _save(self) -> str:
        chosen = self.chosen()
        if not chosen:
            raise ValueError("pick at least one segment")
        if len(chosen) > MAX_SEGMENTS:
            raise ValueError(
                f"{len(chosen)} segments chosen: the worksheet suggests {MIN_SEGMENTS}-{MAX_SEGMENTS}; "
                "keep the ones that matter"
            )
        self.session.save_segments(chosen)
        return f"Saved {len(chosen)} segments: {', '.join(self.specs_names(chosen))}"

    @staticmethod
    def specs_names(specs: list[Any]) -> list[str]:
        return [s if isinstance(s, str) else s["name"] for s in specs]


class EntryForm:
    """A form that adds journal entries of one kind for the participant, lists them, and removes them."""

    kind = "notes"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.status = w.HTML()
        self.save = w.Button(description="Add", button_style="primary")
        self.save.on_click(_safe(self._save, self.status))
        self.listing = w.VBox()
        self.refresh()
        session.watch_participant(self.refresh)

    def fields(self) -> dict[str, Any]:  # pragma: no cover - each form defines it
        raise NotImplementedError

    def describe(self, data: dict[str, Any]) -> str:
        return str(data.get("text", ""))

    def clear(self) -> None:
        """Empty the text fields after a successful save (not before: input is never lost)."""

    def _save(self) -> str:
        data = self.fields()
        self.session.journal.add(self.kind, self.session.participant, data)
        self.clear()
        self.refresh()
        return "Saved."

    def refresh(self) -> None:
        rows = []
        for entry in self.session.journal.entries(self.kind, author=self.session.participant):
            remove = w.Button(description="Remove", layout=w.Layout(width="90px"))
            remove.on_click(lambda _b, eid=entry.id: self.remove(eid))
            rows.append(w.HBox([remove, w.HTML(html.escape(self.describe(entry.data)))]))
        self.listing.children = rows

    def remove(self, entry_id: str) -> None:
        self.session.journal.remove(self.kind, entry_id)
        self.refresh()


class HypothesisForm(EntryForm):
    """'Users who … succeed more': a participant's hypotheses, each turned into a test."""

    kind = "hypotheses"

    def __init__(self, session: Session, values: dict[str, list[str]]) -> None:
        self.values = values
        names = list(values)
        self.segment = w.Dropdown(options=names, description="Segment")
        self.value = w.Dropdown(options=values[names[0]] if names else [], description="Users in")
        self.direction = w.Dropdown(options=list(DIRECTIONS), value="more", description="Succeed")
        self.versus = w.Dropdown(options=["the rest"], value="the rest", description="than")
        self.expected = w.FloatText(value=0.0, description="Expected lift", tooltip="relative, e.g. 0.1 = +10%")
        self.text = w.Textarea(placeholder="Users who … succeed more because …", description="Why", layout=LAYOUT_WIDE)
        self.segment.observe(self._on_segment, names="value")
        self._on_segment({"new": self.segment.value})
        super().__init__(session)
        self.save.description = "Add hypothesis"
        self.box = w.VBox(
            [
                self.segment,
                self.value,
                self.direction,
                self.versus,
                self.expected,
                self.text,
                self.save,
                self.status,
                self.listing,
            ]
        )

    def _on_segment(self, change: dict) -> None:
        options = self.values.get(change["new"], [])
        self.value.options = options
        self.versus.options = ["the rest", *options]
        self.versus.value = "the rest"

    def fields(self) -> dict[str, Any]:
        if not self.segment.value or self.value.value is None:
            raise ValueError("pick a segment and a value")
        if self.versus.value == self.value.value:
            raise ValueError("compare the group with the rest or with another value, not with itself")
        return {
            "segment": self.segment.value,
            "value": self.value.value,
            "versus": None if self.versus.value == "the rest" else self.versus.value,
            "direction": self.direction.value,
            "expected_lift": self.expected.value or None,
            "text": self.text.value.strip(),
        }

    def describe(self, data: dict[str, Any]) -> str:
        versus = data.get("versus") or "the rest"
        return f"{data['segment']} = {data['value']} succeed {data['direction']} than {versus}: {data.get('text', '')}"

    def clear(self) -> None:
        self.text.value = ""


class FindingsLog(EntryForm):
    """What a participant found while scooping: a learning, a candidate test, or an open question."""

    kind = "findings"
    TAGS = ("learning", "candidate test", "question")

    def __init__(self, session: Session) -> None:
        self.text = w.Textarea(placeholder="What did you find?", description="Finding", layout=LAYOUT_WIDE)
        self.tag = w.ToggleButtons(options=list(self.TAGS), value="learning", description="Kind")
        self.segment = w.Text(placeholder="segment = value (optional)", description="About")
        super().__init__(session)
        self.save.description = "Log finding"
        self.box = w.VBox([self.text, self.tag, self.segment, self.save, self.status, self.listing])

    def fields(self) -> dict[str, Any]:
        if not self.text.value.strip():
            raise ValueError("write the finding first")
        return {"text": self.text.value.strip(), "tag": self.tag.value, "about": self.segment.value.strip()}

    def describe(self, data: dict[str, Any]) -> str:
        return f"[{data.get('tag')}] {data.get('text')}" + (f" ({data['about']})" if data.get("about") else "")

    def clear(self) -> None:
        self.text.value = ""


class NotesForm(EntryForm):
    """Free notes on a topic (e.g. 'trends observed' on the dashboard)."""

    kind = "notes"

    def __init__(self, session: Session, topic: str) -> None:
        self.topic = topic
        self.text = w.Textarea(placeholder=f"{topic} …", layout=LAYOUT_WIDE)
        super().__init__(session)
        self.save.description = "Add note"
        self.box = w.VBox([self.text, self.save, self.status, self.listing])

    def fields(self) -> dict[str, Any]:
        if not self.text.value.strip():
            raise ValueError("write the note first")
        return {"topic": self.topic, "text": self.text.value.strip()}

    def clear(self) -> None:
        self.text.value = ""


class CandidateForm(EntryForm):
    """An experiment candidate with the worksheet's nine questions (the computed ones are filled in later)."""

    kind = "scores"

    def __init__(self, session: Session, values: dict[str, list[str]]) -> None:
        self.values = values
        self.name = w.Text(description="Experiment", placeholder="e.g. onboarding checklist for android")
        self.segment = w.Dropdown(options=["everyone", *values], value="everyone", description="Target")
        self.value = w.Dropdown(options=[], description="Value")
        self.lift = w.FloatText(value=0.1, description="Expected lift", tooltip="relative, e.g. 0.1 = +10%")
        self.share = w.FloatSlider(value=0.5, min=0.05, max=1.0, step=0.05, description="Share in test")
        self.scores = {
            key: w.IntSlider(value=3, min=1, max=5, description=key, tooltip=text)
            for key, text in QUESTIONS
            if key in JUDGEMENT
        }
        self.segment.observe(lambda c: setattr(self.value, "options", values.get(c["new"], [])), names="value")
        super().__init__(session)
        self.save.description = "Add candidate"
        self.box = w.VBox(
            [
                self.name,
                self.segment,
                self.value,
                self.lift,
                self.share,
                *self.scores.values(),
                self.save,
                self.status,
                self.listing,
            ]
        )

    def fields(self) -> dict[str, Any]:
        if not self.name.value.strip():
            raise ValueError("name the experiment")
        target = self.segment.value
        if target != "everyone" and self.value.value is None:
            raise ValueError("pick the value of the target segment")
        return {
            "name": self.name.value.strip(),
            "segment": None if target == "everyone" else target,
            "value": None if target == "everyone" else self.value.value,
            "expected_lift": float(self.lift.value),
            "share": float(self.share.value),
            "scores": {k: int(s.value) for k, s in self.scores.items()},
        }

    def describe(self, data: dict[str, Any]) -> str:
        target = "everyone" if data.get("segment") is None else f"{data['segment']} = {data['value']}"
        return f"{data['name']} → {target}, expected lift {data['expected_lift']:+.0%}"

    def clear(self) -> None:
        self.name.value = ""


class Voting:
    """Dot voting: each participant spreads ``dots`` over the candidates; the latest ballot counts."""

    def __init__(self, session: Session, candidates: list[str], dots: int = DOTS_PER_PERSON) -> None:
        self.session = session
        self.dots = dots
        previous = self._ballot()
        self.sliders = {
            c: w.IntSlider(
                value=int(previous.get(c, 0)),
                min=0,
                max=dots,
                description=c[:30],
                style={"description_width": "initial"},
                layout=LAYOUT_WIDE,
            )
            for c in candidates
        }
        self.save = w.Button(description="Cast my votes", button_style="primary")
        self.status = w.HTML()
        self.save.on_click(_safe(self._save, self.status))
        self.box = w.VBox([w.HTML(f"<b>{dots} dots each.</b>"), *self.sliders.values(), self.save, self.status])
        session.watch_participant(self._load)

    def _load(self) -> None:
        """Show the current participant's latest ballot (after the name box changed who is voting)."""
        previous = self._ballot()
        for c, slider in self.sliders.items():
            slider.value = int(previous.get(c, 0))

    def _ballot(self) -> dict[str, int]:
        mine = self.session.journal.entries("votes", author=self.session.participant)
        return mine[-1].data["ballot"] if mine else {}

    def _save(self) -> str:
        ballot = {c: int(s.value) for c, s in self.sliders.items() if s.value}
        used = sum(ballot.values())
        if used > self.dots:
            raise ValueError(f"{used} dots used; you have {self.dots}")
        mine = self.session.journal.entries("votes", author=self.session.participant)
        if mine:
            self.session.journal.edit("votes", mine[-1].id, {"ballot": ballot})
        else:
            self.session.journal.add("votes", self.session.participant, {"ballot": ballot})
        return f"Votes saved ({used} of {self.dots} dots)."


class Timer:
    """A visible countdown (20 minutes by default, adjustable) for 'scoop your neighbor'."""

    def __init__(self, minutes: int = 20, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.minutes = w.BoundedIntText(value=minutes, min=1, max=240, description="Minutes")
        self.display = w.HTML()
        self.start_button = w.Button(description="Start", button_style="success")
        self.pause_button = w.Button(description="Pause")
        self.reset_button = w.Button(description="Reset")
        self.start_button.on_click(lambda _b: self.start())
        self.pause_button.on_click(lambda _b: self.pause())
        self.reset_button.on_click(lambda _b: self.reset())
        self.minutes.observe(lambda _c: self.reset(), names="value")
        self._ends: float | None = None
        self._left = minutes * 60.0
        self._thread: threading.Thread | None = None
        self.box = w.VBox(
            [self.display, w.HBox([self.minutes, self.start_button, self.pause_button, self.reset_button])]
        )
        self.render()

    def remaining(self) -> float:
        if self._ends is None:
            return self._left
        return max(0.0, self._ends - self.clock())

    def start(self) -> None:
        if self._ends is None:
            self._ends = self.clock() + self._left
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def pause(self) -> None:
        self._left = self.remaining()
        self._ends = None
        self.render()

    def reset(self) -> None:
        self._ends = None
        self._left = self.minutes.value * 60.0
        self.render()

    def render(self) -> None:
        left = round(self.remaining())
        done = left == 0
        colour = "#b8443d" if done or left < 60 else "#333"
        text = "Time is up — share your findings" if done else f"{left // 60:02d}:{left % 60:02d}"
        self.display.value = f'<div style="font-size:48px;font-weight:600;color:{colour}">{text}</div>'

    def _run(self) -> None:
        while self._ends is not None and self.remaining() > 0:
            self.render()
            time.sleep(0.5)
        self.render()
