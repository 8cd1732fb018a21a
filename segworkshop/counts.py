"""Units and successes per segment value: the aggregate every comparison starts from.

One query for all columns (a ``group_by`` per column, combined with ``union``), one round trip; only
aggregates come back. Missing values are counted under ``(missing)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

MISSING = "(missing)"


def success_counts(units: ir.Table, columns: Sequence[str]) -> pd.DataFrame:
    """``segment, value, units, successes, rate`` for every value of every column, in column order.

    Values are shown as text (so that columns of different types fit one table); within a column, rows are
    ordered by value.
    """
    columns = list(columns)
    if not columns:
        return pd.DataFrame(columns=["segment", "value", "units", "successes", "rate"])
    parts = []
    for i, column in enumerate(columns):
        value = units[column].cast("string").fill_null(MISSING)
        parts.append(
            units.group_by(value.name("value"))
            .aggregate(units=units.count(), successes=units.success.ifelse(1, 0).sum())
            .mutate(_order=ibis.literal(i))
        )
    query = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    df = query.to_pandas()
    df["segment"] = [columns[i] for i in df["_order"]]
    df["units"] = df["units"].astype("int64")
    df["successes"] = df["successes"].fillna(0).astype("int64")
    df["rate"] = df["successes"] / df["units"]
    df = df.sort_values(["_order", "value"], ignore_index=True)
    return df[["segment", "value", "units", "successes", "rate"]]
