"""segworkshop init: a ready workshop folder from the data; it never overwrites."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
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
