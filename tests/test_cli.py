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


# --------------------------------------------------------------------------- one error mapping, flags named once


def test_every_project_error_is_one_line_on_stderr_and_exit_2(tmp_path: Path):
    """The group maps a SegworkshopError from any command (here lab and validate) the same way."""
    for args in (["lab", str(tmp_path)], ["validate", str(tmp_path / "nope.yaml")]):
        result = run(*args)
        assert result.exit_code == 2 and result.stdout == "" and "Traceback" not in result.output, args
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert (
        "is not a workshop folder (no workshop.yaml and notebooks/): run segworkshop init."
        in run("lab", str(tmp_path)).stderr
    )


def test_other_exceptions_are_not_mapped(workshop_dir: Path, monkeypatch):
    """A bug still shows its traceback (raised through), Ctrl-C is click's 'Aborted!' and exit 1, as before."""
    from segworkshop import lab

    (workshop_dir / "notebooks").mkdir()

    def broken(_folder, *_where):
        raise RuntimeError("a bug")

    monkeypatch.setattr(lab, "lab_command", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        run("lab", str(workshop_dir))

    def interrupted(_folder, *_where):
        raise KeyboardInterrupt

    monkeypatch.setattr(lab, "open_lab", interrupted)
    result = CliRunner().invoke(main, ["lab", str(workshop_dir)])
    assert result.exit_code == 1 and "Aborted!" in result.stderr


def test_lab_runs_jupyter_on_the_first_step(workshop_dir: Path, monkeypatch):
    from segworkshop import lab

    (workshop_dir / "notebooks").mkdir()
    monkeypatch.setattr(lab.shutil, "which", lambda name: f"/bin/{name}" if name == "jupyter-lab" else None)
    monkeypatch.setattr(lab.os, "geteuid", lambda: 1000)
    assert lab.lab_command(workshop_dir) == [
        "/bin/jupyter-lab",
        f"--notebook-dir={workshop_dir.resolve()}",
        str(workshop_dir / "notebooks" / "01_data_check.ipynb"),
    ]
    calls = []
    monkeypatch.setattr(lab.subprocess, "call", lambda args: calls.append(args) or 3)
    assert run("lab", str(workshop_dir)).exit_code == 3 and calls == [lab.lab_command(workshop_dir)]
    # where it listens, and as root (a container): the flags JupyterLab needs
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    assert run("lab", str(workshop_dir), "--host", "0.0.0.0", "--port", "9999").exit_code == 3
    assert calls[-1][1:4] == ["--ServerApp.ip=0.0.0.0", "--ServerApp.port=9999", "--allow-root"]
    monkeypatch.setattr(lab.shutil, "which", lambda name: None)
    missing = run("lab", str(workshop_dir))
    assert missing.exit_code == 2 and "error: JupyterLab is not installed: pip install 'segworkshop[lab]'" in (
        missing.stderr
    )


def test_library_messages_name_parameters_and_the_cli_names_its_options(workshop_dir: Path, tmp_path: Path):
    """A notebook user reads `only=`, `by=`, `out=`; the same error from the command names the option typed."""
    from segworkshop import ConfigError, DataError, Workshop
    from segworkshop.compare import compare, trend
    from segworkshop.report import step_notebooks
    from segworkshop.upload import upload

    with pytest.raises(ConfigError, match=r"^`only=` 99 matches no step; steps: 01_data_check") as err:
        step_notebooks(["99"])
    assert "--" not in str(err.value)
    cli = run("run", str(workshop_dir), "--only", "99", "--out", str(tmp_path / "r"))
    assert cli.exit_code == 2 and cli.stderr.startswith("error: --only 99 matches no step; steps: 01_data_check")

    bare = workshop_dir / "workshop.yaml"
    bare.write_text(bare.read_text().replace("segments: [plan]\n", ""))
    with pytest.raises(DataError, match=r"or name traits with `by=`\. Traits available: plan\.") as err:
        compare(Workshop.load(bare))
    assert "--" not in str(err.value)
    cli = run("compare", str(bare))
    assert cli.exit_code == 2 and "or name traits with --by. Traits available: plan." in cli.stderr
    with pytest.raises(DataError, match=r"^`every=` must be `week` or `month`, not 'day'\.$"):
        trend(Workshop.load(bare), every="day")

    target = f"duckdb://{tmp_path / 'w.duckdb'}"
    for kwargs, library, command in (
        ({"out": workshop_dir}, f"`out=` {workshop_dir} is the workshop's own folder", f"--out {workshop_dir} is"),
        ({"schema": "a;b"}, "(e.g. `schema='ecomm'`).", "(e.g. --schema ecomm)."),
        ({"engine": "duckdb"}, "(`engine='duckdb:///path/to/warehouse.duckdb'`).", "(--to duckdb:///path/to/"),
    ):
        given = {"engine": target, "schema": None, "out": tmp_path / "copy", **kwargs}
        with pytest.raises(ConfigError) as err:
            upload(workshop_dir, given["engine"], given["schema"], given["out"])
        assert library in str(err.value) and "--" not in str(err.value)
        args = ["upload", str(workshop_dir), "--to", given["engine"], "--out", str(given["out"])]
        cli = run(*args, *(["--schema", given["schema"]] if given["schema"] else []))
        assert cli.exit_code == 2 and command in cli.stderr and "`" not in cli.stderr, cli.stderr


def test_as_options_translates_only_the_commands_own_options():
    from segworkshop.cli import as_options

    upload, trend = main.commands["upload"], main.commands["trend"]
    assert as_options("`out=` x; `engine='duckdb:///w'`; `schema=`", upload) == "--out x; --to duckdb:///w; --schema"
    assert as_options("`out=` x and `by=`", trend) == "`out=` x and --by"  # trend has no --out
    assert as_options("`workshop=` is an argument, `fmt=` is --format", trend) == (
        "`workshop=` is an argument, --format is --format"
    )
    assert as_options("`by=`", None) == "`by=`"


# --------------------------------------------------------------------------- demo and demo-data: the library does it


def test_demo_without_report_prints_the_baseline_from_run_demo():
    from segworkshop.datasets import run_demo

    seen = []
    result = run_demo("saas", on_baseline=seen.append)
    assert seen == [result] and result.ok and result.report is None
    assert result.path.name == "workshop.yaml" and list(result.table.columns)[:3] == ["segment", "value", "units"]
    cli = run("demo", "--kind", "saas", "--no-report")
    assert cli.exit_code == 0, cli.output
    b = result.validation.baseline
    assert f"=== {result.workshop.config.title} ({result.path}) ===" in cli.stdout
    assert f"Baseline: {b['successes']:,} of {b['units']:,} accounts succeed ({b['rate']:.1%})" in cli.stdout
    assert "saas: validating" in cli.stderr and "saas: done in" in cli.stderr and "report:" not in cli.output


def test_demo_data_writes_through_the_library(tmp_path: Path, monkeypatch):
    from segworkshop.datasets import write_demo_data

    data = write_demo_data("ecomm", tmp_path / "lib", units=30, seed=1)
    assert (data.path, data.units, data.seed) == (tmp_path / "lib", 30, 1)
    assert (data.path / "workshop.yaml").exists()
    monkeypatch.chdir(tmp_path)
    cli = run("demo-data", "--kind", "ecomm", "--users", "30")
    assert cli.exit_code == 0 and cli.stdout.startswith("wrote demo-ecomm (30 units, seed 0) in ")
    assert (tmp_path / "demo-ecomm" / "workshop.yaml").exists()
