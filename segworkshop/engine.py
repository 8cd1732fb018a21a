"""The query engine: an Ibis connection. DuckDB, embedded, is the default.

Heavy work (scans and aggregates over events) runs in the engine; only aggregates come back as pandas.
"""

from __future__ import annotations

import contextlib
from typing import Any

import ibis

from .errors import ConfigError


def connect(engine: Any = None) -> ibis.BaseBackend:
    """An Ibis backend for ``engine``: None / ``"duckdb"`` (in memory), or an existing Ibis connection."""
    if isinstance(engine, ibis.BaseBackend):
        return engine
    if engine in (None, "duckdb", {"backend": "duckdb"}):
        return _duckdb()
    raise ConfigError(
        f"`engine`: {engine!r} is not supported yet; use `duckdb` (the default) or pass an Ibis connection."
    )


def _duckdb() -> ibis.BaseBackend:
    con = ibis.duckdb.connect()
    # times are UTC throughout; ibis 12 still compiles list lambdas with the arrow syntax DuckDB 1.4+ deprecates
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")  # the CLI says what it is doing; no bars inside pytest or reports
    with contextlib.suppress(Exception):  # older DuckDB: the arrow syntax is the only one, nothing to set
        con.raw_sql("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
    return con
