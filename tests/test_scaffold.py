"""segworkshop init: a ready workshop folder from the data; it never overwrites."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from segworkshop import ConfigError
from segworkshop.cli import main
from segworkshop.config import load_config
from segworkshop.scaffold import init, likely_success_events


def test_init_writes_a_valid_workshop(small_workshop: Path, tmp_path: Path):
    source = small_workshop.parent
    target = init(tmp_path / "w", source / "events.csv", users=source / "users.csv")
    config = load_config(target)
    assert config.success.steps[0].event == "purchase" and config.success.within_days == 14
    assert "channel" in config.segments and "platform" in config.segments
    assert "order_value" not in config.segments  # numeric: binning is a choice, not a default
    text = target.read_text()
    assert "Likely success events: purchase" in text and "600 users" in text
    books = sorted((tmp_path / "w" / "notebooks").glob("*.ipynb"))
    assert len(books) == 8
    params = next(c for c in json.loads(books[0].read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
    assert 'workshop = "../workshop.yaml"' in "".join(params["source"])
    result = CliRunner().invoke(main, ["validate", str(target)])
    assert result.exit_code == 0, result.output
    with pytest.raises(ConfigError, match="never overwrites"):
        init(tmp_path / "w", source / "events.csv")


def test_likely_success_events_by_name_then_by_reach():
    events = pd.DataFrame({"event": ["page_view", "Order Completed", "signup", "upgrade"], "users": [900, 90, 500, 40]})
    assert likely_success_events(events) == ["Order Completed", "upgrade"]
    plain = pd.DataFrame({"event": ["a", "b", "c", "d"], "users": [1000, 300, 100, 2]})
    assert likely_success_events(plain) == ["c", "b"]


def test_cli_init_and_lab_messages(small_workshop: Path, tmp_path: Path):
    runner = CliRunner()
    out = runner.invoke(main, ["init", str(tmp_path / "x"), "--events", str(small_workshop.parent / "events.csv")])
    assert out.exit_code == 0, out.output
    assert "next: segworkshop validate" in out.output
    missing = runner.invoke(main, ["init", str(tmp_path / "y"), "--events", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    not_a_workshop = runner.invoke(main, ["lab", str(tmp_path)])
    assert not_a_workshop.exit_code == 2 and "not a workshop folder" in not_a_workshop.output


def test_a_workshop_made_by_init_still_works_when_copied(small_workshop: Path, tmp_path: Path):
    """Data outside the folder is written as an absolute path, data inside as a relative one: both survive a
    copy of the workshop folder."""
    import shutil

    from segworkshop import Workshop

    source = small_workshop.parent
    target = init(tmp_path / "outside", source / "events.csv")
    assert yaml.safe_load(target.read_text())["data"]["events"] == str((source / "events.csv").resolve())
    inside = tmp_path / "inside"
    inside.mkdir()
    shutil.copy(source / "events.csv", inside / "events.csv")
    mine = init(inside, inside / "events.csv")
    assert yaml.safe_load(mine.read_text())["data"]["events"] == "events.csv"
    for folder in (target.parent, mine.parent):
        copy = shutil.copytree(folder, tmp_path / "copies" / folder.name)
        assert Workshop.load(copy / "workshop.yaml").baseline()["units"] > 0


def test_event_names_never_become_yaml_keys(tmp_path: Path):
    """An event named with a newline and a key (issue 17: 'engine:' with an attacker's URL) stays a comment."""
    import pandas as pd

    evil = "purchase\nengine: postgres://attacker.example/db"
    rows = [("u1", "visit", "2026-01-05T10:00:00Z"), ("u1", evil, "2026-01-05T11:00:00Z")] * 3
    pd.DataFrame(rows, columns=["user_id", "event", "timestamp"]).to_csv(tmp_path / "events.csv", index=False)
    target = init(tmp_path / "w", tmp_path / "events.csv")
    raw = yaml.safe_load(target.read_text())
    assert "engine" not in raw and set(raw) == {"title", "data", "unit", "success", "segments", "privacy"}
    assert json.dumps(evil) in target.read_text()  # shown, quoted on one line
