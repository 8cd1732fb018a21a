"""Unsuccessful users: shares among the unsuccessful vs the successful, against pandas and statsmodels; stops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from segworkshop import Workshop
from segworkshop.unsuccessful import profile, stopping_points


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(21)
    n = 2500
    ids = np.array([f"u{i:05d}" for i in range(n)])
    first = pd.Timestamp("2026-02-02") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s")
    plan = rng.choice(["free", "pro"], n, p=[0.7, 0.3])
    reach = rng.integers(0, 4, n)  # how many of the three steps a user reaches
    reach = np.where(plan == "pro", np.where(rng.random(n) < 0.6, 3, 2), reach)  # pro: mostly all the way
    late = (reach == 3) & (rng.random(n) < 0.2)  # every step, but after the 14-day window
    offset = np.where(late, 20 * 24, 0)  # hours
    rows = [pd.DataFrame({"user_id": ids, "event": "visit", "timestamp": first})]
    for k, step in enumerate(["signup", "setup", "upgrade"]):
        got = reach > k
        hours = offset[got] + 6 * (k + 1)
        rows.append(
            pd.DataFrame(
                {"user_id": ids[got], "event": step, "timestamp": first[got] + pd.to_timedelta(hours, unit="h")}
            )
        )
    events = pd.concat(rows, ignore_index=True)
    users = pd.DataFrame({"user_id": ids, "plan": plan})
    return events, users


@pytest.fixture(scope="module")
def ws(frames):
    events, users = frames
    return Workshop.from_dict(
        {
            "data": {"events": events, "users": users},
            "success": {"sequence": ["signup", "setup", "upgrade"], "within_days": 14},
            "segments": ["plan"],
        }
    )


def test_profile_matches_pandas(ws):
    units = ws.unit_table(traits=["plan"]).to_pandas()
    rows = profile(ws).set_index("value")
    failed, won = units[~units.success], units[units.success]
    p_values = []
    for value in ["free", "pro"]:
        a = int((failed.plan == value).sum())
        b = int((won.plan == value).sum())
        r = rows.loc[value]
        assert r.unsuccessful == a and r.units == int((units.plan == value).sum())
        assert r.share_unsuccessful == pytest.approx(a / len(failed))
        assert r.share_successful == pytest.approx(b / len(won))
        assert (r.diff_ci_low, r.diff_ci_high) == pytest.approx(
            confint_proportions_2indep(a, len(failed), b, len(won), method="newcomb", compare="diff")
        )
        p_values.append(r.p_value)
    assert np.allclose(rows.loc[["free", "pro"], "q_value"], multipletests(p_values, method="fdr_bh")[1])
    assert rows.loc["free", "over_represented"] and not rows.loc["pro", "over_represented"]


def test_stopping_points(ws):
    units = ws.unit_table(traits=[]).to_pandas()
    stops = stopping_points(ws).set_index("steps_reached")
    failed = units[~units.success]
    for k in range(4):
        assert stops.loc[k, "units"] == int((failed.steps_reached == k).sum())
    assert stops.loc[0, "last_step"] == "(no step)"
    assert stops.loc[3, "last_step"] == "(every step, but too late)"
    assert stops.loc[3, "units"] > 0
    assert stops.share.sum() == pytest.approx(1.0)


def test_no_stopping_points_without_a_sequence(frames):
    events, _users = frames
    ws = Workshop.from_dict({"data": {"events": events}, "success": {"event": "upgrade"}})
    assert stopping_points(ws) is None
