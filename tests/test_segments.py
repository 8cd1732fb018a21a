"""Segments: each kind against a plain-pandas computation of its documented meaning; bad definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segworkshop import ConfigError, DataError, Workshop
from segworkshop.population import LEFT_OUT
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
    """Units with a closed 14-day success window (censoring: start + 14 days <= the last event), in pandas."""
    first = events.groupby("user_id").timestamp.min().rename("start")
    purchase = events[events.event == "purchase"].groupby("user_id").timestamp.min()
    units = first.to_frame()
    units["first_purchase"] = purchase
    ok = units.first_purchase <= units.start + pd.Timedelta(days=14)
    units["success_at"] = units.first_purchase.where(ok)
    return units[units.start + pd.Timedelta(days=14) <= events.timestamp.max()]


def landmark(units: pd.DataFrame, window: float, measured: pd.Series) -> pd.Series:
    """The landmark rule in pandas: a unit that succeeded before day ``window`` is left out, else its value."""
    left = units.success_at.notna() & (units.success_at < units.start + pd.Timedelta(days=window))
    return measured.reindex(units.index).where(~left, LEFT_OUT).sort_index()


def in_window(events: pd.DataFrame, units: pd.DataFrame, event: str, window: float) -> pd.DataFrame:
    e = events[events.event == event].join(units, on="user_id", how="inner")
    return e[(e.timestamp >= e.start) & (e.timestamp < e.start + pd.Timedelta(days=window))]


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
def test_did_in_a_fixed_window_by_the_landmark_rule(data, within):
    events, _ = data
    spec = {"name": "searched", "did": "search"} | ({"within_days": within} if within else {})
    table = got(ws_for(data, [spec]), [spec])
    units = reference_units(events)
    window = within or 7  # the default behaviour window
    did = set(in_window(events, units, "search", window).user_id)
    expected = landmark(units, window, pd.Series(["yes" if u in did else "no" for u in units.index], units.index))
    assert list(table.index) == list(expected.index)  # censoring: only units with a closed window
    assert (table.searched == expected).all()
    assert (expected == LEFT_OUT).any() and (expected == "yes").any() and (expected == "no").any()


@pytest.mark.parametrize("window", [7, 10])
def test_frequency_days_a_week(data, window):
    events, _ = data
    spec = {"name": "active", "frequency": "login", "per": "week", "window_days": window}
    table = got(ws_for(data, [spec]), [spec])
    units = reference_units(events)
    e = in_window(events, units, "login", window)
    days = e.assign(day=e.timestamp.dt.date).groupby("user_id").day.nunique()
    per_week = (days.reindex(units.index).fillna(0) // (window / 7)).clip(upper=7).astype(int).astype(str)
    expected = landmark(units, window, per_week)
    assert (table.active == expected).all()
    assert set(table.active) <= {str(d) for d in range(8)} | {LEFT_OUT}


def test_count_at_least(data):
    events, _ = data
    spec = {"name": "repeat", "count": "login", "at_least": 2}
    table = got(ws_for(data, [spec]), [spec])
    units = reference_units(events)
    counts = in_window(events, units, "login", 7).groupby("user_id").size().reindex(units.index).fillna(0)
    expected = landmark(units, 7, pd.Series(np.where(counts >= 2, "2+", "< 2"), units.index))
    assert (table.repeat == expected).all()


def test_behaviour_window_must_end_before_the_success_window(data):
    spec = {"name": "active", "frequency": "login", "window_days": 14}
    with pytest.raises(DataError, match=r"first 14 days.*within 14 days.*window_days: 7"):
        got(ws_for(data, [spec]), [spec])


def test_before_success_was_removed_with_a_clear_message():
    with pytest.raises(ConfigError, match=r"before_success` was removed.*landmark.*within_days: 7"):
        parse_segment({"name": "s", "did": "search", "before_success": False})


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


def test_nan_in_a_numeric_trait_is_missing():
    """Parquet NaN (or CSV "NaN") is missing: not the top bin, not a value "nan", and validate counts it."""
    from segworkshop.profile import trait_profile

    rng = np.random.default_rng(3)
    n = 300
    ids = [f"u{i:03d}" for i in range(n)]
    start = START + pd.to_timedelta(rng.integers(0, 20 * 86400, n), unit="s")
    events = pd.DataFrame({"user_id": ids, "event": "visit", "timestamp": start})
    score = np.where(rng.random(n) < 0.2, np.nan, rng.choice([10.0, 60.0, 500.0], n))
    users = pd.DataFrame({"user_id": ids, "score": score})
    ws = Workshop.from_dict(
        {
            "data": {"events": events, "users": users, "observed_until": "2026-12-31"},
            "success": {"event": "visit", "within_days": 14},
        }
    )
    specs = [{"name": "binned", "column": "score", "bins": [0, 50, 100]}, "score"]
    table = got(ws, specs)
    is_nan = pd.Series(np.isnan(score), index=ids).sort_index()
    assert (table.binned[is_nan] == "(missing)").all() and (table.binned[~is_nan] != "(missing)").all()
    assert (table.score[is_nan] == "(missing)").all() and "nan" not in set(table.score)
    profile = trait_profile(ws, n).set_index("column")
    assert profile.loc["score", "missing"] == pytest.approx(is_nan.mean())
    assert profile.loc["score", "values"] == 3
