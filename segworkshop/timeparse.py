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

_EPOCH = ibis.timestamp("1970-01-01 00:00:00")
_MICROS_PER = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
# magnitude bounds for "auto": |x| < 1e11 → seconds (until year 5138), < 1e14 → ms, < 1e17 → µs, else ns
_AUTO_BOUNDS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


def parse_timestamp(value: ir.Value, unit: str = "auto") -> ir.TimestampValue:
    """A naive-UTC timestamp expression from a timestamp, date, string or epoch-number column."""
    dtype = value.type()
    if dtype.is_timestamp():
        return value.cast(dt.Timestamp()) if dtype.timezone is not None else value
    if dtype.is_date():
        return value.cast(dt.Timestamp())
    if dtype.is_numeric():
        return epoch_to_timestamp(value, unit)
    if dtype.is_string():
        if unit != "auto":
            return epoch_to_timestamp(value.try_cast("float64"), unit)
        as_text = value.strip().try_cast(dt.Timestamp(timezone="UTC")).cast(dt.Timestamp())
        as_number = epoch_to_timestamp(value.try_cast("float64"), unit)
        return ibis.coalesce(as_text, as_number)
    raise TypeError(f"cannot read a time from a column of type {dtype}")


def epoch_to_timestamp(value: ir.NumericValue, unit: str = "auto") -> ir.TimestampValue:
    """Epoch seconds / ms / µs / ns (or 'auto': by magnitude, per row) to a naive-UTC timestamp."""
    if unit == "auto":
        magnitude = value.abs()
        factor = ibis.cases(
            *((magnitude < bound, _MICROS_PER[name]) for bound, name in _AUTO_BOUNDS),
            else_=_MICROS_PER["ns"],
        )
    else:
        factor = ibis.literal(_MICROS_PER[unit])
    if value.type().is_integer() and unit in ("s", "ms", "us"):
        micros = value * factor
    else:
        micros = (value.cast("float64") * factor).round()
    return _EPOCH + micros.cast("int64").as_interval("us")
