"""What a step notebook works with: the workshop, its journal, the participant, and the current decisions.

The journal holds what the team decided during the session (success definition, chosen segments); those win
over workshop.yaml, so that every later step — and the headless report — uses what the room agreed on.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .config import WorkshopConfig, load_config, parse_success
from .journal import FACILITATOR, Journal
from .segments import Segment, parse_segments
from .workshop import Workshop


class Session:
    """One participant's (or the facilitator's) view of a workshop folder."""

    def __init__(self, workshop: str | Path, participant: str | None = None, interactive: bool = False) -> None:
        path = Path(workshop)
        self.yaml = path / "workshop.yaml" if path.is_dir() else path
        self.folder = self.yaml.parent
        self.participant = (participant or "").strip() or FACILITATOR
        self.interactive = interactive
        self.journal = Journal(self.folder)

    @cached_property
    def base_config(self) -> WorkshopConfig:
        return load_config(self.yaml)

    @cached_property
    def _base(self) -> Workshop:
        return Workshop(self.base_config)

    @property
    def config(self) -> WorkshopConfig:
        """workshop.yaml with the journal's decisions applied (success definition, segments)."""
        config = self.base_config
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

    # ------------------------------------------------------------------ decisions

    def save_success(self, definition: dict[str, Any]) -> None:
        """Record the success definition the team chose (validated first)."""
        parse_success(definition)
        self.journal.set("success", {"definition": definition}, author=self.participant)

    def save_segments(self, segments: list[Any]) -> None:
        """Record the segments the team chose (validated first)."""
        parse_segments(segments)
        self.journal.set("segments", {"segments": list(segments)}, author=self.participant)
