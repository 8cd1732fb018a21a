"""Benchmark: the unit table for 1M users / ~20M events from Parquet.

segworkshop (Ibis on DuckDB) against hand-written DuckDB SQL and idiomatic pandas doing the same thing:
"success = purchase within 14 days of the first event; first seen, last seen, events, success, time to
success; two traits from the events (value on the first event that has one) and four from the users table".

Each variant runs in its own process, rounds alternate, and the median is reported: wall time of the whole
process (start-up and imports included, as a user sees it), the time of the work itself, and peak RSS.
All three must agree on the number of units and successes.

    python benchmarks/unit_table.py                   # 1M users (generates the data once, ~1 min)
    python benchmarks/unit_table.py --users 200000 --rounds 1
"""

from __future__ import annotations

import time
from pathlib import Path

import harness

EVENT_TRAITS = ["platform", "country"]
USER_TRAITS = ["channel", "account_type", "newsletter", "age_band"]
WINDOW_DAYS = 14


def run_segworkshop(data: Path) -> dict:
    from segworkshop import Workshop

    started = time.perf_counter()
    ws = Workshop.load(data / "workshop.yaml")
    table = ws.unit_table(traits=EVENT_TRAITS + USER_TRAITS).to_pandas()
    return _result(table, started)


def run_spark(data: Path) -> dict:
    """The same call on Spark local mode (a reference: Spark pays off on a cluster, not on 2 cores)."""
    from segworkshop import Workshop

    started = time.perf_counter()
    ws = Workshop.load(data / "workshop.yaml", con=harness.spark_session())
    table = ws.unit_table(traits=EVENT_TRAITS + USER_TRAITS).to_pandas()
    return {**_result(table, started), "jvm_peak_kb": harness.jvm_peak_kb()}


def run_sql(data: Path) -> dict:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    events = harness.events_glob(data)
    traits = ", ".join(f"arg_min({c}, ts) FILTER (WHERE {c} IS NOT NULL) AS {c}" for c in EVENT_TRAITS)
    user_cols = ", ".join(f"u.{c}" for c in USER_TRAITS)
    sql = f"""
        WITH e AS (
            SELECT user_id, event, CAST("timestamp" AS TIMESTAMP) AS ts, {", ".join(EVENT_TRAITS)}
            FROM read_parquet('{events}')
        ), per_user AS (
            SELECT user_id, min(ts) AS first_seen, max(ts) AS last_seen, count(*) AS events,
                   min(ts) FILTER (WHERE event = 'purchase') AS first_purchase, {traits}
            FROM e WHERE user_id IS NOT NULL GROUP BY user_id
        )
        SELECT p.user_id AS unit_id, first_seen, last_seen, events, first_seen AS start_at,
               coalesce(first_purchase <= first_seen + INTERVAL {WINDOW_DAYS} DAY, false) AS success,
               CASE WHEN first_purchase <= first_seen + INTERVAL {WINDOW_DAYS} DAY THEN first_purchase END
                   AS success_at,
               {", ".join(f"p.{c}" for c in EVENT_TRAITS)}, {user_cols}
        FROM per_user p LEFT JOIN read_parquet('{data / "users.parquet"}') u ON p.user_id = u.user_id
    """
    table = con.execute(sql).df()
    return _result(table, started)


def run_pandas(data: Path) -> dict:
    import pandas as pd

    started = time.perf_counter()
    events = pd.read_parquet(harness.events_path(data), columns=["user_id", "event", "timestamp", *EVENT_TRAITS])
    events = events.sort_values("timestamp", kind="stable")
    grouped = events.groupby("user_id", sort=False)
    per_user = grouped["timestamp"].agg(first_seen="min", last_seen="max", events="size")
    per_user = per_user.join(grouped[EVENT_TRAITS].first())  # first() skips nulls: first value there is
    purchases = events.loc[events["event"] == "purchase"].groupby("user_id")["timestamp"].min()
    per_user["first_purchase"] = purchases
    ok = per_user["first_purchase"] <= per_user["first_seen"] + pd.Timedelta(days=WINDOW_DAYS)
    per_user["success"] = ok
    per_user["success_at"] = per_user["first_purchase"].where(ok)
    users = pd.read_parquet(data / "users.parquet", columns=["user_id", *USER_TRAITS]).set_index("user_id")
    table = per_user.join(users).reset_index().rename(columns={"user_id": "unit_id"})
    return _result(table, started)


VARIANTS = {"segworkshop": run_segworkshop, "duckdb_sql": run_sql, "pandas": run_pandas, "spark": run_spark}


def _result(table, started: float) -> dict:
    return {"work_s": time.perf_counter() - started, "units": len(table), "successes": int(table["success"].sum())}


if __name__ == "__main__":
    harness.run(__file__, VARIANTS, ("units", "successes"), "duckdb_sql", __doc__)
