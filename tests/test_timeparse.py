"""timeparse.parse_timestamp: every kind of time an export uses, run on the engine, against pandas / datetime."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from segworkshop.engine import connect
from segworkshop.timeparse import parse_timestamp

EPOCH = dt.datetime(1970, 1, 1)


@pytest.fixture(scope="module")
def con():
    return connect()


def parse(con, column, unit: str = "auto") -> list:
    """parse_timestamp over one column (a pyarrow Array or a pandas Series), as plain values (None for null)."""
    table = ibis.memtable(pa.table({"v": column}) if isinstance(column, pa.Array) else pd.DataFrame({"v": column}))
    expr = parse_timestamp(table.v, unit)
    assert expr.type().is_timestamp() and expr.type().timezone is None  # naive, holding UTC wall time
    out = con.execute(table.select(p=expr))["p"]
    return [None if pd.isna(v) else pd.Timestamp(v) for v in out]


def strings(*values) -> pa.Array:
    return pa.array(values, type=pa.string())


def pandas_utc(values) -> list:
    """What pandas makes of ISO 8601 text: UTC, naive."""
    parsed = pd.to_datetime(pd.Series(values), format="ISO8601", utc=True).dt.tz_convert(None)
    return [pd.Timestamp(v) for v in parsed]


# --------------------------------------------------------------------------- text


ISO = [
    "2026-01-05T10:00:00Z",
    "2026-01-05T10:00:00+02:00",
    "2026-01-05T10:00:00-05:30",
    "2026-01-05T23:30:00-05:30",  # crosses midnight into the next UTC day
    "2026-01-05T10:00:00",
    "2026-01-05 10:00:00",
    "2026-01-05T10:00:00.123Z",
    "2026-01-05T10:00:00.123456+01:00",
    "2026-01-05 10:00:00.5",
    "2026-02-28T23:59:59.999999Z",
]


def test_iso_8601_text(con):
    got = parse(con, strings(*ISO))
    assert got == pandas_utc(ISO)
    # and by hand, for the zones
    assert got[:4] == [
        pd.Timestamp("2026-01-05 10:00:00"),
        pd.Timestamp("2026-01-05 08:00:00"),
        pd.Timestamp("2026-01-05 15:30:00"),
        pd.Timestamp("2026-01-06 05:00:00"),
    ]


def test_text_without_zone_is_utc(con):
    assert parse(con, strings("2026-07-01 12:00:00", "2026-07-01T12:00:00.250")) == [
        pd.Timestamp("2026-07-01 12:00:00"),
        pd.Timestamp("2026-07-01 12:00:00.250"),
    ]


def test_plain_dates_are_midnight_utc(con):
    assert parse(con, strings("2026-01-05", "2024-02-29", "1999-12-31")) == [
        pd.Timestamp("2026-01-05"),
        pd.Timestamp("2024-02-29"),
        pd.Timestamp("1999-12-31"),
    ]


def test_surrounding_whitespace_is_ignored(con):
    assert parse(con, strings(" 2026-01-05T10:00:00Z ", "\t2026-01-05\n")) == [
        pd.Timestamp("2026-01-05 10:00:00"),
        pd.Timestamp("2026-01-05"),
    ]


def test_unparseable_text_is_null(con):
    values = ["yesterday", "2026-13-45", "", "not a date", None, "2026-01-05T10:00:00Z", "05/01/2026 soon"]
    assert parse(con, strings(*values)) == [None, None, None, None, None, pd.Timestamp("2026-01-05 10:00:00"), None]


def test_digit_strings_are_epoch_numbers(con):
    values = ["1767607200", "1767607200123", "1767607200123456", "1767607200123456000", "1767607200.5"]
    expected = [
        pd.Timestamp(1767607200, unit="s"),
        pd.Timestamp(1767607200123, unit="ms"),
        pd.Timestamp(1767607200123456, unit="us"),
        pd.Timestamp(1767607200123456000, unit="ns"),
        pd.Timestamp(1767607200.5, unit="s"),
    ]
    assert parse(con, strings(*values)) == expected
    assert expected[0] == pd.Timestamp("2026-01-05 10:00:00")


def test_text_and_digits_mixed_in_one_column(con):
    assert parse(con, strings("2026-01-05T10:00:00+01:00", "1767607200000", "junk")) == [
        pd.Timestamp("2026-01-05 09:00:00"),
        pd.Timestamp("2026-01-05 10:00:00"),
        None,
    ]


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "123456789012345678901234567890", "1e30"])
def test_non_finite_or_huge_text_is_null_not_an_error(con, text):
    """'nan', 'inf' or a long digit string in a time column are unparseable: null, not a failed query."""
    assert parse(con, strings(text, "2026-01-05T10:00:00Z")) == [None, pd.Timestamp("2026-01-05 10:00:00")]


# --------------------------------------------------------------------------- typed columns


def test_date_column(con):
    days = [dt.date(2026, 1, 5), dt.date(2024, 2, 29), None]
    assert parse(con, pa.array(days, type=pa.date32())) == [
        pd.Timestamp("2026-01-05"),
        pd.Timestamp("2024-02-29"),
        None,
    ]


def test_naive_timestamp_column_is_kept(con):
    values = pd.Series(pd.to_datetime(["2026-01-05 10:00:00.123456", "1999-12-31 23:59:59", None], format="ISO8601"))
    assert parse(con, values) == [pd.Timestamp("2026-01-05 10:00:00.123456"), pd.Timestamp("1999-12-31 23:59:59"), None]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"])
def test_zoned_timestamp_column_is_converted_to_utc(con, zone):
    local = ["2026-01-05 10:00:00", "2026-07-05 10:00:00.5", "2026-03-29 03:30:00"]  # winter, summer, DST day
    values = pd.Series(pd.to_datetime(local, format="ISO8601")).dt.tz_localize(zone)
    expected = [pd.Timestamp(v).tz_convert("UTC").tz_localize(None) for v in values]
    assert parse(con, values) == expected


def test_zoned_timestamp_by_hand(con):
    values = pd.Series(pd.to_datetime(["2026-01-05 10:00:00", "2026-07-05 10:00:00"])).dt.tz_localize("Europe/Berlin")
    assert parse(con, values) == [pd.Timestamp("2026-01-05 09:00:00"), pd.Timestamp("2026-07-05 08:00:00")]


def test_zoned_arrow_timestamps(con):
    micros = [1767607200123456, None]
    arr = pa.array(micros, type=pa.timestamp("us", tz="America/Los_Angeles"))
    assert parse(con, arr) == [pd.Timestamp("2026-01-05 10:00:00.123456"), None]


def test_other_types_are_refused():
    t = ibis.memtable(pa.table({"v": pa.array([True, False])}))
    with pytest.raises(TypeError, match="cannot read a time"):
        parse_timestamp(t.v)


# --------------------------------------------------------------------------- epoch numbers


def from_epoch(value, unit: str) -> pd.Timestamp:
    """Independent: datetime arithmetic with exact integer microseconds."""
    per = {"s": 1_000_000, "ms": 1_000, "us": 1}
    if unit == "ns":
        return pd.Timestamp(EPOCH + dt.timedelta(microseconds=round(value / 1000)))
    return pd.Timestamp(EPOCH + dt.timedelta(microseconds=value * per[unit]))


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (1767607200, "s"),
        (1767607200123, "ms"),
        (1767607200123456, "us"),
        (1767607200123456000, "ns"),
        (0, "s"),
        (86_400, "s"),
        (-86_400, "s"),  # before 1970
        (99_999_999_999, "s"),  # just under 1e11: still seconds (year 5138)
        (100_000_000_000, "ms"),  # 1e11: milliseconds
        (99_999_999_999_000, "ms"),  # (values a float64 holds exactly: beyond 2**53 µs, auto works in float)
        (100_000_000_000_000, "us"),  # 1e14: microseconds
        (99_999_999_999_999_984, "us"),
        (100_000_000_000_000_000, "ns"),  # 1e17: nanoseconds
    ],
)
def test_epoch_integer_auto_unit(con, value, unit):
    assert parse(con, pa.array([value], type=pa.int64())) == [from_epoch(value, unit)]


def test_epoch_magnitudes_mixed_in_one_column(con):
    values = [1767607200, 1767607200123, 1767607200123456, 1767607200123456000, None, 946684800]
    units = ["s", "ms", "us", "ns", None, "s"]
    expected = [None if v is None else from_epoch(v, u) for v, u in zip(values, units, strict=True)]
    got = parse(con, pa.array(values, type=pa.int64()))
    assert got == expected
    assert got[:4] == [
        pd.Timestamp("2026-01-05 10:00:00"),
        pd.Timestamp("2026-01-05 10:00:00.123"),
        pd.Timestamp("2026-01-05 10:00:00.123456"),
        pd.Timestamp("2026-01-05 10:00:00.123456"),
    ]
    assert got[5] == pd.Timestamp("2000-01-01")


@pytest.mark.parametrize("arrow_type", [pa.int32(), pa.uint32(), pa.int64(), pa.uint64()])
def test_epoch_seconds_in_other_integer_types(con, arrow_type):
    assert parse(con, pa.array([1767607200, 946684800], type=arrow_type)) == [
        pd.Timestamp("2026-01-05 10:00:00"),
        pd.Timestamp("2000-01-01"),
    ]


def test_epoch_floats(con):
    values = [1767607200.25, 1767607200123.5, 1767607200123456.0, None]
    assert parse(con, pa.array(values, type=pa.float64())) == [
        pd.Timestamp("2026-01-05 10:00:00.250"),
        pd.Timestamp("2026-01-05 10:00:00.123500"),
        pd.Timestamp("2026-01-05 10:00:00.123456"),
        None,
    ]


def test_epoch_nanoseconds_round_to_the_nearest_microsecond(con):
    """Nanoseconds keep their precision: 1767607200123456400 ns is ...456.4 µs, so ...456 µs."""
    values = [1767607200123456400, 1767607200123456600, 1767607200999999999]
    expected = [pd.Timestamp(v, unit="ns").round("us") for v in values]
    assert expected[0] == pd.Timestamp("2026-01-05 10:00:00.123456")
    assert parse(con, pa.array(values, type=pa.int64())) == expected
    assert parse(con, pa.array(values, type=pa.int64()), "ns") == expected


def test_non_finite_epoch_floats_are_null(con):
    values = pa.array([float("nan"), float("inf"), 1767607200.0], type=pa.float64(), from_pandas=False)
    assert parse(con, values) == [None, None, pd.Timestamp("2026-01-05 10:00:00")]


# --------------------------------------------------------------------------- an explicit unit


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (1767607200, "s"),
        (1767607200, "ms"),  # auto would say seconds
        (1767607200, "us"),
        (1767607200, "ns"),
        (1767607200123, "us"),  # auto would say ms
        (17676072001, "ms"),  # auto would say seconds
        (86_400_000, "ms"),  # auto would say seconds: 1972
    ],
)
def test_explicit_unit_overrides_auto(con, value, unit):
    assert parse(con, pa.array([value], type=pa.int64()), unit) == [from_epoch(value, unit)]


def test_explicit_unit_by_hand(con):
    assert parse(con, pa.array([86_400_000, 1767607200000], type=pa.int64()), "ms") == [
        pd.Timestamp("1970-01-02"),
        pd.Timestamp("2026-01-05 10:00:00"),
    ]
    assert parse(con, pa.array([1767607200.5], type=pa.float64()), "s") == [pd.Timestamp("2026-01-05 10:00:00.5")]


def test_explicit_unit_on_digit_strings(con):
    assert parse(con, strings("1767607200", "86400000", "x"), "ms") == [
        from_epoch(1767607200, "ms"),
        pd.Timestamp("1970-01-02"),
        None,
    ]


def test_explicit_unit_on_int32_seconds(con):
    """Epoch seconds stored as int32 (common until 2038) with `time_unit: s`."""
    assert parse(con, pa.array([1767607200, 946684800], type=pa.int32()), "s") == [
        pd.Timestamp("2026-01-05 10:00:00"),
        pd.Timestamp("2000-01-01"),
    ]


def test_explicit_unit_still_reads_iso_text(con):
    """The unit is about epoch numbers: ISO 8601 text in the same column is still read as text."""
    assert parse(con, strings("2026-01-05T10:00:00Z", "1767607200000"), "ms") == [
        pd.Timestamp("2026-01-05 10:00:00"),
        pd.Timestamp("2026-01-05 10:00:00"),
    ]


def test_time_zone_reads_zone_less_times_as_local_wall_time():
    """`data.time_zone`: naive text and epoch numbers are local (Mixpanel before 2023); offsets are kept.
    Expected UTC by hand: Los Angeles is UTC-8 in January, UTC-7 in July; Berlin UTC+1 in January."""
    import pandas as pd

    from segworkshop import ConfigError, Workshop

    df = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "c"],
            "event": ["x", "y", "x", "x"],
            "timestamp": ["2026-01-05 10:00:00", "2026-07-05T10:00:00+02:00", "1767607200", "2026-07-05 10:00"],
        }
    )
    ws = Workshop.from_dict({"data": {"events": df, "time_zone": "America/Los_Angeles"}, "success": {"event": "y"}})
    got = ws.events.to_pandas().set_index(["user_id", "event"]).timestamp
    assert got[("a", "x")] == pd.Timestamp("2026-01-05 18:00:00")
    assert got[("a", "y")] == pd.Timestamp("2026-07-05 08:00:00")  # its own offset wins
    assert got[("b", "x")] == pd.Timestamp("2026-01-05 18:00:00")  # epoch seconds of local wall time
    assert got[("c", "x")] == pd.Timestamp("2026-07-05 17:00:00")  # summer time
    seconds = pd.DataFrame({"user_id": ["a"], "event": ["x"], "timestamp": [1767607200]})
    ws = Workshop.from_dict(
        {"data": {"events": seconds, "time_zone": "Europe/Berlin", "preset": None}, "success": {"event": "y"}}
    )
    assert ws.events.to_pandas().timestamp.tolist() == [pd.Timestamp("2026-01-05 09:00:00")]
    with pytest.raises(ConfigError, match="Europe/Berlin"):
        Workshop.from_dict({"data": {"events": seconds, "time_zone": "Europe/Berln"}, "success": {"event": "y"}})
