"""segworkshop.stats against statsmodels / scipy calls, hand formulas, exact enumeration and Monte Carlo permutations.

The tail calibration of the test (exact size, global-null BH simulations) is in test_calibration.py.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy.stats import binom, chi2, chi2_contingency, fisher_exact, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    score_test_proportions_2indep,
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
def test_difference_interval_is_newcombe(t):
    low, high = stats.difference_interval(*t)
    ref = confint_proportions_2indep(*t, method="newcomb", compare="diff")
    assert (low, high) == pytest.approx(ref, abs=1e-12)


def test_difference_interval_contains_the_difference_on_every_small_table():
    for n1, n2 in [(1, 1), (1, 7), (3, 3), (5, 40), (20, 3)]:
        for x1 in range(n1 + 1):
            for x2 in range(n2 + 1):
                low, high = stats.difference_interval(x1, n1, x2, n2)
                d = x1 / n1 - x2 / n2
                assert -1 <= low <= d <= high <= 1, (x1, n1, x2, n2, low, d, high)


@pytest.mark.parametrize(
    "t", [(9, 10, 3, 10), (5, 500, 40, 600), (3, 4, 900, 1000), (123, 1_000_000, 456, 4_000_000), (1, 2, 7, 9)]
)
def test_lift_interval_is_the_miettinen_nurminen_score_interval(t):
    lo, hi = stats.lift_interval(*t)
    # statsmodels' own score statistic is exactly ±z(0.975) at our bounds ...
    for bound, sign in ((lo + 1, 1), (hi + 1, -1)):
        z = score_test_proportions_2indep(*t, value=bound, compare="ratio", return_results=True).statistic
        assert z == pytest.approx(sign * norm.ppf(0.975), rel=1e-8)
    # ... and its interval agrees to its root finder's tolerance
    ref = confint_proportions_2indep(*t, method="score", compare="ratio")
    assert (lo + 1, hi + 1) == pytest.approx(ref, rel=2e-3)


def test_lift_interval_does_not_collapse_at_all_or_nothing():
    z2 = norm.ppf(0.975) ** 2
    # 3/3 vs 2/2: closed form of the score interval at x = n, MN variance factor N / (N − 1), N = 5
    lo, hi = stats.lift_interval(3, 3, 2, 2)
    assert lo + 1 == pytest.approx(3 * 4 / (3 * 4 + z2 * 5), rel=1e-9)
    assert hi + 1 == pytest.approx(1 + z2 * 5 / (2 * 4), rel=1e-9)
    assert lo < -0.5 and hi > 1  # not [−100 %, −100 %], not a point
    old = confint_proportions_2indep(3, 3, 2, 2, method="log-adjusted", compare="ratio")
    assert old[0] == old[1]  # the collapse this replaces
    # 3/3 vs 20 % of 10,000: the old [+383 %, +399 %] is a wide interval now, the point inside
    lo, hi = stats.lift_interval(3, 3, 2000, 10000)
    assert lo < 2 < 4 < hi
    # zero counts: 0 below / inf above where the data cannot bound the ratio
    assert stats.lift_interval(0, 10, 3, 10)[0] == -1.0
    lo, hi = stats.lift_interval(2, 10, 0, 10)
    assert hi == math.inf and lo > -1
    assert stats.lift_interval(0, 5, 0, 5) == (-1.0, math.inf)
    assert all(math.isnan(v) for v in stats.lift_interval(0, 0, 1, 5))


def test_lift_lies_inside_its_interval_on_every_small_table():
    for n1, n2 in [(1, 1), (2, 2), (3, 5), (10, 3), (40, 40), (7, 300)]:
        x1, x2 = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
        lo, hi = stats.ratio_interval(x1, n1, x2, n2)
        for a, b, low, high in zip(x1.ravel(), x2.ravel(), lo.ravel(), hi.ravel(), strict=True):
            point = stats.lift(int(a), n1, int(b), n2)
            assert low - 1 <= high - 1
            if not math.isnan(point):
                assert low - 1 <= point <= high - 1, (a, n1, b, n2)
            assert low < high and low >= 0
        scalar = stats.lift_interval(int(x1[-1, 0]), n1, int(x2[-1, 0]), n2)
        assert scalar == pytest.approx((lo[-1, 0] - 1, hi[-1, 0] - 1))


RATES = (0.05, 0.2, 0.5, 0.9)
SIZES = (3, 5, 10, 20, 40)


def _coverages(interval) -> tuple[np.ndarray, np.ndarray]:
    """Exact coverage of the true ratio p1 / p2 (enumeration over both binomials) for every design; and whether
    every cell's expected count is at least 1."""
    out, regular = [], []
    for n1, n2 in itertools.product(SIZES, SIZES):
        x1, x2 = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
        lo, hi = interval(x1, n1, x2, n2)
        for p1, p2 in itertools.product(RATES, RATES):
            weight = binom.pmf(np.arange(n1 + 1), n1, p1)[:, None] * binom.pmf(np.arange(n2 + 1), n2, p2)[None, :]
            covered = (lo <= p1 / p2) & (p1 / p2 <= hi)
            out.append(weight[covered].sum())
            regular.append(min(n1 * p1, n1 * (1 - p1), n2 * p2, n2 * (1 - p2)) >= 1)
    return np.array(out), np.array(regular)


def test_lift_interval_coverage_at_small_n_against_the_old_method():
    """Exact coverage over n1, n2 in {3, 5, 10, 20, 40} and p1, p2 in {0.05, 0.2, 0.5, 0.9} (400 designs).

    Measured: score (new) min 0.857, mean 0.954, 14 designs under 0.90; log-adjusted (old) min 0.580, mean
    0.927, 108 under 0.90. Where every expected count is >= 1 (169 designs): new min 0.930, old 0.815. The new
    minimum, 0.857 = 0.95³, is at n1 = 3, p1 = 0.05 (0.15 expected successes): any x1 > 0 then misses, as it
    does for the Wilson interval of p1 alone; the old method is no better there.
    """

    def old(x1, n1, x2, n2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return confint_proportions_2indep(x1 * 1.0, n1, x2 * 1.0, n2, method="log-adjusted", compare="ratio")

    new, regular = _coverages(stats.ratio_interval)
    before, _ = _coverages(old)
    print(f"\ncoverage new: min {new.min():.3f} mean {new.mean():.3f}; old: min {before.min():.3f} {before.mean():.3f}")
    assert new.mean() >= 0.945 and new.mean() > before.mean() + 0.02
    assert new.min() >= 0.85 and new[regular].min() >= 0.92 > before[regular].min()
    assert (new < 0.90).sum() <= 15 < 100 <= (before < 0.90).sum()


def test_lift():
    assert stats.lift(30, 100, 15, 100) == pytest.approx(1.0)
    assert stats.lift(0, 10, 0, 10) != stats.lift(0, 10, 0, 10)  # nan
    assert stats.lift(1, 10, 0, 10) == math.inf


def test_test_rule_is_fisher_everywhere():
    # degenerate: nobody or everybody, or an empty group
    assert stats.two_proportion_test(0, 10, 0, 20) == stats.TestResult(1.0, "degenerate")
    assert stats.two_proportion_test(10, 10, 20, 20).method == "degenerate"
    assert stats.two_proportion_test(0, 0, 3, 20).method == "degenerate"
    for t in [(300, 1000, 250, 1000), (9, 10, 3, 10), (5, 40, 2934, 19960), (1, 1, 0, 1)]:
        r = stats.two_proportion_test(*t)
        x1, n1, x2, n2 = t
        assert r.method == "fisher"
        assert r.p_value == pytest.approx(fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])[1], rel=1e-12)
    # Fisher by hand on a small table: the tables as or less likely than the observed one
    from scipy.stats import hypergeom

    pmf = hypergeom.pmf(np.arange(13), 20, 10, 12)
    by_hand = pmf[pmf <= pmf[9] * (1 + 1e-7)].sum()
    assert stats.two_proportion_test(9, 10, 3, 10).p_value == pytest.approx(by_hand, rel=1e-10)


def test_fisher_is_fast_at_millions_of_units():
    import time

    stats.two_proportion_test(250_000, 2_500_000, 240_000, 2_500_000)
    start = time.perf_counter()
    for _ in range(5):
        r = stats.two_proportion_test(250_000, 2_500_000, 240_000, 2_500_000)
    per_call = (time.perf_counter() - start) / 5
    assert r.p_value < 1e-40
    assert per_call < 0.25  # measured 2.6 ms; generous for a loaded machine


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
    observed = stats.tipping_point_in_counts(list(range(len(n))), x, n).g2
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
    assert exact >= chi2.sf(observed, 1) * 0.999


def test_tipping_point_threshold_gradual_none():
    n = np.array([400] * 8)
    step = stats.tipping_point_in_counts(list(range(8)), (n * np.array([0.1] * 4 + [0.3] * 4)).astype(int), n)
    assert step.cut == 4 and step.shape == "threshold" and step.p_value < 1e-10
    assert step.rate_below == pytest.approx(0.1) and step.rate_above == pytest.approx(0.3)
    assert "30.0% succeed at 4+" in step.describe()
    ramp = stats.tipping_point_in_counts(list(range(8)), (n * np.linspace(0.05, 0.4, 8)).astype(int), n)
    assert ramp.shape == "gradual"
    flat = stats.tipping_point_in_counts(list(range(8)), (n * np.array([0.2] * 8)).astype(int), n)
    assert flat.shape == "none" and flat.p_value > 0.05


def _glm_deviance(x, n, regressor):
    import statsmodels.api as sm

    model = sm.GLM(np.column_stack([x, n - x]), sm.add_constant(regressor), family=sm.families.Binomial())
    return model.fit().deviance


def test_p_below_the_floor_is_shown_as_a_bound():
    n = np.array([400] * 8)
    step = stats.tipping_point_in_counts(list(range(8)), (n * np.array([0.1] * 4 + [0.3] * 4)).astype(int), n)
    crossed, lost = stats.max_g2_tail((n * np.array([0.1] * 4 + [0.3] * 4)).astype(int), n, step.g2)
    # the true p is below chi2.sf(G², 1) times the number of cuts, about 1e-17 here: the recursion cannot say
    assert step.p_value == pytest.approx(crossed + lost) and step.p_value <= stats.P_FLOOR
    assert step.p_is_bound and "p < 1e-15" in step.describe() and "e-17" not in step.describe()
    # a moderate p stays exact and is shown as such
    modest = stats.tipping_point_in_counts(list(range(6)), [3, 4, 2, 5, 4, 5], [30, 25, 20, 15, 10, 8])
    assert not modest.p_is_bound and f"p = {modest.p_value:.3g}" in modest.describe()


def test_a_step_that_fits_badly_is_uneven_not_a_threshold():
    n = np.array([400] * 8)
    x = (n * np.array([0.1, 0.3, 0.1, 0.3, 0.1, 0.35, 0.1, 0.3])).astype(int)
    tp = stats.tipping_point_in_counts(list(range(8)), x, n)
    rank = np.arange(8.0)
    step = (rank >= list(range(8)).index(tp.cut)).astype(float)
    assert tp.deviance_step == pytest.approx(_glm_deviance(x, n, step), rel=1e-6)
    assert tp.deviance_linear == pytest.approx(_glm_deviance(x, n, rank), rel=1e-6)
    assert tp.step_fit_df == 6
    assert tp.step_fit_p_value == pytest.approx(chi2.sf(tp.deviance_step, 6), rel=1e-9) and tp.step_fit_p_value < 0.05
    assert tp.p_value < 0.05 and tp.shape == "uneven"
    assert "fits them badly" in tp.describe() and "6 df" in tp.describe()
    # deviance 43 on 6 df (the audit's case) is a bad fit
    assert chi2.sf(43, 6) < 0.05
    # a clean step still is a threshold, with a step deviance that fits
    clean = stats.tipping_point_in_counts(list(range(8)), (n * np.array([0.1] * 4 + [0.3] * 4)).astype(int), n)
    assert clean.shape == "threshold" and clean.step_fit_p_value > 0.05


def test_describe_withholds_a_side_under_the_privacy_threshold():
    tp = stats.tipping_point_in_counts(list(range(5)), [20, 22, 19, 21, 8], [200, 200, 200, 200, 9])
    assert tp.units_above == 9 and tp.units_below == 800
    text = tp.describe("days", min_units=10)
    assert "fewer than 10 units (rate withheld)" in text.lower()
    # the other side's rate too: with the segment's rate it would give the small side's
    assert f"{tp.rate_above:.1%}" not in text and f"{tp.rate_below:.1%}" not in text
    assert "rate withheld (privacy)" in text
    assert f"{tp.rate_above:.1%}" in tp.describe("days")  # no threshold: shown
    assert "withheld" not in tp.describe("days", min_units=5)


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
    # the same reversal on the success-rate ratio: (45+110)/1100 vs (400+8)/1100 overall, better in each stratum
    assert check.crude_risk_ratio == pytest.approx((155 / 1100) / (408 / 1100))
    assert check.crude_risk_ratio < 1 < check.pooled_risk_ratio
    assert check.stratum_risk_ratios == pytest.approx({"web": 0.45 / 0.40, "android": 0.11 / 0.08})
    assert "Simpson's paradox" in check.describe()
    assert f"rate ratio {check.crude_risk_ratio:.2f} overall, {check.pooled_risk_ratio:.2f} within platform" in (
        check.describe()
    )


def test_no_confounding_is_not_flagged():
    tables = {"a": _table(30, 100, 20, 100), "b": _table(60, 200, 40, 200)}
    check = stats.strata_check(tables, "s")
    assert not check.reversal and not check.confounded and not check.heterogeneous
    assert stats.strata_check({"a": _table(3, 10, 2, 10)}, "s") is None


@pytest.mark.parametrize(
    "tables",
    [
        {"web": _table(45, 100, 400, 1000), "android": _table(110, 1000, 8, 100)},
        {"a": _table(30, 100, 20, 100), "b": _table(60, 200, 40, 200), "c": _table(5, 50, 9, 70)},
    ],
)
def test_strata_check_without_zeros_is_statsmodels(tables):
    from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2

    check = stats.strata_check(tables, "s")
    st = StratifiedTable(list(tables.values()))
    assert not check.corrected
    assert check.pooled_odds_ratio == pytest.approx(st.oddsratio_pooled, rel=1e-12)
    assert check.pooled_ci == pytest.approx(st.oddsratio_pooled_confint(), rel=1e-12)
    assert check.cmh_p_value == pytest.approx(st.test_null_odds(correction=False).pvalue, rel=1e-9)
    assert check.breslow_day_p_value == pytest.approx(st.test_equal_odds().pvalue, rel=1e-9)
    assert check.crude_odds_ratio == pytest.approx(Table2x2(sum(tables.values())).oddsratio, rel=1e-12)
    for k, t in tables.items():
        assert check.stratum_odds_ratios[k] == pytest.approx(Table2x2(t).oddsratio, rel=1e-12)
        assert check.stratum_risk_ratios[k] == pytest.approx(Table2x2(t).riskratio, rel=1e-12)
    assert check.crude_risk_ratio == pytest.approx(Table2x2(sum(tables.values())).riskratio, rel=1e-12)
    assert check.pooled_risk_ratio == pytest.approx(st.riskratio_pooled, rel=1e-12)
    assert check.pooled_risk_ratio == pytest.approx(_mh_risk_ratio(list(tables.values())), rel=1e-12)


def _mh_risk_ratio(tables):
    """Mantel–Haenszel rate ratio by hand: Σ a·n0/N / Σ c·n1/N (Rothman & Greenland)."""
    num = den = 0.0
    for t in tables:
        (a, b), (c, d) = t
        n1, n0 = a + b, c + d
        num += a * n0 / (n1 + n0)
        den += c * n1 / (n1 + n0)
    return num / den


def _simulated_tables(seed, share_by_stratum, base_by_stratum, ratio, n=6000):
    """Units spread evenly over strata; segment membership and success drawn per unit (a homogeneous rate ratio)."""
    rng = np.random.default_rng(seed)
    k = len(base_by_stratum)
    stratum = rng.integers(0, k, n)
    member = rng.random(n) < np.asarray(share_by_stratum)[stratum]
    p = np.asarray(base_by_stratum)[stratum] * np.where(member, ratio, 1.0)
    success = rng.random(n) < p
    tables = {}
    for w in range(k):
        here = stratum == w
        a, n1 = (success & member & here).sum(), (member & here).sum()
        c, n0 = (success & ~member & here).sum(), (~member & here).sum()
        tables[f"s{w}"] = np.array([[a, n1 - a], [c, n0 - c]], dtype=float)
    return tables


def _old_or_rule(tables):
    """The former flag, |crude OR / MH OR − 1| > 10 %, from statsmodels alone."""
    from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2

    ts = list(tables.values())
    return abs(Table2x2(sum(ts)).oddsratio / StratifiedTable(ts).oddsratio_pooled - 1) > 0.10


def test_a_strong_predictor_independent_of_the_segment_is_not_confounding():
    # exact balance: the segment is 20 % of every stratum; the stratum moves success a lot (60 % vs 10 %)
    tables = {"web": _table(120, 200, 240, 800), "android": _table(20, 200, 40, 800)}
    check = stats.strata_check(tables, "platform")
    # the rate ratio is collapsible: the crude one (0.35 / 0.175) equals the MH one exactly
    assert check.crude_risk_ratio == pytest.approx(2.0, rel=1e-12)
    assert check.pooled_risk_ratio == pytest.approx(_mh_risk_ratio(list(tables.values())), rel=1e-12)
    assert check.pooled_risk_ratio == pytest.approx(2.0, rel=1e-12)
    assert not check.confounded and not check.flagged
    assert "confounded" not in check.describe().lower()
    # the odds ratio is not: it moves by more than 10 % with no confounding at all (the old rule's false flag)
    assert _old_or_rule(tables)
    assert abs(check.crude_odds_ratio / check.pooled_odds_ratio - 1) > 0.10
    # sampled: independent membership (30 % everywhere), a strong predictor, a homogeneous rate ratio of 1.8
    seeds = range(40)
    old = new = 0
    for seed in seeds:
        sim = _simulated_tables(seed, [0.3, 0.3, 0.3], [0.05, 0.25, 0.45], 1.8)
        old += _old_or_rule(sim)
        new += stats.strata_check(sim, "platform").confounded
    assert new == 0
    assert old >= 0.9 * len(seeds)


def test_genuine_confounding_is_flagged_on_the_rate_ratio():
    from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2

    # the segment sits mostly in the strong stratum (80 % vs 20 %); within each the rate ratio is 1.2 exactly
    tables = {"web": _table(360, 1000, 75, 250), "android": _table(24, 250, 80, 1000)}
    check = stats.strata_check(tables, "platform")
    ts = list(tables.values())
    assert check.crude_risk_ratio == pytest.approx((384 / 1250) / (155 / 1250), rel=1e-12)
    assert check.crude_risk_ratio == pytest.approx(Table2x2(sum(ts)).riskratio, rel=1e-12)
    assert check.pooled_risk_ratio == pytest.approx(1.2, rel=1e-12)  # a common ratio is its own MH estimate
    assert check.pooled_risk_ratio == pytest.approx(_mh_risk_ratio(ts), rel=1e-12)
    assert check.pooled_risk_ratio == pytest.approx(StratifiedTable(ts).riskratio_pooled, rel=1e-12)
    assert check.confounded and not check.reversal
    assert (
        check.describe()
        == "Confounded by platform: the rate ratio moves from 2.48 to 1.20 once platform is held fixed."
    )
    # sampled: flagged at every seed, the MH rate ratio by hand and by statsmodels, close to the true 1.2
    for seed in range(20):
        sim = _simulated_tables(seed, [0.8, 0.2], [0.30, 0.08], 1.2)
        c = stats.strata_check(sim, "platform")
        assert c.confounded
        assert c.pooled_risk_ratio == pytest.approx(_mh_risk_ratio(list(sim.values())), rel=1e-12)
        assert c.pooled_risk_ratio == pytest.approx(StratifiedTable(list(sim.values())).riskratio_pooled, rel=1e-12)
        assert 1.0 < c.pooled_risk_ratio < 1.45 and c.crude_risk_ratio > 2


def test_strata_check_with_an_empty_cell_treats_crude_and_pooled_alike():
    from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2

    # everybody in the segment succeeds in both strata: MH on the raw tables is inf, the crude table has a zero
    tables = {"a": _table(10, 10, 5, 10), "b": _table(8, 8, 3, 10)}
    with np.errstate(divide="ignore"):
        assert math.isinf(StratifiedTable(list(tables.values())).oddsratio_pooled)
    check = stats.strata_check(tables, "s")
    fixed = [t + 0.5 for t in tables.values()]
    assert check.corrected
    assert check.pooled_odds_ratio == pytest.approx(StratifiedTable(fixed).oddsratio_pooled, rel=1e-12)
    assert check.crude_odds_ratio == pytest.approx(Table2x2(sum(fixed)).oddsratio, rel=1e-12)
    assert check.cmh_p_value == pytest.approx(
        StratifiedTable(list(tables.values())).test_null_odds(correction=False).pvalue, rel=1e-9
    )
    # the rate ratios on the same corrected tables: crude of their sum, MH by hand and by statsmodels
    assert check.crude_risk_ratio == pytest.approx(Table2x2(sum(fixed), shift_zeros=False).riskratio, rel=1e-12)
    assert check.pooled_risk_ratio == pytest.approx(StratifiedTable(fixed).riskratio_pooled, rel=1e-12)
    assert check.pooled_risk_ratio == pytest.approx(_mh_risk_ratio(fixed), rel=1e-12)
    text = check.describe()
    assert "inf" not in text and "nan" not in text and "0.5 added" in text
    # identical strata: crude equals MH (no confounding can appear from the correction alone)
    same = stats.strata_check({"a": _table(10, 10, 5, 10), "b": _table(10, 10, 5, 10)}, "s")
    assert same.crude_odds_ratio == pytest.approx(same.pooled_odds_ratio) and not same.confounded
    assert same.crude_risk_ratio == pytest.approx(same.pooled_risk_ratio, rel=1e-12)
    # one zero in one stratum: every stratum gets the correction
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mixed = stats.strata_check({"a": _table(0, 10, 5, 10), "b": _table(40, 50, 30, 100)}, "s")
        none_at_all = stats.strata_check({"a": _table(0, 10, 0, 10), "b": _table(0, 50, 0, 100)}, "s")
    assert mixed.stratum_odds_ratios["b"] == pytest.approx(Table2x2(_table(40, 50, 30, 100) + 0.5).oddsratio)
    assert mixed.stratum_risk_ratios["b"] == pytest.approx(Table2x2(_table(40, 50, 30, 100) + 0.5).riskratio)
    assert all(math.isfinite(v) for v in [mixed.crude_odds_ratio, mixed.pooled_odds_ratio, *mixed.pooled_ci])
    for c in (mixed, none_at_all):
        assert all(math.isfinite(v) for v in [c.crude_risk_ratio, c.pooled_risk_ratio, *c.stratum_risk_ratios.values()])
        assert "inf" not in c.describe() and "nan" not in c.describe()


EDGE_TABLES = [
    (x1, n1, x2, n2) for n1 in (0, 1, 3) for n2 in (0, 1, 4) for x1 in sorted({0, n1}) for x2 in sorted({0, n2})
] + [(0, 5_000_000, 3, 10), (5, 5, 0, 5_000_000), (1, 2, 1, 2)]


def test_no_runtime_warnings_and_no_nan_in_text_on_edge_tables():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x1, n1, x2, n2 in EDGE_TABLES:
            stats.wilson_interval(x1, n1)
            stats.difference_interval(x1, n1, x2, n2)
            stats.lift_interval(x1, n1, x2, n2)
            stats.ratio_interval(x1, n1, x2, n2)
            stats.lift(x1, n1, x2, n2)
            r = stats.two_proportion_test(x1, n1, x2, n2)
            assert 0 <= r.p_value <= 1
            if n1 and n2:
                check = stats.strata_check({"a": _table(x1, n1, x2, n2), "b": _table(x1, n1, x2, n2)}, "s")
                other = stats.strata_check({"a": _table(x1, n1, x2, n2), "b": _table(2, 5, 1, 6)}, "s")
                for c in (check, other):
                    assert "nan" not in c.describe() and "inf" not in c.describe()
                    assert math.isfinite(c.crude_odds_ratio) and math.isfinite(c.pooled_odds_ratio)
                    assert math.isfinite(c.crude_risk_ratio) and math.isfinite(c.pooled_risk_ratio)
        for x in ([0, 0, 0], [5, 5, 5], [0, 0, 5], [0, 5, 5], [1, 0, 5]):
            tp = stats.tipping_point_in_counts(["a", "b", "c"], x, [5, 5, 5])
            for text in (tp.describe(), tp.describe(min_units=6)):
                assert "nan" not in text and "inf" not in text
        stats.adjust([0.0, 1.0, float("nan")])


@pytest.mark.parametrize("seed", range(30))
def test_the_union_bound_is_above_the_exact_tail_and_equal_with_one_cut(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(3, 80, size=int(rng.integers(2, 7)))
    x = np.array([rng.integers(0, v + 1) for v in n])
    best = max(
        stats.g_squared(int(x[:c].sum()), int(n[:c].sum()), int(x[c:].sum()), int(n[c:].sum()))
        for c in range(1, len(n))
    )
    crossed, lost = stats.max_g2_tail(x, n, best)
    bound = stats.max_g2_union_bound(x, n, best)
    assert bound >= crossed - 1e-12
    if len(n) == 2:  # one cut: the bound is that cut's exact two-tailed hypergeometric p
        assert bound == pytest.approx(crossed + lost, rel=1e-9, abs=1e-15)


def test_a_tipping_point_far_beyond_the_floor_skips_the_chain_and_says_so():
    n = np.array([300_000, 250_000, 200_000, 150_000, 100_000])
    x = (n * np.array([0.05, 0.07, 0.1, 0.12, 0.15])).astype(int)
    point = stats.tipping_point_in_counts(list("abcde"), x, n)
    assert point.p_value <= stats.P_FLOOR and point.p_is_bound and point.p_text() == "p < 1e-15"
