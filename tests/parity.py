"""Helpers shared by the engine-parity tests (PostgreSQL, Spark): one rule for "the same numbers"."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd

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
