"""Shared fixtures: a small workshop folder on disk (events CSV + users table + workshop.yaml)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def write_small_workshop(folder: Path, users: int = 600, seed: int = 3) -> Path:
    """A small eComm-like workshop: visits, searches, carts, purchases; traits on events and in a users table."""
    rng = np.random.default_rng(seed)
    ids = [f"u{i:04d}" for i in range(users)]
    first = pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 56 * 86400, users), unit="s")
    channel = rng.choice(["email", "organic", "paid"], users)
    platform = rng.choice(["ios", "android", "web"], users)
    rate = np.where(channel == "email", 0.35, 0.15)
    bought = rng.random(users) < rate
    ids = np.array(ids)

    def happened(who: np.ndarray, event: str, after: pd.Timedelta, **extra) -> pd.DataFrame:
        return pd.DataFrame(
            {"user_id": ids[who], "event": event, "timestamp": first[who] + after, "platform": platform[who], **extra}
        )

    rows = [happened(np.ones(users, bool), "visit", pd.Timedelta(0))]
    for day in range(1, 8):
        rows.append(happened(rng.random(users) < 0.4, "visit", pd.Timedelta(days=day)))
    rows.append(happened(rng.random(users) < 0.5, "search", pd.Timedelta(hours=2)))
    # purchases spread over the 14-day window, so behaviour segments (landmark at day 7) have successes to compare
    day = pd.to_timedelta(rng.integers(1, 14, users), unit="D")
    rows.append(happened(bought, "cart", day[bought] - pd.Timedelta(hours=1)))
    order_value = rng.gamma(2, 30, bought.sum()).round(2)
    rows.append(happened(bought, "purchase", day[bought], order_value=order_value))
    events = pd.concat(rows, ignore_index=True).sort_values(["user_id", "timestamp"])
    events["timestamp"] = events["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    folder.mkdir(parents=True, exist_ok=True)
    events.to_csv(folder / "events.csv", index=False)
    pd.DataFrame({"user_id": ids, "channel": channel}).to_csv(folder / "users.csv", index=False)
    (folder / "workshop.yaml").write_text(
        "title: Small test workshop\n"
        "data: {events: events.csv, users: users.csv}\n"
        "success: {event: purchase, within_days: 14}\n"
        "segments:\n  - channel\n  - platform\n  - {name: searched, did: search}\n"
        "  - {name: visit_days, frequency: visit, window_days: 7}\n"
    )
    return folder / "workshop.yaml"


@pytest.fixture
def small_workshop(tmp_path: Path) -> Path:
    return write_small_workshop(tmp_path / "workshop")


@pytest.fixture
def row_contract() -> list[str]:
    """The first keys of every `compare` JSON row, in order: the stable contract, spelled out here on purpose
    (not imported from the package) so that a change to it fails the contract tests."""
    return [
        "segment",
        "value",
        "units",
        "successes",
        "rate",
        "ci_low",
        "ci_high",
        "lift",
        "p_value",
        "q_value",
        "small",
    ]
