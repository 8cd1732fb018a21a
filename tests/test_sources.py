"""Sources: every way to hand over the data gives the same canonical events; every mistake a clear message."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from segworkshop import ConfigError, DataError, Workshop
from segworkshop.config import parse_config

SUCCESS = {"event": "purchase", "within_days": 7}


def raw_events() -> pd.DataFrame:
    """Three users, string ids, ISO times in UTC; user 3 never purchases."""
    return pd.DataFrame(
        {
            "user_id": ["1", "1", "2", "2", "3", "3"],
            "event": ["visit", "purchase", "visit", "purchase", "visit", "search"],
            "timestamp": [
                "2026-01-05T10:00:00Z",
                "2026-01-06T10:30:00Z",
                "2026-01-06T04:00:00Z",
                "2026-01-07T00:00:00Z",
                "2026-01-08T08:00:00.250Z",
                "2026-01-09T09:00:00Z",
            ],
            "platform": ["ios", "ios", "web", "web", "android", "android"],
        }
    )


# canonical form of raw_events(), by hand
EXPECTED = [
    ("1", "visit", pd.Timestamp("2026-01-05 10:00:00"), "ios"),
    ("1", "purchase", pd.Timestamp("2026-01-06 10:30:00"), "ios"),
    ("2", "visit", pd.Timestamp("2026-01-06 04:00:00"), "web"),
    ("2", "purchase", pd.Timestamp("2026-01-07 00:00:00"), "web"),
    ("3", "visit", pd.Timestamp("2026-01-08 08:00:00.250"), "android"),
    ("3", "search", pd.Timestamp("2026-01-09 09:00:00"), "android"),
]


def canonical(ws: Workshop) -> list[tuple]:
    df = ws.events.to_pandas()
    assert {"user_id", "event", "timestamp", "platform"} <= set(df.columns)
    df = df.sort_values(["user_id", "timestamp"], ignore_index=True)
    return [(r.user_id, r.event, pd.Timestamp(r.timestamp), r.platform) for r in df.itertuples()]


def workshop(events, **data) -> Workshop:
    return Workshop.from_dict({"data": {"events": events, **data}, "success": SUCCESS})


def write_yaml(folder: Path, data: dict, **extra) -> Path:
    path = folder / "workshop.yaml"
    path.write_text(yaml.safe_dump({"data": data, "success": SUCCESS, **extra}))
    return path


def message(exc_info) -> str:
    return str(exc_info.value)


# --------------------------------------------------------------------------- files


def test_csv(tmp_path):
    raw_events().to_csv(tmp_path / "events.csv", index=False)
    assert canonical(workshop(str(tmp_path / "events.csv"))) == EXPECTED


def test_csv_gz(tmp_path):
    raw_events().to_csv(tmp_path / "events.csv", index=False)
    with open(tmp_path / "events.csv", "rb") as src, gzip.open(tmp_path / "events.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    (tmp_path / "events.csv").unlink()
    assert canonical(workshop(str(tmp_path / "events.csv.gz"))) == EXPECTED


def test_parquet(tmp_path):
    raw_events().to_parquet(tmp_path / "events.parquet")
    assert canonical(workshop(tmp_path / "events.parquet")) == EXPECTED  # a Path works as well as a str


def test_folder_of_parquet_parts(tmp_path):
    df = raw_events()
    folder = tmp_path / "events"
    (folder / "day=2").mkdir(parents=True)
    df.iloc[:2].to_parquet(folder / "part-00000.parquet")
    df.iloc[2:4].to_parquet(folder / "part-00001.parquet")
    df.iloc[4:].to_parquet(folder / "day=2" / "part-00000.parquet")  # nested folders are read too
    (folder / "_SUCCESS").write_text("")  # Spark's marker file is not data
    assert canonical(workshop(str(folder))) == EXPECTED


def test_glob(tmp_path):
    df = raw_events()
    for i in range(3):
        df.iloc[2 * i : 2 * i + 2].to_csv(tmp_path / f"events-{i}.csv", index=False)
    (tmp_path / "notes.csv").write_text("not,the,events\n1,2,3\n")  # not matched by the pattern
    assert canonical(workshop(str(tmp_path / "events-*.csv"))) == EXPECTED


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_json_lines(tmp_path, suffix):
    path = tmp_path / f"events{suffix}"
    raw_events().to_json(path, orient="records", lines=True)
    assert canonical(workshop(str(path))) == EXPECTED


def offset_events() -> pd.DataFrame:
    """The same instants as raw_events(), written with the zone offsets an export may carry."""
    df = raw_events()
    df["timestamp"] = [
        "2026-01-05T10:00:00+00:00",
        "2026-01-06T12:30:00+02:00",
        "2026-01-05T23:00:00-05:00",
        "2026-01-07T05:30:00+05:30",
        "2026-01-08T08:00:00.250Z",
        "2026-01-09T04:00:00-05:00",
    ]
    return df


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet", "dataframe"])
def test_times_with_zone_offsets_are_utc_in_every_format(tmp_path, kind):
    df = offset_events()
    source = df if kind == "dataframe" else str(tmp_path / f"events.{kind}")
    if kind == "csv":
        df.to_csv(source, index=False)  # DuckDB's sniffer reads this column as TIMESTAMP WITH TIME ZONE
    elif kind == "jsonl":
        df.to_json(source, orient="records", lines=True)
    elif kind == "parquet":
        df.to_parquet(source)  # text
    assert canonical(workshop(source)) == EXPECTED


# --------------------------------------------------------------------------- Python objects


def test_pandas_dataframe():
    assert canonical(workshop(raw_events())) == EXPECTED


def test_pyarrow_table():
    assert canonical(workshop(pa.Table.from_pandas(raw_events(), preserve_index=False))) == EXPECTED


def test_duckdb_relation():
    con = duckdb.connect()
    df = raw_events()  # noqa: F841  (read by DuckDB's replacement scan below)
    relation = con.sql("SELECT * FROM df")
    assert canonical(workshop(relation)) == EXPECTED


def test_ibis_table():
    assert canonical(workshop(ibis.memtable(raw_events()))) == EXPECTED


def test_columns_map_other_names():
    df = raw_events().rename(columns={"user_id": "uid", "event": "name", "timestamp": "when"})
    ws = workshop(df, columns={"user_id": "uid", "event": "name", "timestamp": "when"})
    assert canonical(ws) == EXPECTED
    assert not {"uid", "name", "when"} & set(ws.events.columns)


# --------------------------------------------------------------------------- DuckDB files


def make_duckdb(path: Path) -> None:
    events, users = raw_events(), pd.DataFrame({"user_id": [1, 2, 3], "plan": ["pro", "free", "pro"]})
    con = duckdb.connect(str(path))
    con.register("events_df", events)
    con.register("users_df", users)
    con.execute("CREATE TABLE events AS SELECT * FROM events_df")
    con.execute("CREATE TABLE users AS SELECT * FROM users_df")
    con.close()


def test_table_in_a_duckdb_file(tmp_path):
    make_duckdb(tmp_path / "warehouse.duckdb")
    ws = workshop({"table": "events", "database": str(tmp_path / "warehouse.duckdb")})
    assert canonical(ws) == EXPECTED


def test_duckdb_file_relative_to_the_yaml(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    make_duckdb(project / "warehouse.duckdb")
    path = write_yaml(
        project,
        {
            "events": {"table": "events", "database": "warehouse.duckdb"},
            "users": {"table": "users", "database": "warehouse.duckdb"},
        },
    )
    monkeypatch.chdir(tmp_path)
    ws = Workshop.load(path)
    assert canonical(ws) == EXPECTED
    assert sorted(ws.users.to_pandas().user_id) == ["1", "2", "3"]


# --------------------------------------------------------------------------- workshop.yaml and relative paths


def test_relative_paths_resolve_against_the_yaml_folder(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    raw_events().to_csv(project / "data" / "events.csv", index=False)
    pd.DataFrame({"user_id": [1, 2, 3], "plan": ["pro", "free", "pro"]}).to_csv(
        project / "data" / "users.csv", index=False
    )
    path = write_yaml(project, {"events": "data/events.csv", "users": "data/users.csv"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not the yaml's folder
    ws = Workshop.load(path)
    assert ws.config.base_dir == project.resolve()
    assert canonical(ws) == EXPECTED
    assert Workshop.load(project).config.path == path.resolve()  # a folder means its workshop.yaml


def test_relative_glob_in_yaml(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "parts").mkdir(parents=True)
    df = raw_events()
    df.iloc[:3].to_parquet(project / "parts" / "a.parquet")
    df.iloc[3:].to_parquet(project / "parts" / "b.parquet")
    path = write_yaml(project, {"events": "parts/*.parquet"})
    monkeypatch.chdir(tmp_path)
    assert canonical(Workshop.load(path)) == EXPECTED


def test_load_replaces_a_source_with_a_dataframe(tmp_path):
    path = write_yaml(tmp_path, {"events": "does-not-exist.csv"})
    assert canonical(Workshop.load(path, events=raw_events())) == EXPECTED


# --------------------------------------------------------------------------- users table


def test_integer_user_ids_join_string_event_ids(tmp_path):
    users = pd.DataFrame({"user_id": [1, 2, 3], "plan": ["pro", "free", "pro"]})
    users.to_csv(tmp_path / "users.csv", index=False)
    ws = workshop(raw_events(), users=str(tmp_path / "users.csv"))
    got = ws.users.to_pandas()
    assert sorted(got.user_id) == ["1", "2", "3"]
    units = ws.unit_table(traits=["plan"]).to_pandas().set_index("unit_id").sort_index()
    assert units["plan"].to_dict() == {"1": "pro", "2": "free", "3": "pro"}
    assert units["success"].astype(bool).to_dict() == {"1": True, "2": True, "3": False}


def test_users_table_with_its_own_id_column_name():
    users = pd.DataFrame({"customer": [1, 2, 3], "plan": ["pro", "free", "pro"]})
    events = raw_events().rename(columns={"user_id": "customer"})
    ws = workshop(events, users=users, columns={"user_id": "customer"})
    units = ws.unit_table(traits=["plan"]).to_pandas().set_index("unit_id").sort_index()
    assert units["plan"].to_dict() == {"1": "pro", "2": "free", "3": "pro"}


def test_float_user_ids_join_string_event_ids():
    """pandas makes an integer id column with a gap float64 (1.0, 2.0, NaN): still the ids 1, 2."""
    users = pd.DataFrame({"user_id": [1.0, 2.0, None], "plan": ["pro", "free", "pro"]})
    ws = workshop(raw_events(), users=users)
    units = ws.unit_table(traits=["plan"]).to_pandas().set_index("unit_id").sort_index()
    plans = {k: None if pd.isna(v) else v for k, v in units["plan"].to_dict().items()}
    assert plans == {"1": "pro", "2": "free", "3": None}


# --------------------------------------------------------------------------- errors


def test_missing_file_names_path_and_closest_name(tmp_path):
    raw_events().to_csv(tmp_path / "events.csv", index=False)
    (tmp_path / "users.parquet").write_bytes(b"")
    with pytest.raises(DataError) as err:
        canonical(workshop(str(tmp_path / "event.csv")))
    text = message(err)
    assert text.startswith("data.events: no such file")
    assert str(tmp_path / "event.csv") in text
    assert "Did you mean 'events.csv'?" in text
    assert "holds: events.csv, users.parquet" in text
    assert "relative to workshop.yaml" in text


def test_missing_file_in_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist either"):
        canonical(workshop(str(tmp_path / "nope" / "events.csv")))


def test_missing_file_relative_to_yaml_names_the_resolved_path(tmp_path):
    (tmp_path / "data").mkdir()
    raw_events().to_csv(tmp_path / "data" / "events.csv", index=False)
    path = write_yaml(tmp_path, {"events": "data/evnts.csv"})
    with pytest.raises(DataError) as err:
        Workshop.load(path).events  # noqa: B018
    text = message(err)
    assert str(tmp_path.resolve() / "data" / "evnts.csv") in text
    assert "Did you mean 'events.csv'?" in text


def test_missing_column_names_columns_and_closest(tmp_path):
    df = raw_events().rename(columns={"user_id": "userid"})
    df.to_csv(tmp_path / "events.csv", index=False)
    with pytest.raises(DataError) as err:
        canonical(workshop(str(tmp_path / "events.csv")))
    text = message(err)
    assert str(tmp_path / "events.csv") in text
    assert "no column for `user_id`: looked for 'user_id'" in text
    assert "Did you mean 'userid'?" in text
    assert "The columns are: userid, event, timestamp, platform." in text
    assert "Fix: set `data.columns.user_id: <your column>` in workshop.yaml" in text


def test_mapped_column_that_does_not_exist(tmp_path):
    with pytest.raises(DataError) as err:
        canonical(workshop(raw_events(), columns={"timestamp": "event_time"}))
    text = message(err)
    assert "no column for `timestamp`: looked for 'event_time'" in text
    assert "The columns are: user_id, event, timestamp, platform." in text
    assert text.startswith("a pandas DataFrame: ")


def test_users_table_without_user_id(tmp_path):
    users = pd.DataFrame({"id": [1, 2], "plan": ["pro", "free"]})
    ws = workshop(raw_events(), users=users)
    with pytest.raises(DataError) as err:
        ws.users  # noqa: B018
    text = message(err)
    assert "no column named 'user_id' to key it by user_id" in text
    assert "The columns are: id, plan." in text
    assert "data.users.user_id" not in text  # a key that does not exist is never suggested
    assert ".rename(columns={'id': 'user_id'})" in text
    fixed = workshop(raw_events(), users=users.rename(columns={"id": "user_id"}))  # the fix, as written
    assert set(fixed.users.columns) == {"user_id", "plan"}


def test_empty_dataframe():
    with pytest.raises(DataError) as err:
        canonical(workshop(raw_events().iloc[:0]))
    assert message(err) == "data.events: the DataFrame passed in has no rows."


def test_empty_users_table():
    with pytest.raises(DataError, match=r"data.users: the Table passed in has no rows"):
        workshop(raw_events(), users=pa.table({"user_id": pa.array([], pa.int64())})).users  # noqa: B018


def test_unknown_file_extension(tmp_path):
    (tmp_path / "events.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError) as err:
        canonical(workshop(str(tmp_path / "events.xlsx")))
    text = message(err)
    assert f"cannot tell the format of {tmp_path / 'events.xlsx'}" in text
    assert ".csv, .csv.gz, .parquet, .jsonl or .duckdb" in text


def test_unreadable_file_names_the_file(tmp_path):
    (tmp_path / "events.parquet").write_text("this is not parquet")
    with pytest.raises(DataError) as err:
        canonical(workshop(str(tmp_path / "events.parquet")))
    assert f"data.events: could not read {tmp_path / 'events.parquet'} as parquet" in message(err)


def test_folder_with_mixed_kinds(tmp_path):
    raw_events().to_csv(tmp_path / "a.csv", index=False)
    raw_events().to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError) as err:
        canonical(workshop(str(tmp_path)))
    assert "a mix of file kinds (csv, parquet)" in message(err)


def test_empty_folder(tmp_path):
    (tmp_path / "events").mkdir()
    with pytest.raises(DataError, match="holds no data files"):
        canonical(workshop(str(tmp_path / "events")))


def test_glob_without_match(tmp_path):
    with pytest.raises(DataError) as err:
        canonical(workshop(str(tmp_path / "events-*.parquet")))
    assert f"no file matches {tmp_path / 'events-*.parquet'}" in message(err)


def test_duckdb_file_without_table(tmp_path):
    make_duckdb(tmp_path / "warehouse.duckdb")
    with pytest.raises(ConfigError) as err:
        canonical(workshop(str(tmp_path / "warehouse.duckdb")))
    text = message(err)
    assert f"{tmp_path / 'warehouse.duckdb'} is a DuckDB file; say which table" in text
    assert "`{table: events, database: " in text


def test_unknown_table_in_a_duckdb_file(tmp_path):
    make_duckdb(tmp_path / "warehouse.duckdb")
    with pytest.raises(DataError) as err:
        canonical(workshop({"table": "event", "database": str(tmp_path / "warehouse.duckdb")}))
    text = message(err)
    assert f"no table 'event' in {tmp_path / 'warehouse.duckdb'}" in text
    assert "Did you mean 'events'?" in text
    assert "Tables: events, users." in text


def test_missing_duckdb_file(tmp_path):
    with pytest.raises(DataError) as err:
        canonical(workshop({"table": "events", "database": str(tmp_path / "nope.duckdb")}))
    assert f"no such DuckDB file {tmp_path / 'nope.duckdb'}" in message(err)


def test_unsupported_python_object():
    with pytest.raises(ConfigError) as err:
        canonical(workshop([{"user_id": 1}]))
    assert "data.events: cannot read a list" in message(err)


# --------------------------------------------------------------------------- config errors


def config_error(raw) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    return message(err)


BASE = {"data": {"events": "events.csv"}, "success": {"event": "purchase"}}


def test_unknown_top_level_key():
    text = config_error({**BASE, "segmets": ["platform"]})
    assert "unknown key `segmets`" in text
    assert "allowed here: title, data, unit, success, segments" in text
    assert "Did you mean 'segments'?" in text


def test_unknown_data_key():
    text = config_error({**BASE, "data": {"events": "e.csv", "colums": {}}})
    assert "unknown key `data.colums`" in text and "Did you mean 'columns'" in text


def test_bad_unit():
    text = config_error({**BASE, "unit": "users"})
    assert "`unit` is 'users'; use `user` or `account`." in text
    assert "Did you mean 'user'?" in text


def test_success_with_two_kinds():
    text = config_error({**BASE, "success": {"event": "purchase", "any_of": ["signup"]}})
    assert "`success` needs exactly one of `event`, `any_of`, `all_of`, `sequence` (found event and any_of)" in text


def test_success_with_no_kind():
    assert "(found none)" in config_error({**BASE, "success": {"within_days": 3}})


@pytest.mark.parametrize("days", [-1, "two weeks", True, float("nan"), float("inf")])
def test_bad_within_days(days):
    text = config_error({**BASE, "success": {"event": "purchase", "within_days": days}})
    assert "`success.within_days` must be a number of days ≥ 0" in text
    assert repr(days) in text


def test_within_days_accepts_zero_and_fractions():
    assert parse_config({**BASE, "success": {"event": "purchase", "within_days": 0}}).success.within_days == 0
    assert parse_config({**BASE, "success": {"event": "purchase", "within_days": 0.5}}).success.within_days == 0.5


def test_bad_operator_in_where():
    text = config_error({**BASE, "success": {"event": "purchase", "where": {"plan": {"=~": "pro"}}}})
    assert "`success.event.where.plan`: unknown operator '=~'" in text
    assert "use one of ==, !=, >, >=, <, <=, in, not_in" in text


def test_in_operator_needs_a_list():
    text = config_error({**BASE, "success": {"event": "purchase", "where": {"plan": {"in": "pro"}}}})
    assert "`success.event.where.plan.in` takes a list" in text


def test_unknown_preset():
    text = config_error({**BASE, "data": {"events": "e.csv", "preset": "mixpannel"}})
    assert "`data.preset` is 'mixpannel'; known presets: heap, amplitude, mixpanel, posthog, ga4, segment." in text
    assert "Did you mean 'mixpanel'?" in text
    text = config_error({**BASE, "data": {"events": "e.csv", "preset": "snowplow"}})
    assert "known presets:" in text and "Did you mean" not in text


def test_bad_time_unit():
    text = config_error({**BASE, "data": {"events": "e.csv", "time_unit": "sec"}})
    assert "`data.time_unit` is 'sec'; use one of auto, s, ms, us, ns." in text


def test_unknown_canonical_field_in_columns():
    text = config_error({**BASE, "data": {"events": "e.csv", "columns": {"userid": "uid"}}})
    assert "`data.columns.userid`: unknown field" in text and "Did you mean 'user_id'" in text


def test_missing_events_and_success():
    assert "`data.events` is missing" in config_error({"data": {}, "success": "purchase"})
    assert "missing key `success`" in config_error({"data": {"events": "e.csv"}})


def test_config_errors_name_the_yaml_file(tmp_path):
    path = tmp_path / "workshop.yaml"
    path.write_text("data: {events: e.csv}\nsuccess: purchase\nunit: team\n")
    with pytest.raises(ConfigError) as err:
        Workshop.load(path)
    assert message(err).startswith(f"{path.resolve()}: `unit` is 'team'")


def test_a_users_table_with_a_duplicated_key_is_an_error_naming_it(tmp_path):
    """A users table with several rows per user (e.g. a sessions table passed as users) would multiply every
    count that joins it; it is an error that names the table, the key, a few values and the fix — in validate
    and compare alike, never a silently doubled number."""
    from click.testing import CliRunner

    from segworkshop.cli import main

    events = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "d"],
            "event": ["visit", "purchase", "visit", "visit"],
            "timestamp": ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"],
        }
    )
    users = pd.DataFrame({"user_id": ["a", "a", "b", "c", "c", "c", "d", None, None], "plan": list("fpfpffpff")})
    events.to_csv(tmp_path / "events.csv", index=False)
    users.to_csv(tmp_path / "sessions.csv", index=False)
    (tmp_path / "workshop.yaml").write_text(
        "data: {events: events.csv, users: sessions.csv, observed_until: 2026-06-01}\n"
        "success: {event: purchase, within_days: 14}\nsegments: [plan]\n"
    )
    for command in ("validate", "compare"):
        out = CliRunner().invoke(main, [command, str(tmp_path)])
        assert out.exit_code == 2, out.output
        message = out.output
        assert "sessions.csv (data.users) has 2 user_id values on more than one row (5 rows in all)" in message
        assert "e.g. 'a', 'c'" in message and "point `data.users` at a table with one row per user_id" in message
        assert "Traceback" not in message
    # one row per user (rows without a key do not count as duplicates): fine
    users.drop_duplicates("user_id").to_csv(tmp_path / "sessions.csv", index=False)
    out = CliRunner().invoke(main, ["compare", str(tmp_path), "--format", "json"])
    assert out.exit_code == 0, out.output


def test_a_users_table_keyed_differently_takes_its_own_mapping_and_the_suggested_fix_works(tmp_path):
    """Segment's warehouse `users` table is keyed by `id` (and its events carry a message `id` too). The message
    proposes the users table's own mapping; pasted as written it works, and the events keep their user ids."""
    import re as regex

    from click.testing import CliRunner

    from segworkshop.cli import main

    events = pd.DataFrame(
        {
            "id": [f"msg{i}" for i in range(8)],  # a message id, different on every event
            "user_id": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "event": ["visit", "purchase", "visit", "visit", "visit", "purchase", "visit", "visit"],
            "timestamp": pd.date_range("2026-01-01", periods=8, freq="h").strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    users = pd.DataFrame({"id": ["a", "b", "c", "d"], "plan": ["pro", "free", "pro", "free"]})
    (tmp_path / "exports").mkdir()
    events.to_csv(tmp_path / "exports" / "tracks.csv", index=False)
    users.to_csv(tmp_path / "exports" / "users.csv", index=False)
    head = "data:\n  events: exports/tracks.csv\n  observed_until: 2026-03-01\n"
    tail = "success: {event: purchase, within_days: 14}\nsegments: [plan]\n"
    (tmp_path / "workshop.yaml").write_text(head + "  users: exports/users.csv\n" + tail)
    out = CliRunner().invoke(main, ["compare", str(tmp_path)])
    assert out.exit_code == 2 and "Traceback" not in out.output
    fix = regex.search(r"`(data\.users: \{.*?\}\})`", out.output)
    assert fix, out.output
    assert fix.group(1) == "data.users: {path: exports/users.csv, columns: {user_id: id}}"
    (tmp_path / "workshop.yaml").write_text(head + "  users: " + fix.group(1).split(": ", 1)[1] + "\n" + tail)
    out = CliRunner().invoke(main, ["compare", str(tmp_path), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["value"]: (r["units"], r["successes"]) for r in json.loads(out.stdout)["rows"]}
    assert rows == {"pro": (2, 2), "free": (2, 0)}  # four people, keyed by user_id on the events


def test_keyed_source_mappings_are_checked():
    base = {"events": "e.csv"}
    with pytest.raises(ConfigError, match=r"exactly one of `path:`"):
        parse_config({"data": {**base, "users": {"columns": {"user_id": "id"}}}, "success": "buy"})
    with pytest.raises(ConfigError, match=r"maps only its ids"):
        parse_config({"data": {**base, "users": {"path": "u.csv", "columns": {"plan": "tier"}}}, "success": "buy"})
    with pytest.raises(ConfigError, match=r"unknown keys \['key'\]"):
        parse_config({"data": {**base, "users": {"path": "u.csv", "key": "id"}}, "success": "buy"})
