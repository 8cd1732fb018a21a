"""Copy a workshop's data files into an engine (PostgreSQL, a DuckDB file, any Ibis backend) as tables.

For trying the kit on a warehouse before pointing it at the real tables: ``segworkshop upload`` loads the demo
data (or any workshop's files) into ``<schema>.events`` / ``users`` / ``accounts`` and writes a workshop.yaml
that reads those tables through that engine. Rows stream in batches, so memory stays bounded by one batch.
PostgreSQL is loaded with ``COPY … FROM STDIN`` (Ibis inserts row by row there: 42 s per 1M rows).
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import yaml

from .config import load_config
from .engine import CONNECT_TIMEOUT, connect, expand, mask
from .errors import ConfigError, DataError, first_line
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


def upload(workshop: str | Path, engine: Any, schema: str, out: str | Path) -> Path:
    """Copy ``workshop``'s data into ``engine`` as ``schema.<name>`` tables; write ``out/workshop.yaml`` for them.

    ``engine`` is what ``engine:`` in workshop.yaml takes (a URL with ``${VAR}`` secrets is written as given, so
    the new file holds no password). The journal, if any, is copied so the session's decisions come along.
    Returns the new workshop.yaml.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema):
        raise ConfigError(f"--schema {schema!r} is not a plain name: use letters, digits and _ (e.g. ecomm).")
    config = load_config(workshop)
    source = config.path
    out = Path(out)
    if out.resolve() == source.parent.resolve():
        raise ConfigError(f"--out {out} is the workshop's own folder: choose a new folder for the uploaded copy.")
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
        _copy(table, target, engine, schema, name)
        data[name] = {"table": f"{schema}.{name}"}

    raw = yaml.safe_load(source.read_text())
    raw["data"] = {**{k: v for k, v in raw["data"].items() if k not in NAMES}, **data}
    raw["engine"] = engine if isinstance(engine, Mapping) else {"url": str(engine)}
    out.mkdir(parents=True, exist_ok=True)
    written = out / "workshop.yaml"
    header = f"# {source} with its data uploaded to {mask(_url(engine))} (segworkshop upload)\n"
    written.write_text(header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    journal = source.parent / "journal"
    if journal.is_dir():
        shutil.copytree(journal, out / "journal", dirs_exist_ok=True)
    return written


def _url(engine: Any) -> str:
    return str(engine.get("url", engine.get("backend", ""))) if isinstance(engine, Mapping) else str(engine)


def _copy(table, target, engine: Any, schema: str, name: str) -> None:
    if urlsplit(_url(engine)).scheme.split("+")[0] in ("postgres", "postgresql"):
        _copy_postgres(table, expand(_url(engine)), schema, name)
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
        raise DataError(f"cannot create {schema}.{name} in {mask(_url(engine))}: {first_line(exc)}") from None


def _copy_postgres(table, url: str, schema: str, name: str) -> None:
    import psycopg
    import pyarrow.csv as pcsv

    columns = ", ".join(f'"{f.name}" {_pg_type(f, name)}' for f in table.schema().to_pyarrow())
    try:
        dsn = url.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT) as con:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'DROP TABLE IF EXISTS "{schema}"."{name}"')
            con.execute(f'CREATE TABLE "{schema}"."{name}" ({columns})')
            copy_sql = f'COPY "{schema}"."{name}" FROM STDIN WITH (FORMAT csv)'
            with con.cursor().copy(copy_sql) as copy:
                for batch in _batches(table):
                    buffer = io.BytesIO()
                    pcsv.write_csv(batch, buffer, pcsv.WriteOptions(include_header=False))
                    copy.write(buffer.getvalue())
    except psycopg.Error as exc:
        message = first_line(exc).replace(urlsplit(url).password or "\0", "***")
        raise DataError(f"cannot load {schema}.{name} into {mask(url)}: {message}") from None


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
    raise ConfigError(
        f"data.{name}: column {field.name!r} is {kind}, which upload does not copy (flat text, numbers, booleans, "
        "dates and times only). Flatten it, or load the table with your warehouse's own tools."
    )
