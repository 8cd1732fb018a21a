"""Benchmark at scale: the unit table and `compare` (6 traits) on ~10^8 events / 5M users from Parquet, DuckDB.

Goal (issue 9): under 4 GB peak on a 2-core machine and under 2x hand-written DuckDB SQL. pandas is left out at
this size (it needs several times the memory). Each variant runs once, in its own process.

    python benchmarks/scale.py                    # 5M users (generates ~10^8 events once, a few minutes)
    python benchmarks/scale.py --users 2000000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    common = ["--users", str(args.users), "--rounds", str(args.rounds)]
    for script, variants in (
        ("unit_table.py", ["segworkshop", "duckdb_sql"]),
        ("compare.py", ["segworkshop", "duckdb_sql"]),
    ):
        print(f"\n== {script} at {args.users:,} users ==", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *common, "--only", *variants], check=True)


if __name__ == "__main__":
    main()
