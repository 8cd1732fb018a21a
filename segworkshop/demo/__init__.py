"""Seeded generator of realistic product-analytics demo data: SaaS trials, eComm, FinServ applications.

Each kind has an events table (``user_id, event, timestamp, session_id`` plus property / trait columns), a users
table, and for SaaS an accounts table, with four truths embedded on purpose so that a workshop has something real
to find (documented in ``data/README.md`` and returned machine-readably in :attr:`DemoData.truths`):

1. **twice** - one trait value whose success rate is about twice the rest's;
2. **tipping** - "days a week doing X" (distinct UTC calendar days with X in ``[first, first + 14 days)``, halved
   and rounded down: 1..7): success is flat below 4 and about 2.7x higher, flat again, from 4 up. Each unit does X
   on exactly its bucket's number of days in *each* week of the window (the first week always includes day 0,
   where X is part of the first session, so there is no 0 bucket), so the first week alone - what the landmark
   rule measures, with success compared after day 7 - shows the same step;
3. **friction** - on one mobile platform, for units first seen between two dates, one step fails far more often,
   so their success rate is about halved in that period only;
4. **simpson** - a binary trait that wins inside every stratum of another trait and loses overall.

Everything is vectorised with numpy (loops run over a handful of event types and over chunks of units only) and
seeded: the same ``(kind, units, seed)`` gives byte-identical data. Units are generated in chunks of a fixed
size, each with its own seed derived from ``(seed, kind, chunk)``, so :func:`write` can stream a million units to
Parquet part files with bounded memory and :func:`generate` gives the same rows.

How success is drawn: each unit has a success probability that is a product of independent factors (trait,
activity bucket, platform, ...). Success is then drawn by *systematic sampling* within cells ordered by the
designed factors, so rates in every designed cell sit within a unit or so of their expected value (less
binomial noise than coin flips, which keeps the small bundled datasets' truths clean); which units succeed
is still random.

The three datasets (each described in its module and, with measured figures, in ``data/README.md``):

* **ecomm** (:mod:`.ecomm`) - an online shop; unit: user; success: ``purchase`` within 14 days;
* **saas** (:mod:`.saas`) - a B2B free trial; unit: account (its users are the owner and invitees); success:
  ``subscription_started`` within 30 days; the only kind with an accounts table;
* **finserv** (:mod:`.finserv`) - an insurer's quote and application; unit: user; success: ``policy_issued``
  within 30 days, reached through the stages :data:`FINSERV_STAGES` in order.

The package: this module is the public face (:data:`DATASETS`, :data:`BUNDLED_UNITS`, :func:`truths`,
:func:`generate`, :func:`write`, :func:`workshop_yaml`) and the chunk loop; :mod:`.common` holds what the kinds
share (time frame, truth parameters, random helpers, sessions to events, ids, the events table's finishing); each
kind's module holds its ``SPEC`` (events, success, segments, truths), its constants and its ``chunk`` generator.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import ecomm, finserv, saas
from .common import (  # the shared time frame and truth parameters stay importable from here, as before
    AGE_BANDS,
    BUCKET_WEIGHTS,
    DAY_MS,
    DUPLICATE_SHARE,
    END_MS,
    FRICTION_END,
    FRICTION_START,
    HOUR_MS,
    SIGNUP_DAYS,
    START,
    START_MS,
    THRESHOLD,
    WINDOW_DAYS,
    _Chunk,
    _id_width,
    _Kind,
)
from .finserv import STAGES as FINSERV_STAGES

__all__ = [
    "AGE_BANDS",
    "BUCKET_WEIGHTS",
    "BUNDLED_UNITS",
    "CHUNK_UNITS",
    "DATASETS",
    "DAY_MS",
    "DUPLICATE_SHARE",
    "END_MS",
    "FINSERV_STAGES",
    "FRICTION_END",
    "FRICTION_START",
    "HOUR_MS",
    "SIGNUP_DAYS",
    "SPECS",
    "START",
    "START_MS",
    "THRESHOLD",
    "WINDOW_DAYS",
    "DemoData",
    "generate",
    "truths",
    "workshop_yaml",
    "write",
]

DATASETS = ("saas", "ecomm", "finserv")
# Sizes of the datasets bundled in data/<kind>/ (units: accounts for saas, users otherwise).
BUNDLED_UNITS = {"saas": 5_000, "ecomm": 20_000, "finserv": 20_000}
# Units generated (and written) per chunk: bounds memory for large runs; fixed so chunking is deterministic.
CHUNK_UNITS = {"saas": 50_000, "ecomm": 200_000, "finserv": 200_000}

_KIND_IDS = {"saas": 1, "ecomm": 2, "finserv": 3}


@dataclass(frozen=True)
class DemoData:
    """One generated dataset: events, users, accounts (SaaS only) and the truths embedded in it."""

    kind: str
    events: pd.DataFrame
    users: pd.DataFrame
    accounts: pd.DataFrame | None
    truths: dict = field(default_factory=dict)


SPECS: dict[str, _Kind] = {"ecomm": ecomm.SPEC, "saas": saas.SPEC, "finserv": finserv.SPEC}


def truths(kind: str) -> dict:
    """The machine-readable truths embedded in dataset ``kind`` (designed values; README has measured ones)."""
    spec = _spec(kind)
    out = {k: dict(v) for k, v in spec.truths.items()}
    out["success"] = {"event": spec.success_event, "within_days": spec.within_days}
    out["unit"] = spec.unit
    out["duplicates"] = {"share": DUPLICATE_SHARE}
    if kind == "finserv":
        out["success"]["sequence"] = list(FINSERV_STAGES)
    return out


def _spec(kind: str) -> _Kind:
    if kind not in SPECS:
        raise ValueError(f"unknown demo kind {kind!r}; kinds: {', '.join(DATASETS)}.")
    return SPECS[kind]


# ---------------------------------------------------------------------------------------------- public API


def _chunks(kind: str, units: int, seed: int) -> Iterator[tuple[int, int, _Chunk]]:
    """Yield (chunk index, number of chunks, chunk) in order; each chunk has its own derived seed."""
    _spec(kind)
    units = int(units)
    if units < 1:
        raise ValueError(f"units must be at least 1, got {units}.")
    size = CHUNK_UNITS[kind]
    n_chunks = -(-units // size)
    width = _id_width(10 * units if kind == "saas" else units - 1)
    next_user = 0
    for i in range(n_chunks):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, _KIND_IDS[kind], i]))
        first = i * size
        n = min(size, units - first)
        if kind == "ecomm":
            chunk = ecomm.chunk(rng, n, first, width)
        elif kind == "finserv":
            chunk = finserv.chunk(rng, n, first, width)
        else:
            chunk = saas.chunk(rng, n, first, next_user, width, _id_width(units - 1))
            next_user += chunk.users.num_rows
        yield i, n_chunks, chunk


def generate(kind: str, units: int, seed: int = 0) -> DemoData:
    """Generate dataset ``kind`` (saas, ecomm, finserv) with ``units`` users (accounts for saas) in memory."""
    parts = [chunk for _, _, chunk in _chunks(kind, units, seed)]
    events = pa.concat_tables([c.events for c in parts]).to_pandas()
    users = pa.concat_tables([c.users for c in parts]).to_pandas()
    accounts = pa.concat_tables([c.accounts for c in parts]).to_pandas() if kind == "saas" else None
    return DemoData(kind=kind, events=events, users=users, accounts=accounts, truths=truths(kind))


def workshop_yaml(kind: str, events_path: str = "events.parquet") -> str:
    """The ``workshop.yaml`` text for a generated dataset (paths relative to the file)."""
    spec = _spec(kind)
    lines = [
        f"title: {spec.title}",
        "data:",
        f"  events: {events_path}",
        "  users: users.parquet",
    ]
    if kind == "saas":
        lines.append("  accounts: accounts.parquet")
    lines += [
        f"unit: {spec.unit}",
        "success:",
        f"  event: {spec.success_event}",
        f"  within_days: {spec.within_days}",
        f"segments: [{', '.join(spec.segments)}]",
        "privacy:",
        "  min_units: 10",
    ]
    return "\n".join(lines) + "\n"


_PARQUET = {"compression": "zstd"}
# random millisecond timestamps dominate the files: delta-encode them (and the near-unique session ids)
_EVENTS_PARQUET = {
    **_PARQUET,
    "use_dictionary": ["user_id", "event", "account_id", "platform", "country", "device"],
    "column_encoding": {"timestamp": "DELTA_BINARY_PACKED", "session_id": "DELTA_BYTE_ARRAY"},
}


def _events_options(table: pa.Table) -> dict:
    return {
        **_EVENTS_PARQUET,
        "use_dictionary": [c for c in _EVENTS_PARQUET["use_dictionary"] if c in table.column_names],
    }


def write(
    kind: str,
    out_dir: Path,
    units: int,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Generate dataset ``kind`` chunk by chunk into ``out_dir``: events (``events.parquet``, or a folder
    ``events/`` of part files when there is more than one chunk), ``users.parquet``, ``accounts.parquet`` (saas)
    and ``workshop.yaml``. Memory stays bounded by one chunk. Returns ``out_dir``."""
    _spec(kind)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # remove a previous run's events so that a stale file or part never mixes in
    (out_dir / "events.parquet").unlink(missing_ok=True)
    if (out_dir / "events").is_dir():
        shutil.rmtree(out_dir / "events")
    writers: dict[str, pq.ParquetWriter] = {}
    events_path = "events.parquet"
    total = 0
    try:
        for i, n_chunks, chunk in _chunks(kind, units, seed):
            if n_chunks == 1:
                pq.write_table(chunk.events, out_dir / "events.parquet", **_events_options(chunk.events))
            else:
                events_path = "events"
                (out_dir / "events").mkdir(exist_ok=True)
                pq.write_table(
                    chunk.events, out_dir / "events" / f"part-{i:05d}.parquet", **_events_options(chunk.events)
                )
            total += chunk.events.num_rows
            for name, table in (("users", chunk.users), ("accounts", chunk.accounts)):
                if table is None:
                    continue
                if name not in writers:
                    writers[name] = pq.ParquetWriter(out_dir / f"{name}.parquet", table.schema, **_PARQUET)
                writers[name].write_table(table)
            if progress:
                progress(f"{kind}: chunk {i + 1}/{n_chunks} written ({total:,} events so far)")
            del chunk
    finally:
        for w in writers.values():
            w.close()
    (out_dir / "workshop.yaml").write_text(workshop_yaml(kind, events_path), encoding="utf-8")
    return out_dir
