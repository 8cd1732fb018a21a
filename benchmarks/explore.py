"""Benchmark: the room's explorer on 1M users / ~20M events from Parquet, warm.

A served room opens the data once and warms the session's ledger before anyone asks (room/app.py); then each
participant's question is one exploration. ``segworkshop`` does exactly that (a Session on the folder, its
ledger, then every question twice) and reports the median time of a question once the room is warm
(``work_s``); the warm-up is ``warm_s``. The reference, ``duckdb_sql``, answers each question with hand-written
SQL from the Parquet files on one open connection (units and successes per value, in the subgroup when there is
one), as an analyst at a SQL prompt would; its ``work_s`` is the median per question too.

    python benchmarks/explore.py                  # 1M users (generates the data once)
    python benchmarks/explore.py --users 200000 --rounds 1
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import harness
import yaml

EVENT_TRAITS = {"platform", "country"}
QUESTIONS = [
    {"segment": "platform"},
    {"segment": "channel"},
    {"segment": "age_band"},
    {"segment": "country", "within": {"segment": "platform", "value": "ios"}},
    {"segment": "account_type", "within": {"segment": "channel", "value": "organic"}},
]


def _answer(rows: list[tuple[str, int, int]]) -> dict:
    return {"rows": len(rows), "units": sum(r[1] for r in rows), "successes": sum(r[2] for r in rows)}


def run_segworkshop(data: Path) -> dict:
    from segworkshop.session import Session

    folder = Path(tempfile.mkdtemp(prefix="explore-bench-"))  # the room's journal, not in the data folder
    try:
        config = yaml.safe_load((data / "workshop.yaml").read_text())
        config["data"] = {"events": str(harness.events_path(data)), "users": str(data / "users.parquet")}
        (folder / "workshop.yaml").write_text(yaml.safe_dump(config))
        started = time.perf_counter()
        session = Session(folder, interactive=False)
        session.ledger()
        warm = time.perf_counter() - started
        times, answers = [], []
        for round_ in range(2):
            for q in QUESTIONS:
                t = time.perf_counter()
                result = session.explore(q)
                times.append(time.perf_counter() - t)
                if round_ == 0:
                    rows = result.rows
                    answers.append(
                        [
                            (str(v), int(n), int(x))
                            for v, n, x in zip(rows.value, rows.units, rows.successes, strict=True)
                        ]
                    )
        return {
            "work_s": statistics.median(times),
            "warm_s": round(warm, 2),
            "slowest_s": round(max(times), 3),
            **_answer([r for a in answers for r in a]),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_sql(data: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    events, users = harness.events_glob(data), data / "users.parquet"
    times, answers = [], []
    for q in QUESTIONS:
        t = time.perf_counter()
        seg, within = q["segment"], q.get("within")
        traits = {seg} | ({within["segment"]} if within else set())
        firsts = ", ".join(f"arg_min({c}, ts) FILTER (WHERE {c} IS NOT NULL) AS {c}" for c in traits & EVENT_TRAITS)
        joins = ", ".join(f"u.{c}" for c in traits - EVENT_TRAITS)
        where = (
            f"WHERE coalesce(CAST({within['segment']} AS VARCHAR), '(missing)') = '{within['value']}'" if within else ""
        )
        sql = f"""
            WITH e AS (
                SELECT user_id, event, CAST("timestamp" AS TIMESTAMP) AS ts, platform, country
                FROM read_parquet('{events}')
            ), per_user AS (
                SELECT user_id, min(ts) AS first_seen, min(ts) FILTER (WHERE event = 'purchase') AS first_purchase
                       {", " + firsts if firsts else ""}
                FROM e WHERE user_id IS NOT NULL GROUP BY user_id
            ), units AS (
                SELECT p.*, coalesce(first_purchase <= first_seen + INTERVAL 14 DAY, false) AS success
                       {", " + joins if joins else ""}
                FROM per_user p LEFT JOIN read_parquet('{users}') u ON p.user_id = u.user_id
            )
            SELECT coalesce(CAST({seg} AS VARCHAR), '(missing)') AS value, count(*) AS units,
                   sum(CASE WHEN success THEN 1 ELSE 0 END) AS successes
            FROM units {where} GROUP BY 1 ORDER BY 1
        """
        rows = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t)
        answers.extend((str(v), int(n), int(x)) for v, n, x in rows)
    return {"work_s": statistics.median(times), **_answer(answers)}


VARIANTS = {"segworkshop": run_segworkshop, "duckdb_sql": run_sql}

if __name__ == "__main__":
    harness.run(__file__, VARIANTS, ("rows", "units", "successes"), "duckdb_sql", __doc__)
