"""Properties where vendors put them: which columns hold nested properties, and the paths inside them.

Exports nest the properties a team segments on: structs (Amplitude ``user_properties``, GA4 ``device``), maps
(wide JSON: past ~200 keys DuckDB reads an object as ``MAP(VARCHAR, JSON)``), JSON text (PostHog's
``person_properties`` in a batch export, Mixpanel re-saved as CSV) and key/value arrays (GA4
``user_properties``, ``event_params``). A JSON-text column is not itself a trait (every value is a different
object); its keys are, by path. :func:`nested_paths` lists the paths, read from a sample of rows, so that
``validate`` can say what to write in ``segments:``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .engine import backend_name

if TYPE_CHECKING:
    import ibis.expr.types as ir

SAMPLE_ROWS = 1000
VALUE_FIELDS = ("string_value", "int_value", "double_value", "float_value")  # GA4's value struct, in that order


def json_object_columns(raw: ir.Table, sample: int = SAMPLE_ROWS) -> list[str]:
    """Text columns whose values (in the first ``sample`` rows) are all JSON objects: one query."""
    text = [c for c in raw.columns if raw[c].type().is_string()]
    if not text:
        return []
    rows = raw.limit(sample)
    aggs = {}
    for i, c in enumerate(text):
        value = rows[c].strip()
        aggs[f"n{i}"] = value.notnull().sum()
        aggs[f"o{i}"] = (value.startswith("{") & value.endswith("}")).sum()
    found = rows.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    return [c for i, c in enumerate(text) if (found[f"n{i}"] or 0) > 0 and found[f"o{i}"] == found[f"n{i}"]]


def nested_paths(raw: ir.Table, json_columns: list[str], sample: int = SAMPLE_ROWS) -> dict[str, list[str]]:
    """The property paths each nested column holds (structs from the schema; maps, JSON text and key/value
    arrays from the first ``sample`` rows), as segments name them: ``user_properties.plan``,
    ``person_properties.plan``, ``user_properties[plan].string_value``."""
    rows = raw.limit(sample)
    out: dict[str, list[str]] = {}
    for column in raw.columns:
        dtype = raw[column].type()
        if dtype.is_struct():
            paths = _struct_leaves(dtype, column)
        elif dtype.is_map():
            paths = [f"{column}.{k}" for k in distinct_keys(rows.select(k=rows[column].keys().unnest()))]
        elif (column in json_columns or dtype.is_json()) and backend_name(raw) == "duckdb":
            keys = rows.select(k=_json_keys(rows[column].cast("string")).unnest())
            paths = [f"{column}.{k}" for k in distinct_keys(keys)]
        elif dtype.is_array() and dtype.value_type.is_struct() and "key" in dtype.value_type.names:
            paths = _key_value_paths(rows, column)
        else:
            continue
        if paths:
            out[column] = paths
    return out


def _struct_leaves(dtype, path: str) -> list[str]:
    out = []
    for name, inner in dtype.items():
        if inner.is_struct():
            out += _struct_leaves(inner, f"{path}.{name}")
        elif not (inner.is_array() or inner.is_map()):
            out.append(f"{path}.{name}")
    return out


def _key_value_paths(rows: ir.Table, column: str) -> list[str]:
    """``name[key].<value field>`` for each key, with the value field that holds its values."""
    items = rows.select(item=rows[column].unnest())
    item = items.item
    if not item.type()["value"].is_struct():
        return [f"{column}[{k}]" for k in distinct_keys(items.select(k=item["key"]))]
    fields = [f for f in VALUE_FIELDS if f in item.type()["value"].names]
    counts = (
        items.group_by(k=item["key"]).aggregate(**{f: item["value"][f].notnull().sum() for f in fields}).order_by("k")
    )
    out = []
    for row in counts.to_pyarrow().to_pylist():
        if row["k"] is None:
            continue
        best = max(fields, key=lambda f: (row[f] or 0, -fields.index(f)))
        out.append(f"{column}[{row['k']}].{best}")
    return out


def distinct_keys(table: ir.Table, limit: int = 200) -> list[str]:
    """The distinct values of column ``k`` of ``table``, sorted, at most ``limit``: the keys found."""
    found = table.distinct().order_by("k").limit(limit).to_pyarrow().column("k").to_pylist()
    return [k for k in found if k is not None]


def _json_keys(doc):
    import ibis
    import ibis.expr.datatypes as dt

    def json_keys(a):
        """DuckDB's json_keys: the top-level keys of a JSON object."""

    json_keys.__annotations__ = {"a": dt.string, "return": dt.Array(dt.string)}
    return ibis.udf.scalar.builtin(json_keys, name="json_keys")(doc)
