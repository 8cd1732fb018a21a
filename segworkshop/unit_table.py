"""The unit table: one row per user (or account) with its start, success flag, time to success and traits.

Built as one Ibis expression and run in the engine. The formulation follows what was measured fastest
(docs/engine.md, 7.2): one pass over events with ``min(…, where=…)`` aggregates for the first times, no window
functions; a named start event or a sequence adds joins on the (few) matching events with range conditions.

Semantics, precisely:

* **start**: the unit's first event, or its first occurrence of the ``start`` step. Units that never start
  are left out of the table (and counted by :func:`summarize`).
* **event / any_of**: success at the earliest matching event at or after the start.
* **all_of**: success when the last of the steps has first occurred (each at or after the start).
* **sequence**: earliest matches in order — step 1 at or after the start, each later step strictly after the
  previous one's match.
* **within_days**: success only if it happens at most that many days after the start (inclusive).
* **traits from event columns**: a unit's value is the one on its earliest event that carries a value
  (events where the column is empty are skipped); when several events carry different values at that very
  instant, the smallest value (text order for text), so the result never depends on the file's row order.
  On DuckDB that is one ordered aggregate in the same pass (``first(value ORDER BY time, value)``: a fifth of
  the time and memory of the join); other engines join the events up to that instant back to the units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from .config import Condition, Step, SuccessDefinition
from .engine import backend_name
from .errors import DataError, did_you_mean
from .sources import missing_id

if TYPE_CHECKING:
    from .sources import MappedEvents

UNIT_COLUMNS = (
    "unit_id",
    "first_seen",
    "last_seen",
    "events",
    "start_at",
    "success",
    "success_at",
    "days_to_success",
)


def present(value: ir.Value) -> ir.BooleanValue:
    """A value is there: not null, and for floating-point columns not NaN (Parquet NaN, CSV "NaN" are missing)."""
    if value.type().is_floating():
        return value.notnull() & ~value.isnan().fill_null(False)
    return value.notnull()


def step_condition(events: ir.Table, step: Step) -> ir.BooleanValue:
    """Events matching a step: the event name, and every property filter."""
    cond = events.event == step.event
    for condition in step.where:
        cond &= _condition(events, condition)
    return cond


def _condition(events: ir.Table, c: Condition) -> ir.BooleanValue:
    if c.column not in events.columns:
        raise DataError(
            f"the filter `{c.describe()}` names column {c.column!r}, which the events do not have."
            f"{did_you_mean(c.column, events.columns)} Fix the `where:` of that step in workshop.yaml."
        )
    column = events[c.column]
    is_text = column.type().is_string()

    def lit(value: Any) -> Any:
        if is_text and not isinstance(value, str):
            return str(value)
        if column.type().is_numeric() and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise DataError(
                    f"the filter `{c.describe()}` compares the numeric column {c.column!r} with text {value!r}."
                ) from None
        return value

    if c.op in ("in", "not_in"):
        values = [lit(v) for v in c.value]
        return column.isin(values) if c.op == "in" else column.notin(values)
    value = lit(c.value)
    return {
        "==": lambda: column == value,
        "!=": lambda: column != value,
        ">": lambda: column > value,
        ">=": lambda: column >= value,
        "<": lambda: column < value,
        "<=": lambda: column <= value,
    }[c.op]()


def build_unit_table(
    events: ir.Table,
    definition: SuccessDefinition,
    *,
    unit_key: str = "user_id",
    event_traits: Sequence[str] = (),
    unit_traits: ir.Table | None = None,
    include_unstarted: bool = False,
    first_values: bool = True,
    drop_missing_ids: bool = False,
) -> ir.Table:
    """The unit table expression (see the module docstring for the exact semantics).

    ``events`` are canonical events; ``unit_key`` the column that identifies a unit (user_id or account_id);
    ``event_traits`` event columns to carry as first-event traits; ``unit_traits`` a table keyed by
    ``unit_key`` whose columns win over event columns. With ``include_unstarted`` units that never reached the
    start are kept (with a null ``start_at``), for counting. Without ``first_values`` each event trait comes
    as ``_tf<i>``, the instant of its first value, for a caller that picks the values in its own pass over the
    events (:func:`first_value_picks`): then this is one aggregate over the events, with no join back to them.
    ``drop_missing_ids``: the events' ids are text as exported, and units whose id says "no id" (``NULL``,
    blanks: sources.missing_id) are dropped after the grouping: one test per unit instead of per event, and
    every later join to the units leaves those events out.
    """
    events = events.filter(events[unit_key].notnull())
    ts = events.timestamp
    first_steps = [step_condition(events, s) for s in definition.steps]
    named_start = definition.start is not None

    aggs: dict[str, ir.Value] = {
        "first_seen": ts.min(),
        "last_seen": ts.max(),
        "events": events.count(),
    }
    if named_start:
        aggs["start_at"] = ts.min(where=step_condition(events, definition.start))
    else:
        # from the first event every event is "at or after the start": the firsts come from this one pass
        if definition.kind in ("event", "any_of"):
            aggs["_hit"] = ts.min(where=ibis.or_(*first_steps))
        elif definition.kind == "all_of":
            for i, cond in enumerate(first_steps):
                aggs[f"_step{i}"] = ts.min(where=cond)
        else:
            aggs["_step0"] = ts.min(where=first_steps[0])
    ordered = first_values and backend_name(events) == "duckdb"
    for i, column in enumerate(event_traits):
        if column not in events.columns:
            raise DataError(f"no event column {column!r} to take a trait from.{did_you_mean(column, events.columns)}")
        value = events[column]
        if ordered:  # the value at the earliest instant, the smallest of ties: in the same aggregate
            aggs[f"_fv{i}"] = value.first(order_by=[ts, value], where=present(value))
        else:
            aggs[f"_tf{i}"] = ts.min(where=present(value))  # when the unit first carried a value
    base = events.group_by(events[unit_key].name("unit_id")).aggregate(**aggs)
    if drop_missing_ids:
        # the test reads the count, so that no engine moves it before the grouping (onto every event)
        base = base.filter(ibis.ifelse(base.events > 0, ~missing_id(base.unit_id), False))
    if ordered and event_traits:
        base = base.rename({column: f"_fv{i}" for i, column in enumerate(event_traits)})
    elif event_traits and first_values:
        base = _first_values(events, base, list(event_traits), unit_key)
    if not named_start:
        base = base.mutate(start_at=base.first_seen)

    if named_start:
        base = _join_after_start(events, base, definition, unit_key)
    elif definition.kind == "sequence":
        base = _sequence_steps(events, base, definition, unit_key, first_done=True)

    hit = _success_time(base, definition)
    success = hit.notnull()
    if definition.within_days is not None:
        success &= hit <= base.start_at + days_interval(definition.within_days)
    success_at = ibis.ifelse(success, hit, ibis.null("timestamp"))
    days = (success_at.epoch_seconds() - base.start_at.epoch_seconds()) / 86400.0
    table = base.mutate(success=success.fill_null(False), success_at=success_at, days_to_success=days)
    extra = []
    if definition.kind == "sequence":
        reached = sum(table[f"_step{i}"].notnull().ifelse(1, 0) for i in range(len(definition.steps)))
        table = table.mutate(steps_reached=reached)
        extra.append("steps_reached")
    if not include_unstarted:
        table = table.filter(table.start_at.notnull())
    trait_columns = event_traits if first_values else [f"_tf{i}" for i in range(len(event_traits))]
    table = table.select(*UNIT_COLUMNS, *extra, *trait_columns)
    if unit_traits is not None:
        keep = [c for c in unit_traits.columns if c != unit_key]
        table = table.drop(*[c for c in keep if c in table.columns and c not in UNIT_COLUMNS])
        joined = table.left_join(unit_traits, table.unit_id == unit_traits[unit_key])
        table = joined.select(*table.columns, *[c for c in keep if c not in UNIT_COLUMNS])
    return table


def _first_values(events: ir.Table, base: ir.Table, columns: list[str], unit_key: str) -> ir.Table:
    """Each trait's value at the unit's first event carrying one; ties at that instant: the smallest value.

    One join of the events up to the latest of those instants (usually just the first event or two) to the
    units, then a ``min`` per column over the events at exactly its instant: deterministic on every engine.
    """
    firsts = [base[f"_tf{i}"] for i in range(len(columns))]
    until = ibis.greatest(*firsts) if len(firsts) > 1 else firsts[0]
    anchor = base.select(_u=base.unit_id, _until=until, **{f"_tf{i}": base[f"_tf{i}"] for i in range(len(columns))})
    early = events.select(unit_key, "timestamp", *columns)
    joined = early.join(anchor, [early[unit_key] == anchor._u, early.timestamp <= anchor._until])
    found = joined.group_by(joined._u).aggregate(**first_value_picks(joined, columns))
    out = base.left_join(found, base.unit_id == found._u)
    keep = [c for c in base.columns if not c.startswith("_tf")]
    return out.select(*keep, *columns)


def first_value_picks(rows: ir.Table, columns: Sequence[str]) -> dict[str, ir.Value]:
    """Per column, the aggregate picking a unit's first value from its events joined to ``_tf<i>`` (the
    instant of the first value): the value at that instant, the smallest when several are there."""
    return {c: rows[c].min(where=(rows.timestamp == rows[f"_tf{i}"]) & present(rows[c])) for i, c in enumerate(columns)}


def days_interval(days: float) -> ir.IntervalScalar:
    """An interval of ``days`` (fractions kept to the microsecond)."""
    seconds = float(days) * 86400
    if seconds.is_integer():
        return ibis.interval(seconds=int(seconds))
    return ibis.interval(microseconds=round(seconds * 1_000_000))


def _success_time(base: ir.Table, definition: SuccessDefinition) -> ir.TimestampValue:
    if definition.kind in ("event", "any_of"):
        return base._hit
    steps = [base[f"_step{i}"] for i in range(len(definition.steps))]
    if definition.kind == "sequence":
        return steps[-1]
    # all_of: when the last one first happened; GREATEST skips nulls, so require every step
    all_done = ibis.and_(*(s.notnull() for s in steps))
    return ibis.ifelse(all_done, ibis.greatest(*steps) if len(steps) > 1 else steps[0], ibis.null("timestamp"))


def _join_after_start(events: ir.Table, base: ir.Table, definition: SuccessDefinition, unit_key: str) -> ir.Table:
    """With a named start: first matches at or after each unit's start, via a join on the matching events."""
    starts = base.select(_unit=base.unit_id, _start=base.start_at).filter(lambda t: t._start.notnull())
    if definition.kind == "sequence":
        first = _first_after(events, starts, definition.steps[0], unit_key, strict=False, name="_step0")
        base = _left(base, first)
        return _sequence_steps(events, base, definition, unit_key, first_done=True)
    if definition.kind in ("event", "any_of"):
        cond = ibis.or_(*(step_condition(events, s) for s in definition.steps))
        hits = events.filter(cond)
        joined = hits.join(starts, [hits[unit_key] == starts._unit, hits.timestamp >= starts._start])
        found = joined.group_by(joined._unit).aggregate(_hit=joined.timestamp.min())
        return _left(base, found)
    for i, step in enumerate(definition.steps):  # all_of
        base = _left(base, _first_after(events, starts, step, unit_key, strict=False, name=f"_step{i}"))
    return base


def _sequence_steps(
    events: ir.Table, base: ir.Table, definition: SuccessDefinition, unit_key: str, first_done: bool
) -> ir.Table:
    """Steps 2..k of a sequence: each the earliest match strictly after the previous step's match."""
    for i in range(1, len(definition.steps)):
        previous = base.select(_unit=base.unit_id, _start=base[f"_step{i - 1}"]).filter(lambda t: t._start.notnull())
        found = _first_after(events, previous, definition.steps[i], unit_key, strict=True, name=f"_step{i}")
        base = _left(base, found)
    return base


def _first_after(events: ir.Table, starts: ir.Table, step: Step, unit_key: str, *, strict: bool, name: str) -> ir.Table:
    hits = events.filter(step_condition(events, step))
    later = hits.timestamp > starts._start if strict else hits.timestamp >= starts._start
    joined = hits.join(starts, [hits[unit_key] == starts._unit, later])
    return joined.group_by(joined._unit).aggregate(**{name: joined.timestamp.min()})


def _left(base: ir.Table, found: ir.Table) -> ir.Table:
    joined = base.left_join(found, base.unit_id == found._unit)
    return joined.select(*base.columns, *[c for c in found.columns if c != "_unit"])


def summarize(table_with_unstarted: ir.Table, mature: ir.BooleanValue | None = None) -> dict[str, Any]:
    """Units, successes, rate, units that never started and units too recent to judge, in one query.

    ``mature``: "this unit's success window is closed" (population.py); units for which it is false are
    counted as ``too_recent`` and left out of units, successes and the rate.
    """
    t = table_with_unstarted
    started = t.start_at.notnull()
    counted = started & mature.fill_null(False) if mature is not None else started
    row = t.aggregate(
        units=counted.ifelse(1, 0).sum(),
        successes=(counted & t.success).ifelse(1, 0).sum(),
        not_started=(~started).ifelse(1, 0).sum(),
        too_recent=(started & ~counted).ifelse(1, 0).sum(),
    ).to_pandas()
    units = int(row.units.iloc[0] or 0)
    successes = int(row.successes.iloc[0] or 0)
    return {
        "units": units,
        "successes": successes,
        "rate": successes / units if units else float("nan"),
        "not_started": int(row.not_started.iloc[0] or 0),
        "too_recent": int(row.too_recent.iloc[0] or 0),
    }


# --------------------------------------------------------------------------- traits from identify calls


def identify_traits(mapped: MappedEvents, trait_calls: tuple[str, str]) -> ir.Table | None:
    """A users table from identify calls (Segment): one row per person, each trait under its path
    (``traits.plan``) with the person's first value (the earliest identify call carrying one; ties: the
    smallest), the rule event traits follow (unit_table.py). None when the export holds no such traits."""
    from .sources import resolve

    kind, field_name = trait_calls
    traits = resolve(mapped.raw, field_name)
    if traits is None or mapped.call_type is None:
        return None
    leaves = _leaves(traits, field_name, mapped.raw, mapped.call_type == kind)
    if not leaves:
        return None
    rows = mapped.all_rows({**leaves, "_sw_call": mapped.call_type})
    rows = rows.filter((rows._sw_call == kind) & rows.user_id.notnull())
    names = list(leaves)
    aggs = {f"_tf{i}": rows.timestamp.min(where=present(rows[n])) for i, n in enumerate(names)}
    base = rows.group_by(rows.user_id.name("unit_id")).aggregate(**aggs)
    people = _first_values(rows, base, names, "user_id")
    return people.select(user_id=people.unit_id, **{n: people[n] for n in names})


def _leaves(expr: ir.Value, path: str, raw: ir.Table, rows: ir.BooleanValue, limit: int = 200) -> dict[str, ir.Value]:
    """The scalar leaves under a nested field, by path: a struct's fields (recursively), a map's keys as they
    occur in the rows (at most ``limit``)."""
    from .nested import distinct_keys
    from .sources import _json_text, is_scalar, resolve

    dtype = expr.type()
    if dtype.is_struct():
        out: dict[str, ir.Value] = {}
        for name in dtype.names:
            out.update(_leaves(expr[name], f"{path}.{name}", raw, rows, limit))
        return out
    if dtype.is_map():
        keys = distinct_keys(raw.filter(rows).select(k=expr.keys().unnest()), limit)
        return {f"{path}.{k}": resolve(raw, f"{path}.{k}") for k in keys}
    if dtype.is_json():
        return {path: _json_text(expr, [])}
    return {path: expr} if is_scalar(expr) else {}
