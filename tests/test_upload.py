"""`segworkshop upload`: a workshop's files copied into an engine as tables, and a workshop.yaml that reads them.

Here the target is a DuckDB file (any Ibis backend takes the same path); PostgreSQL, loaded with COPY, is
covered in test_engines.py, whose parity tests run on tables this command loaded.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner

from segworkshop import ConfigError, Workshop
from segworkshop.cli import main
from segworkshop.datasets import demo_workshop_path, example_workshop_path
from segworkshop.upload import _pg_type, upload


def test_upload_to_a_duckdb_file_gives_the_same_workshop(tmp_path):
    source = example_workshop_path("saas")  # events, users and accounts, and a journal
    target = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    written = upload(source, target, "saas", tmp_path / "copy")
    raw = yaml.safe_load(written.read_text())
    assert raw["data"]["events"] == {"table": "saas.events"} and raw["data"]["accounts"] == {"table": "saas.accounts"}
    assert raw["engine"] == {"url": target}
    assert (tmp_path / "copy" / "journal").is_dir()
    local, copied = Workshop.load(source), Workshop.load(written)
    assert copied.baseline() == local.baseline()
    assert copied.events.count().execute() == local.events.count().execute()


def test_cli_upload_keeps_secrets_as_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGWORKSHOP_TEST_DB", str(tmp_path / "w.duckdb"))
    result = CliRunner().invoke(
        main,
        [
            "upload",
            str(example_workshop_path("ecomm")),
            "--to",
            "duckdb://${SEGWORKSHOP_TEST_DB}",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "c" / "workshop.yaml").read_text()
    assert "${SEGWORKSHOP_TEST_DB}" in text and str(tmp_path / "w.duckdb") not in text
    assert "ecomm.events" in text  # schema defaults to the workshop folder's name
    assert CliRunner().invoke(main, ["validate", str(tmp_path / "c")]).exit_code == 0


def test_bad_upload_input_is_a_clear_error(tmp_path):
    source = example_workshop_path("ecomm")
    runner = CliRunner()
    target = f"duckdb://{tmp_path / 'w.duckdb'}"
    same = runner.invoke(main, ["upload", str(source), "--to", target, "--out", str(source.parent)])
    assert same.exit_code == 2 and "the workshop's own folder" in same.output
    bad = runner.invoke(main, ["upload", str(source), "--to", target, "--schema", "a;drop", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "the schema 'a;drop' is not a plain name" in bad.output
    for engine, why in (
        ("duckdb", "an in-memory DuckDB keeps no tables"),
        ({"backend": "spark"}, "Spark local mode keeps no tables"),
        ("postgres://analyst:hunter2@db/analytics", r"postgres://analyst:\*\*\*@db/analytics holds a password"),
        ("sc://spark:15002/;token=abc", "holds a password"),
    ):
        with pytest.raises(ConfigError, match=why) as err:
            upload(source, engine, "ecomm", tmp_path / "x")
        assert "hunter2" not in str(err.value) and "abc" not in str(err.value)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match=r"column 'props' is struct<.*Flatten it"):
        _pg_type(pa.field("props", pa.struct([("plan", pa.string())])), "events")
    assert _pg_type(pa.field("ts", pa.timestamp("us", tz="UTC")), "events") == "timestamptz"
    assert _pg_type(pa.field("amount", pa.decimal128(12, 2)), "events") == "numeric(12, 2)"


def test_relative_duckdb_file_and_short_data_form(tmp_path, monkeypatch):
    """`--to duckdb://w.duckdb` is a file next to where the command runs, written absolute into the new yaml;
    a workshop whose `data:` is just the events path uploads too."""
    import shutil

    folder = tmp_path / "short"
    folder.mkdir()
    events = demo_workshop_path("ecomm").parent / "events.parquet"
    shutil.copy(events, folder / "events.parquet")
    (folder / "workshop.yaml").write_text("data: events.parquet\nsuccess: {event: purchase, within_days: 14}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["upload", str(folder), "--to", "duckdb://w.duckdb", "--out", "copy"])
    assert result.exit_code == 0, result.output
    raw = yaml.safe_load((tmp_path / "copy" / "workshop.yaml").read_text())
    assert raw["engine"] == {"url": f"duckdb://{tmp_path / 'w.duckdb'}"} and raw["data"] == {
        "events": {"table": "short.events"}
    }
    assert Workshop.load(tmp_path / "copy").baseline() == Workshop.load(folder).baseline()


def test_the_copy_is_what_was_validated_even_if_the_file_changes_meanwhile(tmp_path, monkeypatch):
    from conftest import write_small_workshop

    from segworkshop import upload as module
    from segworkshop.config import load_config

    yaml_path = write_small_workshop(tmp_path / "ws")
    source, title = yaml_path.parent, load_config(yaml_path).title

    def load_then_change(path):
        config = load_config(path)
        yaml_path.write_bytes(b"\xff\xfe title: [unclosed")  # a sync client writes mid-command
        return config

    monkeypatch.setattr(module, "load_config", load_then_change)
    written = upload(source, f"duckdb://{tmp_path / 'w.duckdb'}", "small", tmp_path / "copy")
    copied = load_config(written)
    assert copied.title == title and copied.success.events == ("purchase",)
