"""Calibration of the kit's two-proportion test in the far tail, where Benjamini–Hochberg works.

Fisher's exact test (what ``stats.two_proportion_test`` runs) against the old rule (pooled z-test whenever every
expected count is at least 5, Fisher otherwise), by

* exact enumeration over the binomial margins of one group of 40 units vs 19,960 at a 14.7 % baseline: the size
  at nominal 1e-3, 1e-4, 1e-5;
* global-null simulations, every group vs all other units, BH at q = 0.05: P(at least one discovery).

The p-values are tabulated once per (group size n, total successes K, total units N) from the hypergeometric
law (log-gamma, independent of scipy's ``hypergeom``), and cross-checked against ``scipy.stats.fisher_exact``
and ``stats.two_proportion_test`` on a sample.

Measured (``python -m pytest tests/test_calibration.py -q -s`` prints them; seeds fixed below):

exact size, 40 vs 19,960 at 14.7 %      nominal 1e-3     1e-4     1e-5
    Fisher                               4.83e-4       6.83e-5  4.39e-6
    old rule (z: expected counts >= 5)   1.25e-3       3.29e-4  7.87e-5

global null, baseline 15 %, BH q = 0.05, P(at least one discovery) (Monte Carlo SE; one-sided 99 % upper bound)
    design       replicates   Fisher                      old rule
    500 x 40         40,000   0.0244 (0.0008; 0.0263)     0.1720 (0.0019)
    200 x 50         40,000   0.0317 (0.0009; 0.0338)     0.1102 (0.0016)
    100 x 100        50,000   0.0369 (0.0008; 0.0389)     0.0661 (0.0011)
    25 x 800        200,000   0.0460 (0.0005; 0.0471)     0.0503 (0.0005)
Fisher's figures depend on the baseline through its discreteness (500 x 40 at 14.7 %: 0.034).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gammaln
from scipy.stats import beta, binom, fisher_exact, norm
from statsmodels.stats.proportion import proportions_ztest

from segworkshop import stats

TIE = 1e-7  # tables within this relative probability count as equally likely (R's fisher.test uses the same)
Q = 0.05
SEED = 20240601


def _log_choose(a, b):
    return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)


def fisher_table(n: int, total: int, ks: np.ndarray) -> np.ndarray:
    """Two-sided Fisher p of x successes among n vs K − x among total − n, for every K in ``ks``, x in 0..n.

    p(x) = sum of the hypergeometric probabilities of the tables no more likely than x's (definition, not
    scipy's algorithm). Rows for K = 0 or K = total (degenerate) are 1.
    """
    ks = np.asarray(ks, dtype=float)[:, None]
    x = np.arange(n + 1, dtype=float)[None, :]
    rest = total - n
    ok = (ks - x >= 0) & (ks - x <= rest)
    xs = np.where(ok, ks - x, 0.0)
    log = _log_choose(float(n), x) + _log_choose(float(rest), xs) - _log_choose(float(total), ks)
    pmf = np.where(ok, np.exp(log), 0.0)
    out = np.ones(pmf.shape)
    for i, row in enumerate(pmf):
        if ks[i, 0] in (0, total):
            continue
        order = np.sort(row)
        cumulative = np.cumsum(order)
        idx = np.searchsorted(order, row * (1 + TIE), side="right") - 1
        out[i] = np.minimum(cumulative[idx], 1.0)
    return out


def z_rule_table(n: int, total: int, ks: np.ndarray, fisher: np.ndarray) -> np.ndarray:
    """The old rule: pooled z-test when every expected count is >= 5, Fisher otherwise."""
    ks = np.asarray(ks, dtype=float)[:, None]
    x = np.arange(n + 1, dtype=float)[None, :]
    rest = total - n
    pooled = ks / total
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x / n - (ks - x) / rest) / np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest))
    p = 2 * norm.sf(np.abs(z))
    expected = np.minimum(np.minimum(n * pooled, n * (1 - pooled)), np.minimum(rest * pooled, rest * (1 - pooled)))
    return np.where((expected >= 5) & np.isfinite(z), p, fisher)


# --------------------------------------------------------------------------- the tables are right


def test_tabulated_p_values_equal_scipy_fisher_and_the_kit():
    rng = np.random.default_rng(SEED)
    for n, total in [(40, 20_000), (50, 10_000), (100, 10_000), (800, 20_000), (7, 30)]:
        ks = np.unique(rng.binomial(total, 0.15, size=12))
        fisher = fisher_table(n, total, ks)
        old = z_rule_table(n, total, ks, fisher)
        for i, k in enumerate(ks):
            tails = [0, n // 3, (2 * n) // 5, min(n, k)]  # far-tail tables too (p down to ~1e-40)
            for x in [*np.unique(rng.binomial(n, 0.15, size=8)).tolist(), *tails]:
                x = min(x, int(k))
                if k - x > total - n:
                    continue
                ref = fisher_exact([[x, n - x], [k - x, total - n - (k - x)]])[1]
                assert fisher[i, x] == pytest.approx(ref, rel=1e-7, abs=1e-300), (n, total, k, x)
                assert stats.two_proportion_test(x, n, int(k - x), total - n).p_value == pytest.approx(ref, rel=1e-12)
                if old[i, x] != fisher[i, x]:
                    z_ref = proportions_ztest([x, k - x], [n, total - n])[1]
                    assert old[i, x] == pytest.approx(z_ref, rel=1e-9)


# --------------------------------------------------------------------------- exact size in the tail


def exact_sizes(n1: int, n2: int, rate: float, levels: list[float]) -> tuple[dict, dict, float]:
    """Size of Fisher and of the old rule at each nominal level, by enumeration over both binomial margins.

    x2 is enumerated where its probability exceeds 1e-30; the mass left out is returned (it bounds the error).
    """
    x1 = np.arange(n1 + 1)
    x2 = np.arange(n2 + 1)
    p2 = binom.pmf(x2, n2, rate)
    kept = p2 > 1e-30
    x2, p2 = x2[kept], p2[kept]
    left_out = 1 - p2.sum()
    ks = np.arange(x2.min(), x2.max() + n1 + 1)
    fisher = fisher_table(n1, n1 + n2, ks)
    old = z_rule_table(n1, n1 + n2, ks, fisher)
    joint = binom.pmf(x1, n1, rate)[:, None] * p2[None, :]
    rows = (x1[:, None] + x2[None, :]) - ks[0]
    cols = np.broadcast_to(x1[:, None], rows.shape)
    pf, pz = fisher[rows, cols], old[rows, cols]
    sizes_f = {a: float(joint[pf <= a].sum()) for a in levels}
    sizes_z = {a: float(joint[pz <= a].sum()) for a in levels}
    return sizes_f, sizes_z, float(left_out)


def test_fisher_holds_its_size_in_the_tail_where_the_z_rule_does_not():
    levels = [1e-3, 1e-4, 1e-5]
    fisher, old, left_out = exact_sizes(40, 19_960, 0.147, levels)
    print("\nexact size, 40 vs 19,960 at 14.7 %:")
    for a in levels:
        print(f"  nominal {a:.0e}: Fisher {fisher[a]:.2e}, old rule {old[a]:.2e}")
    assert left_out < 1e-20
    for a in levels:
        assert fisher[a] + left_out <= a
    # the old rule used the z-test on this table (every expected count >= 5) and is 2-6x over nominal
    assert old[1e-4] > 3 * 1e-4 and old[1e-5] > 3 * 1e-5 and old[1e-3] > 1e-3


# --------------------------------------------------------------------------- global null, BH


def bh_any(p: np.ndarray, q: float = Q) -> np.ndarray:
    """Per row (replicate): does BH at level q make at least one discovery? (some p_(i) <= q·i/m)."""
    m = p.shape[1]
    return (np.sort(p, axis=1) <= q * np.arange(1, m + 1) / m).any(axis=1)


def global_null(groups: int, n: int, rate: float, replicates: int, rng) -> tuple[float, float]:
    """P(at least one BH discovery) with Fisher and with the old rule: groups of n units, each vs the rest."""
    total = groups * n
    x = rng.binomial(n, rate, size=(replicates, groups))
    k = x.sum(axis=1)
    ks = np.unique(k)
    fisher = fisher_table(n, total, ks)
    old = z_rule_table(n, total, ks, fisher)
    row = np.searchsorted(ks, k)[:, None]
    return float(bh_any(fisher[row, x]).mean()), float(bh_any(old[row, x]).mean())


def upper_99(hits: int, trials: int) -> float:
    """Upper end of the one-sided 99 % Clopper–Pearson interval."""
    return float(beta.ppf(0.99, hits + 1, trials - hits)) if hits < trials else 1.0


@pytest.mark.parametrize(
    "groups,n,replicates", [(500, 40, 40_000), (200, 50, 40_000), (100, 100, 50_000), (25, 800, 200_000)]
)
def test_global_null_bh_discoveries_stay_under_five_percent(groups, n, replicates):
    rng = np.random.default_rng([SEED, groups, n])
    fisher, old = global_null(groups, n, 0.15, replicates, rng)
    se, se_old = (math.sqrt(v * (1 - v) / replicates) for v in (fisher, old))
    bound = upper_99(round(fisher * replicates), replicates)
    print(
        f"\nglobal null {groups} x {n}, {replicates} replicates: P(>= 1 BH discovery) Fisher {fisher:.4f} "
        f"(SE {se:.4f}, one-sided 99% upper bound {bound:.4f}), old rule {old:.4f} (SE {se_old:.4f})"
    )
    # shown, not just not contradicted: the one-sided 99 % upper bound is under 5 %
    assert bound <= Q
    if (groups, n) == (500, 40):  # the simulation sees the old rule's failure
        assert old - 3 * se_old > Q
