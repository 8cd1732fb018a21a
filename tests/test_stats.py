"""segworkshop.stats against statsmodels / scipy calls, hand formulas and Monte Carlo permutations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2_contingency, fisher_exact, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

from segworkshop import stats


@pytest.mark.parametrize("x,n", [(0, 1), (0, 7), (7, 7), (3, 9), (1, 1000), (50, 100), (123_456, 4_000_000)])
def test_wilson_matches_statsmodels_and_formula(x, n):
    low, high = stats.wilson_interval(x, n)
    ref = proportion_confint(x, n, method="wilson")
    assert low == pytest.approx(ref[0], abs=1e-12)
    assert high == pytest.approx(ref[1], abs=1e-12)
    z = norm.ppf(0.975)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert low == pytest.approx(max(0, centre - half), abs=1e-12)
    assert high == pytest.approx(min(1, centre + half), abs=1e-12)
    if x == 0:
        assert low == pytest.approx(0, abs=1e-15) and high == pytest.approx(z * z / (n + z * z))


def test_wilson_of_nothing_is_nan():
    assert all(math.isnan(v) for v in stats.wilson_interval(0, 0))


@pytest.mark.parametrize("t", [(9, 10, 3, 10), (0, 10, 3, 10), (10, 10, 10, 10), (5, 500, 40, 600), (1, 3, 0, 4)])
def test_difference_and_lift_intervals(t):
    low, high = stats.difference_interval(*t)
    ref = confint_proportions_2indep(*t, method="newcomb", compare="diff")
    assert (low, high) == pytest.approx(ref, abs=1e-12)
    lo, hi = stats.lift_interval(*t)
    ref = confint_proportions_2indep(*t, method="log-adjusted", compare="ratio")
    assert (lo + 1, hi + 1) == pytest.approx(ref, abs=1e-12)


def test_lift():
    assert stats.lift(30, 100, 15, 100) == pytest.approx(1.0)
    assert stats.lift(0, 10, 0, 10) != stats.lift(0, 10, 0, 10)  # nan
    assert stats.lift(1, 10, 0, 10) == math.inf


def test_test_rule():
    # degenerate: nobody or everybody
    assert stats.two_proportion_test(0, 10, 0, 20) == stats.TestResult(1.0, "degenerate")
    assert stats.two_proportion_test(10, 10, 20, 20).method == "degenerate"
    # large expected counts: pooled z-test
    r = stats.two_proportion_test(300, 1000, 250, 1000)
    assert r.method == "z-test"
    assert r.p_value == pytest.approx(proportions_ztest([300, 250], [1000, 1000])[1], rel=1e-12)
    # the pooled z statistic by hand
    p = 550 / 2000
    z = (0.3 - 0.25) / math.sqrt(p * (1 - p) * (2 / 1000))
    assert r.p_value == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
    # an expected count under 5: Fisher
    r = stats.two_proportion_test(9, 10, 3, 10)
    assert r.method == "fisher"
    assert r.p_value == pytest.approx(fisher_exact([[9, 1], [3, 7]])[1], rel=1e-12)
    # the z-test equals Pearson's chi-square without continuity correction
    chi = chi2_contingency([[300, 700], [250, 750]], correction=False)
    assert stats.two_proportion_test(300, 1000, 250, 1000).p_value == pytest.approx(chi.pvalue, rel=1e-9)


def test_millions_of_units_are_all_significant_but_tiny():
    r = stats.two_proportion_test(1_010_000, 10_000_000, 1_000_000, 10_000_000)
    assert r.p_value < 1e-10
    lo, hi = stats.difference_interval(1_010_000, 10_000_000, 1_000_000, 10_000_000)
    assert 0 < lo < 0.001 < hi < 0.0015


def test_bh_matches_statsmodels_and_keeps_nan():
    p = [0.01, 0.04, 0.03, 0.2, float("nan"), 0.001]
    q = stats.adjust(p)
    ref = multipletests([0.01, 0.04, 0.03, 0.2, 0.001], method="fdr_bh")[1]
    assert np.isnan(q[4])
    assert np.allclose(np.delete(q, 4), ref)
    # by hand: sorted p times m / rank, then cumulative minimum from the top
    m, order = 5, np.argsort([0.01, 0.04, 0.03, 0.2, 0.001])
    ranked = np.array([0.01, 0.04, 0.03, 0.2, 0.001])[order] * m / np.arange(1, m + 1)
    by_hand = np.minimum.accumulate(ranked[::-1])[::-1]
    assert np.allclose(np.delete(q, 4)[order], by_hand)
    assert np.allclose(stats.adjust([0.01, 0.02], "holm"), multipletests([0.01, 0.02], method="holm")[1])


def test_sample_size_reference_example():
    assert stats.sample_size_per_group(0.20, 0.25) == 1094


@pytest.mark.parametrize("p0,p1", [(0.2, 0.25), (0.05, 0.06), (0.5, 0.45), (0.01, 0.02), (0.3, 0.6)])
def test_sample_size_formula_and_cross_check(p0, p1):
    n = stats.sample_size_per_group(p0, p1)
    za, zb = norm.ppf(0.975), norm.ppf(0.8)
    pbar = (p0 + p1) / 2
    exact = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1))) ** 2 / (
        p1 - p0
    ) ** 2
    assert n == math.ceil(exact)
    # Cohen's h (statsmodels) is a different approximation: close, not equal
    h = proportion_effectsize(p1, p0)
    approx = NormalIndPower().solve_power(effect_size=abs(h), alpha=0.05, power=0.8)
    assert abs(n - approx) / n < 0.05


def test_plan_duration_and_inputs():
    plan = stats.plan_experiment(0.2, lift=0.25, weekly_units=7000, share=0.5)
    assert plan.target == pytest.approx(0.25)
    assert plan.per_group == 1094 and plan.total == 2188
    assert plan.days == math.ceil(2188 / (7000 / 7 * 0.5)) == 5
    assert plan.weeks == 1
    assert stats.plan_experiment(0.2, mde=0.05).per_group == 1094
    assert stats.plan_experiment(0.2, target=0.25).days is None
    with pytest.raises(ValueError, match="exactly one"):
        stats.plan_experiment(0.2, target=0.3, lift=0.1)
    with pytest.raises(ValueError, match="no effect"):
        stats.plan_experiment(0.2, target=0.2)


def test_minimum_detectable_rate_inverts_sample_size():
    p1 = stats.minimum_detectable_rate(0.2, 1094)
    assert 0.2 < p1 <= 0.25 + 1e-9
    assert stats.sample_size_per_group(0.2, p1) == 1094
    down = stats.minimum_detectable_rate(0.2, 1094, direction="down")
    assert down < 0.2
    assert math.isnan(stats.minimum_detectable_rate(0.2, 0))
    assert stats.minimum_detectable_rate(0.2, 20) > 0.4  # tiny groups only see huge effects


def test_g_squared_matches_scipy():
    table = [[30, 70], [50, 50]]
    ref = chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]
    assert stats.g_squared(30, 100, 50, 100) == pytest.approx(ref)
    by_hand = 2 * sum(o * math.log(o / e) for o, e in zip([30, 70, 50, 50], [40, 60, 40, 60], strict=True))
    assert stats.g_squared(30, 100, 50, 100) == pytest.approx(by_hand)


def _max_g2(successes_by_unit: np.ndarray, bucket_of_unit: np.ndarray, n: np.ndarray) -> float:
    """Max over cuts of G² by the textbook formula 2 Σ o ln(o / e), for one permutation."""
    per_bucket = np.bincount(bucket_of_unit, weights=successes_by_unit, minlength=len(n))
    total, s = n.sum(), per_bucket.sum()
    best = 0.0
    for c in range(1, len(n)):
        m, x = n[:c].sum(), per_bucket[:c].sum()
        observed = np.array([x, m - x, s - x, total - m - s + x])
        expected = np.array([m * s, m * (total - s), (total - m) * s, (total - m) * (total - s)]) / total
        g = 2 * sum(o * math.log(o / e) for o, e in zip(observed, expected, strict=True) if o > 0)
        best = max(best, g)
    return best


@pytest.mark.parametrize(
    "n,x",
    [
        ([30, 25, 20, 15, 10, 8], [3, 4, 2, 5, 4, 5]),  # a modest step
        ([12, 9, 7, 5], [2, 1, 3, 2]),  # small and null-ish
        ([40, 40, 40], [10, 12, 9]),  # null
    ],
)
def test_exact_max_g2_pvalue_against_permutations(n, x):
    rng = np.random.default_rng(11)
    n, x = np.array(n), np.array(x)
    observed = stats.tipping_point(list(range(len(n))), x, n).g2
    exact = stats.max_g2_pvalue(x, n, observed)
    bucket = np.repeat(np.arange(len(n)), n)
    labels = np.zeros(n.sum(), dtype=int)
    labels[: x.sum()] = 1
    rounds = 3000
    hits = sum(_max_g2(rng.permutation(labels), bucket, n) >= observed * (1 - 1e-9) for _ in range(rounds))
    mc = hits / rounds
    se = math.sqrt(max(exact * (1 - exact), 1e-4) / rounds)
    assert abs(exact - mc) < 4 * se + 1e-3, (exact, mc)
    # searching over cuts costs something: never smaller than the best single cut's own p-value
    from scipy.stats import chi2

    assert exact >= chi2.sf(observed, 1) * 0.999


def test_tipping_point_threshold_gradual_none():
    n = np.array([400] * 8)
    step = stats.tipping_point(list(range(8)), (n * np.array([0.1] * 4 + [0.3] * 4)).astype(int), n)
    assert step.cut == 4 and step.shape == "threshold" and step.p_value < 1e-10
    assert step.rate_below == pytest.approx(0.1) and step.rate_above == pytest.approx(0.3)
    assert "30.0% succeed at 4+" in step.describe()
    ramp = stats.tipping_point(list(range(8)), (n * np.linspace(0.05, 0.4, 8)).astype(int), n)
    assert ramp.shape == "gradual"
    flat = stats.tipping_point(list(range(8)), (n * np.array([0.2] * 8)).astype(int), n)
    assert flat.shape == "none" and flat.p_value > 0.05


def _table(a_s, a_n, r_s, r_n):
    return np.array([[a_s, a_n - a_s], [r_s, r_n - r_s]])


def test_simpson_reversal_is_flagged():
    # within each stratum the segment does better; overall worse, because it sits in the weak stratum
    tables = {"web": _table(45, 100, 400, 1000), "android": _table(110, 1000, 8, 100)}
    check = stats.strata_check(tables, "platform")
    crude = sum(tables.values())
    a, b, c, d = crude.ravel()
    assert check.crude_odds_ratio == pytest.approx(a * d / (b * c))
    assert check.crude_odds_ratio < 1 and check.pooled_odds_ratio > 1
    assert check.reversal and check.flagged
    from statsmodels.stats.contingency_tables import StratifiedTable

    st = StratifiedTable(list(tables.values()))
    assert check.pooled_odds_ratio == pytest.approx(st.oddsratio_pooled)
    assert check.cmh_p_value == pytest.approx(st.test_null_odds(correction=False).pvalue)
    assert "Simpson's paradox" in check.describe()


def test_no_confounding_is_not_flagged():
    tables = {"a": _table(30, 100, 20, 100), "b": _table(60, 200, 40, 200)}
    check = stats.strata_check(tables, "s")
    assert not check.reversal and not check.confounded and not check.heterogeneous
    assert stats.strata_check({"a": _table(3, 10, 2, 10)}, "s") is None
