"""Which units a comparison counts: the landmark rule for behaviour and censoring of open success windows.

Each generated dataset has a known truth; the package's numbers are checked against an independent pandas
computation of the landmark comparison (measure X over [start, start + 7 days); compare success after day 7
among the units not yet successful at day 7; units whose 14-day window is still open left out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segworkshop import ConfigError, DataError, Workshop
from segworkshop.compare import compare, trend
from segworkshop.discover import discover
from segworkshop.population import LEFT_OUT, propose_window

START = pd.Timestamp("2026-01-05")
WINDOW, WITHIN = 7, 14


def make(kind: str, n: int = 6000, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events of ``n`` users and each user's truth; ``kind`` says how behaviour X relates to success.

    * ``cause``: doing X in week 1 raises the chance of buying afterwards (a true effect on later success);
    * ``after``: X only ever happens after a purchase (order-status visits): caused by success, not a driver;
    * ``unrelated``: X has nothing to do with buying;
    * ``ties``: X and the purchase happen at the very same instant for buyers (and unrelated otherwise).
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"u{i:05d}" for i in range(n)])
    first = START + pd.to_timedelta(rng.integers(0, 60 * 86400, n), unit="s")
    did = rng.random(n) < 0.4
    p = np.full(n, 0.2)
    if kind == "cause":
        p = np.where(did, 0.3, 0.15)
    won = rng.random(n) < p
    day = pd.to_timedelta(rng.uniform(0.5, WITHIN - 0.5, n), unit="D")
    bought = first + day
    rows = [pd.DataFrame({"user_id": ids, "event": "visit", "timestamp": first})]
    rows.append(pd.DataFrame({"user_id": ids[won], "event": "purchase", "timestamp": bought[won]}))
    if kind == "after":
        x_at = bought[won] + pd.Timedelta(hours=3)
        rows.append(pd.DataFrame({"user_id": ids[won], "event": "x", "timestamp": x_at}))
    elif kind == "ties":
        tie = won & (day < pd.Timedelta(days=WINDOW))
        rows.append(pd.DataFrame({"user_id": ids[tie], "event": "x", "timestamp": bought[tie]}))
        other = did & ~tie
        x_at = first[other] + pd.to_timedelta(rng.uniform(0, WINDOW, other.sum()), unit="D")
        rows.append(pd.DataFrame({"user_id": ids[other], "event": "x", "timestamp": x_at}))
    else:
        x_at = first[did] + pd.to_timedelta(rng.uniform(0, WINDOW - 0.01, did.sum()), unit="D")
        rows.append(pd.DataFrame({"user_id": ids[did], "event": "x", "timestamp": x_at}))
    events = pd.concat(rows, ignore_index=True)
    events["timestamp"] = events.timestamp.dt.floor("s")  # whole seconds, as exports have them
    bought = bought.floor("s")
    return events, pd.DataFrame({"start": first, "won": won, "bought": bought.where(won)}, index=ids)


def workshop(events: pd.DataFrame, **extra) -> Workshop:
    success = {"event": "purchase", "within_days": WITHIN, **extra.pop("success", {})}
    return Workshop.from_dict(
        {"data": {"events": events, **extra}, "success": success, "segments": [{"name": "did_x", "did": "x"}]}
    )


def reference(events: pd.DataFrame) -> dict:
    """The landmark comparison of "did x in the first 7 days", computed from the events in plain pandas."""
    end = events.timestamp.max()
    start = events.groupby("user_id").timestamp.min()
    bought = events[events.event == "purchase"].groupby("user_id").timestamp.min().reindex(start.index)
    success = bought <= start + pd.Timedelta(days=WITHIN)
    mature = start + pd.Timedelta(days=WITHIN) <= end
    x = events[events.event == "x"].join(start.rename("start"), on="user_id")
    x = x[(x.timestamp >= x.start) & (x.timestamp < x.start + pd.Timedelta(days=WINDOW))]
    did = start.index.isin(x.user_id)
    early = success & (bought < start + pd.Timedelta(days=WINDOW))
    compared = mature & ~early
    yes, no = compared & did, compared & ~did
    return {
        "too_recent": int((~mature).sum()),
        "left_out": int((mature & early).sum()),
        "yes": (int(yes.sum()), int((yes & success).sum())),
        "no": (int(no.sum()), int((no & success).sum())),
    }


def rows_of(ws: Workshop):
    result = compare(ws, ["did_x"], strata=False)
    return result, result.rows.set_index("value")


@pytest.mark.parametrize("kind", ["cause", "after", "unrelated", "ties"])
def test_landmark_numbers_match_pandas(kind):
    events, _ = make(kind)
    result, rows = rows_of(workshop(events))
    ref = reference(events)
    for value in ("yes", "no"):  # after-only x: nobody compared did it in week 1, so there is no "yes" row
        got = (rows.loc[value, "units"], rows.loc[value, "successes"]) if value in rows.index else (0, 0)
        assert got == ref[value]
    assert result.left_out["did_x"]["units"] == ref["left_out"] > 0
    assert result.population.too_recent == ref["too_recent"] > 0
    assert LEFT_OUT not in rows.index
    assert rows.compared.eq(sum(ref["yes"][:1] + ref["no"][:1])).all()
    notes = result.left_out_notes()
    assert (
        f"{ref['left_out']:,} users succeeded before day 7: not compared"
        in notes["succeeded_in_window"]["did_x"]["note"]
    )
    assert notes["too_recent_note"].startswith(f"{ref['too_recent']:,} users started in the last 14 days")
    assert notes["too_recent_note"].endswith("too recent to judge, left out.")


def test_a_true_effect_on_later_success_is_found_with_the_right_sign():
    _, rows = rows_of(workshop(make("cause")[0]))
    assert rows.loc["yes", "q_value"] < 1e-6 and rows.loc["yes", "lift"] > 0.5
    words = rows.loc["yes", "compares"]
    assert words.startswith("among users who had not succeeded by day 7: did x in the first 7 days → ")
    assert "succeeded in days 7–14, vs" in words


@pytest.mark.parametrize("kind", ["after", "unrelated", "ties"])
def test_behaviour_that_does_not_drive_success_is_not_found(kind):
    """Reverse causation (x after buying), no relation, and ties at the success instant: no discovery."""
    events, _ = make(kind)
    _, rows = rows_of(workshop(events))
    if kind == "after":  # nobody compared did x in week 1: they had not bought yet
        assert "yes" not in rows.index or rows.loc["yes", "units"] == 0
    else:
        assert rows.loc["yes", "q_value"] > 0.05
    found = discover(workshop(events))
    hits = found.rows[(found.rows.segment == "did_x") & (found.rows.q_value <= 0.05)]
    assert hits.empty, hits


def test_cutting_at_success_would_have_reversed_the_sign():
    """The bias the landmark avoids, shown on the tied dataset: counting x only before success makes x look
    harmful (buyers tie with x, so 'did x before buying' excludes them), while the landmark finds nothing."""
    events, truth = make("ties")
    start = truth.start
    x = events[events.event == "x"].join(truth, on="user_id")
    before = x[(x.timestamp < x.start + pd.Timedelta(days=WINDOW)) & (x.bought.isna() | (x.timestamp < x.bought))]
    did = truth.index.isin(before.user_id)
    naive_lift = truth.won[did].mean() / truth.won[~did].mean() - 1
    assert naive_lift < -0.3  # the old rule: "x hurts buying", a wrong conclusion
    _, rows = rows_of(workshop(events))
    assert rows.loc["yes", "q_value"] > 0.05
    assert len(start) == len(truth)


def test_discover_uses_the_same_rule():
    events, _ = make("cause")
    found = discover(workshop(events))
    row = found.rows[(found.rows.segment == "did_x") & (found.rows.value == "yes")].iloc[0]
    ref = reference(events)
    assert (row.units, row.successes) == ref["yes"]
    assert found.left_out["did_x"]["units"] == ref["left_out"]
    assert found.to_dict()["left_out"]["too_recent"] == ref["too_recent"]


def test_the_success_window_must_reach_past_the_behaviour_window():
    events, _ = make("unrelated", n=500)
    ws = Workshop.from_dict(
        {
            "data": {"events": events},
            "success": {"event": "purchase", "within_days": 7},
            "segments": [{"name": "did_x", "did": "x"}],
        }
    )
    with pytest.raises(DataError, match=r"first 7 days, but success counts only within 7 days.*within_days: 3"):
        compare(ws)


# --------------------------------------------------------------------------- censoring


def test_open_windows_are_left_out_of_the_baseline_and_counted():
    events, truth = make("unrelated")
    ws = workshop(events)
    end = events.timestamp.max()
    mature = truth.start + pd.Timedelta(days=WITHIN) <= end
    won = truth.bought <= truth.start + pd.Timedelta(days=WITHIN)
    base = ws.baseline()
    assert base["units"] == mature.sum() and base["successes"] == (won & mature).sum()
    assert base["too_recent"] == (~mature).sum() > 0
    # the open windows would have pulled the rate down
    assert won[mature].mean() > won.mean()


def test_observed_until_sets_the_data_end():
    events, truth = make("unrelated", n=1000)
    later = workshop(events, observed_until="2026-06-01")
    assert later.baseline()["too_recent"] == 0
    cut = pd.Timestamp("2026-02-20")
    earlier = workshop(events[events.timestamp < cut], observed_until="2026-02-20T00:00:00Z")
    started = truth.start < cut
    mature = truth.start + pd.Timedelta(days=WITHIN) <= cut
    assert earlier.baseline()["too_recent"] == int((started & ~mature).sum())
    with pytest.raises(ConfigError, match="observed_until"):
        workshop(events, observed_until="last tuesday")


def test_trend_counts_only_closed_windows_and_flags_open_periods():
    events, truth = make("unrelated")
    df = trend(workshop(events), every="week")
    end = events.timestamp.max()
    units = truth[truth.start + pd.Timedelta(days=WITHIN) <= end]
    week = (units.start.dt.normalize() - pd.to_timedelta(units.start.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    counts = units.groupby(week).size()
    got = df.set_index("period")
    assert got.units.to_dict() == counts.to_dict()
    for period, row in got.iterrows():
        assert row.complete == (pd.Timestamp(period) + pd.Timedelta(days=7 + WITHIN) <= end)
    assert not got.complete.iloc[-1] and got.complete.iloc[0]


def test_comparisons_without_a_window_refuse_and_propose_one():
    events, _ = make("unrelated", n=2000)
    ws = Workshop.from_dict({"data": {"events": events}, "success": {"event": "purchase"}, "segments": ["event"]})
    proposal = propose_window(ws)
    assert proposal in (14, 21)  # 80% of the purchases happen within 11.3 days of the start
    for run in (lambda: compare(ws), lambda: trend(ws), lambda: discover(ws)):
        with pytest.raises(DataError, match=rf"needs a success window.*within_days: {proposal}"):
            run()


def test_discover_with_nothing_but_the_success_event_says_so():
    events = pd.DataFrame(
        {
            "user_id": ["a", "b", "c"],
            "event": "purchase",
            "timestamp": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-03-01"]),
        }
    )
    ws = Workshop.from_dict({"data": {"events": events}, "success": {"event": "purchase", "within_days": 14}})
    with pytest.raises(DataError, match=r"nothing to scan.*no event besides the success definition"):
        discover(ws)
