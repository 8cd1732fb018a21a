"""Turn whatever an export calls time into a UTC timestamp, as an engine expression (never in pandas).

* timestamps with a zone are converted to UTC; timestamps without one are taken as UTC;
* dates are midnight UTC;
* ISO 8601 strings, with or without a zone (``2026-01-05T10:00:00+02:00``, ``2026-01-05 10:00:00``,
  ``2026-01-05``) are parsed; strings of digits are read as epoch numbers;
* epoch numbers are read by magnitude, row by row — below 10¹¹ seconds, below 10¹⁴ milliseconds, below
  10¹⁷ microseconds, else nanoseconds — unless a unit is given (``data.time_unit: s | ms | us | ns``).

The result is a timezone-naive timestamp holding UTC wall time; unparseable values become null (and
``segworkshop validate`` counts them and shows examples).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from .engine import backend_name

_EPOCH = ibis.timestamp("1970-01-01 00:00:00")
_MICROS_PER = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
# magnitude bounds for "auto": |x| < 1e11 → seconds (until year 5138), < 1e14 → ms, < 1e17 → µs, else ns
_AUTO_BOUNDS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


def parse_timestamp(value: ir.Value, unit: str = "auto", zone: str | None = None) -> ir.TimestampValue:
    """A naive-UTC timestamp expression from a timestamp, date, string or epoch-number column.

    ``zone`` (an IANA name, ``data.time_zone``): the export writes local wall time in that zone wherever it
    does not say otherwise — naive timestamps, text without an offset, and epoch numbers counted from local
    midnight 1970 (Mixpanel projects created before 2023 export ``time`` so). Text with an offset keeps it.
    """
    if zone is not None:
        return _from_zone(value, unit, zone)
    dtype = value.type()
    if dtype.is_timestamp():
        return _to_utc(value) if dtype.timezone is not None else value
    if dtype.is_date():
        return value.cast(dt.Timestamp())
    if dtype.is_numeric():
        return epoch_to_timestamp(value, unit)
    if dtype.is_string():
        text = value.strip()
        parsed = text.try_cast(dt.Timestamp(timezone="UTC"))
        # DuckDB reads 'infinity' as a timestamp: keep only years 0001-9999
        real = (parsed >= ibis.timestamp("0001-01-01 00:00:00+00:00")) & (
            parsed < ibis.timestamp("9999-12-31 23:59:59+00:00")
        )
        as_text = ibis.ifelse(real, _to_utc(parsed), ibis.null("timestamp"))
        as_number = epoch_to_timestamp(text.try_cast("float64"), unit)
        return ibis.coalesce(as_text, as_number)
    raise TypeError(f"cannot read a time from a column of type {dtype}")


def _from_zone(value: ir.Value, unit: str, zone: str) -> ir.TimestampValue:
    dtype = value.type()
    if dtype.is_timestamp() and dtype.timezone is not None:
        return parse_timestamp(value, unit)
    wall = parse_timestamp(value, unit)  # read as if it were UTC: the local wall time
    local = local_to_utc(wall, zone)
    if not dtype.is_string():
        return local
    has_offset = value.strip().re_search(r"([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$")
    return ibis.ifelse(has_offset, wall, local)


def local_to_utc(wall: ir.TimestampValue, zone: str) -> ir.TimestampValue:
    """Naive local wall time in ``zone`` to naive UTC, in the engine (DuckDB and PostgreSQL: ``timezone(zone,
    ts)``; Spark: ``to_utc_timestamp``). A wall time that a clock change skips or repeats follows the engine."""
    if backend_name(wall) == "pyspark":
        return _to_utc_timestamp(wall, zone)
    return _to_utc(_in_zone(zone, wall))


def _builtin(name: str, **annotations: dt.DataType):
    def function(a, b):
        """An engine function, by name."""

    function.__annotations__ = annotations
    return ibis.udf.scalar.builtin(function, name=name)


_in_zone = _builtin("timezone", a=dt.string, b=dt.timestamp, **{"return": dt.Timestamp(timezone="UTC")})
_to_utc_timestamp = _builtin("to_utc_timestamp", a=dt.timestamp, b=dt.string, **{"return": dt.timestamp})


# DuckDB's timezone(zone, timestamptz): the wall time in that zone, as a naive timestamp
_timezone = _builtin("timezone", a=dt.string, b=dt.Timestamp(timezone="UTC"), **{"return": dt.timestamp})


# DuckDB: the instant's microseconds since 1970 and the naive timestamp of as many: UTC wall time, exactly
@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(a: dt.Timestamp(timezone="UTC")) -> dt.int64:
    """DuckDB's epoch_us."""


@ibis.udf.scalar.builtin(name="make_timestamp")
def _make_timestamp(a: dt.int64) -> dt.timestamp:
    """DuckDB's make_timestamp(microseconds)."""


def _to_utc(value: ir.TimestampValue) -> ir.TimestampValue:
    engine = backend_name(value)
    if engine == "pyspark":  # Spark keeps instants; with the session in UTC a cast is the wall time
        return value.cast(dt.Timestamp())
    if engine == "duckdb":
        # the same as timezone('UTC', value), a tenth of its cost (no time-zone lookup per row): every query
        # over the events converts every event's time
        return _make_timestamp(_epoch_us(value))
    # A plain cast would do in principle, but DuckDB pushes it into its CSV reader, which then drops the offset
    # (``12:30+02:00`` read as 12:30); an explicit conversion to UTC wall time is right everywhere.
    return _timezone("UTC", value)


# |µs since 1970| below this: years 0001-9999; beyond it (and NaN, ±inf) is not a time but a broken value
_MAX_MICROS = 2.5e17


def _ns_to_micros(v: ir.IntegerValue) -> ir.IntegerValue:
    """Nanoseconds to the nearest microsecond, exactly. Engines divide integers in floating point, which is
    ~256 ns off at today's epochs, so: an approximate quotient, then the exact remainder corrects it."""
    shifted = v + 500
    approx = (shifted / 1000).floor().cast("int64")
    remainder = shifted - approx * 1000  # exact, and small: a few thousand at most
    return approx + (remainder / 1000).floor().cast("int64")


def epoch_to_timestamp(value: ir.NumericValue, unit: str = "auto") -> ir.TimestampValue:
    """Epoch seconds / ms / µs / ns (or 'auto': by magnitude, per row) to a naive-UTC timestamp.

    Integers are converted exactly (nanoseconds rounded to the nearest microsecond); floats through float64.
    NaN, infinities and values beyond year 9999 become null.
    """
    if value.type().is_integer():
        v = value.cast("int64")
        if unit == "auto":
            magnitude = v.abs()
            micros = ibis.cases(
                (magnitude < int(_AUTO_BOUNDS[0][0]), v * 1_000_000),
                (magnitude < int(_AUTO_BOUNDS[1][0]), v * 1_000),
                (magnitude < int(_AUTO_BOUNDS[2][0]), v),
                else_=_ns_to_micros(v),
            )
        elif unit == "ns":
            micros = _ns_to_micros(v)
        else:
            limit = int(_MAX_MICROS // _MICROS_PER[unit])
            micros = ibis.ifelse(v.abs() < limit, v * int(_MICROS_PER[unit]), ibis.null("int64"))
        ok = micros.abs() < int(_MAX_MICROS)
    else:
        f = value.cast("float64")
        if unit == "auto":
            magnitude = f.abs()
            factor = ibis.cases(
                *((magnitude < bound, _MICROS_PER[name]) for bound, name in _AUTO_BOUNDS),
                else_=_MICROS_PER["ns"],
            )
        else:
            factor = ibis.literal(_MICROS_PER[unit])
        scaled = f * factor
        ok = scaled.abs() < _MAX_MICROS  # false for NaN and ±inf
        micros = ibis.ifelse(ok, scaled, ibis.null("float64")).round()  # rounds to int64
    return ibis.ifelse(ok, _EPOCH + micros.as_interval("us"), ibis.null("timestamp"))
