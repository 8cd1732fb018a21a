"""The demo datasets' embedded truths come out of the analyses (compare, tipping points, Simpson, discover),
and on shuffled outcomes discovery finds nothing beyond chance."""

from __future__ import annotations

import pytest

from segworkshop import Workshop, demo
from segworkshop.compare import compare, trend
from segworkshop.datasets import demo_workshop_path
from segworkshop.discover import Scan
from segworkshop.hypotheses import simpson_check, tipping_point

KINDS = list(demo.DATASETS)


@pytest.fixture(scope="module", params=KINDS)
def case(request):
    kind = request.param
    return kind, Workshop.load(demo_workshop_path(kind)), demo.truths(kind)


def test_twice_segment_is_significant_after_bh(case):
    _, ws, truths = case
    t = truths["twice"]
    rows = compare(ws, [t["column"]], strata=False).rows.set_index("value")
    row = rows.loc[t["value"]]
    assert row.q_value < 0.001
    assert 0.7 < row.lift < 1.4  # about twice the rest
    # in the full dashboard too, with every configured segment in the BH family
    full = compare(ws).rows
    hit = full[(full.segment == t["column"]) & (full.value == t["value"])]
    assert len(hit) == 1 and hit.q_value.item() <= 0.05


def test_tipping_point_in_the_first_week(case):
    """The truth is a step at 4 days a week over the 14-day window, which for eComm is also the success window:
    the landmark rule measures the first week and compares success after it. The generator gives every unit its
    bucket's number of active days in each week (data/README.md), so the first week alone shows the step: cut 4,
    shape "threshold", well over twice the rate above it (SaaS too, where it is the account's login days)."""
    kind, ws, truths = case
    t = truths["tipping"]
    point = tipping_point(ws, {"name": "active", "frequency": t["event"], "per": "week", "window_days": 7})
    assert point.cut == "4", (kind, point)
    assert point.shape == "threshold", (kind, point)
    assert point.p_value < 1e-6
    assert point.rate_above / point.rate_below > 2


def test_simpsons_pair_is_flagged(case):
    _, ws, truths = case
    t = truths["simpson"]
    check = simpson_check(ws, t["column"], t["value"], t["stratum"])
    assert check.reversal, check
    rows = compare(ws, [t["column"], t["stratum"]]).rows.set_index(["segment", "value"])
    assert "Simpson's paradox" in rows.loc[(t["column"], t["value"]), "strata"]


def test_mobile_friction_shows_in_its_weeks_only(case):
    _, ws, truths = case
    t = truths["friction"]
    weekly = trend(ws, t["column"], every="week")
    inside = weekly.period.between(t["start"], t["end"]) & weekly.complete
    mine = weekly.value == t["value"]
    rate = lambda m: weekly[m].successes.sum() / weekly[m].units.sum()  # noqa: E731
    assert rate(mine & inside) < 0.7 * rate(mine & ~inside & weekly.complete)
    assert rate(~mine & inside) > 0.8 * rate(~mine & ~inside & weekly.complete)


@pytest.fixture(scope="module")
def scans():
    return {kind: Scan(Workshop.load(demo_workshop_path(kind))) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_discover_finds_the_twice_segment_near_the_top(scans, kind):
    t = demo.truths(kind)["twice"]
    result = scans[kind].run()
    traits = result.rows[result.rows.kind == "trait"].head(5)
    hit = traits[(traits.segment == t["column"]) & (traits.value == t["value"])]
    assert len(hit) == 1, traits[["segment", "value", "quality"]]
    assert hit.q_value.item() <= 0.05
    tip = demo.truths(kind)["tipping"]["event"]
    point = result.tipping[f"days_{tip}"]  # measured in the first week (landmark): see test above
    assert point.cut == "4" and point.shape == "threshold" and point.p_value < 1e-6
    assert point.rate_above / point.rate_below > 2


@pytest.mark.parametrize("kind", ["ecomm"])
def test_discover_on_shuffled_outcomes_finds_nothing(scans, kind):
    scan = scans[kind]
    hits = [int((scan.run(shuffle=seed).rows.q_value <= 0.05).sum()) for seed in range(20)]
    assert sum(h == 0 for h in hits) >= 19, hits
