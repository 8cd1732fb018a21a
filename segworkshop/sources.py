"""Open the team's data (files, DataFrames, DuckDB tables) and map it onto the canonical relations.

``events(user_id, event, timestamp, [session_id], [account_id], [properties…])``, ``users(user_id, traits…)``,
``accounts(account_id, traits…)``. Everything stays an Ibis expression: nothing is read into pandas here.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from . import delivered
from .config import DataConfig
from .engine import backend_name
from .errors import ConfigError, DataError, closest, did_you_mean, first_line, listing
from .identity import ANONYMOUS, KNOWN, IdentityRule, id_links, stitch
from .nested import json_object_columns
from .presets import PRESETS, missing_hint, not_kept
from .timeparse import parse_timestamp

REQUIRED = ("user_id", "event", "timestamp")
OPTIONAL = ("session_id", "account_id")


@dataclass
class MappedEvents:
    """Canonical events plus what validation needs to explain problems in the source's own terms.

    The events are built from ``raw`` by one select (``columns``), the call filter (``calls``: Segment's
    track calls) and, with an identity rule, the join to the id ``links``; :meth:`with_columns` rebuilds them
    with extra columns read from nested properties (``user_properties.plan``), named by their path.

    Text ids that say "no id" (``NULL``, ``nan``, blanks: :func:`missing_id`) are null in :attr:`table`. Their
    spellings are looked up once among the ids' distinct values (:func:`placeholder_ids`, a grouping of every
    event): up front with an identity rule (its ids are coalesced), else only when :attr:`table` is first
    built for a query that reads ids from it. A query that reads no id, or that matches ids to units and drops
    missing ones after its own grouping (the unit table), reads ``with_columns(keep_placeholders=True)``, where
    an id that says "no id" may still be text such as ``NULL``, and never pays for the lookup.
    """

    raw: ir.Table  # the table as read
    label: str  # the file or table it came from, for messages
    sources: dict[str, str] = field(default_factory=dict)  # canonical field -> the source column(s) used
    times: ir.Table | None = None  # raw: the time as exported, parsed: as read; to count what did not parse
    columns: dict[str, ir.Value] = field(default_factory=dict)  # name -> expression over raw (ids as exported)
    hidden: dict[str, ir.Value] = field(default_factory=dict)  # the identity's known/anonymous ids over raw
    calls: ir.BooleanValue | None = None  # which raw rows are events (None: all)
    call_type: ir.Value | None = None  # the call-type column over raw (Segment's `type`), when calls is set
    pairs: ir.Table | None = None  # (_sw_known, _sw_anonymous, timestamp) of every raw row, when stitching
    links: ir.Table | None = None  # anonymous id -> known id (identity.py), when stitching
    identity: str | None = None  # the identity rule in words, for messages
    json_columns: list[str] = field(default_factory=list)  # text columns holding JSON objects (nested.py)
    exported_id: ir.Value | None = None  # the user id as exported (over raw), before NO_ID and stitching
    id_fields: tuple[str, ...] = ()  # text id columns whose "no id" spellings are made null on reading
    placeholders: dict[str, list[str]] | None = None  # per id field, those spellings (None: not looked up yet)
    _table: ir.Table | None = field(default=None, repr=False)

    @property
    def table(self) -> ir.Table:
        """The canonical events: user_id, event, timestamp, [session_id], [account_id], other scalar columns."""
        if self._table is None:
            self._table = self.with_columns()
        return self._table

    def _columns(self, keep_placeholders: bool) -> dict[str, ir.Value]:
        if keep_placeholders or not self.id_fields:
            return self.columns
        if self.placeholders is None:
            self.placeholders = placeholder_ids(self.raw, {f: self.columns[f] for f in self.id_fields})
        known = self.placeholders
        return {k: _as_id(v, known.get(k)) if k in self.id_fields else v for k, v in self.columns.items()}

    def with_columns(self, extra: Mapping[str, ir.Value] | None = None, *, keep_placeholders: bool = False) -> ir.Table:
        """The canonical events with ``extra`` columns (expressions over ``raw``) added; ``keep_placeholders``:
        text ids as exported (see the class docstring)."""
        rows = self.raw if self.calls is None else self.raw.filter(self.calls)
        events = rows.select(**self._columns(keep_placeholders), **dict(extra or {}), **self.hidden)
        return events if self.links is None else stitch(events, self.links)

    def all_rows(self, extra: Mapping[str, ir.Value] | None = None) -> ir.Table:
        """Every raw row (every call type) mapped, ids stitched: where identify calls' traits are read."""
        rows = self.raw.select(**self._columns(False), **dict(extra or {}), **self.hidden)
        return rows if self.links is None else stitch(rows, self.links)

    def unstitched(self) -> ir.Table:
        """The events with the user id as exported (before identity stitching)."""
        rows = self.raw if self.calls is None else self.raw.filter(self.calls)
        return rows.select(**self._columns(False))

    def with_links(self, links: ir.Table) -> MappedEvents:
        """The same mapping joined to another links table (e.g. the cached one)."""
        return replace(self, links=links, _table=None)


def describe_source(spec: Any, base_dir: Path) -> str:
    """How a source is named in messages: a path, a table, or the Python object's type."""
    if isinstance(spec, (str, Path)):
        return str(resolve_path(spec, base_dir))
    if isinstance(spec, Mapping) and "path" in spec:
        return describe_source(spec["path"], base_dir)
    if isinstance(spec, Mapping) and "table" in spec:
        db = spec.get("database")
        return f"table {spec['table']}" + (f" in {db}" if db else "")
    return f"a {type(spec).__module__.split('.')[0]} {type(spec).__name__}"


def open_table(con: ibis.BaseBackend, spec: Any, base_dir: Path, key: str) -> ir.Table:
    """Open one source (``key`` is the workshop.yaml key, e.g. ``data.events``, for messages).

    Accepts a path, glob or folder of CSV / Parquet / JSON-lines files as the vendors deliver them (an
    Amplitude export zip, PostHog's compressed batch exports, Segment's .gz logs, GA4 shards: see
    :mod:`segworkshop.delivered`), ``{table: NAME, database: FILE}`` for a table in a DuckDB file (or in the
    engine), a pattern of tables (``{table: "events_*", database: ga4.duckdb}``: the matching tables read as
    one, a GA4 intraday table dropped where its day has a daily table), a pandas DataFrame, a pyarrow Table, a
    DuckDB relation, or an Ibis table on the same connection.
    """
    if isinstance(spec, ir.Table):
        return spec
    if isinstance(spec, (str, Path)):
        return _open_files(con, spec, base_dir, key)
    if isinstance(spec, Mapping) and "path" in spec:  # {path: FILE, columns: {...}, csv: {...}}
        return _open_files(con, spec["path"], base_dir, key, spec.get("csv"))
    if isinstance(spec, Mapping) and isinstance(spec.get("table"), str) and any(c in spec["table"] for c in "*?["):
        return _open_table_shards(con, spec, base_dir, key)
    if isinstance(spec, Mapping):
        return _open_engine_table(con, spec, base_dir, key)
    module = type(spec).__module__.split(".")[0]
    if module == "duckdb" and hasattr(spec, "fetch_arrow_table"):
        spec = spec.fetch_arrow_table()
        module = "pyarrow"
    if module in ("pandas", "pyarrow", "polars"):
        name = "segworkshop_" + key.replace(".", "_")
        if len(spec) == 0:
            raise DataError(f"{key}: the {type(spec).__name__} passed in has no rows.")
        if con.name == "pyspark":  # Spark has no temporary tables: an in-memory table becomes a temporary view
            return con.create_view(name, ibis.memtable(spec), overwrite=True)
        return con.create_table(name, spec, overwrite=True, temp=True)
    raise ConfigError(
        f"{key}: cannot read a {type(spec).__name__}. Pass a file path, a pandas DataFrame, a pyarrow Table, "
        "a DuckDB relation, an Ibis table, or {table: NAME, database: FILE.duckdb}."
    )


def _open_table_shards(con: ibis.BaseBackend, spec: Mapping, base_dir: Path, key: str) -> ir.Table:
    """The tables a pattern names, read as one by column name (GA4's events_*: intraday dropped where a daily
    table holds the day; see :func:`segworkshop.delivered.drop_covered_intraday`)."""
    pattern = spec["table"]
    database = spec.get("database")
    try:
        if database:
            path = resolve_path(database, base_dir)
            if not path.exists():
                raise DataError(f"{key}: no such DuckDB file {path}. Paths are relative to workshop.yaml.")
            alias = "src_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]  # as _open_engine_table
            attached = {row[0] for row in con.raw_sql("SELECT database_name FROM duckdb_databases()").fetchall()}
            if alias not in attached:
                con.raw_sql(f"ATTACH '{_sql_text(path)}' AS {alias} (READ_ONLY)")
            tables = [
                row[0]
                for row in con.raw_sql(
                    f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{alias}' UNION "
                    f"SELECT view_name FROM duckdb_views() WHERE database_name = '{alias}' ORDER BY 1"
                ).fetchall()
            ]
            where = f"in {path}"
        else:
            alias, tables, where = None, con.list_tables(), "in the engine"
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{key}: cannot list the tables for {pattern!r}: {first_line(exc, limit=None)}") from None
    names = delivered.matching_tables(tables, pattern)
    if not names:
        raise DataError(f"{key}: no table matches {pattern!r} {where}. Tables: {listing(tables)}.")
    if len(names) == 1:
        return _open_engine_table(con, {**spec, "table": names[0]}, base_dir, key)
    if con.name == "duckdb":  # UNION ALL BY NAME: columns (and struct fields) added over the days line up
        prefix = f'"{alias}"."main".' if alias else ""
        sql = " UNION ALL BY NAME ".join(f'SELECT * FROM {prefix}"{n}"' for n in names)
        view = "segworkshop_shards_" + hashlib.sha1(sql.encode()).hexdigest()[:12]
        con.raw_sql(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {sql}')  # (ibis 12's con.sql fails on DuckDB 2)
        return con.table(view, database=("temp", "main"))
    parts = [_open_engine_table(con, {**spec, "table": n}, base_dir, key) for n in names]
    return delivered.union_by_name(parts, key)


def resolve_path(spec: str | Path, base_dir: Path) -> Path:
    """A path as workshop.yaml means it: `~` expanded, relative to the workshop folder."""
    path = Path(spec).expanduser()
    return path if path.is_absolute() else base_dir / path


def _open_files(
    con: ibis.BaseBackend, spec: str | Path, base_dir: Path, key: str, csv: Mapping[str, Any] | None = None
) -> ir.Table:
    """Files as delivered (see :mod:`segworkshop.delivered`): one file, a glob or a folder, of one kind.

    ``csv``: options for the engine's CSV reader, from ``{path: FILE, csv: {ignore_errors: true}}`` (see
    ``config.CSV_OPTIONS``); with ``ignore_errors`` the rows skipped are counted and said (a warning).
    """
    path = resolve_path(spec, base_dir)
    text = str(path)
    cache = delivered.Cache(base_dir, key)
    if path.is_dir():
        listed = delivered.files_under(path)
        found = delivered.gather(listed, path, cache, con.name)
        where = f"the folder {path}"
    elif any(ch in text for ch in "*?["):
        matched = sorted(glob.glob(text, recursive=True))
        if not matched:
            raise DataError(f"{key}: no file matches {text}. Check the pattern; it is relative to workshop.yaml.")
        # a pattern may name folders (GA4's events_2026*/ shards): their files count
        listed = [f for m in map(Path, matched) for f in (delivered.files_under(m) if m.is_dir() else [m])]
        found = delivered.gather(listed, delivered.common_root(matched), cache, con.name)
        where = f"the files matching {text}"
    else:
        if not path.exists():
            siblings = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
            hint = did_you_mean(path.name, siblings)
            where = (
                f"The folder {path.parent} holds: {listing(siblings, 12)}."
                if siblings
                else (f"The folder {path.parent} does not exist either.")
            )
            raise DataError(f"{key}: no such file {path}.{hint} {where} Paths are relative to workshop.yaml.")
        listed = [path]
        found = delivered.gather(listed, None, cache, con.name, explicit=True)
        where = str(path)
    if found.kind is None and len(found.kinds) > 1:
        raise DataError(
            f"{key}: {where} holds a mix of file kinds ({', '.join(sorted(found.kinds))}). Point it at a folder "
            "of .parquet (or .csv / .jsonl) files of one kind."
        )
    if found.kind is None and not path.is_dir() and len(found.seen) == 1:
        why = f" ({found.why})" if found.why else ""
        raise DataError(
            f"{key}: cannot tell the format of {path} from its name or its first bytes{why}. Use a .csv, .csv.gz, "
            f".parquet, .jsonl or .duckdb file (or a folder of .parquet files); all that is read: {delivered.FORMATS}."
        )
    if found.kind is None:
        raise DataError(delivered.nothing_readable(key, where, found))
    if found.kind == "duckdb":
        raise ConfigError(f"{key}: {path} is a DuckDB file; say which table: `{{table: events, database: {spec}}}`.")
    delivered.skipped_warning(key, where, found)
    files = found.files
    several = len(files) > 1
    empty = [f for f in files if "://" not in str(f) and Path(f).is_file() and Path(f).stat().st_size == 0]
    if empty and len(empty) == len(files):
        raise DataError(
            f"{key}: {where if several else files[0]} is empty (0 bytes): there is nothing to read. Export the "
            "data again (a failed or interrupted export leaves an empty file), or point it at the right file."
        )
    if con.name == "duckdb":
        target: Any = files
        options: dict[str, Any] = {"union_by_name": True} if several else {}
    else:  # Spark lists a folder (or a glob) itself: given it when that finds exactly these files
        options = {"mergeSchema": True} if several and found.kind == "parquet" else {}
        plain = not any(":" in f for f in files)  # Hadoop paths cannot hold a ':' (PostHog's file names do)
        if len(files) == 1 and plain:
            target = files[0]
        elif found.direct and plain and delivered.engine_lists_itself(path, listed):
            target = text
        elif found.kind != "parquet" and plain:
            target = files
        else:  # ibis reads Parquet from one path: a folder of exactly these files (linked, under plain names)
            target = delivered.link_folder(files, cache)
    csv_options = dict(csv or {})
    if found.kind == "csv":
        options.update(csv_options)
    rows = None
    try:
        if found.kind == "parquet":
            table = con.read_parquet(target, **options)
        elif found.kind == "csv":
            table = con.read_csv(target, **options)
            if con.name == "duckdb" and not csv_options.get("ignore_errors"):  # (else the rejects scan reads it)
                # the reader checks the rows of its sample only: one count parses the whole file (about 0.4 s
                # for 200 MB), so that a malformed row further down is this error, naming its line and the
                # fix, and not a traceback out of the first query that reaches it
                rows = int(table.count().to_pyarrow().as_py())
        else:
            table = con.read_json(target, **options)
    except Exception as exc:  # the engine's own reader error: say which file, what it said and the fix
        raise DataError(reader_error(key, path, found.kind, exc, csv_options)) from None
    table = known_times(table)
    if found.kind == "csv":
        _check_csv_layout(table, key, path, csv_options)
        _check_has_rows(table, key, path, rows)
        if csv_options.get("ignore_errors") and con.name == "duckdb":
            _count_skipped_rows(con, files, options, key, path)
    return table


def known_times(table: ir.Table) -> ir.Table:
    """Times of a type Ibis does not know read as timestamps with a zone: DuckDB's ``TIMESTAMP_NS WITH TIME
    ZONE``, what pandas writes to Parquet by default for a ``datetime64[ns, UTC]`` column (to the microsecond,
    as every time here)."""
    unknown = [
        c for c, t in table.schema().items() if t.is_unknown() and "TIMESTAMP" in repr(t).upper().replace("_", "")
    ]
    if not unknown:
        return table
    return table.mutate(**{c: table[c].cast(dt.Timestamp(timezone="UTC")) for c in unknown})


def reader_error(key: str, path: Path, kind: str, exc: Exception, csv: Mapping[str, Any] | None = None) -> str:
    """The engine's reader error as one message: the file, the line it names, the engine's cause (``not utf-8
    encoded``, ``maximum line size exceeded``) and a fix the kit can pass on (``csv:`` options), never a
    suggestion of options that the kit has no way to set."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    head = lines[0] if lines else type(exc).__name__
    skip = ("original line", "possible solution", "possible fix", "* ", "file =", "line ", "  ")
    lines = [ln for ln in lines if set(ln) - set("^~ ")]  # not the caret line under a quoted expression
    causes = [
        ln
        for ln in lines[1:]
        if not ln.lower().startswith(skip) and " = " not in ln and not ln.lower().startswith("csv error")
    ][:2]
    text = " ".join([head.rstrip("."), *causes])[:600]
    message = f"{key}: could not read {path} as {kind}: {text}."
    if kind != "csv":
        return message
    low = str(exc).lower()
    fixes = []
    if "utf-8" in low or "unicode" in low:
        fixes.append("save the file as UTF-8, or name its encoding: `csv: {encoding: latin-1}` (or utf-16)")
    if "maximum line size" in low or "max_line_size" in low:
        fixes.append("allow longer lines: `csv: {max_line_size: 100000000}`")
    fixes.append(
        "repair the row it names, or skip the rows the reader cannot parse: `csv: {ignore_errors: true}` "
        "(the rows skipped are counted and reported)"
    )
    where = f"`data.events: {{path: {_yaml_text(path.name)}, csv: {{…}}}}`" if key == "data.events" else f"`{key}`"
    done = f" (options in use: {dict(csv)})" if csv else ""
    return f"{message} Fix: {'; or '.join(fixes)}, written in workshop.yaml as {where}{done}."


def _check_csv_layout(table: ir.Table, key: str, path: Path, csv: Mapping[str, Any]) -> None:
    """A CSV read as one column whose name holds delimiters: the reader could not work out the layout (a row
    with more fields than the others throws its detection off), and every column would be missing."""
    if len(table.columns) != 1 or "delim" in csv:
        return
    name = table.columns[0]
    delimiter = next((d for d in (",", ";", "\t", "|") if d in name), None)
    if delimiter is None:
        return
    raise DataError(
        f"{key}: {path} was read as a single column named {name[:80]!r}: the CSV reader could not work out its "
        f"layout, most likely because some rows have more (or fewer) fields than the header. Fix: repair those "
        f"rows, or skip them: `{key}: {{path: {_yaml_text(path.name)}, csv: {{delim: {json.dumps(delimiter)}, "
        "ignore_errors: true}}` (the rows skipped are counted and reported)."
    )


def _check_has_rows(table: ir.Table, key: str, path: Path, rows: int | None = None) -> None:
    """A CSV with a header and no rows says so (``rows``: when counted already; else one row fetched at most)."""
    if (rows if rows is not None else int(table.limit(1).count().to_pyarrow().as_py())) == 0:
        raise DataError(
            f"{key}: {path} has a header ({listing(table.columns, 8)}) but no rows: there are no events to read. "
            "Export a period with activity, or point it at the right file."
        )


class SkippedRowsWarning(UserWarning):
    """Rows of a CSV file the reader could not parse, left out because ``csv: {ignore_errors: true}`` says so."""


def _count_skipped_rows(con: ibis.BaseBackend, files: Any, options: Mapping[str, Any], key: str, path: Path) -> int:
    """How many rows ``ignore_errors`` skipped (DuckDB's rejects table; one scan at open), said as a warning."""
    import warnings

    listed = [files] if isinstance(files, (str, Path)) else list(files)
    name = "sw_rejects_" + hashlib.sha1(repr((listed, sorted(options.items()))).encode()).hexdigest()[:12]
    settings = ", ".join(f"{k} = {_sql_value(v)}" for k, v in options.items() if k != "ignore_errors")
    paths = "[" + ", ".join(f"'{_sql_text(Path(f))}'" for f in listed) + "]"
    try:
        con.raw_sql(
            f"SELECT count(*) FROM read_csv({paths}{', ' + settings if settings else ''}, store_rejects = true, "
            f"rejects_table = '{name}', rejects_scan = '{name}_scan')"
        ).fetchall()
        # a row can be rejected once per field it has too many: count the rows, not the rejections
        rows = con.raw_sql(
            f"SELECT count(DISTINCT (file_id, line)), min(line), any_value(error_type) FROM {name}"
        ).fetchall()[0]
    except Exception:  # an engine without rejects tables: the rows are skipped all the same
        return 0
    skipped = int(rows[0] or 0)
    if skipped:
        message = (
            f"{key}: {skipped:,} row(s) of {path} could not be parsed and were skipped (`csv: {{ignore_errors: "
            f"true}}`), the first at line {rows[1]} ({str(rows[2]).lower()}). Every count leaves them out."
        )
        SKIPPED_ROWS[str(path)] = message
        warnings.warn(message, SkippedRowsWarning, stacklevel=4)
    return skipped


SKIPPED_ROWS: dict[str, str] = {}  # file -> what ignore_errors skipped there (validate repeats it as a finding)


def _sql_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _open_engine_table(con: ibis.BaseBackend, spec: Mapping, base_dir: Path, key: str) -> ir.Table:
    name = spec.get("table")
    if not isinstance(name, str):
        raise ConfigError(f"{key}: a table source needs `table: NAME` (optionally `database: FILE.duckdb`).")
    database = spec.get("database")
    try:
        if database:
            path = resolve_path(database, base_dir)
            if not path.exists():
                raise DataError(f"{key}: no such DuckDB file {path}. Paths are relative to workshop.yaml.")
            alias = _alias(path)
            # (ibis 12's catalog listing calls a DuckDB API that 2.0 removed: ask DuckDB directly)
            attached = {row[0] for row in con.raw_sql("SELECT database_name FROM duckdb_databases()").fetchall()}
            if alias not in attached:
                con.raw_sql(f"ATTACH '{_sql_text(path)}' AS {alias} (READ_ONLY)")
            tables = _tables_in(con, alias)
            if name not in tables:
                raise DataError(
                    f"{key}: no table {name!r} in {path}.{did_you_mean(name, tables)} Tables: {listing(tables)}."
                )
            return known_times(con.table(name, database=(alias, "main")))
        parts = name.split(".")
        if len(parts) > 1:
            return known_times(con.table(parts[-1], database=tuple(parts[:-1]) if len(parts) > 2 else parts[0]))
        return known_times(con.table(name))
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{key}: cannot open table {name!r}: {first_line(exc, limit=None)}") from None


def _alias(path: Path) -> str:
    """The name a DuckDB file is attached under: one per file."""
    return "src_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]


def _tables_in(con: ibis.BaseBackend, alias: str) -> list[str]:
    """The tables and views of an attached DuckDB file, sorted."""
    rows = con.raw_sql(
        f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{alias}' "
        f"UNION SELECT view_name FROM duckdb_views() WHERE database_name = '{alias}' ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


def sibling_table(con: ibis.BaseBackend, events: Any, name: str, base_dir: Path) -> dict[str, Any] | None:
    """``{table: NAME[, database: FILE]}`` for a table called ``name`` (any case) next to the events table, e.g.
    Segment's ``identifies`` beside ``tracks``; None when the events are not a table or there is no such table."""
    if not isinstance(events, Mapping) or not isinstance(events.get("table"), str):
        return None
    database = events.get("database")
    try:
        if database:
            path = resolve_path(database, base_dir)
            names = _tables_in(con, _alias(path))
        else:
            prefix = events["table"].split(".")[:-1]
            names = con.list_tables(database=tuple(prefix) if len(prefix) > 1 else (prefix[0] if prefix else None))
    except Exception:  # a listing the engine refuses: no sibling, the events' own links still apply
        return None
    found = column_named(names, name)
    if found is None:
        return None
    prefix = events["table"].split(".")[:-1] if not database else []
    return {"table": ".".join([*prefix, found]), **({"database": database} if database else {})}


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


def _kind_of(name: str) -> str | None:
    """The kind a file's name says: parquet, csv, json, duckdb or zip (the content may say more: see delivered)."""
    return delivered.kind_by_name(name)


# --------------------------------------------------------------------------- column paths


_TOKEN = re.compile(r"([^.\[\]]+)(?:\[([^\]]+)\])?")


def resolve(table: ir.Table, spec: Any) -> ir.Value | None:
    """The expression a column spec names in ``table``, or None if the table has no such column.

    ``spec`` is a column name, a dotted path (``properties.$os``, ``device.web_info.browser``), a path with a
    key/value-array lookup (``event_params[ga_session_id].int_value``), a list of alternatives (first present
    wins) or ``{coalesce: [a, b]}``.
    """
    if isinstance(spec, list):
        for alternative in spec:
            found = resolve(table, alternative)
            if found is not None:
                return found
        return None
    if isinstance(spec, Mapping) and "coalesce" in spec:
        parts = [resolve(table, s) for s in spec["coalesce"]]
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        if len({str(p.type()) for p in parts}) > 1:
            parts = [p.cast("string") for p in parts]
        return ibis.coalesce(*parts)
    if not isinstance(spec, str):
        return None
    column = column_named(table.columns, spec)
    if column is not None:
        return table[column]
    return _resolve_path_expr(table, spec)


def column_named(columns: Sequence[str], name: str) -> str | None:
    """The column called ``name``: exactly, else the one column that matches ignoring case (warehouses such as
    Snowflake upper-case every name: ``USER_ID``, ``CONTEXT_OS_NAME``); None when there is none, or several."""
    if name in columns:
        return name
    folded = [c for c in columns if c.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def _resolve_path_expr(table: ir.Table, path: str) -> ir.Value | None:
    tokens = _TOKEN.findall(path)
    if not tokens or ".".join(n + (f"[{k}]" if k else "") for n, k in tokens) != path:
        return None
    # the longest dotted prefix that is a column (column names may themselves contain dots)
    for i in range(len(tokens), 0, -1):
        head = column_named(table.columns, ".".join(n for n, _ in tokens[:i]))
        if head is not None and not any(k for _, k in tokens[: i - 1]):
            break
    else:
        return None
    expr: ir.Value = table[head]
    steps = [("", tokens[i - 1][1]), *tokens[i:]]
    json_path: list[str] = []
    for name, key in steps:
        dtype = expr.type()
        if json_path or dtype.is_string() or dtype.is_json():
            if key:
                return None  # key/value arrays inside JSON text are not supported
            json_path += [name] if name else []
            continue
        if name:
            field_name = column_named(dtype.names, name) if dtype.is_struct() else None
            if field_name is not None:
                expr = expr[field_name]
            elif dtype.is_map():  # wide JSON: past ~200 keys DuckDB reads an object as MAP(VARCHAR, JSON)
                expr = expr.get(name)
            else:
                return None
        if key:
            dtype = expr.type()
            if not (dtype.is_array() and dtype.value_type.is_struct() and "key" in dtype.value_type.names):
                return None
            expr = expr.filter(lambda item, k=key: item["key"] == k)[0]["value"]
    if json_path or expr.type().is_json():  # a JSON value (a map's, or a key's) is read as its text
        return _json_text(expr, json_path)
    return expr


def _json_text(expr: ir.Value, keys: list[str]) -> ir.StringValue:
    """The text of a (nested) key in a JSON column, in the engine's own terms."""
    if backend_name(expr) == "duckdb":  # json_extract_string with a quoted path: keys may hold '$' or '.'

        @ibis.udf.scalar.builtin(name="json_extract_string")
        def _extract(doc: str, path: str) -> str: ...

        quoted = "$" + "".join('."' + k.replace('"', '\\"') + '"' for k in keys)
        return _extract(expr.cast("string"), quoted)
    if backend_name(expr) == "pyspark":  # get_json_object: a string's text, any other value as JSON text

        @ibis.udf.scalar.builtin(name="get_json_object")
        def _get(doc: str, path: str) -> str: ...

        return _get(expr.cast("string"), "$" + "".join("['" + k.replace("'", "\\'") + "']" for k in keys))
    doc = expr.cast("json")
    for key in keys:
        doc = doc[key]
    return doc.str


# --------------------------------------------------------------------------- mapping


def effective_columns(data: DataConfig) -> dict[str, Any]:
    """The column specs in force: the preset's, overridden by ``data.columns``, for every canonical field."""
    preset = PRESETS[data.preset] if data.preset else None
    columns: dict[str, Any] = {name: name for name in (*REQUIRED, *OPTIONAL)}
    if preset:
        columns.update(preset.columns)
    columns.update(data.columns)
    return columns


def map_events(raw: ir.Table, data: DataConfig, label: str) -> MappedEvents:
    """Rename and parse the events table onto user_id, event, timestamp (UTC), [session_id], [account_id].

    Other scalar columns are kept (as properties and traits); a preset's well-known traits are extracted from
    nested fields. Raises :class:`DataError` naming the missing column, the columns that exist and the fix.
    """
    columns = effective_columns(data)
    exprs: dict[str, ir.Value] = {}
    sources: dict[str, str] = {}
    for name in (*REQUIRED, *OPTIONAL):
        spec = columns[name]
        expr = resolve(raw, spec)
        if expr is None:
            if name in REQUIRED:
                raise DataError(_missing_column_message(name, spec, raw.columns, label, data.preset))
            continue
        exprs[name] = expr
        sources[name] = _spec_text(spec, raw)
        if name in REQUIRED and _into_json_text(raw, sources[name]) and _empty_in_sample(raw, expr):
            # a key of JSON text always "resolves": only the data says whether it is there
            raise DataError(
                _missing_column_message(name, spec, raw.columns, label, data.preset)
                + f" ({sources[name]!r} is a key that none of the first {SAMPLE_ROWS:,} rows has.)"
            )
    _check_one_column_per_field(sources, raw, columns, label)
    unit = data.time_unit
    if unit == "auto" and data.preset and "time_unit" not in data.columns:
        unit = PRESETS[data.preset].time_unit
    try:
        timestamp = parse_timestamp(exprs["timestamp"], unit, data.time_zone)
    except TypeError:
        raise DataError(
            f"{label}: column {sources['timestamp']!r} is of type {exprs['timestamp'].type()}, which is not a time. "
            "Map `data.columns.timestamp` to a timestamp, date, ISO 8601 text or epoch-number column."
        ) from None
    if unit != "auto":
        _check_epoch_scale(raw, exprs["timestamp"], timestamp, unit, sources["timestamp"], label)
    timestamp = plausible(timestamp)
    rule = identity_rule(data)
    pair = (resolve(raw, rule.known), resolve(raw, rule.anonymous)) if rule is not None else (None, None)
    ids = {"user_id": exprs["user_id"], "account_id": exprs.get("account_id"), KNOWN: pair[0], ANONYMOUS: pair[1]}
    text_ids = {k: v for k, v in ids.items() if v is not None and v.type().is_string()}
    # with an identity rule the ids are coalesced (a "NULL" known id would win): their placeholders are looked
    # up now; else on the first query that reads ids from the events (MappedEvents.table)
    placeholders = placeholder_ids(raw, text_ids) if rule is not None else None
    lazy = tuple(k for k in ("user_id", "account_id") if k in text_ids) if placeholders is None else ()
    found = placeholders or {}

    def as_id(name: str, expr: ir.Value) -> ir.Value:
        return expr if name in lazy else _as_id(expr, found.get(name))

    selected: dict[str, ir.Value] = {
        "user_id": as_id("user_id", exprs["user_id"]),
        "event": exprs["event"].cast("string"),
        "timestamp": timestamp,
    }
    for name in OPTIONAL:
        if name in exprs:
            selected[name] = as_id(name, exprs[name])
    used = {c for spec in (columns[n] for n in exprs) for c in _spec_columns(spec, raw)}
    preset = PRESETS[data.preset] if data.preset else None
    hidden: dict[str, ir.Value] = {}
    if rule is not None:
        known, anonymous = pair
        if known is not None and anonymous is not None:
            hidden = {
                KNOWN: _as_id(known, placeholders.get(KNOWN)),
                ANONYMOUS: _as_id(anonymous, placeholders.get(ANONYMOUS)),
            }
            used |= _spec_columns(rule.known, raw) | _spec_columns(rule.anonymous, raw)
            sources["identity"] = f"{_spec_text(rule.known, raw)} / {_spec_text(rule.anonymous, raw)}"
    if preset:
        for trait, spec in preset.traits.items():
            if trait in selected or (trait in raw.columns and trait not in used):
                continue
            expr = resolve(raw, spec)
            if expr is not None and is_scalar(expr):
                selected[trait] = expr
    skip = not_kept(preset, raw.columns, columns, selected)  # bookkeeping, and what repeats a selected column
    json_columns = json_object_columns(raw)  # each value another object: not a trait; its keys are, by path
    for column in raw.columns:
        if column in selected or column in used or column in skip or column in json_columns:
            continue
        if is_scalar(raw[column]):
            selected[column] = raw[column]
    calls = None
    if preset and preset.calls:
        call_column, kinds = preset.calls
        call = resolve(raw, call_column)
        if call is not None and call.type().is_string():
            calls = call.isin(list(kinds))
            for name in _spec_columns(call_column, raw):  # one value on every event: not a trait
                selected.pop(name, None)
        else:
            call = None
            sources["calls"] = f"{_spec_text(call_column, raw)} in ({', '.join(kinds)})"
    mapped = MappedEvents(
        raw=raw,
        label=label,
        sources=sources,
        times=raw.select(raw=exprs["timestamp"], parsed=timestamp),
        columns=selected,
        hidden=hidden,
        calls=calls,
        call_type=call if calls is not None else None,
        json_columns=json_columns,
        exported_id=exprs["user_id"],
        id_fields=lazy,
        placeholders=placeholders,
    )
    if hidden:
        mapped.pairs = raw.select(**hidden, timestamp=timestamp)
        mapped.links = id_links(mapped.pairs)
        mapped.identity = sources["identity"]
    return mapped


def _check_one_column_per_field(
    sources: Mapping[str, str], raw: ir.Table, columns: Mapping[str, Any], label: str
) -> None:
    """Two canonical fields read from one column (``user_id`` and ``event`` both from ``what``: every event
    name becomes a user) is a mapping error, never data."""
    by_column: dict[str, list[str]] = {}
    for name, spec in sources.items():
        if name in (*REQUIRED, *OPTIONAL):
            found = column_named(raw.columns, spec) or spec
            by_column.setdefault(found, []).append(name)
    for column, names in by_column.items():
        if len(names) > 1:
            fields = " and ".join(f"`{n}`" for n in names)
            raise ConfigError(
                f"{label}: the fields {fields} are both read from the column {column!r}, so one of them is wrong "
                f"(e.g. event names would become user ids). Fix: map each to its own column in workshop.yaml, e.g. "
                f"`data.columns: {{{', '.join(f'{n}: <column>' for n in names)}}}`; the columns are: "
                f"{listing(raw.columns)}."
            )


EVENT_YEARS = (1900, 2200)  # an event time outside these years is a broken value (9999-12-31, year 0), not data


def plausible(timestamp: ir.TimestampValue) -> ir.TimestampValue:
    """An event time, or null when it lies outside EVENT_YEARS: such a row counts as a time that does not
    parse (validate shows it), instead of moving the data's end to year 9999 or failing to print year 0."""
    low = ibis.timestamp(f"{EVENT_YEARS[0]}-01-01 00:00:00")
    high = ibis.timestamp(f"{EVENT_YEARS[1]}-01-01 00:00:00")
    return ibis.ifelse((timestamp >= low) & (timestamp < high), timestamp, ibis.null("timestamp"))


# an epoch read with the given unit must land in a plausible span for product events
_PLAUSIBLE = ("1971-01-01", "2200-01-01")
_PER_SECOND = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _check_epoch_scale(raw: ir.Table, value: ir.Value, parsed: ir.Value, unit: str, source: str, label: str) -> None:
    """``data.time_unit`` (or the preset's) given for epoch numbers of another scale puts every event in
    January 1970 (``ns`` on seconds) or past year 9999: refused, with the unit that fits. One aggregate over
    the first rows (as :func:`_empty_in_sample`): an export has one scale."""
    dtype = value.type()
    if not (dtype.is_numeric() or dtype.is_string()) or dtype.is_boolean():
        return
    sample = raw.limit(SAMPLE_ROWS)
    swap = {raw.op(): sample.op()}
    number = value.op().replace(swap).to_expr()
    number = number.strip().try_cast("float64") if dtype.is_string() else number.cast("float64")
    stamp = parsed.op().replace(swap).to_expr()
    epoch = number.notnull() & ~number.isnan()  # rows that are epoch numbers (not ISO text)
    row = (
        sample.select(n=number, t=stamp, e=epoch)
        .filter(lambda t: t.e)
        .aggregate(
            rows=lambda t: t.count(),
            low=lambda t: t.n.min(),
            high=lambda t: t.n.max(),
            first=lambda t: t.t.min(),
            last=lambda t: t.t.max(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    if not row["rows"]:
        return
    import datetime as _dt

    lo, hi = (_dt.datetime.fromisoformat(x) for x in _PLAUSIBLE)
    first, last = row["first"], row["last"]
    if first is not None and first >= lo and last < hi:
        return  # at least the read times are plausible
    if first is not None and not (last < lo or first >= hi):
        return  # partly plausible: a mixed column, which validate's counts show
    seen = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if first is not None else "no readable time at all"
    middle = abs(row["high"]) if abs(row["high"]) >= abs(row["low"]) else abs(row["low"])
    fits = [u for u, per in _PER_SECOND.items() if lo.timestamp() <= middle / per < hi.timestamp()]
    fix = (
        f"set `data.time_unit: {fits[0]}` (the unit that puts these numbers in {_year(middle / _PER_SECOND[fits[0]])})"
        if fits
        else "check that the column holds epoch times (and map `data.columns.timestamp` to the right one)"
    )
    raise DataError(
        f"{label}: column {source!r} read as epoch {_UNIT_WORDS[unit]} (`time_unit: {unit}`) gives times from "
        f"{seen}, not the span of real events (numbers {row['low']:.0f} to {row['high']:.0f}). Fix: {fix}, or "
        "`data.time_unit: auto` to read each number by its magnitude."
    )


_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


def _year(seconds: float) -> int:
    return 1970 + int(seconds // 31_556_952)


def identity_rule(data: DataConfig) -> IdentityRule | None:
    """The identity rule in force: ``data.identity`` (``false``: none), else the preset's, unless
    ``data.columns.user_id`` chose the unit's id by hand."""
    if data.identity is False:
        return None
    if isinstance(data.identity, IdentityRule):
        return data.identity
    if "user_id" in data.columns:
        return None
    preset = PRESETS[data.preset] if data.preset else None
    return preset.identity if preset else None


def extra_links(pairs: ir.Table, links_raw: ir.Table, rule: IdentityRule, data: DataConfig, label: str) -> ir.Table:
    """The id links of the events' own rows plus a table of links (``data.identity.links``, e.g. Segment's
    warehouse ``identifies``), read with the same known / anonymous specs; rows without a time rank last."""
    known, anonymous = resolve(links_raw, rule.known), resolve(links_raw, rule.anonymous)
    if known is None or anonymous is None:
        missing = rule.known if known is None else rule.anonymous
        raise DataError(
            f"{label} (data.identity.links): no column {missing!r}. The columns are: {listing(links_raw.columns)}. "
            "Fix: point `data.identity.links` at a table of id pairs (Segment: `identifies`), or change "
            "`data.identity.known` / `anonymous`."
        )
    time = resolve(links_raw, effective_columns(data)["timestamp"])
    stamp = (
        parse_timestamp(time, data.time_unit, data.time_zone)
        if time is not None and not time.type().is_boolean()
        else ibis.timestamp("9999-12-31 00:00:00")
    )
    more = links_raw.select(**{KNOWN: _as_id(known), ANONYMOUS: _as_id(anonymous)}, timestamp=stamp)
    return id_links(pairs.union(more.cast(pairs.schema())))


def _spec_columns(spec: Any, raw: ir.Table) -> set[str]:
    """The raw columns a spec reads (every part of a coalesce; the JSON-text column a path reads into), so that
    they are not kept again as traits."""
    if isinstance(spec, list):
        for alternative in spec:
            if resolve(raw, alternative) is not None:
                return _spec_columns(alternative, raw)
        return set()
    if isinstance(spec, Mapping) and "coalesce" in spec:
        return {c for part in spec["coalesce"] for c in _spec_columns(part, raw)}
    if not isinstance(spec, str):
        return set()
    column = column_named(raw.columns, spec)
    if column is not None:
        return {column}
    head = column_named(raw.columns, spec.split(".", 1)[0].split("[", 1)[0])
    return {head} if head is not None and _into_json_text(raw, spec) else set()


SAMPLE_ROWS = 1000


def _into_json_text(raw: ir.Table, source: str) -> bool:
    """Whether a column spec reads a key out of a JSON-text column (``properties.distinct_id``)."""
    if column_named(raw.columns, source) is not None or "." not in source:
        return False
    head = column_named(raw.columns, source.split(".", 1)[0])
    return head is not None and any(
        check() for check in (raw[head].type().is_string, raw[head].type().is_json, raw[head].type().is_map)
    )


def _empty_in_sample(raw: ir.Table, expr: ir.Value) -> bool:
    sample = raw.limit(SAMPLE_ROWS)
    found = sample.select(v=expr.op().replace({raw.op(): sample.op()}).to_expr())
    return int(found.v.count().to_pyarrow().as_py()) == 0


def map_keyed(
    raw: ir.Table,
    key: str,
    data: DataConfig,
    label: str,
    config_key: str,
    own_columns: Mapping[str, Any] | None = None,
    source: Any = None,
    placeholders: Mapping[str, Sequence[str]] | None = None,
) -> ir.Table:
    """A users or accounts table keyed by ``key`` (user_id / account_id).

    ``placeholders``: per id column, its values that say "no id", when known (:func:`keyed_key_check` finds
    the key's): matched by value instead of checking each row (:func:`_as_id`).

    The key is found by the table's own mapping (``data.users: {path: users.csv, columns: {user_id: id}}``),
    else a column named like the key, else ``data.columns`` / the preset (for tables that share the events'
    column names). ``data.columns`` is the events' mapping: a users table keyed differently takes its own, so
    that re-keying the users never re-keys the events.
    """
    own = dict(own_columns or {})
    renamed: dict[str, ir.Value] = {}
    used_columns: set[str] = set()
    for field_name, spec in own.items():
        expr = resolve(raw, spec)
        if expr is None:
            raise DataError(_missing_keyed_message(field_name, spec, raw.columns, label, config_key, source))
        renamed[field_name] = expr
        used_columns.add(_spec_text(spec, raw))
    expr = renamed.get(key)
    preset = PRESETS[data.preset] if data.preset else None
    specs = [key, *([preset.keys[key]] if preset and key in preset.keys else []), effective_columns(data).get(key)]
    for spec in specs if expr is None else ():
        expr = resolve(raw, spec) if spec is not None else None
        if expr is not None:
            used_columns |= _spec_columns(spec, raw)
            break
    if expr is None:
        raise DataError(_missing_keyed_message(key, None, raw.columns, label, config_key, source))
    known = placeholders or {}
    selected: dict[str, ir.Value] = {key: _as_id(expr, known.get(key))}
    for field_name, value in renamed.items():
        if field_name != key:
            selected[field_name] = _as_id(value, known.get(field_name))
    for column in raw.columns:
        if column not in used_columns and column not in selected and is_scalar(raw[column]):
            selected[column] = raw[column]
    return raw.select(**selected)


def _missing_keyed_message(name: str, spec: Any, columns: list[str], label: str, config_key: str, source: Any) -> str:
    """No key column in a users/accounts table: the message proposes that table's own mapping, written out in
    full so that it works when pasted into workshop.yaml."""
    guess = next((c for c in columns if c.lower() in ("id", name.lower())), None)
    if guess is None:
        hits = closest(name, columns, n=1) or [c for c in columns if c.lower().endswith("id")][:1]
        guess = hits[0] if hits else None
    looked = f"looked for {spec!r}" if spec is not None else f"no column named {name!r}"
    if source is not None and not isinstance(source, (str, Path, Mapping)):  # a DataFrame or table from Python
        rename = f"`.rename(columns={{{guess!r}: {name!r}}})`" if guess else f"a rename of its id column to {name!r}"
        return (
            f"{label} ({config_key}): {looked} to key it by {name}. The columns are: {listing(columns)}. "
            f"Fix: pass it with its id column named {name!r} (e.g. {rename})."
        )
    where = _source_yaml(source)
    fix = (
        f"`{config_key}: {{{where}, columns: {{{name}: {guess}}}}}`"
        if guess
        else f"`{config_key}: {{{where}, columns: {{{name}: <your column>}}}}`"
    )
    return (
        f"{label} ({config_key}): {looked} to key it by {name}. The columns are: {listing(columns)}. "
        f"Fix: give this table its own mapping in workshop.yaml, {fix}."
    )


def _source_yaml(source: Any) -> str:
    if isinstance(source, Mapping):
        if "path" in source:
            return f"path: {_yaml_text(source['path'])}"
        parts = [f"table: {_yaml_text(source['table'])}"] if "table" in source else []
        if source.get("database"):
            parts.append(f"database: {_yaml_text(source['database'])}")
        return ", ".join(parts) or "path: FILE"
    return f"path: {_yaml_text(source)}" if isinstance(source, (str, Path)) else "path: FILE"


def _yaml_text(value: Any) -> str:
    """A value as it can be pasted into a YAML flow mapping: plain when safe, else double-quoted."""
    text = str(value)
    return text if re.fullmatch(r"[A-Za-z0-9_./*-]+", text) and text[0] not in "*-" else json.dumps(text)


def keyed_key_check(table: ir.Table, key: str, label: str, config_key: str) -> list[str] | None:
    """One pass over a users or accounts table read with its key as exported (``map_keyed`` with no
    placeholders for it): the key's "no id" spellings (returned, to be matched by value; None past
    :data:`MAX_PLACEHOLDERS`) and, among the other keys, any on more than one row (a DataError, as
    :func:`check_one_row_per_key` words it). The per-row "no id" test and a second grouping are avoided.
    The key is text here (``map_keyed`` reads every id as text)."""
    grouped = table.group_by(_k=table[key]).aggregate(_rows=table.count())
    # tested on the distinct keys: the condition reads the count, so no engine moves it before the grouping
    blank = ibis.ifelse(grouped._rows > 0, missing_id(grouped._k), False)
    repeated = ~blank & (grouped._rows > 1)
    row = grouped.aggregate(
        keys=repeated.ifelse(1, 0).sum(), found=grouped._k.collect(where=blank & grouped._k.notnull())
    ).to_pandas()
    if int(row["keys"].iloc[0] or 0):
        check_one_row_per_key(table.mutate(**{key: _as_id(table[key])}), key, label, config_key)
    found = row["found"].iloc[0]
    found = [] if found is None else [str(v) for v in found]
    return sorted(found) if len(found) <= MAX_PLACEHOLDERS else None


def check_one_row_per_key(table: ir.Table, key: str, label: str, config_key: str, examples: int = 3) -> None:
    """A users or accounts table must have one row per key: a duplicated key multiplies every unit it joins
    (a sessions table passed as users turns 240 people into 595 "users"). One aggregate query."""
    keyed = table.filter(table[key].notnull())
    repeated = keyed.group_by(key).aggregate(_rows=keyed.count()).filter(lambda t: t._rows > 1)
    row = repeated.aggregate(keys=repeated.count(), rows=repeated._rows.sum()).to_pandas()
    keys = int(row["keys"].iloc[0] or 0)
    if not keys:
        return
    shown = repeated.order_by(key).limit(examples)[key].to_pandas().tolist()
    rows = int(row["rows"].iloc[0] or 0)
    noun = config_key.split(".")[-1]
    raise DataError(
        f"{label} ({config_key}) has {keys:,} {key} values on more than one row ({rows:,} rows in all), e.g. "
        f"{', '.join(repr(v) for v in shown)}. A {noun} table needs one row per {key}, or every count that joins "
        f"it is multiplied. Fix: point `{config_key}` at a table with one row per {key} (not sessions or events), "
        f"or keep one row per {key} (e.g. the latest) before exporting."
    )


# what an export writes for "no id": blank (spaces, NBSP, zero-width and other invisible characters) or a
# placeholder word (any case); such ids are missing, as a null is, on every engine and everywhere ids are read
SPACES = " \t\n\r\f\v\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
NO_ID = ("", "null", "none", "nan", "nil", "undefined", "n/a", "(null)", "<null>")


def id_text(expr: ir.StringValue) -> ir.StringValue:
    """Text without the spaces and invisible characters around it (one regular expression: every engine)."""
    return expr.re_replace(f"^[{SPACES}]+|[{SPACES}]+$", "")


# each character SPACES names (its one range expanded): a text starting or ending with one needs stripping
BLANKS = sorted({c for c in SPACES if c != "-"} | {chr(i) for i in range(0x2000, 0x200E)})


def missing_id(expr: ir.StringValue) -> ir.BooleanValue:
    """Whether a text id is missing: null, blank, or a placeholder such as NULL / None / NaN (see ``NO_ID``).

    The same as ``id_text(expr).lower().isin(NO_ID)``, cheaper: an id longer than every word is no word, and an
    id with no blank at either end is its own stripped text. Every blank is a control character, a space or
    not ASCII, so the code points of the first and last characters pick the few ids that need the exact test
    (a regular expression per id costs most of a scan of the events); each test is a CASE, so that the engine
    runs it only on the ids that reach it."""
    words = list(NO_ID)
    short = ibis.ifelse(expr.length() <= max(map(len, words)), expr.lower().isin(words), False)
    first, last = expr.ascii_str(), expr.right(1).ascii_str()
    unusual = (first <= 32) | (first >= 127) | (last <= 32) | (last >= 127)
    blank_end = expr.left(1).isin(BLANKS) | expr.right(1).isin(BLANKS)
    blank = ibis.ifelse(unusual, blank_end & id_text(expr).lower().isin(words), False)
    return expr.isnull() | short | blank


MAX_PLACEHOLDERS = 1000  # distinct "no id" spellings looked up by value; beyond, each row is checked


def placeholder_ids(raw: ir.Table, ids: Mapping[str, ir.Value]) -> dict[str, list[str]]:
    """Per text id column, its values that say "no id" (:func:`missing_id`), found once among the column's
    distinct values (one query for all of them).

    Checking each event's id costs more than the rest of a pass over the events (the blank-end test, and
    engines evaluate it once per reference to the id); matching the few placeholder spellings an export has
    by value costs nothing. A column with more than :data:`MAX_PLACEHOLDERS` of them is left out (its rows are
    checked one by one, :func:`_as_id`)."""
    parts, found_by = [], {}
    for name, expr in ids.items():
        if not expr.type().is_string():
            continue
        found_by[name] = []
        values = raw.group_by(v=expr).aggregate(n=raw.count())
        # tested on the distinct values: the condition reads the count, so no engine moves it before the grouping
        found = values.filter(ibis.ifelse(values.n > 0, values.v.notnull() & missing_id(values.v), False))
        found = found.limit(MAX_PLACEHOLDERS + 1)
        parts.append(found.select(c=ibis.literal(name), v=found.v))
    if not parts:
        return {}
    df = (ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]).to_pandas()
    for name, value in zip(df["c"], df["v"], strict=True):
        found_by[name].append(value)
    return {name: sorted(values) for name, values in found_by.items() if len(values) <= MAX_PLACEHOLDERS}


def _as_id(expr: ir.Value, placeholders: Sequence[str] | None = None) -> ir.Value:
    """Ids are compared as text, so that a users table with integer ids joins events with string ids.

    Whole floats (pandas' integer ids with a gap) are written without a decimal point: 1.0 is "1". Text that
    says "no id" (blank, NBSP, zero-width space, ``NULL``, ``None``, ``NaN``…: ``NO_ID``) becomes null, so that
    such events are left out everywhere (unit table, identity links, users join), as validate says they are.
    ``placeholders``: the column's values that say so, when known (:func:`placeholder_ids`): matched by value
    instead of checking each row.
    """
    dtype = expr.type()
    if dtype.is_string():
        if placeholders is not None:
            return ibis.ifelse(expr.isin(list(placeholders)), ibis.null("string"), expr) if placeholders else expr
        return ibis.ifelse(missing_id(expr), ibis.null("string"), expr)
    if dtype.is_floating():
        whole = expr.notnull() & (expr == expr.floor()) & (expr.abs() < 9e15)
        real = expr.notnull() & ~expr.isnan() & ~expr.isinf()
        text = ibis.ifelse(whole, expr.floor().cast("int64").cast("string"), expr.cast("string"))
        return ibis.ifelse(real, text, ibis.null("string"))
    return expr.cast("string")


def is_scalar(expr: ir.Value) -> bool:
    dtype = expr.type()
    return not (dtype.is_struct() or dtype.is_array() or dtype.is_map() or dtype.is_json() or dtype.is_binary())


def _spec_text(spec: Any, raw: ir.Table) -> str:
    if isinstance(spec, list):
        for alternative in spec:
            if resolve(raw, alternative) is not None:
                return _spec_text(alternative, raw)
    if isinstance(spec, Mapping) and "coalesce" in spec:
        return "coalesce(" + ", ".join(s for s in spec["coalesce"] if resolve(raw, s) is not None) + ")"
    return str(spec)


def _missing_column_message(
    name: str, spec: Any, columns: list[str], label: str, preset: str | None, key: str = "data.columns"
) -> str:
    wanted = spec if isinstance(spec, str) else _alternatives(spec)
    # the best match for each name the preset looked for, then for the field's own name (`event`: event_name)
    names = [*([wanted] if isinstance(wanted, str) else wanted), name]
    hits = list(dict.fromkeys(hit[0] for hit in (closest(w, columns, n=1) for w in names) if hit))[:2]
    hint = " Did you mean " + " or ".join(repr(h) for h in hits) + "?" if hits else ""
    via = f" (from the {preset} preset)" if preset and spec != name else ""
    return (
        f"{label}: no column for `{name}`: looked for {wanted!r}{via}.{hint} "
        f"The columns are: {listing(columns)}. Fix: set `{key}.{name}: <your column>` in workshop.yaml"
        + (", or pick the right `data.preset`." if not preset else ", or check that the export matches the preset.")
        + missing_hint(preset, name)
    )


def _alternatives(spec: Any) -> list[str]:
    if isinstance(spec, list):
        return [a for s in spec for a in _alternatives(s)]
    if isinstance(spec, Mapping):
        return list(spec.get("coalesce", []))
    return [str(spec)]
