"""What a step notebook works with: the workshop, its journal, the participant, and the current decisions.

The journal holds what the team decided during the session (success definition, chosen segments); those win
over workshop.yaml, so that every later step — and the headless report — uses what the room agreed on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import WorkshopConfig, load_config, parse_success
from .hypotheses import Hypothesis
from .journal import FACILITATOR, Entry, Journal
from .ledger import Ledger
from .prioritize import Candidate
from .segments import Segment, parse_segments
from .workshop import Workshop

if TYPE_CHECKING:
    import pandas as pd

MAX_NAME = 60
NAME_FILE = ".segworkshop/lab-participant.txt"  # the name last typed in the lab's name box, for its next start


def clean_participant(name: object) -> str:
    """A participant's name as typed (any characters), whitespace collapsed; not empty, not the facilitator's,
    at most :data:`MAX_NAME` characters. The lab's name box and the room both use this rule."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("type your name (any characters).")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ValueError(f"a name has at most {MAX_NAME} characters.")
    if name.casefold() == FACILITATOR:
        raise ValueError("“facilitator” is the facilitator's name in the journal: pick another one.")
    return name


def remembered_participant(folder: Path) -> str:
    """The name last saved in the lab's name box for this workshop folder ("" if none or unreadable)."""
    try:
        return clean_participant((Path(folder) / NAME_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return ""


class Session:
    """One participant's (or the facilitator's) view of a workshop folder."""

    def __init__(self, workshop: str | Path, participant: str | None = None, interactive: bool = False) -> None:
        path = Path(workshop)
        self.yaml = path / "workshop.yaml" if path.is_dir() else path
        self.folder = self.yaml.parent
        given = (participant or "").strip()
        if not given and interactive:
            given = remembered_participant(self.folder)  # the lab's name box, kept across kernel restarts
        self.participant = FACILITATOR if not given or given == FACILITATOR else clean_participant(given)
        self.interactive = interactive
        self.journal = Journal(self.folder)
        self._watchers: list[Callable[[], None]] = []

    def watch_participant(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the participant changes (forms listing "your entries" refresh)."""
        self._watchers.append(callback)

    def set_participant(self, name: str, remember: bool = True) -> str:
        """Enter as ``name`` from now on ("" or blank: the facilitator); with ``remember``, the lab's next start
        in this folder begins with it. Returns the name entries are saved under."""
        name = clean_participant(name) if (name or "").strip() else ""
        if remember:
            path = self.folder / NAME_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(name, encoding="utf-8")
        self.participant = name or FACILITATOR
        for callback in self._watchers:
            callback()
        return self.participant

    @cached_property
    def base_config(self) -> WorkshopConfig:
        return load_config(self.yaml)

    @cached_property
    def _base(self) -> Workshop:
        """The opened data. A headless step (a report) shares the one its kernel already opened for the same
        configuration and files, and with it every result computed (memo.py): the steps of a report run in
        one kernel. A live notebook opens its own, so that running a cell again reads the data again."""
        if self.interactive:
            return Workshop(self.base_config)
        from .memo import opened

        return opened(self.base_config)

    @property
    def config(self) -> WorkshopConfig:
        """workshop.yaml with the journal's decisions applied (success definition, segments)."""
        config = self._base.config  # the opened workshop's: its data is the object the views share
        success = self.journal.latest("success")
        if success is not None:
            config = replace(config, success=parse_success(success.data["definition"]))
        chosen = self.journal.latest("segments")
        if chosen is not None:
            config = replace(config, segments=tuple(chosen.data["segments"]))
        return config

    @property
    def workshop(self) -> Workshop:
        """The workshop as currently decided (shares one engine connection and the opened data)."""
        base = self._base
        _ = base.mapped, base.users, base.accounts  # open the data once; every view shares it
        return base.with_config(self.config)

    def segments(self) -> list[Segment]:
        return parse_segments(self.config.segments)

    def ledger(self) -> Ledger:
        """Every comparison the session computes, corrected together (ledger.py): one q per comparison."""
        from .ledger import session_ledger

        return session_ledger(self)

    def check_hypotheses(self) -> Any:
        """The room's hypotheses with verdicts, their q-values from the session's ledger (as every page)."""
        from .hypotheses import check_hypotheses
        from .ledger import hypothesis_key

        entered = self.hypotheses()
        ws = self.workshop
        if not entered:
            return check_hypotheses(ws, entered)
        ledger = self.ledger()
        keys = [hypothesis_key(ws, h) for h in entered]
        return check_hypotheses(ws, entered, others=ledger.others(keys))

    def explore(self, spec: Any, *, timeout_s: float | None = None) -> Any:
        """The room's explorer: one segment, optionally within a subgroup, with the session's q (explore.py).
        ``spec``: an :class:`~segworkshop.explore.Exploration` or its ``to_dict()`` form. ``timeout_s`` bounds
        the exploration, not the first build of the session's ledger (warm :meth:`ledger` when the room opens)."""
        from .explore import explore

        return explore(self.workshop, spec, ledger=self.ledger(), timeout_s=timeout_s)

    # ------------------------------------------------------------------ what the room entered

    def hypotheses(self) -> list[Hypothesis]:
        """Every participant's hypotheses, oldest first."""
        out = []
        for e in self.journal.entries("hypotheses"):
            d = e.data
            out.append(
                Hypothesis(
                    segment=d["segment"],
                    value=d["value"],
                    versus=d.get("versus"),
                    direction=d.get("direction", "more"),
                    expected_lift=d.get("expected_lift"),
                    text=d.get("text", ""),
                    author=e.author,
                )
            )
        return out

    def candidates(self) -> list[Candidate]:
        """Experiment candidates with the team's scores."""
        return [
            Candidate(
                name=e.data["name"],
                segment=e.data.get("segment"),
                value=e.data.get("value"),
                expected_lift=float(e.data.get("expected_lift", 0.1)),
                share=float(e.data.get("share", 0.5)),
                scores=dict(e.data.get("scores", {})),
                author=e.author,
            )
            for e in self.journal.entries("scores")
        ]

    def ballots(self) -> list[dict[str, int]]:
        """Each participant's latest dot-vote ballot."""
        latest: dict[str, dict[str, int]] = {}
        for e in self.journal.entries("votes"):
            latest[e.author] = e.data.get("ballot", {})
        return list(latest.values())

    def findings(self, tag: str | None = None) -> list[Entry]:
        """The findings log, oldest first; ``tag``: only one kind (learning, candidate test, question)."""
        found = self.journal.entries("findings")
        return found if tag is None else [e for e in found if e.data.get("tag") == tag]

    def notes(self, topic: str | None = None) -> list[Entry]:
        """Free notes, oldest first; ``topic``: only those of one notes form (e.g. "Trends observed")."""
        notes = self.journal.entries("notes")
        return notes if topic is None else [e for e in notes if e.data.get("topic") == topic]

    def ranking(self) -> pd.DataFrame:
        """The experiment candidates evaluated on the real traffic of their target and ranked: by the room's
        dot votes (each participant's latest ballot), then by impact per week of testing (prioritize.py)."""
        from .prioritize import evaluate, rank, tally

        ws = self.workshop
        return rank([evaluate(ws, c) for c in self.candidates()], tally(self.ballots()))

    def segment_values(self) -> dict[str, list[str]]:
        """The values of each chosen segment (in their natural order), for pickers."""
        from .compare import segment_counts
        from .segments import segment_table

        segments = self.segments()
        if not segments:
            return {}
        counts, _ = segment_counts(segment_table(self.workshop, segments), [s.name for s in segments], False)
        out = {}
        for seg in segments:
            values = list(counts[counts.segment == seg.name].value)
            out[seg.name] = sorted(values, key=seg.sort_key)
        return out

    # ------------------------------------------------------------------ decisions

    def save_success(self, definition: dict[str, Any]) -> None:
        """Record the success definition the team chose (validated first)."""
        parse_success(definition)
        self.journal.set("success", {"definition": definition}, author=self.participant)

    def save_segments(self, segments: list[Any]) -> None:
        """Record the segments the team chose (validated first)."""
        parse_segments(segments)
        self.journal.set("segments", {"segments": list(segments)}, author=self.participant)
