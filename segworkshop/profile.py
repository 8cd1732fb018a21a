"""What the data holds, profiled in the engine: every event with its counts, and every trait column with its
number of values, share missing and whether it can be a segment (the rule of :mod:`segworkshop.traitrules`).

validate shows these; discover, the ledger and the segment picker choose their candidate traits from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import pandas as pd

from . import traitrules
from .presets import PRESETS
from .unit_table import present

if TYPE_CHECKING:
    from .workshop import Workshop


def event_counts(events: ir.Table, *, users: bool = True) -> pd.DataFrame:
    """``event, rows, users`` for every event name, the most frequent first; without ``users`` only ``event,
    rows`` (the event names alone are read: much cheaper than counting distinct users)."""
    aggs = {"rows": events.count(), **({"users": events.user_id.nunique()} if users else {})}
    counts = events.group_by("event").aggregate(**aggs)
    df = counts.to_pandas()
    return df.sort_values(["rows", "event"], ascending=[False, True], ignore_index=True)


def trait_profile(ws: Workshop, units: int | None = None, on_events: Sequence[str] = ()) -> pd.DataFrame:
    """Every trait column with its number of values, share missing, and whether it can be a segment.

    ``units`` (the number of users or accounts; counted when not given) tells an id-like column from a trait.
    The verdicts are the shared rule of :mod:`segworkshop.traitrules`: ids, times stored as numbers and
    duplicates of a preset's trait are never a segment. With ``on_events``, an ``on_events`` column says, for
    an event column, the share of its values recorded on those events (discover leaves out a trait that only
    exists once a unit has succeeded), counted in the same aggregate.
    """
    if units is None:  # every unit with an event: the unit table's rows (kept), not a count of distinct ids
        units = int(ws.unit_table(traits=[], include_unstarted=True).count().to_pyarrow().as_py() or 0)
    rows = []
    sources: list[tuple[str, ir.Table, list[str]]] = []
    table = ws.trait_table
    table_cols = [c for c in table.columns if c != ws.unit_key] if table is not None else []
    if table is not None:
        sources.append((ws.unit + "s", table, table_cols))
    event_cols = [c for c in ws.event_trait_columns() if c not in table_cols]
    if event_cols:
        sources.append(("events", ws.events_with_placeholder_ids, event_cols))  # trait columns: no id is read
    for source, t, cols in sources:
        if not cols:
            continue
        aggs = {"_n": t.count()}
        on = t.event.isin(list(on_events)) if on_events and source == "events" else None
        for i, c in enumerate(cols):
            there = present(t[c])  # NaN in a numeric column is missing, not a value
            aggs.update(traitrules.aggregates(t[c], f"c{i}_", there))
            if on is not None:
                aggs[f"c{i}_on"] = (there & on).ifelse(1, 0).sum()
        row = t.aggregate(**aggs).to_pandas().iloc[0]
        n = int(row["_n"]) or 1
        found = []
        for i, c in enumerate(cols):
            dtype = t[c].type()
            facts = traitrules.facts(row, f"c{i}_", c, dtype)
            found.append(
                {
                    "column": c,
                    "source": source,
                    "type": _type_name(dtype),
                    "values": facts.values,
                    "missing": (n - facts.present) / n,
                    "verdict": traitrules.verdict(facts, units),
                    **({"on_events": int(row[f"c{i}_on"] or 0) / (facts.present or 1)} if on is not None else {}),
                }
            )
        _mark_duplicates(ws, t, found)
        rows += found
    columns = ["column", "source", "type", "values", "missing", "verdict", *(["on_events"] if on_events else [])]
    return pd.DataFrame(rows, columns=columns)


def _mark_duplicates(ws: Workshop, table: ir.Table, found: list[dict[str, Any]]) -> None:
    """A column with the same groups as one of the preset's traits is a duplicate of it (GA4's ``os`` and
    ``platform`` on app data, a stream id per platform): the preset's trait is kept, in the preset's order."""
    preset = PRESETS.get(ws.config.data.preset or "")
    if preset is None:
        return
    usable = {r["column"]: r for r in found if traitrules.fit(r["verdict"])}
    traits = [t for t in preset.traits if t in usable]
    pairs = [
        (a, b)
        for i, a in enumerate(traits)
        for b in [*traits[i + 1 :], *(c for c in usable if c not in traits)]
        if usable[a]["values"] == usable[b]["values"]
    ]
    for a, b in sorted(traitrules.same_groups(table, pairs), key=pairs.index):
        if traitrules.fit(usable[a]["verdict"]) and traitrules.fit(usable[b]["verdict"]):
            usable[b]["verdict"] = f"duplicate of {a!r}: the same groups under another name"


def _type_name(dtype: Any) -> str:
    if dtype.is_string():
        return "text"
    if dtype.is_boolean():
        return "yes/no"
    if dtype.is_integer():
        return "integer"
    if dtype.is_numeric():
        return "number"
    if dtype.is_temporal():
        return "time"
    return str(dtype)
