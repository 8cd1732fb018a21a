"""Presets: each vendor's documented export layout (fixtures in tests/fixtures/presets) mapped onto the canonical
events. Expected ids, names, UTC times and traits are written out by hand from the fixture files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segworkshop import DataError, Workshop
from segworkshop.presets import PRESETS

FIXTURES = Path(__file__).parent / "fixtures" / "presets"
TS = pd.Timestamp


def load(events, preset: str, **data) -> pd.DataFrame:
    """The canonical events of a fixture (or any source) read with a preset, sorted by time."""
    if isinstance(events, str):
        events = str(FIXTURES / events)
    ws = Workshop.from_dict({"data": {"events": events, "preset": preset, **data}, "success": {"event": "purchase"}})
    df = ws.events.to_pandas()
    return df.sort_values("timestamp", kind="stable", ignore_index=True)


def col(df: pd.DataFrame, name: str) -> list:
    """A column as plain Python values, missing values as None."""
    return [None if pd.isna(v) else v for v in df[name].tolist()]


def check(df: pd.DataFrame, expected: dict[str, list]) -> None:
    for name, values in expected.items():
        assert col(df, name) == values, name
    assert df["timestamp"].dt.tz is None  # naive UTC wall time
    for name in ("user_id", "event", "session_id"):
        if name in df.columns:
            assert all(isinstance(v, str) for v in col(df, name) if v is not None), f"{name} is compared as text"


def test_every_preset_has_a_fixture_test():
    assert set(PRESETS) == {"heap", "amplitude", "mixpanel", "posthog", "ga4", "segment"}


# --------------------------------------------------------------------------- Heap Connect all_events


def test_heap_all_events():
    df = load("heap_all_events.csv", "heap")
    check(
        df,
        {
            "user_id": ["4419823312", "4419823312", "7700123", "7700123", "4419823312"],  # bigint ids, as text
            "event": [
                "pageviews",
                "signup_click_signup_button",
                "pageviews",
                "signup_click_signup_button",
                "checkout_complete_order",
            ],
            "timestamp": [
                TS("2026-01-05 10:00:00.123"),
                TS("2026-01-05 10:03:20.5"),
                TS("2026-01-05 23:59:59.999"),
                TS("2026-01-06 00:00:01"),
                TS("2026-01-06 09:15:00"),
            ],
            "session_id": ["8812001", "8812001", "8812003", "8812003", "8812002"],
            "platform": ["Mac OS X", "Mac OS X", "iOS", "iOS", "Mac OS X"],
            "device_type": ["Desktop", "Desktop", "Mobile", "Mobile", "Desktop"],
            "browser": ["Chrome", "Chrome", "Mobile Safari", "Mobile Safari", "Chrome"],
            "country": ["United States", "United States", "Germany", "Germany", "United States"],
            "utm_source": ["google", "google", None, None, None],
        },
    )
    assert "event_table_name" not in df.columns and "time" not in df.columns  # renamed, not duplicated


def test_heap_columns_override_the_preset():
    df = load("heap_all_events.csv", "heap", columns={"event": "library"})
    assert col(df, "event") == ["web", "web", "ios", "ios", "web"]
    assert col(df, "user_id")[0] == "4419823312"  # the rest of the preset still applies


# --------------------------------------------------------------------------- Amplitude Export API


def test_amplitude_export():
    df = load("amplitude_export.json", "amplitude")
    check(
        df,
        {
            "user_id": ["123456789", "123456789", "987654321"],  # amplitude_id, not the app's user_id
            "event": ["app_open", "purchase", "app_open"],
            "timestamp": [
                TS("2026-01-05 10:00:00.123"),
                TS("2026-01-05 10:05:00"),
                TS("2026-01-06 23:59:59.999"),
            ],
            "session_id": ["1767607200000", "1767607200000", "1767743999000"],
            "platform": ["iOS", "iOS", "Android"],
            "os": ["ios", "ios", "android"],
            "device": ["Apple iPhone", "Apple iPhone", "Samsung Phone"],
            "country": ["United States", "United States", "Germany"],
            "language": ["English", "English", "German"],
        },
    )


def test_amplitude_columns_override_user_id():
    df = load("amplitude_export.json", "amplitude", columns={"user_id": "user_id"})
    assert col(df, "user_id") == ["alice@example.com", "alice@example.com", None]
    assert col(df, "session_id") == ["1767607200000", "1767607200000", "1767743999000"]


def test_amplitude_event_time_as_text(tmp_path):
    """The same export with event_time kept as text (e.g. re-saved as CSV) parses to the same UTC times."""
    rows = [json.loads(line) for line in (FIXTURES / "amplitude_export.json").read_text().splitlines()]
    flat = pd.DataFrame(
        {
            k: [r[k] for r in rows]
            for k in ("amplitude_id", "user_id", "event_type", "event_time", "session_id", "os_name", "country")
        }
    )
    path = tmp_path / "amplitude.csv"
    flat.to_csv(path, index=False)
    df = load(str(path), "amplitude", columns={"timestamp": "event_time"})
    assert col(df, "timestamp") == [
        TS("2026-01-05 10:00:00.123"),
        TS("2026-01-05 10:05:00"),
        TS("2026-01-06 23:59:59.999"),
    ]
    assert col(df, "os") == ["ios", "ios", "android"]


# --------------------------------------------------------------------------- Mixpanel raw export


MIXPANEL_TIMES = [
    TS("2026-01-05 10:00:00"),  # 1767607200
    TS("2026-01-05 11:02:05"),  # 1767610925
    TS("2026-01-05 23:59:59"),  # 1767657599
    TS("2026-01-06 00:01:00"),  # 1767657660
]


def test_mixpanel_raw_export():
    df = load("mixpanel_export.jsonl", "mixpanel")
    check(
        df,
        {
            "user_id": ["u-100", "u-100", "u-200", "u-200"],
            "event": ["Sign Up", "Purchase", "App Open", "Purchase"],
            "timestamp": MIXPANEL_TIMES,
            "os": ["Mac OS X", "Mac OS X", "iOS", "iOS"],
            "browser": ["Chrome", "Chrome", None, None],
            "device": [None, None, "iPhone", "iPhone"],
            "country": ["US", "US", "FR", "FR"],
            "city": ["San Francisco", "San Francisco", "Paris", "Paris"],
        },
    )
    assert "session_id" not in df.columns  # Mixpanel's raw export has no session id


def test_mixpanel_columns_override_with_a_nested_path():
    df = load("mixpanel_export.jsonl", "mixpanel", columns={"user_id": "properties.$device_id"})
    assert col(df, "user_id") == [
        "18d1f0a7c2b3e-0a1b2c3d4e5f6-1f525634-1fa400-18d1f0a7c2b3e",
        "18d1f0a7c2b3e-0a1b2c3d4e5f6-1f525634-1fa400-18d1f0a7c2b3e",
        "A1B2C3D4-E5F6-4789-9ABC-DEF012345678",
        "A1B2C3D4-E5F6-4789-9ABC-DEF012345678",
    ]


def test_mixpanel_time_unit_overrides_the_preset(tmp_path):
    """An export made with `time_in_ms=true`: `data.time_unit: ms` wins over the preset's seconds."""
    lines = []
    for line in (FIXTURES / "mixpanel_export.jsonl").read_text().splitlines():
        row = json.loads(line)
        row["properties"]["time"] = row["properties"]["time"] * 1000 + 250
        lines.append(json.dumps(row))
    path = tmp_path / "mixpanel_ms.jsonl"
    path.write_text("\n".join(lines) + "\n")
    df = load(str(path), "mixpanel", time_unit="ms")
    assert col(df, "timestamp") == [t + pd.Timedelta(milliseconds=250) for t in MIXPANEL_TIMES]


# --------------------------------------------------------------------------- PostHog events export


POSTHOG_PERSON_1 = "018f2c1a-5b6d-7e8f-9a0b-111111111111"
POSTHOG_PERSON_2 = "018f2c1a-5b6d-7e8f-9a0b-222222222222"


@pytest.mark.parametrize("name", ["posthog_events.csv", "posthog_events.jsonl"])
def test_posthog_events_export(name):
    """CSV (properties as JSON text) and JSON lines (properties as an object) read the same."""
    df = load(name, "posthog")
    check(
        df,
        {
            "user_id": [POSTHOG_PERSON_1, POSTHOG_PERSON_1, POSTHOG_PERSON_2],
            "event": ["$pageview", "user signed up", "$pageview"],
            "timestamp": [
                TS("2026-01-05 10:00:00.123"),
                TS("2026-01-05 10:02:30"),
                TS("2026-01-06 23:59:59.999"),
            ],
            "session_id": [
                "01943a6e-7a00-7c11-9d22-aaaaaaaaaaaa",
                "01943a6e-7a00-7c11-9d22-aaaaaaaaaaaa",
                "01943b00-0000-7c11-9d22-bbbbbbbbbbbb",
            ],
            "os": ["Mac OS X", "Mac OS X", "Android"],
            "browser": ["Chrome", "Chrome", "Chrome Mobile"],
            "device_type": ["Desktop", "Desktop", "Mobile"],
            "country": ["US", "US", "BR"],
        },
    )


@pytest.mark.parametrize("name", ["posthog_events.csv", "posthog_events.jsonl"])
def test_posthog_columns_override_user_id(name):
    df = load(name, "posthog", columns={"user_id": "distinct_id"})
    assert col(df, "user_id") == [
        "0194aaaa-0000-7000-8000-000000000001",
        "alice@example.com",
        "0194bbbb-0000-7000-8000-000000000002",
    ]


def test_posthog_without_person_id_falls_back_to_distinct_id(tmp_path):
    raw = pd.read_csv(FIXTURES / "posthog_events.csv").drop(columns="person_id")
    path = tmp_path / "posthog_no_person.csv"
    raw.to_csv(path, index=False)
    df = load(str(path), "posthog")
    assert col(df, "user_id")[1] == "alice@example.com"


# --------------------------------------------------------------------------- GA4 BigQuery export


GA4_EXPECTED = {
    "user_id": [  # the device's user_pseudo_id, stitched to the user_id it signed in as (identity.py)
        "crm-1001",
        "crm-1001",
        "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    ],
    "event": ["session_start", "purchase", "first_open", "notification_receive"],
    "timestamp": [
        TS("2026-01-05 10:00:00.123456"),  # 1767607200123456 µs
        TS("2026-01-05 10:05:00.000001"),  # 1767607500000001 µs
        TS("2026-01-05 23:59:59.999999"),  # 1767657599999999 µs
        TS("2026-01-06 00:00:00"),  # 1767657600000000 µs
    ],
    # event_params[ga_session_id].int_value, wherever it sits in the array; absent -> null
    "session_id": ["1767607200", "1767607200", "1767657599", None],
    "platform": ["WEB", "WEB", "ANDROID", "ANDROID"],
    "device_category": ["desktop", "desktop", "mobile", "mobile"],
    "os": ["Macintosh", "Macintosh", "Android", "Android"],
    "browser": ["Chrome", "Chrome", None, None],
    "country": ["United States", "United States", "Germany", "Germany"],
    "source": ["google", "google", "(direct)", "(direct)"],
    "medium": ["cpc", "cpc", "(none)", "(none)"],
}


def test_ga4_bigquery_json_export():
    """`bq extract` JSON: INT64 values (event_timestamp, int_value) are written as strings."""
    df = load("ga4_events.jsonl", "ga4")
    check(df, GA4_EXPECTED)
    assert "event_params" not in df.columns and "device" not in df.columns  # nested: only the traits are kept


def _ga4_native_ints(value):
    if isinstance(value, dict):
        return {
            k: (int(v) if k in ("event_timestamp", "int_value") and v is not None else _ga4_native_ints(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_ga4_native_ints(v) for v in value]
    return value


def test_ga4_with_native_integers(tmp_path):
    """The same rows as Parquet with INT64 columns (BigQuery's Parquet export, or a query result)."""
    rows = [_ga4_native_ints(json.loads(line)) for line in (FIXTURES / "ga4_events.jsonl").read_text().splitlines()]
    table = pa.Table.from_pylist(rows)
    assert table.schema.field("event_timestamp").type == pa.int64()
    path = tmp_path / "events_20260105.parquet"
    pq.write_table(table, path)
    check(load(str(path), "ga4"), GA4_EXPECTED)


def test_ga4_columns_override_user_id():
    df = load("ga4_events.jsonl", "ga4", columns={"user_id": "user_id"})
    assert col(df, "user_id") == [None, "crm-1001", None, None]
    assert col(df, "session_id") == GA4_EXPECTED["session_id"]


# --------------------------------------------------------------------------- Segment


ANON = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"
SEGMENT_COMMON = {
    "user_id": ["user-1", "user-1", ANON],  # userId, else anonymousId
    "timestamp": [TS("2026-01-05 10:00:00.123"), TS("2026-01-05 10:30:00"), TS("2026-01-06 23:59:59.999")],
    "os": ["iOS", "iOS", "Android"],
    "device_type": ["ios", "ios", "android"],
    "campaign_source": ["newsletter", "newsletter", None],
    "locale": ["en-US", "en-US", "de-DE"],
}


def test_segment_track_calls_json():
    df = load("segment_tracks.jsonl", "segment")
    check(df, {**SEGMENT_COMMON, "event": ["Product Viewed", "Order Completed", "Product Viewed"]})
    assert "context" not in df.columns and "properties" not in df.columns


def test_segment_warehouse_tracks_table():
    df = load("segment_tracks_warehouse.csv", "segment")
    # the event as sent (event_text), as in the JSON spec: `event` is the warehouse's slug of it
    check(df, {**SEGMENT_COMMON, "event": ["Product Viewed", "Order Completed", "Product Viewed"]})


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("segment_tracks.jsonl", {"user_id": "anonymousId"}),
        ("segment_tracks_warehouse.csv", {"user_id": "anonymous_id", "event": "event_text"}),
    ],
)
def test_segment_columns_override(name, columns):
    df = load(name, "segment", columns=columns)
    assert col(df, "user_id") == ["507f191e810c19729de860ea", "507f191e810c19729de860ea", ANON]
    if "event" in columns:
        assert col(df, "event") == ["Product Viewed", "Order Completed", "Product Viewed"]


def test_preset_name_is_case_insensitive():
    df = load("segment_tracks.jsonl", "Segment")
    assert col(df, "user_id") == SEGMENT_COMMON["user_id"]


# --------------------------------------------------------------------------- the wrong preset


@pytest.mark.parametrize(
    ("name", "preset", "field", "looked_for", "columns", "hint"),
    [
        pytest.param(
            "posthog_events.jsonl",
            "mixpanel",
            "user_id",
            "'properties.distinct_id' (from the mixpanel preset)",
            "uuid, event, properties, timestamp, distinct_id, person_id",
            "Did you mean 'distinct_id'",
            id="posthog-jsonl-as-mixpanel",
        ),
        pytest.param(
            # properties is JSON text here: a key that is in no row must still count as missing
            "posthog_events.csv",
            "mixpanel",
            "user_id",
            "'properties.distinct_id' (from the mixpanel preset)",
            "uuid, event, properties, timestamp, distinct_id, person_id",
            "Did you mean 'distinct_id'",
            id="posthog-csv-as-mixpanel",
        ),
        pytest.param(
            "mixpanel_export.jsonl",
            "posthog",
            "user_id",
            "['person_id', 'distinct_id'] (from the posthog preset)",
            "The columns are: event, properties.",
            "",
            id="mixpanel-as-posthog",
        ),
        pytest.param(
            "heap_all_events.csv",
            "amplitude",
            "user_id",
            "'amplitude_id' (from the amplitude preset)",
            "event_id, user_id, session_id, time, event_table_name",
            "Did you mean 'user_id'",
            id="heap-as-amplitude",
        ),
        pytest.param(
            "segment_tracks.jsonl",
            "ga4",
            "user_id",
            "'user_pseudo_id' (from the ga4 preset)",
            "type, event, messageId, userId, anonymousId, timestamp",
            "Did you mean 'userId'",
            id="segment-as-ga4",
        ),
        pytest.param(
            "ga4_events.jsonl",
            "segment",
            "event",
            "looked for ['event_text', 'event']",
            "event_date, event_timestamp, event_name, event_params",
            "or 'event_name'?",
            id="ga4-as-segment",
        ),
    ],
)
def test_wrong_preset_names_field_columns_and_fix(name, preset, field, looked_for, columns, hint):
    with pytest.raises(DataError) as err:
        load(name, preset)
    text = str(err.value)
    assert str(FIXTURES / name) in text
    assert f"no column for `{field}`" in text
    assert looked_for in text
    assert columns in text
    assert hint in text
    assert f"Fix: set `data.columns.{field}: <your column>` in workshop.yaml" in text
    assert "check that the export matches the preset" in text
