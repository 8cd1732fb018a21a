"""segworkshop.validate: every count checked against plain pandas, every message checked by its text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segworkshop import Workshop
from segworkshop.validate import validate


def make_events(n_users: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_users * 8
    users = rng.integers(0, n_users, n)
    ts = pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.integers(0, 40 * 86400, n), unit="s")
    df = pd.DataFrame(
        {
            "uid": [f"u{u:04d}" for u in users],
            "name": rng.choice(["visit", "search", "cart", "purchase"], n, p=[0.5, 0.25, 0.15, 0.1]),
            "when": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "platform": np.array(["ios", "android", "web"])[users % 3],
            "request_id": [f"r{i}" for i in range(n)],  # an id: one value per row
            "city": [f"city{u % 20}" for u in users],  # 20 values: group them
        }
    )
    return df


def workshop(df: pd.DataFrame, **success) -> Workshop:
    return Workshop.from_dict(
        {
            "data": {"events": df, "columns": {"user_id": "uid", "event": "name", "timestamp": "when"}},
            "success": success or {"event": "purchase", "within_days": 14},
        }
    )


def test_counts_match_pandas():
    df = make_events()
    df.loc[[3, 7], "uid"] = None
    df.loc[11, "uid"] = "   "
    df.loc[[5, 9, 13], "when"] = ["yesterday", "2026-13-45", "soon"]
    df = pd.concat([df, df.iloc[[20, 21]]], ignore_index=True)  # two exact duplicates
    report = validate(workshop(df))

    parsed = pd.to_datetime(df["when"], errors="coerce", utc=True)
    assert report.rows == len(df)
    ids = df["uid"].where(df["uid"].str.strip() != "")  # a blank id is no id: not a user (issue 17)
    assert report.users == ids.nunique()
    assert report.null_user_ids == 2
    assert report.blank_user_ids == 1
    assert report.bad_timestamps == 3
    assert report.bad_timestamp_examples == sorted(["yesterday", "2026-13-45", "soon"])
    assert report.duplicate_rows == 2
    assert report.first == parsed.min().tz_localize(None)
    assert report.last == parsed.max().tz_localize(None)
    expected = df.assign(uid=ids).groupby("name").agg(rows=("uid", "size"), users=("uid", "nunique"))
    got = report.events.set_index("event")
    for name, row in expected.iterrows():
        assert got.loc[name, "rows"] == row["rows"]
        assert got.loc[name, "users"] == row["users"]
    assert list(report.events["rows"]) == sorted(report.events["rows"], reverse=True)


def test_traits_and_their_verdicts():
    report = validate(workshop(make_events()))
    traits = report.traits.set_index("column")
    assert traits.loc["platform", "values"] == 3
    assert traits.loc["platform", "verdict"] == "ok"
    assert traits.loc["city", "values"] == 20
    assert traits.loc["city", "verdict"].startswith("20 values: group them")
    assert traits.loc["request_id", "verdict"].startswith("id-like")
    assert any("'request_id' looks like an id" in f.message for f in report.findings)


def test_a_few_bad_times_warn_many_stop():
    df = make_events()
    df.loc[[5], "when"] = "yesterday"
    few = validate(workshop(df))
    assert few.ok
    assert any("does not parse" in f.message and f.level == "warning" for f in few.findings)
    df.loc[: len(df) // 10, "when"] = "yesterday"
    many = validate(workshop(df))
    assert not many.ok
    message = next(f.message for f in many.findings if f.level == "error")
    assert "column 'when'" in message and "'yesterday'" in message and "ISO 8601" in message


def test_success_event_that_never_occurs_names_the_closest():
    report = validate(workshop(make_events(), event="purchse"))
    assert not report.ok
    message = report.findings[-1].message
    assert "'purchse', which never occurs" in message
    assert "Did you mean 'purchase'?" in message
    assert "Fix `success:`" in message


def test_start_event_never_occurs():
    report = validate(workshop(make_events(), event="purchase", start="signup"))
    assert not report.ok
    assert any("'signup', which never occurs" in f.message for f in report.findings)


def test_success_that_never_happens_as_defined():
    # cart strictly after purchase within 0 days never happens in this data
    report = validate(workshop(make_events(), sequence=["purchase", "cart"], within_days=0))
    assert not report.ok
    assert any("succeeds under" in f.message and "within_days" in f.message for f in report.findings)


def test_baseline_matches_pandas():
    df = make_events()
    report = validate(workshop(df))
    df["ts"] = pd.to_datetime(df["when"], utc=True)
    first = df.groupby("uid")["ts"].min()
    purchase = df[df["name"] == "purchase"].groupby("uid")["ts"].min()
    ok = (purchase.reindex(first.index) - first) <= pd.Timedelta(days=14)
    mature = first + pd.Timedelta(days=14) <= df["ts"].max()  # censoring: only closed windows count
    assert report.baseline["units"] == int(mature.sum())
    assert report.baseline["successes"] == int(ok[mature].sum())
    assert report.baseline["rate"] == pytest.approx(ok[mature].mean())
    assert report.baseline["too_recent"] == int((~mature).sum())
    assert report.ok
    assert "OK: the data can be used." in report.to_text()


def test_everyone_succeeds_is_a_warning():
    df = make_events()
    report = validate(workshop(df, any_of=["visit", "search", "cart", "purchase"]))
    assert any(f.level == "warning" and "every user succeeds" in f.message for f in report.findings)


def test_to_dict_is_json_ready():
    import json

    text = json.dumps(validate(workshop(make_events())).to_dict(), default=str)
    assert '"ok": true' in text


def test_an_event_id_read_as_the_user_id_is_a_warning():
    """`columns: {user_id: id}` on an export whose `id` is the message id makes every event its own user."""
    n = 300
    df = pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(n)],
            "uid": [f"u{i % 40}" for i in range(n)],
            "name": ["visit"] * (n - 30) + ["purchase"] * 30,
            "when": pd.date_range("2026-01-01", periods=n, freq="h").strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    ws = Workshop.from_dict(
        {
            "data": {"events": df, "columns": {"user_id": "id", "event": "name", "timestamp": "when"}},
            "success": {"event": "purchase", "within_days": 14},
        }
    )
    report = validate(ws)
    hits = [f for f in report.findings if "looks like an event or message id" in f.message]
    assert len(hits) == 1 and hits[0].level == "warning" and "'id'" in hits[0].message
