"""Segments: each kind against a plain-pandas computation of its documented meaning; bad definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segworkshop import ConfigError, DataError, Workshop
from segworkshop.segments import parse_segment, parse_segments, segment_table

START = pd.Timestamp("2026-01-05")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n_users, n = 400, 9000
    uid = rng.integers(0, n_users, n)
    ts = START + pd.to_timedelta(rng.integers(0, 45 * 86400, n), unit="s")
    events = pd.DataFrame(
        {
            "user_id": [f"u{u:03d}" for u in uid],
            "event": rng.choice(["visit", "search", "login", "purchase"], n, p=[0.4, 0.2, 0.3, 0.1]),
            "timestamp": ts,
        }
    )
    events["order_value"] = np.where(events.event == "purchase", rng.gamma(2, 30, n).round(2), np.nan)
    users = pd.DataFrame(
        {
            "user_id": [f"u{u:03d}" for u in range(n_users)],
            "plan": rng.choice(["free", "pro", None], n_users, p=[0.6, 0.35, 0.05]),
        }
    )
    return events, users


def ws_for(data, segments):
    events, users = data
    return Workshop.from_dict(
        {
            "data": {"events": events, "users": users},
            "success": {"event": "purchase", "within_days": 14},
            "segments": segments,
        }
    )


def reference_units(events: pd.DataFrame) -> pd.DataFrame:
    first = events.groupby("user_id").timestamp.min().rename("start")
    purchase = events[events.event == "purchase"].groupby("user_id").timestamp.min()
    units = first.to_frame()
    units["first_purchase"] = purchase
    ok = units.first_purchase <= units.start + pd.Timedelta(days=14)
    units["success_at"] = units.first_purchase.where(ok)
    return units


def got(ws, specs) -> pd.DataFrame:
    return segment_table(ws, parse_segments(specs)).to_pandas().set_index("unit_id").sort_index()


def test_trait_from_users_table(data):
    _, users = data
    table = got(ws_for(data, ["plan"]), ["plan"])
    expected = users.set_index("user_id").plan.reindex(table.index).fillna("(missing)")
    assert (table.plan == expected).all()


def test_bins_left_closed_last_open(data):
    events, _ = data
    spec = {"name": "first_order_value", "column": "order_value", "bins": [0, 20, 50, 100]}
    table = got(ws_for(data, [spec]), [spec])
    first_value = events.dropna(subset=["order_value"]).sort_values("timestamp").groupby("user_id").order_value.first()
    value = first_value.reindex(table.index)
    labels = pd.cut(value, [0, 20, 50, 100, np.inf], right=False, labels=["[0, 20)", "[20, 50)", "[50, 100)", "100+"])
    expected = labels.astype(object).where(value.notna(), "(missing)")
    assert (table.first_order_value == expected).all()
    assert parse_segment(spec).labels() == ["< 0", "[0, 20)", "[20, 50)", "[50, 100)", "100+"]


def test_cohort_week_and_month(data):
    events, _ = data
    table = got(ws_for(data, []), [{"name": "wk", "cohort": "week"}, {"name": "mo", "cohort": "month"}])
    first = events.groupby("user_id").timestamp.min().reindex(table.index)
    monday = (first.dt.normalize() - pd.to_timedelta(first.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    assert (table.wk == monday).all()
    assert (table.mo == first.dt.strftime("%Y-%m")).all()


@pytest.mark.parametrize("within", [None, 3])
def test_did_is_after_start_and_before_success(data, within):
    events, _ = data
    spec = {"name": "searched", "did": "search"} | ({"within_days": within} if within else {})
    table = got(ws_for(data, [spec]), [spec])
    units = reference_units(events)
    e = events[events.event == "search"].join(units, on="user_id")
    ok = (e.timestamp >= e.start) & (e.success_at.isna() | (e.timestamp < e.success_at))
    if within:
        ok &= e.timestamp <= e.start + pd.Timedelta(days=within)
    did = set(e[ok].user_id)
    expected = pd.Series(["yes" if u in did else "no" for u in table.index], index=table.index)
    assert (table.searched == expected).all()


@pytest.mark.parametrize("window", [14, 28])
def test_frequency_days_a_week(data, window):
    events, _ = data
    spec = {"name": "active", "frequency": "login", "per": "week", "window_days": window}
    table = got(ws_for(data, [spec]), [spec])
    units = reference_units(events)
    e = events[events.event == "login"].join(units, on="user_id")
    e = e[(e.timestamp >= e.start) & (e.timestamp < e.start + pd.Timedelta(days=window))]
    days = e.assign(day=e.timestamp.dt.date).groupby("user_id").day.nunique()
    per_week = (days.reindex(table.index).fillna(0) // (window / 7)).clip(upper=7).astype(int).astype(str)
    assert (table.active == per_week).all()
    assert set(table.active) <= {str(d) for d in range(8)}


def test_count_at_least(data):
    events, _ = data
    spec = {"name": "repeat", "count": "purchase", "at_least": 2}
    table = got(ws_for(data, [spec]), [spec])
    counts = events[events.event == "purchase"].groupby("user_id").size().reindex(table.index).fillna(0)
    expected = np.where(counts >= 2, "2+", "< 2")
    assert (table.repeat.to_numpy() == expected).all()


def test_bad_definitions_have_clear_errors(data):
    with pytest.raises(ConfigError, match="strictly increasing"):
        parse_segment({"name": "v", "column": "order_value", "bins": [0, 50, 20]})
    with pytest.raises(ConfigError, match="`week` or `month`"):
        parse_segment({"name": "c", "cohort": "year"})
    with pytest.raises(ConfigError, match="mixes did and frequency"):
        parse_segment({"name": "x", "did": "a", "frequency": "b"})
    with pytest.raises(ConfigError, match="unknown keys"):
        parse_segment(
            {"name": "x", "did": "a", "bins": 3, "colour": 1} | {"bins": None}
            and {"name": "x", "did": "a", "colour": 1}
        )
    with pytest.raises(ConfigError, match="used twice"):
        parse_segments(["plan", {"name": "plan", "did": "search"}])
    ws = ws_for(data, [])
    with pytest.raises(DataError, match=r"no column 'plna'.*Did you mean 'plan'"):
        segment_table(ws, parse_segments(["plna"]))
    with pytest.raises(DataError, match=r"'serch' never occurs.*Did you mean 'search'"):
        segment_table(ws, parse_segments([{"name": "s", "did": "serch"}]))
    with pytest.raises(DataError, match="bins need a numeric column"):
        segment_table(ws, parse_segments([{"name": "p", "column": "plan", "bins": [1, 2]}]))
