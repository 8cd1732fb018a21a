"""Which columns can be a segment: one rule, so that validate's verdicts, ``init``'s suggested segments,
discover's candidates and the session's segment picker (through ``checklists.suggest``) all agree.

A column is judged from a few aggregates computed in the engine (:func:`aggregates`, one query with the rest of
the profile): its distinct values, the rows that have one, and for numbers how many fall in the range of an
epoch time. The verdict (:func:`verdict`) is one of:

* ``constant`` — one value or none;
* ``time`` — a time column: segment by cohort;
* ``epoch-like`` — a time stored as a number (epoch s / ms / µs / ns for 2000–2100, or a YYYYMMDD date), named
  like a time (``…time``, ``…timestamp``, ``…_at``, ``…date``, ``…_ts``) or spread like times (many values over
  at least a day): never binned, never a trait (GA4's ``user_first_touch_timestamp``);
* ``id-like`` — an identifier: many values and nearly one per unit or per row (text or integers), or a number
  named like an id (``…_id``, ``uuid``) with more values than a segment has (Heap's ``event_id``): never binned;
* ``duplicate of 'x'`` — the same groups as a preset trait under another name (set by the profile);
* ``ok``, ``numeric: segment with bins``, ``N values: group them`` — fit to segment on.

Names are compared case-insensitively (Snowflake exports upper-case them) and camelCase counts as words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from .worksheet import ID_LIKE_SHARE, ID_LIKE_VALUES, MAX_SEGMENT_VALUES, NEAR_UNIQUE

MANY_VALUES = ID_LIKE_VALUES
EPOCH_SHARE = 0.9  # "most values" in one epoch range
DAY = 86400.0
# 2000-01-01 and 2100-01-01 in each unit, with a day in that unit; "d" is a YYYYMMDD date written as a number
EPOCH_RANGES: dict[str, tuple[float, float, float]] = {
    "s": (946684800.0, 4102444800.0, DAY),
    "ms": (946684800e3, 4102444800e3, DAY * 1e3),
    "us": (946684800e6, 4102444800e6, DAY * 1e6),
    "ns": (946684800e9, 4102444800e9, DAY * 1e9),
    "d": (20000101.0, 21000101.0, 1.0),
}
_TIME_WORDS = re.compile(r"(time|timestamp|date|datetime|epoch)$|(^|_)(at|ts|date|time|day)(_|$)|_(ms|us|ns)$")
_ID_WORDS = re.compile(r"(^|_)(id|uuid|guid)$|^(id|uuid)_")

EXCLUDED = ("epoch-like", "id-like", "duplicate of")  # what a column is, whatever the period: never a segment


def words(name: str) -> str:
    """A column name as lower-case words joined by ``_``: ``receivedAt`` and ``RECEIVED_AT`` are ``received_at``."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    return re.sub(r"[\s.\-]+", "_", snake).casefold()


def named_like_time(name: str) -> bool:
    return bool(_TIME_WORDS.search(words(name)))


def named_like_id(name: str) -> bool:
    return bool(_ID_WORDS.search(words(name)))


@dataclass(frozen=True)
class Facts:
    """What the verdict is decided on, for one column."""

    name: str
    dtype: Any
    values: int  # distinct values among the rows that have one
    present: int  # rows with a value
    epoch_unit: str | None = None  # the epoch range most present values fall in (numbers only)
    epoch_share: float = 0.0  # the share of present values in that range
    epoch_days: float = 0.0  # the days those values span


def aggregates(expr: ir.Value, key: str, there: ir.BooleanValue) -> dict[str, ir.Value]:
    """The aggregates :func:`facts` reads, named ``{key}…``; ``there`` marks the rows that have a value."""
    out: dict[str, ir.Value] = {f"{key}v": expr.nunique(where=there), f"{key}p": there.ifelse(1, 0).sum()}
    dtype = expr.type()
    if dtype.is_numeric() and not dtype.is_boolean():
        x = expr.cast("float64")
        for unit, (lo, hi, _day) in EPOCH_RANGES.items():
            inside = there & (x >= lo) & (x < hi)
            out[f"{key}e{unit}"] = inside.ifelse(1, 0).sum()
            out[f"{key}lo{unit}"] = x.min(where=inside)
            out[f"{key}hi{unit}"] = x.max(where=inside)
    return out


def facts(row: Any, key: str, name: str, dtype: Any) -> Facts:
    """The :class:`Facts` of one column from the row of :func:`aggregates` results."""
    values, present = int(row[f"{key}v"] or 0), int(row[f"{key}p"] or 0)
    best, share, days = None, 0.0, 0.0
    if present and f"{key}es" in row:
        for unit, (_lo, _hi, day) in EPOCH_RANGES.items():
            if unit == "d" and not (dtype.is_integer() and named_like_time(name)):
                continue  # a number between 20000101 and 21000101 is a date only when it is named like one
            inside = int(row[f"{key}e{unit}"] or 0)
            if inside / present > share:
                lo, hi = row[f"{key}lo{unit}"], row[f"{key}hi{unit}"]
                best, share = unit, inside / present
                days = float(hi - lo) / day if lo is not None and hi is not None else 0.0
    return Facts(name, dtype, values, present, best, share, days)


def verdict(f: Facts, units: int) -> str:
    """Whether a column can be a segment, in words (module docstring); ``units`` counts users or accounts."""
    dtype = f.dtype
    if f.values <= 1:
        return "constant: nothing to compare"
    if dtype.is_temporal():
        return "time: segment by cohort (week / month)"
    many = f.values > MANY_VALUES and (f.values >= ID_LIKE_SHARE * units or f.values >= NEAR_UNIQUE * f.present)
    if dtype.is_numeric() and not dtype.is_boolean():
        if named_like_id(f.name) and f.values > MAX_SEGMENT_VALUES:
            return f"id-like: an identifier ({f.values:,} values), not a quantity to bin"
        if f.epoch_unit and f.epoch_share >= EPOCH_SHARE:
            spread = f.values > MAX_SEGMENT_VALUES and f.epoch_days >= 1
            if named_like_time(f.name) or spread:
                unit = "a YYYYMMDD date" if f.epoch_unit == "d" else f"epoch {f.epoch_unit}"
                return f"epoch-like: a time stored as a number ({unit}): not a segment, never binned"
        if dtype.is_integer() and many:
            return "id-like: too many values to segment on"
        return "ok" if f.values <= MAX_SEGMENT_VALUES else "numeric: segment with bins"
    if many:
        return "id-like: too many values to segment on"
    if f.values > MAX_SEGMENT_VALUES:
        return f"{f.values} values: group them into at most {MAX_SEGMENT_VALUES}"
    return "ok"


def excluded(verdict_text: str) -> bool:
    """A verdict that is never a segment nor binned: epoch-like, id-like, or a duplicate of another trait. (A
    constant is not excluded: it may vary in the next export, and it is offered where names match.)"""
    return str(verdict_text).startswith(EXCLUDED)


def fit(verdict_text: str) -> bool:
    """A verdict a segment can be made of here: not excluded, and more than one value."""
    return not excluded(verdict_text) and not str(verdict_text).startswith("constant")


def same_groups(table: ir.Table, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The pairs of columns that split the rows into the same groups (a one-to-one relabelling, missing values
    included: Android / ANDROID, or a stream id per platform). One aggregate query."""
    if not pairs:
        return set()

    def label(c: str) -> ir.StringValue:
        return table[c].cast("string").fill_null("\x1e")

    aggs: dict[str, ir.Value] = {}
    for i, (a, b) in enumerate(pairs):
        aggs[f"a{i}"] = label(a).nunique()
        aggs[f"b{i}"] = label(b).nunique()
        aggs[f"ab{i}"] = (label(a) + ibis.literal("\x1f") + label(b)).nunique()
    row = table.aggregate(**aggs).to_pandas().iloc[0]
    return {p for i, p in enumerate(pairs) if int(row[f"a{i}"]) == int(row[f"b{i}"]) == int(row[f"ab{i}"])}
