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
    rows = [pd.DataFrame({"user_id": ids, "event": "visit", "timestamp": first, "platform": platform})]
    for day in range(1, 8):
        active = rng.random(users) < 0.4
        rows.append(
            pd.DataFrame(
                {
                    "user_id": np.array(ids)[active],
                    "event": "visit",
                    "timestamp": first[active] + pd.Timedelta(days=day),
                    "platform": platform[active],
                }
            )
        )
    searched = rng.random(users) < 0.5
    rows.append(
        pd.DataFrame(
            {
                "user_id": np.array(ids)[searched],
                "event": "search",
                "timestamp": first[searched] + pd.Timedelta(hours=2),
                "platform": platform[searched],
            }
        )
    )
    rows.append(
        pd.DataFrame(
            {
                "user_id": np.array(ids)[bought],
                "event": "cart",
                "timestamp": first[bought] + pd.Timedelta(days=1),
                "platform": platform[bought],
            }
        )
    )
    rows.append(
        pd.DataFrame(
            {
                "user_id": np.array(ids)[bought],
                "event": "purchase",
                "timestamp": first[bought] + pd.Timedelta(days=2),
                "platform": platform[bought],
                "order_value": rng.gamma(2, 30, bought.sum()).round(2),
            }
        )
    )
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
        "  - {name: visit_days, frequency: visit, window_days: 14}\n"
    )
    return folder / "workshop.yaml"


@pytest.fixture
def small_workshop(tmp_path: Path) -> Path:
    return write_small_workshop(tmp_path / "workshop")
