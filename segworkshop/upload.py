"""Copy a workshop's data files into an engine (PostgreSQL, a DuckDB file, any Ibis backend) as tables.

For trying the kit on a warehouse before pointing it at the real tables: ``segworkshop upload`` loads the demo
data (or any workshop's files) into ``<schema>.events`` / ``users`` / ``accounts`` and writes a workshop.yaml
that reads those tables through that engine. Rows stream in batches, so memory stays bounded by one batch.
PostgreSQL is loaded with ``COPY … FROM STDIN`` (Ibis inserts row by row there: 42 s per 1M rows).
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from .config import bounded_load, load_config
from .engine import connect, describe, duckdb_path, mask
from .errors import ConfigError, DataError, first_line
from .masking import redact, secret_values
from .sources import open_table

NAMES = ("events", "users", "accounts")
_PG_TYPES = {
    "string": "text",
    "large_string": "text",
    "bool": "boolean",
    "int8": "smallint",
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "uint8": "smallint",
    "uint16": "integer",
    "uint32": "bigint",
    "float": "real",
    "double": "double precision",
    "date32[day]": "date",
}


def upload(workshop: str | Path, engine: Any, schema: str | None, out: str | Path) -> Path:
    """Copy ``workshop``'s data into ``engine`` as ``schema.<name>`` tables; write ``out/workshop.yaml`` for them.

    ``schema`` defaults to the workshop folder's name made a plain SQL name ("Q1 trial" -> q1_trial, "2026" ->
    ws_2026). ``engine`` is what ``engine:`` in workshop.yaml takes. It must keep its tables (not an in-memory DuckDB or
    Spark local mode), and a password in it must be a ``${VAR}``, never the secret itself, since it is written
    into the new file as given. The journal, if any, is copied so the session's decisions come along.
    Returns the new workshop.yaml.
    """
    config = load_config(workshop)
    source = config.path
    if schema is None:
        schema = re.sub(r"[^a-z0-9_]", "_", source.parent.name.lower())
        schema = schema if re.match(r"[a-z_]", schema) else f"ws_{schema}"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema):
        raise ConfigError(
            f"the schema {schema!r} is not a plain name: use letters, digits and _ (e.g. `schema='ecomm'`)."
        )
    engine = _kept(engine)
    out = Path(out)
    if out.resolve() == source.parent.resolve():
        raise ConfigError(f"`out=` {out} is the workshop's own folder: choose a new folder for the uploaded copy.")
    local = connect(None)
    target = connect(engine)
    data: dict[str, Any] = {}
    for name in NAMES:
        spec = getattr(config.data, name)
        if spec is None:
            continue
        if not isinstance(spec, (str, Path)):
            raise ConfigError(f"data.{name} in {source} is not a file: upload copies files (CSV, Parquet, JSON).")
        table = open_table(local, spec, source.parent, f"data.{name}")
        _copy(table, target, mask(_url(engine)), schema, name)
        data[name] = {"table": f"{schema}.{name}"}

    raw = copy.deepcopy(config.raw)  # as load_config read and validated it (the file is not read again)
    given = raw["data"] if isinstance(raw["data"], Mapping) else {"events": raw["data"]}  # `data: events.parquet`
    raw["data"] = {**{k: v for k, v in given.items() if k not in NAMES}, **data}
    raw["engine"] = engine if isinstance(engine, Mapping) else {"url": str(engine)}
    out.mkdir(parents=True, exist_ok=True)
    written = out / "workshop.yaml"
    said = " ".join(f"{source} with its data uploaded to {mask(_url(engine))}".split())  # one comment line
    header = f"# {said} (segworkshop upload)\n"
    written.write_text(header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    journal = source.parent / "journal"
    if journal.is_dir():
        shutil.copytree(journal, out / "journal", dirs_exist_ok=True)
    return written


def uploaded_tables(workshop: str | Path) -> list[str]:
    """The tables a workshop.yaml reads (``data.<name>: {table: ...}``), e.g. the one :func:`upload` wrote."""
    data = bounded_load(Path(workshop).read_text(encoding="utf-8"))["data"]
    return [v["table"] for v in data.values() if isinstance(v, dict) and "table" in v]


def _kept(engine: Any) -> Any:
    """``engine`` as it will be written: refused when its tables would vanish or it holds a secret in clear;
    a relative DuckDB file made absolute (the new workshop.yaml may be run from anywhere)."""
    options = dict(engine) if isinstance(engine, Mapping) else {"url": str(engine or "duckdb")}
    url = str(options.get("url", ""))
    backend = str(options.get("backend", "")).lower()
    if secret_values(engine, environ={}):  # parsed: a password, a secret parameter, a key naming a secret
        raise ConfigError(
            f"{describe(engine)} holds a password or another secret (a token, a key, credentials) in clear, and upload writes the "
            "engine into the new workshop.yaml. Export it instead (export PG_PASSWORD=...) and write ${PG_PASSWORD} "
            "in its place, in single quotes so the shell leaves it alone."
        )
    gone = "keeps no tables once this command ends: upload into a PostgreSQL (or other warehouse) URL, a DuckDB file "
    if backend in ("spark", "pyspark") and not options.get("remote"):
        raise ConfigError(f"Spark local mode {gone}or a Spark Connect server (sc://host:15002).")
    if url == "duckdb" or url.startswith("duckdb:") or backend == "duckdb":
        path = options.get("database") if backend == "duckdb" else duckdb_path(url)
        if not path or path == ":memory:":
            raise ConfigError(f"an in-memory DuckDB {gone}(`engine='duckdb:///path/to/warehouse.duckdb'`).")
        if "${" not in str(path) and not Path(path).expanduser().is_absolute():
            path = str(Path(path).expanduser().resolve())
        if backend == "duckdb":
            return {**options, "database": path}
        return f"duckdb://{path}" if isinstance(engine, str) else {**options, "url": f"duckdb://{path}"}
    return engine


def _url(engine: Any) -> str:
    return str(engine.get("url", engine.get("backend", ""))) if isinstance(engine, Mapping) else str(engine)


def _copy(table, target, shown: str, schema: str, name: str) -> None:
    """Create ``schema.name`` in ``target`` from ``table`` (``shown``: the engine, secrets masked, for messages)."""
    if target.name == "postgres":
        _copy_postgres(table, target.con, shown, schema, name)
        return
    try:
        # `force` means "if not exists" on some backends and "replace" on DuckDB: create, and let "exists" pass
        with contextlib.suppress(Exception):
            target.create_database(schema)
        batches = iter(_batches(table))
        first = next(batches, None)
        target.create_table(
            name, pa.Table.from_batches([first]) if first else table.schema(), database=schema, overwrite=True
        )
        for batch in batches:
            target.insert(name, pa.Table.from_batches([batch]), database=schema)
    except Exception as exc:
        raise DataError(f"cannot create {schema}.{name} in {shown}: {redact(first_line(exc))}") from None


def _copy_postgres(table, con, shown: str, schema: str, name: str) -> None:
    """One transaction on the engine's own psycopg connection: (re)create the table, then COPY in batches."""
    import pyarrow.csv as pcsv

    columns = ", ".join(f'"{f.name}" {_pg_type(f, name)}' for f in table.schema().to_pyarrow())
    try:
        with con.transaction():
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'DROP TABLE IF EXISTS "{schema}"."{name}"')
            con.execute(f'CREATE TABLE "{schema}"."{name}" ({columns})')
            copy_sql = f'COPY "{schema}"."{name}" FROM STDIN WITH (FORMAT csv)'
            with con.cursor().copy(copy_sql) as copy:
                for batch in _batches(table):
                    buffer = io.BytesIO()
                    pcsv.write_csv(batch, buffer, pcsv.WriteOptions(include_header=False))
                    copy.write(buffer.getvalue())
    except Exception as exc:  # the server's refusal, or a source file that fails while it is being read
        raise DataError(f"cannot load {schema}.{name} into {shown}: {redact(first_line(exc))}") from None


def _batches(table, rows: int = 200_000):
    """Record batches of a table read by the local DuckDB (ibis 12's to_pyarrow_batches fails on DuckDB 2.0)."""
    import ibis

    con = table._find_backend().con
    return con.sql(ibis.to_sql(table, dialect="duckdb")).to_arrow_reader(rows)


def _pg_type(field: pa.Field, name: str) -> str:
    kind = str(field.type)
    if kind.startswith("timestamp"):
        return "timestamptz" if field.type.tz else "timestamp"
    if kind in _PG_TYPES:
        return _PG_TYPES[kind]
    if pa.types.is_decimal(field.type):
        return f"numeric({field.type.precision}, {field.type.scale})"
    if kind == "uint64":
        return "numeric(20, 0)"
    raise ConfigError(
        f"data.{name}: column {field.name!r} is {kind}, which upload does not copy (flat text, numbers, booleans, "
        "dates and times only). Flatten it, or load the table with your warehouse's own tools."
    )
