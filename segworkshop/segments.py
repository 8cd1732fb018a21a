"""Segments: how units are split, as engine expressions over the unit table and the events.

Kinds (workshop.yaml ``segments:`` items, or :func:`parse_segment` from Python)::

    - platform                                                  # a trait (users table, or first-event value)
    - {name: first_order_value, column: order_value, bins: [0, 20, 50, 100]}   # numeric bins
    - {name: signup_month, cohort: month}                       # cohort by first seen: week | month
    - {name: used_search, did: search, within_days: 7}          # binary: did / did not
    - {name: finished_signup, did: signup_completed}            # binary "did not finish a step"
    - {name: active_days, frequency: login, per: week, window_days: 14}   # days a week doing X, 0..7
    - {name: repeat_shopper, count: purchase, at_least: 2}      # derived: first-time vs repeat

Exact meanings:

* **bins** are left-closed, the last one open: ``[0, 20)``, ``[20, 50)``, ``[50, 100)``, ``100+``; values below
  the first edge are ``< 0``; missing values (null, and NaN in a numeric column) are ``(missing)``; a trait on
  events takes the unit's first value (see unit_table.py).
* **cohort**: the week (Monday) or month of the unit's first event, as ``2026-01-05`` / ``2026-01``.
* **behaviour** (did, frequency, count) is measured over a fixed window ``[start, start + N days)`` for every
  unit — ``within_days`` for did, ``window_days`` for frequency and count, 7 days when not given — and compared
  by the **landmark** rule (see population.py): on success after day N, among the units not yet successful at
  day N. Units that succeeded inside the window get the value :data:`~segworkshop.population.LEFT_OUT` and are
  not compared; the success window must reach past day N.
* **did**: ``yes`` when the unit did the event in the window, else ``no``.
* **frequency**: distinct calendar days (UTC) on which the unit did the event in the window, divided by the
  window's weeks and rounded down: 0..7 days a week.
* **count**: how many times the unit did the event in the window: ``2+`` vs ``< 2`` for ``at_least: 2``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from .config import MAX_DAYS, Step, _is_days, _parse_where
from .errors import ConfigError, DataError, did_you_mean, listing
from .population import DEFAULT_BEHAVIOUR_DAYS, LEFT_OUT, check_landmark, data_end, mature_condition
from .unit_table import days_interval, present, step_condition

if TYPE_CHECKING:
    from .workshop import Workshop

MISSING = "(missing)"
YES, NO = "yes", "no"
COHORTS = ("week", "month")
SEGMENT_KEYS = {
    "trait": {"name", "column"},
    "bins": {"name", "column", "bins"},
    "cohort": {"name", "cohort"},
    "did": {"name", "did", "within_days", "where"},
    "frequency": {"name", "frequency", "per", "window_days", "where"},
    "count": {"name", "count", "at_least", "window_days", "where"},
}


@dataclass(frozen=True)
class Segment:
    """One way of splitting units; ``values()`` of an ordered segment come in their natural order."""

    name: str
    kind: str  # trait | bins | cohort | did | frequency | count
    column: str | None = None
    bins: tuple[float, ...] = ()
    cohort: str | None = None
    step: Step | None = None
    within_days: float | None = None
    window_days: float | None = None
    at_least: int | None = None
    spec: Any = field(default=None, compare=False)

    @property
    def ordered(self) -> bool:
        """Buckets with a natural order, where a tipping point makes sense."""
        return self.kind in ("bins", "frequency", "count", "cohort")

    @property
    def behavioural(self) -> bool:
        return self.kind in ("did", "frequency", "count")

    @property
    def window(self) -> float:
        """A behaviour's window in days, ``[start, start + window)`` (the landmark); 7 when not given."""
        days = self.within_days if self.kind == "did" else self.window_days
        return float(days) if days is not None else float(DEFAULT_BEHAVIOUR_DAYS)

    @property
    def window_key(self) -> str:
        """The workshop.yaml key that sets :attr:`window`."""
        return "within_days" if self.kind == "did" else "window_days"

    def doing(self, value: str) -> str:
        """A behaviour value in words: "did search in the first 7 days", "search on 3 days a week in …"."""
        what, first = self.step.describe(), f"in the first {_num(self.window)} days"
        if value == YES:
            return f"did {what} {first}"
        if value == NO:
            return f"did not {what} {first}"
        if self.kind == "frequency":
            return f"did {what} on {value} day{'' if value == '1' else 's'} a week {first}"
        if value.startswith("< "):
            return f"did {what} fewer than {value[2:]} times {first}"
        return f"did {what} {value.rstrip('+')} or more times {first}"

    def labels(self) -> list[str] | None:
        """All possible values in order, where known in advance (bins, frequency, binary, count)."""
        if self.kind == "bins":
            edges = self.bins
            out = [f"< {_num(edges[0])}"]
            out += [f"[{_num(a)}, {_num(b)})" for a, b in itertools.pairwise(edges)]
            return [*out, f"{_num(edges[-1])}+"]
        if self.kind == "frequency":
            return [str(d) for d in range(8)]
        if self.kind == "did":
            return [YES, NO]
        if self.kind == "count":  # ascending, like every ordered segment: a tipping point's "above" is 2+
            return [f"< {self.at_least}", f"{self.at_least}+"]
        return None

    def sort_key(self, value: str) -> tuple:
        """Order of a value within this segment (known labels first in their order, then alphabetical)."""
        labels = self.labels()
        if value == MISSING:
            return (2, "")
        if labels and value in labels:
            return (0, labels.index(value))
        return (1, value)

    def describe(self) -> str:
        if self.kind == "trait":
            return self.column if self.column == self.name else f"{self.name} ({self.column})"
        if self.kind == "bins":
            return f"{self.name}: {self.column} in bins {list(self.bins)}"
        if self.kind == "cohort":
            return f"{self.name}: {self.cohort} of first seen"
        first = f"in the first {_num(self.window)} days"
        if self.kind == "did":
            return f"{self.name}: did {self.step.describe()} {first}"
        if self.kind == "frequency":
            return f"{self.name}: days a week doing {self.step.describe()} {first}"
        return f"{self.name}: did {self.step.describe()} at least {self.at_least} times {first}"


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else str(x)


def parse_segment(raw: Any, where: str = "segments") -> Segment:
    """A segment from its workshop.yaml form (a column name or a mapping); errors name the key and the fix."""
    if isinstance(raw, Segment):
        return raw
    if isinstance(raw, str):
        return Segment(name=raw, kind="trait", column=raw, spec=raw)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"`{where}`: a segment is a column name or a mapping such as {{name: x, did: event}}.")
    kinds = [k for k in ("bins", "cohort", "did", "frequency", "count") if k in raw]
    kind = kinds[0] if len(kinds) == 1 else ("trait" if not kinds else None)
    if kind is None:
        raise ConfigError(f"`{where}` mixes {' and '.join(kinds)}: a segment has one kind.")
    name = raw.get("name") or raw.get("column")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"`{where}` needs a `name:` (it labels the segment in tables and charts).")
    where = f"{where} ({name})"
    if "before_success" in raw:
        raise ConfigError(
            f"`{where}.before_success` was removed: counting a behaviour only before success makes it look harmful "
            "(units that succeed early have less time to do it). A behaviour is now measured over a fixed window "
            "from the start and compared on success after that window, among units not yet successful by then "
            "(a landmark comparison). Delete `before_success`; set the window with "
            f"`{'within_days' if kind == 'did' else 'window_days'}: 7` (the default)."
        )
    extra = set(raw) - SEGMENT_KEYS[kind]
    if extra:
        raise ConfigError(
            f"`{where}`: unknown keys {sorted(extra)} for a {kind} segment; allowed: {sorted(SEGMENT_KEYS[kind])}."
        )
    if kind == "trait":
        return Segment(name=name, kind="trait", column=str(raw.get("column", name)), spec=dict(raw))
    if kind == "bins":
        bins = raw["bins"]
        if (
            not isinstance(bins, list)
            or len(bins) < 1
            or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bins)
        ):
            raise ConfigError(f"`{where}.bins` must be a list of numbers, e.g. [0, 20, 50, 100].")
        if any(b >= a for a, b in zip(bins[1:], bins[:-1], strict=True)):
            raise ConfigError(f"`{where}.bins` must be strictly increasing, found {bins}. Sort them and drop repeats.")
        if "column" not in raw:
            raise ConfigError(f"`{where}` needs `column:`, the numeric column to bin.")
        return Segment(
            name=name, kind="bins", column=str(raw["column"]), bins=tuple(float(b) for b in bins), spec=dict(raw)
        )
    if kind == "cohort":
        if raw["cohort"] not in COHORTS:
            raise ConfigError(f"`{where}.cohort` is {raw['cohort']!r}; use `week` or `month`.")
        return Segment(name=name, kind="cohort", cohort=raw["cohort"], spec=dict(raw))
    event = raw[kind]
    if not isinstance(event, str) or not event:
        raise ConfigError(f"`{where}.{kind}` must be an event name.")
    step = Step(event=event, where=_parse_where(raw.get("where"), f"{where}.where", ""))
    if kind == "did":
        within = _days(raw.get("within_days"), f"{where}.within_days")
        if within is not None and within <= 0:
            raise ConfigError(f"`{where}.within_days` must be more than 0 days (the behaviour window).")
        return Segment(name=name, kind="did", step=step, within_days=within, spec=dict(raw))
    if kind == "frequency":
        if raw.get("per", "week") != "week":
            raise ConfigError(f"`{where}.per` must be `week` (days a week doing the event).")
        window = _days(raw.get("window_days", DEFAULT_BEHAVIOUR_DAYS), f"{where}.window_days")
        if window < 7:
            raise ConfigError(f"`{where}.window_days` must be at least 7 to count days a week, found {window}.")
        return Segment(name=name, kind="frequency", step=step, window_days=window, spec=dict(raw))
    at_least = raw.get("at_least", 2)
    if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
        raise ConfigError(f"`{where}.at_least` must be a whole number ≥ 1, found {at_least!r}.")
    window = _days(raw.get("window_days"), f"{where}.window_days")
    if window is not None and window <= 0:
        raise ConfigError(f"`{where}.window_days` must be more than 0 days (the behaviour window).")
    return Segment(name=name, kind="count", step=step, at_least=at_least, window_days=window, spec=dict(raw))


def _days(value: Any, key: str) -> float | None:
    if value is None:
        return None
    if not _is_days(value):
        raise ConfigError(f"`{key}` must be a number of days ≥ 0, found {value!r}.")
    if value > MAX_DAYS:
        raise ConfigError(f"`{key}` is {value:g} days, more than {MAX_DAYS:,} (100 years); use a window such as 7.")
    return float(value)


def parse_segments(raw: Sequence[Any]) -> list[Segment]:
    segments = [parse_segment(item, f"segments[{i}]") for i, item in enumerate(raw)]
    names = [s.name for s in segments]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"`segments`: the names {duplicates} are used twice; give each segment its own `name:`.")
    return segments


def segment_problems(ws: Workshop, raw: Sequence[Any]) -> list[str]:
    """What the session would refuse about ``segments:``, as messages, each segment on its own (validate): the
    same parsing as :func:`parse_segments`, the same column, event and window checks as :func:`segment_table`,
    and :func:`refuse_id_like`."""
    from .errors import SegworkshopError

    problems: list[str] = []
    parsed: list[Segment] = []
    for i, item in enumerate(raw):
        try:
            parsed.append(parse_segment(item, f"segments[{i}]"))
        except SegworkshopError as exc:
            problems.append(str(exc))
    names = [s.name for s in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"`segments`: the names {duplicates} are used twice; give each segment its own `name:`.")
    fine: list[Segment] = []
    for s in parsed:
        try:
            check_landmark(s, ws.config.success.within_days)
            _check_columns(ws, [s], [s.column] if s.kind in ("trait", "bins") else [])
        except SegworkshopError as exc:
            problems.append(str(exc))
        else:
            fine.append(s)
    try:
        refuse_id_like(ws, fine)
    except SegworkshopError as exc:
        problems.append(str(exc))
    return problems


def refuse_id_like(ws: Workshop, segments: Sequence[Segment]) -> None:
    """Refuse, up front, a plain trait segment with about as many values as units (an id, a timestamp, free
    text): compared value by value it would take minutes to end in the same refusal. One aggregate over the
    unit table; the rule is :func:`segworkshop.compare.hygiene_notes`' (more than ID_LIKE_VALUES values, and
    one for at least ID_LIKE_SHARE of the units)."""
    from .worksheet import ID_LIKE_SHARE, ID_LIKE_VALUES

    traits = list(dict.fromkeys(s.column for s in segments if s.kind == "trait"))
    if not traits:
        return
    # the unit table the comparison then counts (binned columns too), so that it is built once (workshop.py)
    bins_columns = [s.column for s in segments if s.kind == "bins" and ws.has_trait(s.column)]
    units = ws.unit_table(traits=list(dict.fromkeys([*traits, *bins_columns])))
    aggs = {f"v{i}": units[c].nunique() for i, c in enumerate(traits)}
    row = units.aggregate(_n=units.count(), **aggs).to_pyarrow().to_pylist()[0]
    total = int(row["_n"] or 0)
    for i, column in enumerate(traits):
        values = int(row[f"v{i}"] or 0)
        if values > ID_LIKE_VALUES and values >= ID_LIKE_SHARE * total:
            name = next(s.name for s in segments if s.kind == "trait" and s.column == column)
            binned = (
                f", or bin it (`{{name: {name}_band, column: {column}, bins: [0, 10, 100]}}`)"
                if units[column].type().is_numeric()
                else ""
            )
            raise DataError(
                f"segment {name!r} (column {column!r}) has {values:,} values for {total:,} {ws.unit}s: it looks "
                "like an id, not a segment (validate marks it id-like). Fix: pick a trait with a handful of "
                f"values, or group its values into a few{binned}."
            )


# --------------------------------------------------------------------------- engine expressions


def segment_table(ws: Workshop, segments: Sequence[Segment], *, units: ir.Table | None = None) -> ir.Table:
    """The units a comparison counts, with one text column per segment (named after it), built in the engine.

    The one definition every analysis goes through (population.py): units whose success window is still open
    are left out (censoring); a behaviour column holds :data:`LEFT_OUT` for units that succeeded inside its
    window (landmark), which :func:`segworkshop.compare.count_segments` counts but never compares. Traits and
    bins come from the unit table's traits; cohorts from first seen; behaviours from one extra pass over the
    (few) events they name in their windows. ``units``: a unit table that already carries the traits and each
    behaviour's count ``_b_<name>`` (:func:`behaviour_daily`, :func:`behaviour_columns`), e.g. built by
    discover in its own single pass over the events; it is censored and labelled here all the same.
    """
    within = ws.config.success.within_days
    for s in segments:
        check_landmark(s, within)
    trait_columns = list(dict.fromkeys(s.column for s in segments if s.kind in ("trait", "bins")))
    _check_columns(ws, segments, trait_columns)
    given = units is not None
    if units is None:
        units = ws.unit_table(traits=trait_columns)
    mature = mature_condition(units, within, data_end(ws))
    if mature is not None:
        units = units.filter(mature)
    behaviour = [s for s in segments if s.behavioural]
    if behaviour and not given:
        units = _with_behaviour(ws, units, behaviour)
    columns: dict[str, ir.Value] = {}
    for s in segments:
        columns[s.name] = _label(s, units)
    base = [c for c in ("unit_id", "first_seen", "start_at", "success", "success_at") if c in units.columns]
    return units.select(*base, **columns)


def _check_columns(ws: Workshop, segments: Sequence[Segment], trait_columns: list[str]) -> None:
    for s in segments:
        if s.kind in ("trait", "bins") and not ws.has_trait(s.column):
            available = ws.trait_columns()
            raise DataError(
                f"segment {s.name!r}: no column {s.column!r} in the {ws.unit}s table or the events."
                f"{did_you_mean(s.column, available)} Columns you can segment on: {listing(available)}."
            )
    if any(s.behavioural for s in segments):
        known = set(ws.events_with_placeholder_ids.select("event").distinct().to_pandas()["event"].dropna())
        for s in segments:
            if s.behavioural and s.step.event not in known:
                raise DataError(
                    f"segment {s.name!r}: the event {s.step.event!r} never occurs in the data."
                    f"{did_you_mean(s.step.event, known)} Fix the segment in workshop.yaml."
                )
    for s in segments:
        if s.kind == "bins":
            t = ws.trait_table
            dtype = (
                t[s.column].type()
                if t is not None and s.column in t.columns
                else ws.events_with_placeholder_ids[s.column].type()
            )
            if not dtype.is_numeric():
                raise DataError(
                    f"segment {s.name!r}: bins need a numeric column, but {s.column!r} is {dtype}. "
                    "Use it as a plain trait instead, or bin a numeric column."
                )


def segment_label(s: Segment, units: ir.Table) -> ir.StringValue:
    """A trait, bins or cohort segment's value for each row of a unit table (as :func:`segment_table` labels
    it), for callers that count units :func:`segment_table` leaves out (e.g. a subgroup's too-recent units)."""
    if s.behavioural:
        raise ValueError(f"segment {s.name!r} is a behaviour: its value comes from segment_table only")
    return _label(s, units)


def _label(s: Segment, units: ir.Table) -> ir.StringValue:
    if s.kind == "trait":
        value = units[s.column]
        return ibis.ifelse(present(value), value.cast("string"), MISSING)
    if s.kind == "bins":
        value = units[s.column].cast("float64")
        labels = s.labels()
        cases = [(value < s.bins[0], labels[0])]
        for i in range(len(s.bins) - 1):
            cases.append((value < s.bins[i + 1], labels[i + 1]))
        # NaN (Parquet NaN, CSV "NaN") is missing, not the top bin
        return ibis.ifelse(present(value), ibis.cases(*cases, else_=labels[-1]), MISSING)
    if s.kind == "cohort":
        day = units.first_seen.truncate("W" if s.cohort == "week" else "M")
        fmt = "%Y-%m-%d" if s.cohort == "week" else "%Y-%m"
        return day.strftime(fmt)
    column = units[f"_b_{s.name}"]
    if s.kind == "did":
        label = ibis.ifelse(column > 0, YES, NO)
    elif s.kind == "frequency":
        label = column.cast("string")
    else:
        label = ibis.ifelse(column >= s.at_least, f"{s.at_least}+", f"< {s.at_least}")
    # landmark: a unit that succeeded before the window ended is not compared on this behaviour
    succeeded = units.success_at.notnull() & (units.success_at < units.start_at + days_interval(s.window))
    return ibis.ifelse(succeeded, LEFT_OUT, label)


def _with_behaviour(ws: Workshop, units: ir.Table, segments: Sequence[Segment]) -> ir.Table:
    """Add ``_b_<name>`` per behavioural segment: one join of the named events, in the longest window, to the
    units' starts; each segment then counts the events in its own window ``[start, start + N days)``."""
    events = ws.unit_events_with_placeholder_ids  # joined to the units: a "NULL" id matches none
    key = ws.unit_key
    names = list(dict.fromkeys(s.step.event for s in segments))
    relevant = events.filter(events.event.isin(names))
    anchor = units.select(_u=units.unit_id, _start=units.start_at)
    longest = days_interval(max(s.window for s in segments))
    joined = relevant.join(
        anchor,
        [
            relevant[key] == anchor._u,
            relevant.timestamp >= anchor._start,
            relevant.timestamp < anchor._start + longest,
        ],
    )
    joined = joined.mutate(_day=behaviour_day(joined, segments))
    daily = joined.group_by([joined._u, joined._day]).aggregate(**behaviour_daily(joined, segments))
    per_unit = daily.group_by(daily._u).aggregate(**behaviour_columns(daily, segments))
    out = units.left_join(per_unit, units.unit_id == per_unit._u)
    out = out.select(*units.columns, *[c for c in per_unit.columns if c != "_u"])
    return finish_behaviour(out, segments)


def behaviour_day(rows: ir.Table, segments: Sequence[Segment]) -> ir.DateValue:
    """The calendar day (UTC) of each of ``rows`` (events joined to their unit's ``_start``) inside the longest
    behaviour window, null outside it: the first level's key, so that frequency can count days. Two levels, no
    DISTINCT: per unit and day the matching events of each segment, then per unit the sum (did, count) or the
    number of days with any (frequency)."""
    longest = days_interval(max(s.window for s in segments))
    return ibis.ifelse(rows.timestamp < rows._start + longest, rows.timestamp.date(), ibis.null("date"))


def behaviour_daily(rows: ir.Table, segments: Sequence[Segment]) -> dict[str, ir.Value]:
    """The first level, per unit and :func:`behaviour_day`: each segment's matching events in its own window
    ``[start, start + N days)``, counted once per distinct step and window (``did X`` and ``days doing X`` over
    the same window share a count)."""
    aggs: dict[str, ir.Value] = {}
    for s, key in zip(segments, _daily_keys(segments), strict=True):
        if key not in aggs:
            inside = (rows.timestamp >= rows._start) & (rows.timestamp < rows._start + days_interval(s.window))
            aggs[key] = rows.count(where=step_condition(rows, s.step) & inside)
    return aggs


def _daily_keys(segments: Sequence[Segment]) -> list[str]:
    """The first level's column of each behaviour segment: one per distinct (step, window), in order."""
    seen: dict[str, str] = {}
    return [seen.setdefault(repr((s.step, s.window)), f"_d{len(seen)}") for s in segments]


def behaviour_columns(daily: ir.Table, segments: Sequence[Segment]) -> dict[str, ir.Value]:
    """The second level, per unit: ``_b_<name>``, the events in the window (did, count) or the days with any
    (frequency); :func:`finish_behaviour` then fills and scales them."""
    aggs: dict[str, ir.Value] = {}
    for s, key in zip(segments, _daily_keys(segments), strict=True):
        column = daily[key]
        aggs[f"_b_{s.name}"] = daily.count(where=column > 0) if s.kind == "frequency" else column.sum()
    return aggs


def finish_behaviour(units: ir.Table, segments: Sequence[Segment]) -> ir.Table:
    """``_b_<name>`` as the labels read them: 0 for a unit with no such event, frequency as days a week (0..7)."""
    out = units.fill_null({f"_b_{s.name}": 0 for s in segments})
    freq = {s.name: s.window / 7 for s in segments if s.kind == "frequency"}
    if freq:
        out = out.mutate(
            **{f"_b_{n}": (out[f"_b_{n}"] / weeks).floor().cast("int64").clip(upper=7) for n, weeks in freq.items()}
        )
    return out
