"""``segworkshop init``: a ready workshop folder, with workshop.yaml filled in from the data itself.

It reads the export once (through the same loaders and presets), lists the events with their counts, guesses
the likely success events (by name, and how many users reach them), picks the trait columns fit to segment on,
writes a commented ``workshop.yaml``, and copies the step notebooks pointed at it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .errors import ConfigError

SUCCESS_WORDS = (
    "purchase", "order_completed", "order completed", "checkout_completed", "subscription_started", "subscribe",
    "upgrade", "upgraded", "converted", "conversion", "paid", "payment", "policy_issued", "activated",
    "trial_converted", "deal_won", "booking", "booked",
)  # fmt: skip


def likely_success_events(events: pd.DataFrame, limit: int = 3) -> list[str]:
    """Events whose names sound like success, most users first; else the rarer events that still matter."""
    names = events["event"].astype(str)
    lowered = names.str.lower()
    score = pd.Series(0, index=events.index)
    for rank, word in enumerate(SUCCESS_WORDS):
        score = score.where(~lowered.str.contains(re.escape(word), regex=True), len(SUCCESS_WORDS) - rank + 100)
    ranked = events.assign(_score=score).sort_values(["_score", "users"], ascending=[False, False])
    hits = list(ranked[ranked._score > 0].event[:limit])
    if hits:
        return hits
    total = events["users"].max()
    middle = events[(events.users < 0.5 * total) & (events.users > 0.01 * total)]
    return list(middle.sort_values("users").event[:limit])


def _data_path(path: Path, folder: Path) -> str:
    """Where workshop.yaml says the data is: relative when it sits inside the workshop folder (the folder can be
    moved or copied with its data), absolute otherwise (the folder can be copied anywhere on this machine)."""
    return os.path.relpath(path, folder) if path.is_relative_to(folder) else str(path)


def _names(names: Any) -> str:
    """Event names in a YAML comment, each quoted on one line: a name is data (it may hold a newline, which
    unquoted would start a real key of workshop.yaml)."""
    plain = re.compile(r"[\w .:/$@()+-]+")
    return ", ".join(str(n) if plain.fullmatch(str(n)) else json.dumps(str(n), ensure_ascii=False) for n in names)


def init(folder: str | Path, events: str | Path, preset: str | None = None, users: str | Path | None = None) -> Path:
    """Create ``folder`` with workshop.yaml and notebooks/; returns the yaml's path. Never overwrites."""
    from .config import parse_config, parse_success
    from .report import step_notebooks
    from .validate import validate
    from .workshop import Workshop

    folder = Path(folder).resolve()
    target = folder / "workshop.yaml"
    if target.exists():
        raise ConfigError(f"{target} already exists: init never overwrites a workshop. Pick another folder.")
    events_path = Path(events).resolve()
    data: dict[str, Any] = {"events": _data_path(events_path, folder)}
    if users:
        data["users"] = _data_path(Path(users).resolve(), folder)
    if preset:
        data["preset"] = preset
    probe = {
        "data": {**data, "events": str(events_path), **({"users": str(Path(users).resolve())} if users else {})},
        "success": {"event": "__probe__"},
    }
    ws = Workshop(parse_config(probe))
    report = validate(ws)
    if report.rows == 0:
        raise ConfigError(f"{events_path} has no rows: export a period with activity first.")
    candidates = likely_success_events(report.events)
    traits = report.traits
    segments = list(traits[traits.verdict == "ok"].column)[:6]
    if candidates:  # a window proposed from the data (population.py): most successes in it, most units judged
        from .population import propose_window

        chosen = ws.with_config(replace(ws.config, success=parse_success({"event": candidates[0]})))
        success = {"event": candidates[0], "within_days": propose_window(chosen)}
    else:
        success = {"event": "CHOOSE_AN_EVENT"}
    config = {
        "title": f"Segmentation workshop: {events_path.stem}",
        "data": data,
        "unit": "user",
        "success": success,
        "segments": segments,
        "privacy": {"min_units": 10},
    }
    folder.mkdir(parents=True, exist_ok=True)
    header = (
        "# segworkshop workshop, written by `segworkshop init` from the data.\n"
        f"# {report.rows:,} events from {report.users:,} users, {report.first:%Y-%m-%d} to {report.last:%Y-%m-%d}.\n"
        f"# Likely success events: {_names(candidates) or 'none found by name: pick one'}.\n"
        f"# Most common events: {_names(report.events.event.head(12))}.\n"
        "# Check `success:` and `segments:`, then: segworkshop validate workshop.yaml && segworkshop lab .\n"
    )
    target.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    books = folder / "notebooks"
    books.mkdir(exist_ok=True)
    for book in step_notebooks():
        nb = json.loads(book.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                source = "".join(cell["source"])
                source = re.sub(r'^workshop = ".*?"', 'workshop = "../workshop.yaml"', source, flags=re.M)
                cell["source"] = source
        (books / book.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
