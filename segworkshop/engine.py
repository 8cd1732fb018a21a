"""The query engine: an Ibis connection. DuckDB, embedded, is the default.

Heavy work (scans and aggregates over events) runs in the engine; only aggregates come back as pandas.

``engine:`` in workshop.yaml takes a bare name or URL (``duckdb``, ``postgres://analyst@db:5432/analytics``)
or a mapping with ``url:`` or ``backend:`` plus options (``{backend: spark, master: "local[4]"}``, or a Spark
Connect server: ``sc://host:15002`` or ``{backend: spark, remote: "sc://host:15002"}``). Secrets come
from the environment: ``${VAR}`` anywhere in the URL is replaced by that variable (after the URL is parsed, so its
value is used as it is), and the resulting URL is never printed: messages show it masked by parsing (see
segworkshop.masking: the password, every parameter or key naming a secret), and every secret value an engine holds
is redacted from any message that quotes it. A password written in the URL is percent-decoded (``p%40ss`` is
``p@ss``). From Python, an existing Ibis connection or a SparkSession can be passed instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import ibis

from .errors import ConfigError, DataError, SegworkshopError, first_line
from .masking import mask, mask_setting, redact, remember, split_url

EXTRAS = {"postgres": "postgres", "postgresql": "postgres", "spark": "spark", "pyspark": "spark"}
MODULES = {"postgres": ("psycopg",), "spark": ("pyspark",), "spark-connect": ("pyspark", "grpc")}
SPARK_CONNECT_PORT = 15002
CONNECT_TIMEOUT = 10  # seconds: an unreachable engine fails fast instead of hanging
# DuckDB would otherwise take up to 80% of the machine's memory for its buffers; it spills beyond this, and on the
# 1M-user benchmark a 2 GB cap was as fast as none (peak 2.2 GB instead of 6.2 GB)
MEMORY_LIMIT = "3GB"


def describe(engine: Any) -> str:
    """How an engine is named in messages and reports: backend and host, never a secret (parsed: a password, a
    secret parameter or a key naming a secret is ``***``, a ``credentials_info`` mapping included)."""
    if engine is None or engine == "duckdb":
        return "duckdb (embedded)"
    if isinstance(engine, ibis.BaseBackend):
        return f"{engine.name} (connection passed in)"
    if isinstance(engine, Mapping):
        if "url" in engine:
            return mask(str(engine["url"]))
        shown = mask_setting(engine)
        return ", ".join(f"{k}={v}" for k, v in shown.items())
    if type(engine).__name__ == "SparkSession":
        return "spark (session passed in)"
    return mask(str(engine))


def expand(text: str, where: str = "engine") -> str:
    """Replace ``${VAR}`` with the environment's value; a missing variable is a clear error (not shown)."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"`{where}` uses ${{{name}}}, but the environment has no {name}. Export it first.")
        return os.environ[name]

    return re.sub(r"\$\{(\w+)\}", value, text)


def connect(engine: Any = None) -> ibis.BaseBackend:
    """An Ibis backend for ``engine`` (see the module docstring). Its secrets are remembered first (see
    :func:`segworkshop.masking.remember`), and every error it raises is redacted of them."""
    if isinstance(engine, ibis.BaseBackend):
        return engine
    if type(engine).__name__ == "SparkSession":
        _require("spark")
        return ibis.pyspark.connect(session=engine)
    if engine in (None, "duckdb", {"backend": "duckdb"}):
        return _duckdb()
    remember(engine)
    try:
        return _connect(engine)
    except SegworkshopError as exc:
        raise type(exc)(redact(str(exc), engine)) from None
    except Exception as exc:  # never a traceback that quotes the setting
        raise DataError(
            f"cannot connect to the engine at {describe(engine)}: {redact(first_line(exc), engine)}"
        ) from None


def _connect(engine: Any) -> ibis.BaseBackend:
    if isinstance(engine, str):
        engine = {"url": engine}
    if not isinstance(engine, Mapping):
        raise ConfigError(f"`engine` must be a name, a URL or a mapping, found {type(engine).__name__}.")
    if "url" in engine:
        return _from_url(str(engine["url"]), engine)
    backend = str(engine.get("backend", "")).lower()
    if backend == "duckdb":
        return _duckdb(engine.get("database"), engine.get("memory_limit", MEMORY_LIMIT), engine.get("threads"))
    if backend in ("spark", "pyspark"):
        return _spark(engine)
    if backend in ("postgres", "postgresql"):
        return _from_url("postgres://", engine)
    raise ConfigError(
        f"`engine.backend` is {backend!r}; tested backends are duckdb, postgres and spark (any Ibis URL also works "
        "with `engine: {url: ...}`)."
    )


def postgres_kwargs(url: str) -> dict[str, Any]:
    """What a ``postgres://`` URL (as written, ``${VAR}`` not yet replaced) gives psycopg: host, port, user,
    password, database, schema and every query or ``;`` parameter (``?sslmode=require&sslpassword=...``), each
    percent-decoded as RFC 3986 requires (``p%40ss`` is ``p@ss``). A ``${VAR}``'s value is used as it is (it is
    the secret itself, never decoded), and the URL is split before it is replaced, so a value with ``/ # ? @`` in
    it cannot move the host. A password written with those characters unencoded still connects: the userinfo
    ends at the last ``@`` before the host."""
    parts = split_url(url)
    if parts is None:
        raise ConfigError(f"`engine.url` is {mask(url)!r}; a PostgreSQL URL looks like postgres://user@host:5432/db.")
    host, port = re.fullmatch(r"(\[[^\]]*\]|[^:]*)(?::(.*))?", parts.host).groups()  # [::1]:5432, db:5432, db
    path = re.split(r"[;?&#]", parts.tail, maxsplit=1)[0]
    database, _, schema = path.lstrip("/").partition("/")
    port_text = _decoded(port or "")
    if port_text and not port_text.isdigit():
        raise ConfigError(f"`engine.url` {mask(url)!r} has the port {port_text!r}: write a number (5432).")
    kwargs: dict[str, Any] = {
        "host": _decoded(host).strip("[]") or "localhost",
        "port": int(port_text or 5432),
        "user": _decoded(parts.user) if parts.user else None,
        "password": _decoded(parts.password) if parts.password is not None else None,
        "database": _decoded(database) or None,
    }
    if schema:
        kwargs["schema"] = _decoded(schema)
    for key, value in parts.params():
        kwargs[_decoded(key)] = _decoded(value)
    return kwargs


def _decoded(text: str) -> str:
    """A URL part percent-decoded, with each ``${VAR}`` replaced by its value after decoding (never decoded)."""
    pieces = re.split(r"(\$\{\w+\})", text)
    return "".join(expand(p) if i % 2 else unquote(p) for i, p in enumerate(pieces))


def duckdb_path(url: str) -> str | None:
    """The database file of a ``duckdb://`` URL as Ibis reads it: ``duckdb://w.duckdb`` is relative,
    ``duckdb:///data/w.duckdb`` absolute, ``duckdb://`` in memory (None)."""
    path = url.split("://", 1)[1].split("?", 1)[0] if "://" in url else ""
    return path or None


def _require(extra: str) -> None:
    for module in MODULES[extra]:
        try:
            __import__(module)
        except ImportError:
            name = extra.split("-")[0]
            raise ConfigError(
                f"the {extra} engine needs the {module} package: pip install 'segworkshop[{name}]'"
            ) from None


def _from_url(written: str, options: Mapping) -> ibis.BaseBackend:
    """Connect to the URL ``written`` (``${VAR}`` not yet replaced: replaced here, after it is parsed)."""
    scheme = urlsplit(written).scheme.lower() if "://" in written else written.split(":", 1)[0].lower()
    if scheme.startswith("duckdb"):
        return _duckdb(duckdb_path(expand(written)))
    if scheme == "sc":
        return _spark({**options, "remote": written})
    extra = EXTRAS.get(scheme.split("+")[0])
    if extra:
        _require(extra)
    shown = mask(written)
    try:
        if extra == "postgres":
            kwargs = {"connect_timeout": int(options.get("connect_timeout", CONNECT_TIMEOUT))}
            return ibis.postgres.connect(**{**kwargs, **postgres_kwargs(written)})
        return ibis.connect(expand(written))
    except ConfigError:
        raise
    except Exception as exc:
        message = redact(first_line(exc), options)
        raise DataError(f"cannot connect to the engine at {shown}: {message}") from None


def expand_remote(remote: str) -> str:
    """A Spark Connect address with its ``${VAR}``\\ s replaced: in the ``;key=value`` parameters each value is
    percent-encoded (pyspark decodes them, and a token with ``; = /`` would otherwise break the address)."""
    parts = split_url(remote)
    if parts is None:
        return expand(remote)
    head = expand(remote[: len(remote) - len(parts.tail)])
    tail = re.sub(r"\$\{(\w+)\}", lambda m: quote(expand(m.group(0)), safe=""), parts.tail)
    return head + tail


def _spark(options: Mapping) -> ibis.BaseBackend:
    """Spark local mode (``master``) or a Spark Connect server (``remote``), with the session in UTC."""
    remote = options.get("remote")
    _require("spark-connect" if remote else "spark")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("segworkshop")
    if remote:
        remote = expand_remote(str(remote))
        _reachable(remote, float(options.get("connect_timeout", CONNECT_TIMEOUT)))
        builder = builder.remote(remote)
    else:
        master = str(options.get("master", "local[2]"))
        builder = builder.master(master).config("spark.sql.session.timeZone", "UTC")
        builder = builder.config("spark.driver.memory", str(options.get("driver_memory", "1g")))
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        if master.startswith("local"):
            # one machine: bind to loopback (a laptop's hostname often resolves nowhere), run workers on this
            # Python, no UI, and 8 shuffle partitions instead of 200 tiny tasks per aggregate (20x slower here)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = builder.config("spark.ui.enabled", "false")
            builder = builder.config("spark.sql.shuffle.partitions", str(options.get("shuffle_partitions", 8)))
        elif "shuffle_partitions" in options:
            builder = builder.config("spark.sql.shuffle.partitions", str(options["shuffle_partitions"]))
        # results cross into pandas through Arrow: 480,000 unit rows in 11 s instead of 62 s
        builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    try:
        session = builder.getOrCreate()
        if remote:
            session.conf.set("spark.sql.session.timeZone", "UTC")
        else:
            session.sparkContext.setLogLevel(str(options.get("log_level", "ERROR")))
    except Exception as exc:
        hint = "" if remote else _java_hint(exc)
        message = redact(first_line(exc), options).rstrip(".")
        raise DataError(f"cannot start Spark ({describe(options)}): {message}{hint}") from None
    return ibis.pyspark.connect(session=session)


def _reachable(remote: str, timeout: float) -> None:
    """Fail fast on a Spark Connect server that is not there: its client retries for up to 10 minutes."""
    import socket

    parts = urlsplit(remote)
    try:
        host, port = parts.hostname, parts.port or SPARK_CONNECT_PORT
    except ValueError:
        host = None
    if parts.scheme != "sc" or not host:
        raise ConfigError(f"`engine.remote` is {mask(remote)!r}; a Spark Connect address looks like sc://host:15002.")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise DataError(
            f"cannot connect to the engine at {mask(remote)}: {exc.strerror or exc} (waited at most {timeout:g} s). "
            "Is the Spark Connect server running, and is the port open from here?"
        ) from None


def _java_hint(exc: Exception) -> str:
    """What to do when the JVM behind Spark local mode does not start."""
    if "java" in str(exc).lower():  # no Java, or one pyspark cannot run on (Java 25: JavaSparkContext fails)
        return (
            ". Spark local mode needs Java 17 or 21 (pyspark 4.0 does not run on Java 25): install one (Debian: "
            "apt-get install openjdk-17-jre-headless) and point JAVA_HOME at it (e.g. /usr/lib/jvm/java-17-openjdk-amd64)."
        )
    return ""


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


def backend_name(expr: Any) -> str:
    """The name of the engine an expression runs on (``duckdb`` when it is not bound to one yet)."""
    try:
        return expr._find_backend(use_default=False).name
    except Exception:
        return "duckdb"


def keeps_tables(con: Any) -> bool:
    """Whether ``Table.cache()`` can keep a result on this connection: every engine but a Spark Connect session
    (whose DataFrames cannot be pinned from the client; ibis's cache asserts they are)."""
    session = getattr(con, "_session", None)
    return session is None or not type(session).__module__.startswith("pyspark.sql.connect")
