"""Benchmark: `discover` on 1M users / ~20M events from Parquet.

There is no hand-written equivalent to race (the scan decides what to look at from the data), so this prints
segworkshop's own time and peak memory, broken into the scan's preparation (candidate segments, the per-unit
table built once in the engine) and one evaluation (counts, tests, BH, ranking, pairs, tipping points), and, as
the reference point, the unit-table and compare benchmarks (same data) give the engine's floor.

    python benchmarks/discover.py                 # 1M users (generates the data once)
    python benchmarks/discover.py --users 200000 --rounds 1
"""

from __future__ import annotations

import time
from pathlib import Path

import harness


def run_segworkshop(data: Path) -> dict:
    from segworkshop import Workshop
    from segworkshop.discover import Scan

    started = time.perf_counter()
    scan = Scan(Workshop.load(data / "workshop.yaml"))
    prepared = time.perf_counter()
    result = scan.run()
    done = time.perf_counter()
    return {
        "work_s": done - started,
        "prepare_s": round(prepared - started, 2),
        "evaluate_s": round(done - prepared, 2),
        "evaluated": result.evaluated,
        "units": result.baseline["units"],
    }


VARIANTS = {"segworkshop": run_segworkshop}

if __name__ == "__main__":
    harness.run(__file__, VARIANTS, ("evaluated", "units"), "segworkshop", __doc__)
