"""Helpers shared by the engine-parity tests (PostgreSQL, Spark): one rule for "the same numbers"."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

RATES = ("rate", "ci_low", "ci_high", "lift", "p_value", "q_value")


def assert_same_rows(
    a: pd.DataFrame, b: pd.DataFrame, keys: list[str], counts=("units", "successes"), floats=RATES
) -> None:
    """Same rows by ``keys``; counts exactly equal, rates and p-values within 1e-12."""
    merged = a.merge(b, on=keys, suffixes=("_a", "_b"), how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for c in counts:
        assert (merged[f"{c}_a"] == merged[f"{c}_b"]).all(), c
    for c in floats:
        if f"{c}_a" in merged:
            assert np.allclose(merged[f"{c}_a"], merged[f"{c}_b"], rtol=0, atol=1e-12, equal_nan=True), c


def free_port() -> int:
    """A TCP port nothing listens on right now (for a throwaway server, or an address that must not answer)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def relocated(workshop: Path, folder: Path, **extra) -> Path:
    """A copy of ``workshop`` (a workshop.yaml) in ``folder`` with absolute data paths and ``extra`` keys added,
    e.g. ``engine=...``: the bundled demo folders stay untouched, even when a test is killed."""
    raw = yaml.safe_load(workshop.read_text())
    raw["data"] = {
        k: str((workshop.parent / v).resolve()) if k in ("events", "users", "accounts") and isinstance(v, str) else v
        for k, v in raw["data"].items()
    }
    target = folder / "workshop.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump({**raw, **extra}, sort_keys=False))
    return target
