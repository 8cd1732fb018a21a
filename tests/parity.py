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


def people_events(people: int = 120, seed: int = 11) -> pd.DataFrame:
    """Segment-warehouse-like events of people who browse anonymously, then (some) log in: ids to stitch, a
    plan in JSON-text properties, zone-less local times. The same frame goes to every engine."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2026-01-05 08:00")
    for p in range(people):
        t = start + pd.Timedelta(minutes=int(rng.integers(0, 20 * 24 * 60)))
        anonymous, user = f"anon-{p}", (f"user-{p}" if p % 4 else None)
        plan = ["free", "pro", "team"][p % 3]
        buy = rng.random() < (0.2 + 0.2 * (p % 3))
        rows.append((None, anonymous, "view", t, "{}"))
        if user:
            rows.append((user, anonymous, "login", t + pd.Timedelta(hours=1), f'{{"plan": "{plan}"}}'))
            if buy:
                rows.append((user, anonymous, "purchase", t + pd.Timedelta(days=3), f'{{"plan": "{plan}"}}'))
        elif buy:
            rows.append((None, anonymous, "purchase", t + pd.Timedelta(days=2), "{}"))
    rows.append(("late", "anon-late", "view", start + pd.Timedelta(days=60), "{}"))
    frame = pd.DataFrame(rows, columns=["user_id", "anonymous_id", "event", "timestamp", "properties"])
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame


PEOPLE_WORKSHOP = {
    "identity": {"known": "user_id", "anonymous": "anonymous_id"},
    "time_zone": "America/New_York",
}
PEOPLE_SUCCESS = {"event": "purchase", "within_days": 14}


def assert_same_people(local, remote) -> None:
    """Stitched people, their start (converted from local time), success and plan: equal on both engines."""
    a = local.unit_table(traits=["properties.plan"]).to_pandas().sort_values("unit_id", ignore_index=True)
    b = remote.unit_table(traits=["properties.plan"]).to_pandas().sort_values("unit_id", ignore_index=True)
    cols = ["unit_id", "start_at", "success", "properties.plan"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_dtype=False)
    assert a.unit_id.nunique() == 121  # 120 people and the late one, not 211 ids
    assert local.baseline() == remote.baseline()


def chromium() -> str:
    """Debian's chromium for the browser tests (never a browser a tool downloads): in CI its absence fails the
    test (tests/run.sh installs it), elsewhere it skips."""
    import os
    import shutil

    import pytest

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: tests/run.sh installs Debian's chromium for this test")
        pytest.skip("needs Debian's chromium (tests/run.sh installs it)")
    return found


# what exports write for "no id" (sources.NO_ID, blanks and invisible characters around it), spelled out here
PLACEHOLDER_IDS = ["NULL", "None", "NaN", "null", "", " ", "\u00a0", "\u200b", "nan ", "\u00a0NULL\u200b", "(null)"]


def placeholder_events(users: int = 60) -> pd.DataFrame:
    """``users`` users visit, every third purchases the next day; and events whose user id is a placeholder
    (each spelling visits and purchases), which must count as no one on every engine."""
    rows = []
    start = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    for u in range(users):
        t = start + pd.Timedelta(hours=u)
        rows.append((f"u{u:03d}", "visit", t))
        if u % 3 == 0:
            rows.append((f"u{u:03d}", "purchase", t + pd.Timedelta(days=1)))
    rows.append(("u000", "visit", start + pd.Timedelta(days=30)))  # the data end: every 7-day window closed
    for i, x in enumerate(PLACEHOLDER_IDS):
        rows += [(x, "visit", start + pd.Timedelta(minutes=i)), (x, "purchase", start + pd.Timedelta(hours=i + 1))]
    return pd.DataFrame(rows, columns=["user_id", "event", "timestamp"])
