"""The room under a session's load: `segworkshop serve` on a workshop, N simulated participants on loopback.

Each participant joins, polls the room's state every 1.5 s (as the page does), enters a hypothesis and a
finding, and asks the explorer a few questions. Prints the server's memory (RSS, PSS of its process) idle and
under load, time to the first page, and explorer and poll latencies (median, p95), bounded in time.

    .venv/bin/python benchmarks/room.py                              # the eComm example session, 12 participants
    .venv/bin/python benchmarks/room.py --workshop DIR --people 12 --questions 3

psutil is needed (it comes with the lab extra's dependencies); the server listens on 127.0.0.1 only and is
stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> tuple[float, float]:
    """RSS and PSS of the server process, in MB."""
    info = psutil.Process(pid).memory_full_info()
    return info.rss / 2**20, getattr(info, "pss", info.rss) / 2**20


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


async def participant(base: str, token: str, i: int, questions: int, traits: list[str], out: dict) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        head = {"X-Room-Token": token}
        got = await client.post("/api/join", headers=head, json={"name": f"Participant {i}"})
        head |= {"X-Name": f"Participant%20{i}", "X-Key": got.json()["key"]}
        options = (await client.get("/api/options", headers=head)).json()
        segment = next(iter(options["segments"]))
        value = options["segments"][segment][0]

        async def poll() -> None:
            for _ in range(int(questions * 4)):
                started = time.perf_counter()
                r = await client.get("/api/state", headers=head)
                out["poll"].append(time.perf_counter() - started)
                out["errors"] += r.status_code != 200
                await asyncio.sleep(1.5)

        async def work() -> None:
            r = await client.post("/api/hypotheses", headers=head, json={"segment": segment, "value": value})
            out["errors"] += r.status_code != 200
            for q in range(questions):
                started = time.perf_counter()
                r = await client.post("/api/explore", headers=head, json={"segment": traits[(i + q) % len(traits)]})
                out["explore"].append(time.perf_counter() - started)
                out["errors"] += r.status_code != 200
            r = await client.post("/api/findings", headers=head, json={"text": f"finding {i}", "tag": "learning"})
            out["errors"] += r.status_code != 200

        await asyncio.gather(poll(), work())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workshop", type=Path, default=ROOT / "workshop" / "examples" / "ecomm")
    parser.add_argument("--people", type=int, default=12)
    parser.add_argument("--questions", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="segworkshop-room-bench-")) / "workshop"
    shutil.copytree(args.workshop, folder, ignore=shutil.ignore_patterns(".segworkshop", "reports"))
    text = (folder / "workshop.yaml").read_text()
    (folder / "workshop.yaml").write_text(text.replace("../../../data/", str(ROOT / "data") + "/"))
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "segworkshop", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        while not any("participants join:" in line for line in lines):
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the server stopped:\n" + "".join(lines))
            lines.append(line)
        join = next(line for line in lines if "participants join:" in line).split(": ", 1)[1].strip()
        token = join.split("t=", 1)[1]
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                first = httpx.get(base + "/", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        ready = time.perf_counter() - started
        idle = memory(server.pid)
        traits = [
            o["spec"] for o in httpx.get(base + "/api/options", headers={"X-Room-Token": token}).json()["explore"]
        ]
        traits = [t for t in traits if isinstance(t, str)][:6] or traits[:6]
        out: dict = {"explore": [], "poll": [], "errors": 0}
        cpu = psutil.Process(server.pid)
        cpu.cpu_percent()
        load_started = time.perf_counter()

        async def everyone() -> None:
            jobs = [participant(base, token, i, args.questions, traits, out) for i in range(args.people)]
            await asyncio.wait_for(asyncio.gather(*jobs), timeout=600)

        asyncio.run(everyone())
        seconds = time.perf_counter() - load_started
        used = cpu.cpu_percent()
        loaded = memory(server.pid)
        print(f"room benchmark: {args.people} participants, {args.questions} explorer questions each, {folder}")
        print(f"  first page after start: {ready:.1f} s (status {first.status_code})")
        print(f"  server memory idle: RSS {idle[0]:.0f} MB, PSS {idle[1]:.0f} MB")
        print(f"  server memory after the load: RSS {loaded[0]:.0f} MB, PSS {loaded[1]:.0f} MB")
        e, p = out["explore"], out["poll"]
        print(
            f"  explorer: {len(e)} questions, median {statistics.median(e):.2f} s, p95 {p95(e):.2f} s, max {max(e):.2f} s"
        )
        print(f"  state polls: {len(p)}, median {1000 * statistics.median(p):.0f} ms, p95 {1000 * p95(p):.0f} ms")
        print(f"  load lasted {seconds:.1f} s; server CPU {used:.0f}% of one core on average; errors: {out['errors']}")
    finally:
        os.killpg(server.pid, 15)
        server.wait(10)


if __name__ == "__main__":
    main()
