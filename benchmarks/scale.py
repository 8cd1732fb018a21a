"""Benchmark at scale: the unit table and `compare` (6 traits) on ~10^8 events / 5M users from Parquet, DuckDB.

Goal (issue 9): under 4 GB peak on a 2-core machine and under 2x hand-written DuckDB SQL. pandas is left out at
this size (it needs several times the memory). Each variant runs once, in its own process.

``--spark`` runs the same two on Spark local mode instead, as a reference at ~10^7 events (480,000 users; the
`spark` extra and Java 17), next to hand-written DuckDB SQL. Peak memory there includes the JVM's.

    python benchmarks/scale.py                    # 5M users (generates ~10^8 events once, a few minutes)
    python benchmarks/scale.py --users 2000000
    python benchmarks/scale.py --spark            # 480,000 users, ~10^7 events
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=None, help="default: 5,000,000 (480,000 with --spark)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--spark", action="store_true", help="Spark local mode instead of segworkshop on DuckDB")
    args = parser.parse_args()
    args.users = args.users or (480_000 if args.spark else 5_000_000)
    common = ["--users", str(args.users), "--rounds", str(args.rounds)]
    ours = "spark" if args.spark else "segworkshop"
    for script, variants in (
        ("unit_table.py", [ours, "duckdb_sql"]),
        ("compare.py", [ours, "duckdb_sql"]),
    ):
        print(f"\n== {script} at {args.users:,} users ==", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *common, "--only", *variants], check=True)


if __name__ == "__main__":
    main()
