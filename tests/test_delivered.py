"""Event files as each vendor delivers them: every layout reads as one table, every event once.

Each fixture builds a tiny copy of a vendor's layout in ``tmp_path``; its docstring says where the layout is
documented. Rows are read back through ``open_table`` (what every engine path starts from) and, where a preset
fits, end to end through ``Workshop.from_dict``.
"""

from __future__ import annotations

import gzip
import io
import json
import warnings
import zipfile
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segworkshop import DataError, Workshop
from segworkshop import delivered as delivered_module
from segworkshop.delivered import SkippedFilesWarning
from segworkshop.sources import open_table


def read(path, base_dir: Path) -> pd.DataFrame:
    return open_table(ibis.duckdb.connect(), str(path), base_dir, "data.events").to_pandas()


def workshop(path, preset: str) -> Workshop:
    return Workshop.from_dict({"data": {"events": str(path), "preset": preset}, "success": {"event": "purchase"}})


def purchasers(ws: Workshop) -> list[str]:
    events = ws.events
    return sorted(events.filter(events.event == "purchase").user_id.to_pandas().tolist())


def gz_lines(rows: list[dict]) -> bytes:
    return gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())


def compressed(data: bytes, codec: str) -> bytes:
    """``data`` as the command-line compressor writes it (gzip, zstd or brotli)."""
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, codec) as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Workshop.from_dict's base folder is the working directory: keep every cache in tmp_path."""
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------- Amplitude


def amplitude_hour(user: int, event: str, time: str, **extra) -> dict:
    return {"amplitude_id": user, "user_id": f"u{user}", "event_type": event, "event_time": time, **extra}


AMPLITUDE_HOURS = {
    "187520/187520_2026-01-05_9#0.json.gz": [
        amplitude_hour(1, "visit", "2026-01-05 09:10:00.000000", session_id=1767604200000),
        amplitude_hour(2, "visit", "2026-01-05 09:20:00.500000", session_id=1767604800000),
    ],
    "187520/187520_2026-01-05_10#0.json.gz": [
        amplitude_hour(1, "purchase", "2026-01-05 10:05:00.000000", session_id=1767604200000),
    ],
    # a later hour with a key the first hours lack: still one table
    "187520/187520_2026-01-06_14#1.json.gz": [
        amplitude_hour(3, "visit", "2026-01-06 14:00:00.000000", session_id=-1, country="DE"),
        amplitude_hour(3, "purchase", "2026-01-06 14:30:00.000000", session_id=-1, country="DE"),
    ],
}


def amplitude_zip(path: Path, hours: dict[str, list[dict]] = AMPLITUDE_HOURS) -> Path:
    """The Export API's response: "a zipped archive of JSON files", several per hour, each gzipped JSON lines
    (https://amplitude.com/docs/apis/analytics/export), members named
    ``<project_id>/<project_id>_<YYYY-MM-DD>_<H>#<n>.json.gz`` as the archive holds them (described at
    https://brandonwie-dev.pages.dev/posts/amplitude-export-api-format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, rows in hours.items():
            archive.writestr(name, gz_lines(rows))
    return path


def test_amplitude_export_zip(tmp_path):
    zipped = amplitude_zip(tmp_path / "export.zip")
    df = read(zipped, tmp_path).sort_values("event_time", ignore_index=True)
    assert len(df) == 5
    assert df.event_type.tolist() == ["visit", "visit", "purchase", "visit", "purchase"]
    assert df.amplitude_id.tolist() == [1, 2, 1, 3, 3]
    assert df.country.isna().tolist() == [True, True, True, False, False]  # the late key is a column
    assert str(df.event_time[1]) == "2026-01-05 09:20:00.500000"
    ws = workshop(zipped, "amplitude")
    assert ws.events.count().to_pandas() == 5
    assert purchasers(ws) == ["1", "3"]
    assert ws.events.timestamp.max().to_pandas() == pd.Timestamp("2026-01-06 14:30:00")


def test_amplitude_zip_is_unpacked_once(tmp_path, monkeypatch):
    zipped = amplitude_zip(tmp_path / "export.zip")
    assert len(read(zipped, tmp_path)) == 5
    unpacked = list((tmp_path / ".segworkshop" / "unpacked").iterdir())
    assert len(unpacked) == 1 and len(list(unpacked[0].rglob("*.json.gz"))) == 3

    def no_unpacking(*args, **kwargs):
        raise AssertionError("the zip was unpacked again")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", no_unpacking)
    monkeypatch.setattr(zipfile.ZipFile, "open", no_unpacking)
    assert len(read(zipped, tmp_path)) == 5  # read from the cache
    assert list((tmp_path / ".segworkshop" / "unpacked").iterdir()) == unpacked


def test_a_folder_of_amplitude_zips_counts_each_hour_once(tmp_path):
    folder = tmp_path / "amplitude"
    first = dict(list(AMPLITUDE_HOURS.items())[:2])
    second = dict(list(AMPLITUDE_HOURS.items())[1:])  # overlaps the first export by one hour
    amplitude_zip(folder / "20260105.zip", first)
    amplitude_zip(folder / "20260106.zip", second)
    df = read(folder, tmp_path)
    assert len(df) == 5  # not 6: the 10 o'clock hour is in both zips
    assert sorted(df.event_type) == ["purchase", "purchase", "visit", "visit", "visit"]
    with zipfile.ZipFile(folder / "20260106.zip") as archive:
        archive.extractall(folder)  # and unpacked beside itself: still each hour once
    assert len(list(folder.rglob("*.json.gz"))) == 2
    assert len(read(folder, tmp_path)) == 5


def test_a_zip_that_is_an_error_message_says_so(tmp_path):
    path = tmp_path / "export.zip"
    path.write_text("Raw data files were not found.\n")  # what an export of an empty range can save
    with pytest.raises(DataError, match=r"named \.zip but is not a zip archive: it says 'Raw data files were not"):
        read(path, tmp_path)


def test_a_zip_of_no_event_files_says_what_it_holds(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("sheet.xml", "<xml/>")
    with pytest.raises(
        DataError, match=r"cannot tell the format of .*export\.zip .*it is a zip holding no data files: sheet\.xml"
    ):
        read(path, tmp_path)


def test_an_amplitude_zip_saved_as_json_gz_is_found_by_its_bytes(tmp_path):
    """A saved response keeps the hour file's name though it is the zip (same post as above)."""
    zipped = amplitude_zip(tmp_path / "187520_2026-01-05_9#0.json.gz")
    assert len(read(zipped, tmp_path)) == 5


# --------------------------------------------------------------------------- PostHog


POSTHOG_ROWS = [
    {
        "uuid": "e1",
        "event": "$pageview",
        "distinct_id": "d1",
        "person_id": "p1",
        "properties": {"$session_id": "s1", "$os": "Mac OS X"},
        "timestamp": "2026-01-05T10:00:00.000000+00:00",
    },
    {
        "uuid": "e2",
        "event": "purchase",
        "distinct_id": "d1",
        "person_id": "p1",
        "properties": {"$session_id": "s1", "$os": "Mac OS X"},
        "timestamp": "2026-01-05T10:20:00.000000+00:00",
    },
    {
        "uuid": "e3",
        "event": "$pageview",
        "distinct_id": "d2",
        "person_id": "p2",
        "properties": {"$session_id": "s2", "$os": "Android"},
        "timestamp": "2026-01-05T11:05:00.000000+00:00",
    },
]
START, END = "2026-01-05T10:00:00+00:00", "2026-01-05T11:00:00+00:00"


def posthog_parquet_table(rows: list[dict]) -> pa.Table:
    """PostHog's Parquet schema: properties a JSON-encoded string, timestamp a timestamp (UTC)."""
    return pa.table(
        {
            "uuid": [r["uuid"] for r in rows],
            "event": [r["event"] for r in rows],
            "distinct_id": [r["distinct_id"] for r in rows],
            "person_id": [r["person_id"] for r in rows],
            "properties": [json.dumps(r["properties"]) for r in rows],
            "timestamp": pa.array(pd.to_datetime([r["timestamp"] for r in rows]), pa.timestamp("us", tz="UTC")),
        }
    )


def posthog_export(folder: Path, fmt: str) -> Path:
    """A PostHog batch export to S3 (https://posthog.com/docs/cdp/batch-exports/s3) split by max file size:
    ``<start>-<end>-<n>.<parquet|jsonl>.<gz|zst|br>`` and ``<start>-<end>_manifest.json`` holding
    ``{"files": [...]}`` (file and manifest names as in PostHog's s3_batch_export.py, get_s3_key and
    get_manifest_key). Parquet keeps the codec inside the file (their ParquetBatchExportWriter hands the
    compression to pyarrow's ParquetWriter); JSON lines are compressed whole."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = [POSTHOG_ROWS[:2], POSTHOG_ROWS[2:]]
    names = []
    for n, rows in enumerate(parts):
        name = f"{START}-{END}-{n}.{fmt}"
        if fmt.startswith("parquet"):
            table = posthog_parquet_table(rows)
            if n == 1:  # a field added later: files with different columns still read as one table
                table = table.append_column("elements_chain", pa.array([""] * len(rows)))
            codec = {"zst": "zstd", "gz": "gzip", "br": "brotli"}[fmt.rsplit(".", 1)[1]]
            pq.write_table(table, folder / name, compression=codec)
        else:
            text = "".join(json.dumps(r) + "\n" for r in rows).encode()
            codec = {"gz": "gzip", "zst": "zstd", "br": "brotli"}[fmt.rsplit(".", 1)[1]]
            (folder / name).write_bytes(compressed(text, codec))
        names.append(f"exports/{name}")
    (folder / f"{START}-{END}_manifest.json").write_text(json.dumps({"files": names}))
    return folder


@pytest.mark.parametrize("fmt", ["parquet.zst", "parquet.gz", "parquet.br", "jsonl.gz", "jsonl.zst", "jsonl.br"])
def test_posthog_batch_export(tmp_path, fmt):
    folder = posthog_export(tmp_path / "exports", fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedFilesWarning)  # the manifest is left out without a word
        df = read(folder, tmp_path).sort_values("uuid", ignore_index=True)
    assert len(df) == 3
    assert df.uuid.tolist() == ["e1", "e2", "e3"]
    assert df.person_id.tolist() == ["p1", "p1", "p2"]
    assert "files" not in df.columns  # the manifest is not a row
    ws = workshop(folder, "posthog")
    assert ws.events.count().to_pandas() == 3
    assert purchasers(ws) == ["p1"]
    assert sorted(ws.events.session_id.to_pandas()) == ["s1", "s1", "s2"]


def test_posthog_parquet_wrapped_whole_in_zstd_is_decompressed(tmp_path):
    """Not what PostHog writes (its codec is inside the Parquet file), but what ``zstd events.parquet`` makes:
    found by its first bytes and decompressed to the cache."""
    sink = io.BytesIO()
    pq.write_table(posthog_parquet_table(POSTHOG_ROWS), sink)
    path = tmp_path / f"{START}-{END}.parquet.zst"
    path.write_bytes(compressed(sink.getvalue(), "zstd"))
    df = read(path, tmp_path)
    assert len(df) == 3 and sorted(df.uuid) == ["e1", "e2", "e3"]
    assert len(list((tmp_path / ".segworkshop" / "unpacked").rglob("*.parquet"))) == 1


# --------------------------------------------------------------------------- Segment


SEGMENT_CALLS = [
    {"type": "identify", "userId": "u1", "anonymousId": "a1", "traits": {"plan": "pro"}},
    {"type": "track", "event": "Signed Up", "userId": "u1", "timestamp": "2026-01-05T10:00:00.000Z"},
    {"type": "page", "name": "Pricing", "anonymousId": "a2", "timestamp": "2026-01-05T10:05:00.000Z"},
    {"type": "screen", "name": "Home", "userId": "u2", "timestamp": "2026-01-05T11:00:00.000Z"},
    {"type": "group", "groupId": "g1", "userId": "u1", "traits": {"name": "Acme"}},
    {"type": "alias", "previousId": "a2", "userId": "u3"},
    {"type": "track", "event": "purchase", "userId": "u2", "timestamp": "2026-01-06T09:00:00.000Z"},
]


def segment_logs(root: Path) -> Path:
    """Segment's S3 destination: "gzipped, newline-separated JSON containing the full call", grouped as
    ``segment-logs/{source-id}/{received-day}/filename.gz`` (received-day: the UTC day's epoch milliseconds;
    https://segment.com/docs/connections/storage/catalog/aws-s3/). Every call type is in the same files."""
    logs = root / "segment-logs" / "Jb2KIbsU9m"
    (logs / "1767571200000").mkdir(parents=True)
    (logs / "1767657600000").mkdir(parents=True)
    (logs / "1767571200000" / "1767610800123.ip-10-1-2-3.5fa2c.gz").write_bytes(gz_lines(SEGMENT_CALLS[:4]))
    (logs / "1767571200000" / "1767614400456.ip-10-1-2-3.9b1d0.gz").write_bytes(gz_lines(SEGMENT_CALLS[4:6]))
    (logs / "1767657600000" / "1767690000789.ip-10-4-5-6.0c3e7.gz").write_bytes(gz_lines(SEGMENT_CALLS[6:]))
    return root / "segment-logs"


def test_segment_s3_logs_are_sniffed_and_every_call_is_read(tmp_path):
    folder = segment_logs(tmp_path)
    df = read(folder, tmp_path)
    assert len(df) == 7
    assert sorted(df["type"]) == ["alias", "group", "identify", "page", "screen", "track", "track"]
    assert sorted(df.event.dropna()) == ["Signed Up", "purchase"]
    assert df.loc[df["type"] == "alias", "previousId"].tolist() == ["a2"]


def test_a_bare_gz_file_and_a_file_with_no_ending_are_sniffed(tmp_path):
    one = tmp_path / "1767610800123.ip-10-1-2-3.5fa2c.gz"
    one.write_bytes(gz_lines(SEGMENT_CALLS))
    assert len(read(one, tmp_path)) == 7
    plain = tmp_path / "part-00000"  # JSON lines, no ending at all
    plain.write_text("".join(json.dumps(c) + "\n" for c in SEGMENT_CALLS[:3]))
    df = read(plain, tmp_path)
    assert df["type"].tolist() == ["identify", "track", "page"]
    hidden_gzip = tmp_path / "calls"  # gzip with no ending: linked under a name the engine understands
    hidden_gzip.write_bytes(gz_lines(SEGMENT_CALLS[:2]))
    assert len(read(hidden_gzip, tmp_path)) == 2


def test_a_bare_gz_that_is_not_json_lines_says_what_it_found(tmp_path):
    path = tmp_path / "export.gz"
    path.write_bytes(gzip.compress(b"user_id,event\n1,visit\n"))
    with pytest.raises(DataError) as err:
        read(path, tmp_path)
    text = str(err.value)
    assert f"cannot tell the format of {path}" in text
    assert "gzip-compressed data whose first line is not a JSON object, but looks like CSV: name it .csv.gz" in text
    assert "Segment's S3 .gz logs (JSON lines)" in text


# --------------------------------------------------------------------------- GA4


def ga4_rows(day: str, users: list[str], events: list[str], hour: int = 10) -> pa.Table:
    start = int(pd.Timestamp(f"{day} {hour:02d}:00", tz="UTC").timestamp() * 1_000_000)
    return pa.table(
        {
            "event_date": [day.replace("-", "")] * len(users),
            "event_timestamp": [start + i * 60_000_000 for i in range(len(users))],
            "event_name": events,
            "user_pseudo_id": users,
        }
    )


def ga4_shards(folder: Path) -> Path:
    """GA4's BigQuery export (https://support.google.com/analytics/answer/7029846): a table events_YYYYMMDD a
    day and, with streaming export, events_intraday_YYYYMMDD, "deleted at the end of each day once
    events_YYYYMMDD is complete", exported table by table to files (a folder of parts, or one file a shard)."""
    (folder / "events_20260105").mkdir(parents=True)
    pq.write_table(
        ga4_rows("2026-01-05", ["a", "b"], ["session_start", "session_start"]),
        folder / "events_20260105" / "000000000000.parquet",
    )
    pq.write_table(
        ga4_rows("2026-01-05", ["a"], ["purchase"], hour=12), folder / "events_20260105" / "000000000001.parquet"
    )
    daily = ga4_rows("2026-01-06", ["b", "c", "c"], ["session_start", "session_start", "purchase"])
    daily = daily.append_column("is_active_user", pa.array([True, True, True]))  # a field added later
    pq.write_table(daily, folder / "events_20260106.parquet")
    # the 6th's intraday table was exported before it was deleted: its events are all in the daily one
    pq.write_table(
        ga4_rows("2026-01-06", ["b", "c"], ["session_start", "session_start"]),
        folder / "events_intraday_20260106.parquet",
    )
    # today: only the intraday table so far
    pq.write_table(ga4_rows("2026-01-07", ["d"], ["session_start"]), folder / "events_intraday_20260107.parquet")
    return folder


def test_ga4_shards_read_as_one_table_and_a_covered_intraday_shard_is_dropped(tmp_path):
    folder = ga4_shards(tmp_path / "ga4")
    df = read(folder, tmp_path)
    assert len(df) == 7  # 3 + 3 + 1: not the 6th's two intraday rows
    assert df.groupby("event_date").size().to_dict() == {"20260105": 3, "20260106": 3, "20260107": 1}
    assert df.is_active_user.notna().sum() == 3
    ws = workshop(folder, "ga4")
    assert ws.events.count().to_pandas() == 7
    assert purchasers(ws) == ["a", "c"]
    assert ws.events.timestamp.min().to_pandas() == pd.Timestamp("2026-01-05 10:00:00")
    # a glob of the shards follows the same rule
    assert len(read(tmp_path / "ga4" / "events_*", tmp_path)) == 7


def test_ga4_shard_tables_in_a_duckdb_file(tmp_path):
    """The same shards as tables of a DuckDB file (e.g. copied out of BigQuery table by table)."""
    database = tmp_path / "ga4.duckdb"
    con = duckdb.connect(str(database))
    for name, table in {
        "events_20260105": ga4_rows("2026-01-05", ["a", "b"], ["session_start", "purchase"]),
        "events_20260106": ga4_rows("2026-01-06", ["b", "c"], ["session_start", "purchase"]),
        "events_intraday_20260106": ga4_rows("2026-01-06", ["b"], ["session_start"]),
        "events_intraday_20260107": ga4_rows("2026-01-07", ["d"], ["session_start"]),
        "users_20260106": pa.table({"user_pseudo_id": ["a"]}),  # not matched by events_*
    }.items():
        con.register("t", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM t")
        con.unregister("t")
    con.close()
    spec = {"table": "events_*", "database": str(database)}
    df = open_table(ibis.duckdb.connect(), spec, tmp_path, "data.events").to_pandas()
    assert len(df) == 5 and sorted(df.event_date.unique()) == ["20260105", "20260106", "20260107"]
    ws = Workshop.from_dict({"data": {"events": spec, "preset": "ga4"}, "success": {"event": "purchase"}})
    assert ws.events.count().to_pandas() == 5
    assert purchasers(ws) == ["b", "c"]
    with pytest.raises(DataError, match=r"no table matches 'sessions_\*' in .*Tables: events_20260105, "):
        open_table(ibis.duckdb.connect(), {**spec, "table": "sessions_*"}, tmp_path, "data.events")


# --------------------------------------------------------------------------- what is not data, and messages


def test_markers_manifests_and_readmes_beside_the_data_are_left_out_quietly(tmp_path):
    folder = tmp_path / "events"
    (folder / ".hidden").mkdir(parents=True)
    pq.write_table(ga4_rows("2026-01-05", ["a", "b"], ["visit", "purchase"]), folder / "part-00000.parquet")
    pq.write_table(ga4_rows("2026-01-06", ["c"], ["visit"]), folder / "part-00001.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000.parquet.crc").write_bytes(b"crc")
    (folder / "part-00001.parquet.crc").write_bytes(b"crc")
    (folder / "README.md").write_text("# the export\n")
    (folder / "manifest.json").write_text('{"files": ["part-00000.parquet", "part-00001.parquet"]}')
    (folder / ".hidden" / "notes.csv").write_text("a,b\n1,2\n")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedFilesWarning)
        assert len(read(folder, tmp_path)) == 3
    (folder / "events.xlsx").write_bytes(b"PK\x03\x04")  # could be data: left out, and named
    with pytest.warns(SkippedFilesWarning, match=r"left out 1 file\(s\) in the folder .* events\.xlsx"):
        assert len(read(folder, tmp_path)) == 3


def test_a_folder_of_unknown_files_lists_what_it_found_and_what_works(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    for i in range(8):
        (folder / f"events_{i}.avro").write_bytes(b"Obj\x01")
    (folder / "events.xlsx").write_bytes(b"PK\x03\x04")
    (folder / "README.md").write_text("# how to export\n")
    with pytest.raises(DataError) as err:
        read(folder, tmp_path)
    text = str(err.value)
    assert "holds no data files" not in text
    assert f"data.events: found nothing it can read in the folder {folder}: 10 files" in text
    assert ".avro ×8" in text and ".xlsx ×1" in text and ".md ×1" in text
    assert "e.g. README.md, events.xlsx, events_0.avro" in text
    assert delivered_module.FORMATS in text
    assert ".parquet (also PostHog's .parquet.zst" in text and "an Amplitude Export API .zip" in text


def test_names_decide_unless_the_bytes_are_sure(tmp_path):
    """A CSV whose header starts with PK (a zip's first bytes) or PAR1 is still a CSV."""
    for header in ("PK\x03\x04", "PAR1"):
        path = tmp_path / "events.csv"
        path.write_text(f"{header}id,event\n1,visit\n2,purchase\n")
        assert len(read(path, tmp_path)) == 2


def test_an_empty_folder_still_says_so(tmp_path):
    (tmp_path / "events").mkdir()
    with pytest.raises(DataError, match="is empty: it holds no data files"):
        read(tmp_path / "events", tmp_path)


def test_json_hours_with_different_keys_read_as_one_table(tmp_path):
    """Many hour files whose keys differ (a key first seen in the last file): union by name, nothing dropped."""
    folder = tmp_path / "hours"
    folder.mkdir()
    for hour in range(40):
        row = amplitude_hour(hour, "visit", f"2026-01-05 {hour % 24:02d}:00:00.000000")
        if hour == 39:
            row["plan"] = "pro"
        (folder / f"187520_2026-01-05_{hour % 24}#{hour // 24}.json.gz").write_bytes(gz_lines([row]))
    df = read(folder, tmp_path)
    assert len(df) == 40
    assert df.plan.dropna().tolist() == ["pro"]
