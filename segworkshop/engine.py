"""The query engine: an Ibis connection. DuckDB, embedded, is the default.

Heavy work (scans and aggregates over events) runs in the engine; only aggregates come back as pandas.

``engine:`` in workshop.yaml takes a bare name or URL (``duckdb``, ``postgres://analyst@db:5432/analytics``)
or a mapping with ``url:`` or ``backend:`` plus options (``{backend: spark, master: "local[4]"}``). Secrets come
from the environment: ``${VAR}`` anywhere in the URL is replaced by that variable, and the resulting URL is
never printed (messages show it with the password masked). From Python, an existing Ibis connection or a
SparkSession can be passed instead.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ibis

from .errors import ConfigError, DataError, first_line

EXTRAS = {"postgres": "postgres", "postgresql": "postgres", "spark": "spark", "pyspark": "spark"}
MODULES = {"postgres": "psycopg", "spark": "pyspark"}
CONNECT_TIMEOUT = 10  # seconds: an unreachable engine fails fast instead of hanging
# DuckDB would otherwise take up to 80% of the machine's memory for its buffers; it spills beyond this, and on the
# 1M-user benchmark a 2 GB cap was as fast as none (peak 2.2 GB instead of 6.2 GB)
MEMORY_LIMIT = "3GB"


def describe(engine: Any) -> str:
    """How an engine is named in messages and reports: backend and host, never a password."""
    if engine is None or engine == "duckdb":
        return "duckdb (embedded)"
    if isinstance(engine, ibis.BaseBackend):
        return f"{engine.name} (connection passed in)"
    if isinstance(engine, Mapping):
        if "url" in engine:
            return mask(str(engine["url"]))
        return ", ".join(f"{k}={v}" for k, v in engine.items() if "pass" not in str(k).lower())
    if type(engine).__name__ == "SparkSession":
        return "spark (session passed in)"
    return mask(str(engine))


def mask(url: str) -> str:
    """A URL with its password (and any ${VAR} values) hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<engine url>"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def expand(text: str, where: str = "engine") -> str:
    """Replace ``${VAR}`` with the environment's value; a missing variable is a clear error (not shown)."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"`{where}` uses ${{{name}}}, but the environment has no {name}. Export it first.")
        return os.environ[name]

    return re.sub(r"\$\{(\w+)\}", value, text)


def connect(engine: Any = None) -> ibis.BaseBackend:
    """An Ibis backend for ``engine`` (see the module docstring)."""
    if isinstance(engine, ibis.BaseBackend):
        return engine
    if type(engine).__name__ == "SparkSession":
        _require("spark")
        return ibis.pyspark.connect(session=engine)
    if engine in (None, "duckdb", {"backend": "duckdb"}):
        return _duckdb()
    if isinstance(engine, str):
        engine = {"url": engine}
    if not isinstance(engine, Mapping):
        raise ConfigError(f"`engine` must be a name, a URL or a mapping, found {type(engine).__name__}.")
    if "url" in engine:
        return _from_url(expand(str(engine["url"])), engine)
    backend = str(engine.get("backend", "")).lower()
    if backend == "duckdb":
        return _duckdb(engine.get("database"), engine.get("memory_limit", MEMORY_LIMIT), engine.get("threads"))
    if backend in ("spark", "pyspark"):
        return _spark(engine)
    if backend in ("postgres", "postgresql"):
        url = engine.get("url") or "postgres://"
        return _from_url(expand(url), engine)
    raise ConfigError(
        f"`engine.backend` is {backend!r}; tested backends are duckdb, postgres and spark (any Ibis URL also works "
        "with `engine: {url: ...}`)."
    )


def _require(extra: str) -> None:
    module = MODULES[extra]
    try:
        __import__(module)
    except ImportError:
        raise ConfigError(
            f"the {extra} engine needs the {module} package: pip install 'segworkshop[{extra}]'"
        ) from None


def _from_url(url: str, options: Mapping) -> ibis.BaseBackend:
    scheme = urlsplit(url).scheme.lower()
    if scheme.startswith("duckdb"):
        return _duckdb(urlsplit(url).path or None)
    extra = EXTRAS.get(scheme.split("+")[0])
    if extra:
        _require(extra)
    shown = mask(url)
    try:
        if extra == "postgres":
            kwargs = {"connect_timeout": int(options.get("connect_timeout", CONNECT_TIMEOUT))}
            parts = urlsplit(url)
            return ibis.postgres.connect(
                host=parts.hostname or "localhost",
                port=parts.port or 5432,
                user=parts.username,
                password=parts.password,
                database=(parts.path or "/").lstrip("/") or None,
                **kwargs,
            )
        return ibis.connect(url)
    except ConfigError:
        raise
    except Exception as exc:
        message = first_line(exc).replace(urlsplit(url).password or "\0", "***")
        raise DataError(f"cannot connect to the engine at {shown}: {message}") from None


def _spark(options: Mapping) -> ibis.BaseBackend:
    _require("spark")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("segworkshop")
    remote = options.get("remote")
    if remote:
        builder = builder.remote(expand(str(remote)))
    else:
        builder = builder.master(str(options.get("master", "local[2]")))
        builder = builder.config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
        builder = builder.config("spark.driver.memory", str(options.get("driver_memory", "1g")))
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        raise DataError(f"cannot start Spark ({describe(options)}): {first_line(exc)}") from None
    return ibis.pyspark.connect(session=session)


def _duckdb(
    database: str | None = None, memory_limit: str = MEMORY_LIMIT, threads: int | None = None
) -> ibis.BaseBackend:
    con = ibis.duckdb.connect(database) if database else ibis.duckdb.connect()
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", str(memory_limit).strip(), flags=re.IGNORECASE):
        raise ConfigError(f"`engine.memory_limit` is {memory_limit!r}; write it like 3GB or 512MB.")
    con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.raw_sql(f"SET threads = {int(threads)}")
    # times are UTC throughout; ibis 12 still compiles list lambdas with the arrow syntax DuckDB 1.4+ deprecates
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")  # the CLI says what it is doing; no bars inside pytest or reports
    with contextlib.suppress(Exception):  # older DuckDB: the arrow syntax is the only one, nothing to set
        con.raw_sql("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
    return con
