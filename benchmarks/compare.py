"""Benchmark: `compare` with 6 traits on 1M users / ~20M events from Parquet.

segworkshop's compare (unit table in the engine, counts per trait value in one query, then intervals, tests and
BH in Python) against hand-written DuckDB SQL computing the same counts, and idiomatic pandas. ``segworkshop``
skips the strata (Simpson) checks so the work is the same; ``sw_strata`` adds them (15 pairs of traits);
``cli`` and ``cli_strata`` are the command a user runs (``segworkshop compare --format json``), whose process
time (the ``wall`` column: start-up, imports, output) is what a user waits for.

    python benchmarks/compare.py                  # 1M users (generates the data once)
    python benchmarks/compare.py --users 200000 --rounds 1
"""

from __future__ import annotations

import time
from pathlib import Path

import harness

EVENT_TRAITS = ["platform", "country"]
USER_TRAITS = ["channel", "account_type", "newsletter", "age_band"]
TRAITS = EVENT_TRAITS + USER_TRAITS


def _segworkshop(data: Path, strata: bool) -> dict:
    from segworkshop import Workshop
    from segworkshop.compare import compare

    started = time.perf_counter()
    result = compare(Workshop.load(data / "workshop.yaml"), TRAITS, strata=strata)
    rows = result.rows
    return {"work_s": time.perf_counter() - started, "rows": len(rows), "units": int(rows.units.sum())}


def run_segworkshop(data: Path) -> dict:
    return _segworkshop(data, strata=False)


def run_spark(data: Path) -> dict:
    """The same call on Spark local mode (a reference: Spark pays off on a cluster, not on 2 cores)."""
    from segworkshop import Workshop
    from segworkshop.compare import compare

    started = time.perf_counter()
    rows = compare(Workshop.load(data / "workshop.yaml", con=harness.spark_session()), TRAITS, strata=False).rows
    result = {"work_s": time.perf_counter() - started, "rows": len(rows), "units": int(rows.units.sum())}
    return {**result, "jvm_peak_kb": harness.jvm_peak_kb()}


def run_segworkshop_strata(data: Path) -> dict:
    return _segworkshop(data, strata=True)


def _cli(data: Path, strata: bool) -> dict:
    """The command a user runs, ``segworkshop compare --by … --format json``, in this fresh process: its
    imports, reading workshop.yaml and printing count (compare the ``wall`` column with duckdb_sql's)."""
    import contextlib
    import io
    import json

    from segworkshop.cli import main

    started = time.perf_counter()
    args = ["compare", str(data / "workshop.yaml"), "--format", "json", *[a for t in TRAITS for a in ("--by", t)]]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main([*args, *([] if strata else ["--no-strata"])], standalone_mode=False)
    rows = json.loads(out.getvalue())["rows"]
    return {"work_s": time.perf_counter() - started, "rows": len(rows), "units": sum(r["units"] for r in rows)}


def run_cli(data: Path) -> dict:
    return _cli(data, strata=False)


def run_cli_strata(data: Path) -> dict:
    return _cli(data, strata=True)


def run_sql(data: Path) -> dict:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    traits = ", ".join(f"arg_min({c}, ts) FILTER (WHERE {c} IS NOT NULL) AS {c}" for c in EVENT_TRAITS)
    per_trait = " UNION ALL ".join(
        f"SELECT '{c}' AS segment, coalesce(CAST({c} AS VARCHAR), '(missing)') AS value, count(*) AS units, "
        f"sum(CASE WHEN success THEN 1 ELSE 0 END) AS successes FROM units GROUP BY 2"
        for c in TRAITS
    )
    sql = f"""
        WITH e AS (
            SELECT user_id, event, CAST("timestamp" AS TIMESTAMP) AS ts, {", ".join(EVENT_TRAITS)}
            FROM read_parquet('{harness.events_glob(data)}')
        ), per_user AS (
            SELECT user_id, min(ts) AS first_seen, min(ts) FILTER (WHERE event = 'purchase') AS first_purchase,
                   {traits}
            FROM e WHERE user_id IS NOT NULL GROUP BY user_id
        ), units AS (
            SELECT p.*, coalesce(first_purchase <= first_seen + INTERVAL 14 DAY, false) AS success,
                   {", ".join(f"u.{c}" for c in USER_TRAITS)}
            FROM per_user p LEFT JOIN read_parquet('{data / "users.parquet"}') u ON p.user_id = u.user_id
        )
        {per_trait}
    """
    rows = con.execute(sql).df()
    return {"work_s": time.perf_counter() - started, "rows": len(rows), "units": int(rows.units.sum())}


def run_pandas(data: Path) -> dict:
    import pandas as pd

    started = time.perf_counter()
    events = pd.read_parquet(harness.events_path(data), columns=["user_id", "event", "timestamp", *EVENT_TRAITS])
    events = events.sort_values("timestamp", kind="stable")
    grouped = events.groupby("user_id", sort=False)
    units = grouped["timestamp"].min().rename("first_seen").to_frame().join(grouped[EVENT_TRAITS].first())
    units["first_purchase"] = events.loc[events.event == "purchase"].groupby("user_id")["timestamp"].min()
    units["success"] = units.first_purchase <= units.first_seen + pd.Timedelta(days=14)
    users = pd.read_parquet(data / "users.parquet", columns=["user_id", *USER_TRAITS]).set_index("user_id")
    units = units.join(users)
    parts = []
    for c in TRAITS:
        g = units.groupby(units[c].astype("object").fillna("(missing)").astype(str)).success.agg(["size", "sum"])
        parts.append(g.rename(columns={"size": "units", "sum": "successes"}).assign(segment=c))
    rows = pd.concat(parts)
    return {"work_s": time.perf_counter() - started, "rows": len(rows), "units": int(rows.units.sum())}


VARIANTS = {
    "segworkshop": run_segworkshop,
    "sw_strata": run_segworkshop_strata,
    "cli": run_cli,
    "cli_strata": run_cli_strata,
    "duckdb_sql": run_sql,
    "pandas": run_pandas,
    "spark": run_spark,
}

if __name__ == "__main__":
    harness.run(__file__, VARIANTS, ("rows", "units"), "duckdb_sql", __doc__)
