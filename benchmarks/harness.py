"""Shared harness for the benchmarks: generated data, one process per variant, alternated rounds, medians.

Each variant is a function ``(data: Path) -> dict`` returning at least ``work_s`` and a few answer fields that
all variants must agree on. It runs in a fresh process (so start-up and imports count, as a user sees them) that
reports its own peak RSS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

Variant = Callable[[Path], dict]


def events_glob(data: Path) -> str:
    folder = data / "events"
    return str(folder / "**" / "*.parquet") if folder.is_dir() else str(data / "events.parquet")


def events_path(data: Path) -> Path:
    folder = data / "events"
    return folder if folder.is_dir() else data / "events.parquet"


def ensure_data(users: int, data: Path | None) -> Path:
    data = data or Path(f"/tmp/segworkshop-bench/ecomm-{users}")
    if not (data / "workshop.yaml").exists():
        from segworkshop import demo

        print(f"generating {users:,} ecomm users into {data} …", flush=True)
        started = time.perf_counter()
        demo.write("ecomm", data, users, seed=0)
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return data


def spark_session(data_gb: float = 3.0):
    """Spark local mode on every core, as segworkshop opens it, with ``data_gb`` of driver memory."""
    from segworkshop.engine import connect

    return connect({"backend": "spark", "master": "local[*]", "driver_memory": f"{data_gb:g}g"})


def jvm_peak_kb() -> int:
    """Peak resident memory (VmHWM) of this process's child JVMs, read before they exit."""
    import os

    me, total = str(os.getpid()), 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == me and "java" in fields.get("Name", ""):
            total += int(fields.get("VmHWM", "0 kB").split()[0])
    return total


def run(script: str, variants: dict[str, Variant], answer_keys: tuple[str, ...], reference: str, doc: str) -> None:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=None, help="a demo-data folder (default: generated in /tmp)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=list(variants), default=None)
    parser.add_argument("--run", choices=list(variants), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:  # child process: one variant, then its own peak memory
        import resource

        result = variants[args.run](args.data)
        # a JVM (Spark) reports its own peak; it counts, as a user's machine holds both processes
        result["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + result.pop("jvm_peak_kb", 0)
        print(json.dumps(result, default=str))
        return

    data = ensure_data(args.users, args.data)
    chosen = args.only or list(variants)
    results: dict[str, list[dict]] = {v: [] for v in chosen}
    for r in range(args.rounds):
        for variant in chosen:
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, script, "--run", variant, "--data", str(data)], capture_output=True, text=True
            )
            wall = time.perf_counter() - started
            if proc.returncode:
                raise SystemExit(f"{variant} failed:\n{proc.stderr[-3000:]}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["wall_s"], result["peak_mb"] = wall, result.pop("peak_kb") / 1024
            results[variant].append(result)
            answer = ", ".join(f"{k} {v}" for k, v in result.items() if k not in ("work_s", "wall_s", "peak_mb"))
            print(
                f"round {r + 1} {variant:<14} wall {wall:6.2f} s  work {result['work_s']:6.2f} s  "
                f"peak {result['peak_mb']:7.0f} MB  {answer}",
                flush=True,
            )
    answers = {tuple(str(res[0][k]) for k in answer_keys) for res in results.values()}
    if len(answers) != 1:
        raise SystemExit(f"the variants disagree: {answers}")
    med = {
        v: {k: statistics.median(x[k] for x in res) for k in ("wall_s", "work_s", "peak_mb")}
        for v, res in results.items()
    }
    base = med.get(reference) or next(iter(med.values()))
    print(f"\nmedian of {args.rounds} round(s) on {data}; ratios against {reference}:")
    print(f"{'variant':<14} {'wall s':>8} {'work s':>8} {'peak MB':>9} {'wall ×':>8} {'work ×':>8} {'peak ×':>8}")
    for v, m in med.items():
        print(
            f"{v:<14} {m['wall_s']:8.2f} {m['work_s']:8.2f} {m['peak_mb']:9.0f} "
            f"{m['wall_s'] / base['wall_s']:8.2f} {m['work_s'] / base['work_s']:8.2f} {m['peak_mb'] / base['peak_mb']:8.2f}"
        )
