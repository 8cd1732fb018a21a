"""Prioritisation maths: weekly traffic of a segment, impact, sample size and weeks, ranking and votes."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from segworkshop import Workshop, stats
from segworkshop.prioritize import Candidate, evaluate, rank, tally, weekly_units


@pytest.fixture
def ws(small_workshop: Path) -> Workshop:
    return Workshop.load(small_workshop)


def _reference_weeks(ws: Workshop, channel: str | None) -> pd.DataFrame:
    units = ws.unit_table(traits=["channel"]).to_pandas()
    if channel:
        units = units[units.channel == channel]
    first = units.first_seen
    units = units.assign(week=(first.dt.normalize() - pd.to_timedelta(first.dt.day_of_week, unit="D")))
    end = pd.Timestamp(ws.events.timestamp.max().to_pyarrow().as_py())
    window = pd.Timedelta(days=14)
    units = units[units.start_at + window <= end]  # censoring: only closed success windows count
    weeks = units.groupby("week").success.agg(["size", "sum"]).reset_index()
    weeks = weeks[weeks.week + pd.Timedelta(days=7) + window <= end]  # every unit of the week judged
    return weeks.tail(4)


def test_weekly_units_are_the_last_full_weeks(ws):
    got = weekly_units(ws, "channel", "email")
    ref = _reference_weeks(ws, "email")
    assert list(got.units) == list(ref["size"]) and list(got.successes) == list(ref["sum"])
    assert list(got.week) == list(ref.week.dt.strftime("%Y-%m-%d"))


def test_evaluate_uses_the_segment_traffic(ws):
    c = Candidate(
        "Email nurture", "channel", "email", expected_lift=0.3, share=0.5, scores={"risk": 2, "cost": 4, "fit": 5}
    )
    e = evaluate(ws, c)
    ref = _reference_weeks(ws, "email")
    units = ref["size"].mean()
    rate = ref["sum"].sum() / ref["size"].sum()
    assert e.weekly_units == pytest.approx(units) and e.rate == pytest.approx(rate)
    assert e.impact_per_week == pytest.approx(units * rate * 0.3)
    plan = stats.plan_experiment(rate, lift=0.3, weekly_units=units, share=0.5)
    assert (e.per_group, e.weeks_to_result) == (plan.per_group, plan.weeks)
    assert e.score == pytest.approx(e.impact_per_week / plan.weeks)
    assert e.judgement == pytest.approx((4 + 2 + 5) / 3)  # risk and cost inverted: 6 - v
    n8 = units * 8 * 0.5 / 2
    assert e.mde_relative == pytest.approx(stats.minimum_detectable_rate(rate, n8) / rate - 1)
    everyone = evaluate(ws, Candidate("All", None, None, expected_lift=0.1))
    assert everyone.target == "everyone" and everyone.weekly_units > e.weekly_units


def test_rank_votes_override_then_score():
    def ev(name, score, impact):
        return type("E", (), {"to_dict": lambda self: {"name": name, "score": score, "impact_per_week": impact}})()

    ranked = rank([ev("a", 5.0, 10), ev("b", 9.0, 20), ev("c", 1.0, 5)])
    assert list(ranked.name) == ["b", "a", "c"] and list(ranked["rank"]) == [1, 2, 3]
    voted = rank([ev("a", 5.0, 10), ev("b", 9.0, 20), ev("c", 1.0, 5)], {"c": 4, "a": 1})
    assert list(voted.name) == ["c", "a", "b"]


def test_tally_sums_ballots():
    assert tally([{"a": 2, "b": 1}, {"a": 1}, {}]) == {"a": 3, "b": 1}


def test_nothing_to_test_without_a_lift(ws):
    e = evaluate(ws, Candidate("Nothing", "channel", "email", expected_lift=0.0))
    assert e.per_group is None and e.weeks_to_result is None and e.score == 0
    assert not math.isnan(e.mde_relative)
