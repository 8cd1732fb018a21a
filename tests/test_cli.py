"""The command line: exit codes, readable errors (never a traceback), JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from segworkshop.cli import main


@pytest.fixture
def workshop_dir(tmp_path: Path) -> Path:
    rows = []
    for u in range(40):
        rows.append({"customer": f"c{u}", "what": "visit", "ts": f"2026-03-{1 + u % 20:02d}T10:00:00Z", "plan": "a"})
        if u % 3 == 0:
            rows.append(
                {"customer": f"c{u}", "what": "purchase", "ts": f"2026-03-{2 + u % 20:02d}T10:00:00Z", "plan": "a"}
            )
    pd.DataFrame(rows).to_csv(tmp_path / "events.csv", index=False)
    (tmp_path / "workshop.yaml").write_text(
        "data:\n  events: events.csv\n  columns: {user_id: customer, event: what, timestamp: ts}\n"
        "  observed_until: 2026-04-30\n"  # the export was taken well after the last start: every window closed
        "success: {event: purchase, within_days: 14}\nsegments: [plan]\n"
    )
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_on_every_command():
    for command in ([], ["validate"], ["demo"], ["demo-data"]):
        result = run(*command, "--help")
        assert result.exit_code == 0
        assert "Usage:" in result.output


def test_validate_ok(workshop_dir: Path):
    result = run("validate", str(workshop_dir / "workshop.yaml"))
    assert result.exit_code == 0, result.output
    assert "OK: the data can be used." in result.output
    assert "14 of 40 users (35.0%)" in result.output


def test_validate_accepts_the_folder_and_json(workshop_dir: Path):
    result = run("validate", str(workshop_dir), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["rows"] == 54 and data["users"] == 40 and data["ok"] is True
    assert data["baseline"]["successes"] == 14


def test_missing_column_is_exit_2_with_a_fix(workshop_dir: Path):
    yaml = workshop_dir / "workshop.yaml"
    yaml.write_text(yaml.read_text().replace("user_id: customer", "user_id: custmer"))
    result = run("validate", str(yaml))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "no column for `user_id`: looked for 'custmer'" in result.output
    assert "Did you mean 'customer'?" in result.output
    assert "The columns are: customer, what, ts, plan" in result.output


def test_missing_file_is_exit_2(workshop_dir: Path):
    yaml = workshop_dir / "workshop.yaml"
    yaml.write_text(yaml.read_text().replace("events: events.csv", "events: event.csv"))
    result = run("validate", str(yaml))
    assert result.exit_code == 2
    assert "no such file" in result.output and "Did you mean 'events.csv'?" in result.output


def test_no_workshop_file(tmp_path: Path):
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "no such file" in result.output and "segworkshop init" in result.output


def test_bad_yaml_names_the_line(workshop_dir: Path):
    (workshop_dir / "workshop.yaml").write_text("data:\n  events: [unclosed\nsuccess: x\n")
    result = run("validate", str(workshop_dir))
    assert result.exit_code == 2
    assert "not valid YAML at line" in result.output


def test_success_never_occurring_is_exit_2(workshop_dir: Path):
    yaml = workshop_dir / "workshop.yaml"
    yaml.write_text(yaml.read_text().replace("event: purchase", "event: purchased"))
    result = run("validate", str(yaml))
    assert result.exit_code == 2
    assert "'purchased', which never occurs" in result.output


def test_help_on_every_registered_command():
    for name in main.commands:
        result = run(name, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, name


def test_compare_trend_and_sample_size_contracts(small_workshop: Path, row_contract: list[str]):
    out = run("compare", str(small_workshop), "--by", "channel", "--format", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert set(data) >= {"unit", "success", "baseline", "rows"}
    assert set(data["baseline"]) == {"units", "successes", "rate"}
    keys = row_contract
    assert all(list(r)[: len(keys)] == keys for r in data["rows"])
    assert sum(r["units"] for r in data["rows"]) == data["baseline"]["units"]
    left_out = data["left_out"]  # censoring: units whose 14-day window is still open are left out, and counted
    assert data["baseline"]["units"] + left_out["too_recent"] == 600 and left_out["too_recent"] > 0
    assert "too recent to judge" in left_out["too_recent_note"]
    table = run("compare", str(small_workshop))
    assert table.exit_code == 0 and "Benjamini-Hochberg" in table.output
    csv = run("compare", str(small_workshop), "--by", "platform", "--format", "csv")
    assert csv.output.splitlines()[0].startswith("segment,value,units,successes,rate")
    weekly = json.loads(run("trend", str(small_workshop), "--by", "channel", "--format", "json").stdout)
    assert {"period", "value", "units", "successes", "rate", "ci_low", "ci_high", "complete"} <= set(weekly[0])
    plan = json.loads(
        run(
            "sample-size",
            "--baseline",
            "0.2",
            "--target",
            "0.25",
            "--weekly-units",
            "7000",
            "--share",
            "0.5",
            "--format",
            "json",
        ).stdout
    )
    assert (plan["per_group"], plan["total"], plan["days"], plan["weeks"]) == (1094, 2188, 5, 1)
    bad = run("compare", str(small_workshop), "--by", "chanel")
    assert bad.exit_code == 2 and "Did you mean 'channel'" in bad.output


def test_bad_segment_definition_is_exit_2(small_workshop: Path):
    text = small_workshop.read_text().replace("  - channel\n", "  - {name: v, column: order_value, bins: [50, 20]}\n")
    small_workshop.write_text(text)
    out = run("compare", str(small_workshop))
    assert out.exit_code == 2 and "strictly increasing" in out.output and "Traceback" not in out.output
