"""The statistics of the kit, on statsmodels and scipy (docs/statistics.md gives the why of each choice).

* one rate: Wilson score interval;
* two rates:
  - test: Fisher's exact two-sided test (``scipy.stats.fisher_exact``) for every table; degenerate tables
    (nobody or everybody succeeded, or an empty group) get p = 1, method "degenerate". The pooled z-test is not
    used: with "every expected count ≥ 5" it is anti-conservative in the far tail where Benjamini–Hochberg works
    (40 units vs 19,960 at 14.7 %: exact size 3.2e-4 at nominal 1e-4); Fisher's size is at or below nominal at
    every level (tests/test_calibration.py checks both by exact enumeration and by global-null simulations).
    ``fisher_exact`` takes 0.5-3 ms per table even at 5M units;
  - difference: Newcombe's hybrid score interval;
  - ratio (lift = ratio − 1): the Miettinen–Nurminen score interval, inverted by bisection (``ratio_interval``):
    it does not collapse at 0/n or n/n, the point estimate always lies inside it, and its upper end is inf
    when the second rate is zero (both zero: every ratio, [0, inf]);
* many comparisons: Benjamini–Hochberg q-values (Holm and BY on request);
* sample size per group (Fleiss' pooled formula), test duration, minimum detectable effect;
* tipping points: best cut by G², exact permutation p-value of the maximum over cuts (an upper bound, flagged as
  such below 1e-15), and a shape verdict from two grouped binomial GLMs (step vs linear logit) with a
  goodness-of-fit check of the step (a step that fits badly is "uneven", not a threshold); ``describe`` can
  withhold the rate of a side under a privacy threshold;
* Simpson's paradox / confounding (``strata_check``): confounding is judged on the success-rate ratio (risk
  ratio), crude vs Mantel–Haenszel, because it is collapsible: when the segment's share is the same in every
  stratum, the MH rate ratio equals the crude one exactly. The odds ratio is not collapsible (stratifying on any
  strong predictor of success moves it with no confounding at all), so it is kept for the CMH test, Breslow–Day
  and compatibility, not for the confounding flag. Reversal (every stratum on one side of no effect, the crude
  on the other) is the same on either scale. When any stratum has an empty cell, 0.5 is added to every cell of
  every stratum, for the crude, the pooled and the per-stratum ratios alike.

Every function takes counts (successes, units), never raw rows: the engine does the counting. None of them emits
RuntimeWarnings on edge tables (0/n, n/n, empty groups).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

ALPHA = 0.05
P_FLOOR = 1e-15  # max_g2_pvalue is exact to about this: smaller values are only upper bounds

SPREAD_SD = 10  # the transitions considered around each state's mean, in standard deviations

_WARM: threading.Thread | None = None


def warm_up() -> None:
    """Import statsmodels and scipy in the background (about a second) while the engine counts.

    The engine runs without holding the GIL, so the imports overlap the query instead of following it.
    """
    global _WARM
    if _WARM is None:

        def load() -> None:
            import scipy.stats  # noqa: F401
            import statsmodels.stats.multitest
            import statsmodels.stats.proportion  # noqa: F401

        _WARM = threading.Thread(target=load, name="segworkshop-warm-up", daemon=True)
        _WARM.start()


# --------------------------------------------------------------------------- one and two rates


def wilson_interval(successes: int, units: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval for successes/units (nan, nan for zero units)."""
    from statsmodels.stats.proportion import proportion_confint

    if units <= 0:
        return (math.nan, math.nan)
    low, high = proportion_confint(successes, units, alpha=alpha, method="wilson")
    return (float(max(0.0, low)), float(min(1.0, high)))


def difference_interval(x1: int, n1: int, x2: int, n2: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 − p2 (valid at 0/n and n/n)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    if n1 <= 0 or n2 <= 0:
        return (math.nan, math.nan)
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff", alpha=alpha)
    return (float(low), float(high))


def lift_interval(x1: int, n1: int, x2: int, n2: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Interval for the relative lift p1/p2 − 1: the Miettinen–Nurminen score interval for the ratio, minus one.

    Valid at 0/n and n/n (3/3 vs 2/2 gives −62 % to +240 %, not a point); the upper end is inf when
    x2 = 0; (−1, inf) when nobody succeeded on either side; nan for an empty group.
    """
    low, high = ratio_interval(x1, n1, x2, n2, alpha)
    return (float(low) - 1.0, float(high) - 1.0)


RATIO_LOG_RANGE = 60.0  # ratio bounds are searched in [e^-60, e^60]; beyond, the bound is 0 or inf


def _mn_ratio_score(ratio: np.ndarray, x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Miettinen–Nurminen score statistic of H0: p1 / p2 = ratio (decreasing in ratio), vectorised.

    Restricted MLE: p2~ is the smaller root of N·R·p² − (R·n1 + x1 + n2 + R·x2)·p + (x1 + x2) = 0 (computed as
    2c / (−b + √disc), stable), p1~ = R·p2~; variance (p1~q1~/n1 + R²·p2~q2~/n2)·N/(N − 1).
    Needs x1 + x2 > 0 (both zero: every ratio fits, handled by the caller).
    """
    total = n1 + n2
    a = ratio * total
    b = -(ratio * n1 + x1 + n2 + ratio * x2)
    c = x1 + x2
    disc = np.maximum(b * b - 4 * a * c, 0.0)
    p2 = np.clip(2 * c / (-b + np.sqrt(disc)), 0.0, 1.0)
    p1 = np.clip(ratio * p2, 0.0, 1.0)
    numerator = x1 / n1 - ratio * x2 / n2
    variance = (p1 * (1 - p1) / n1 + ratio**2 * p2 * (1 - p2) / n2) * total / (total - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = numerator / np.sqrt(variance)
    return np.where(numerator == 0, 0.0, np.where(variance > 0, z, np.sign(numerator) * np.inf))


def _bisect_decreasing(f, lo: np.ndarray, hi: np.ndarray, iterations: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """For f decreasing with f(lo) ≥ 0 ≥ f(hi) (elementwise): a bracket [lo, hi] of its root, ~1e-20 wide."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(iterations):
        mid = (lo + hi) / 2
        up = f(mid) >= 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return lo, hi


def ratio_interval(x1, n1, x2, n2, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Miettinen–Nurminen score interval for p1 / p2 (vectorised; scalars in, 0-d arrays out).

    The set of ratios R whose score statistic |z(R)| ≤ z(1 − α/2), found by bisection on log R (z decreases in
    R). Equal to statsmodels' ``confint_proportions_2indep(..., compare="ratio", method="score")`` on ordinary
    tables; unlike it, correct at x = n (statsmodels returns a lower bound of 1.0 for 3/3 vs 2/2) and free of
    warnings at zero counts. Lower bound 0 when x1 = 0, upper bound inf when x2 = 0, [0, inf] when both are 0,
    nan for an empty group. The point estimate (x1/n1) / (x2/n2) always lies inside.
    """
    from scipy.stats import norm

    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    x1, n1, x2, n2 = np.broadcast_arrays(x1, n1, x2, n2)
    crit = float(norm.ppf(1 - alpha / 2))
    empty = (n1 <= 0) | (n2 <= 0)
    none = (x1 + x2 == 0) & ~empty
    live = ~empty & ~none
    # harmless values where the statistic is not used, so that nothing warns
    n1s, n2s = np.where(empty, 1.0, n1), np.where(empty, 1.0, n2)
    x1s, x2s = np.where(live, x1, 1.0), np.where(live, x2, 1.0)

    def z(t: np.ndarray) -> np.ndarray:
        return _mn_ratio_score(np.exp(t), x1s, n1s, x2s, n2s)

    edge = RATIO_LOG_RANGE
    with np.errstate(divide="ignore"):
        t_hat = np.log(x1s / n1s) - np.log(x2s / n2s)  # -inf when x1 = 0, inf when x2 = 0
    centre = np.clip(t_hat, -edge, edge)
    low_t, _ = _bisect_decreasing(lambda t: z(t) - crit, np.full(centre.shape, -edge), centre)
    _, high_t = _bisect_decreasing(lambda t: z(t) + crit, centre, np.full(centre.shape, edge))
    low = np.where((x1s == 0) | (z(np.full(centre.shape, -edge)) < crit), 0.0, np.exp(low_t))
    high = np.where((x2s == 0) | (z(np.full(centre.shape, edge)) > -crit), np.inf, np.exp(high_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        point = (x1s / n1s) / (x2s / n2s)
    low, high = np.minimum(low, point), np.maximum(high, point)  # exp(log(r)) may miss r by an ulp
    low = np.where(empty, np.nan, np.where(none, 0.0, low))
    high = np.where(empty, np.nan, np.where(none, np.inf, high))
    return low, high


def lift(x1: int, n1: int, x2: int, n2: int) -> float:
    """p1 / p2 − 1; inf when only the second rate is zero, nan when both are or a group is empty."""
    if n1 <= 0 or n2 <= 0:
        return math.nan
    p1, p2 = x1 / n1, x2 / n2
    if p2 == 0:
        return math.nan if p1 == 0 else math.inf
    return p1 / p2 - 1.0


@dataclass(frozen=True)
class TestResult:
    p_value: float
    method: str  # "fisher" | "degenerate"


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """Two-sided test of p1 = p2: Fisher's exact test, ``scipy.stats.fisher_exact`` (a few ms at 5M units).

    Degenerate tables (an empty group, or nobody / everybody succeeded) give p = 1, method "degenerate".
    """
    from scipy.stats import fisher_exact

    total, successes = n1 + n2, x1 + x2
    if n1 <= 0 or n2 <= 0 or successes == 0 or successes == total:
        return TestResult(1.0, "degenerate")
    _, p = fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])
    return TestResult(float(p), "fisher")


def adjust(p_values: Sequence[float], method: str = "fdr_bh", family: int | None = None) -> np.ndarray:
    """q-values (BH by default; ``holm``, ``fdr_by`` on request) in input order; nan p-values stay nan.

    ``family``: the number of comparisons that were *looked at* when that is more than were computed (e.g.
    candidates chosen after a look at the data): the ones not computed count as p = 1, which keeps the
    correction honest about the selection.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        tested = p[ok]
        padding = max(0, (family or 0) - len(tested))
        padded = np.concatenate([tested, np.ones(padding)])
        out[ok] = multipletests(padded, method=method)[1][: len(tested)]
    return out


# --------------------------------------------------------------------------- sample size and duration


def _z(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def sample_size_per_group(p0: float, p1: float, alpha: float = ALPHA, power: float = 0.8) -> int:
    """Units per group to tell p0 from p1 (two-sided), Fleiss' classic pooled formula, rounded up."""
    _check_rate(p0, "baseline")
    _check_rate(p1, "target")
    if p0 == p1:
        raise ValueError("the target rate equals the baseline: there is no effect to detect")
    return math.ceil(_n_continuous(p0, p1, alpha, power) - 1e-9)


def _n_continuous(p0: float, p1: float, alpha: float, power: float) -> float:
    pbar = (p0 + p1) / 2
    za, zb = _z(1 - alpha / 2), _z(power)
    numerator = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
    return numerator**2 / (p1 - p0) ** 2


def minimum_detectable_rate(
    p0: float, n_per_group: float, alpha: float = ALPHA, power: float = 0.8, direction: str = "up"
) -> float:
    """The target rate p1 detectable with ``n_per_group`` units per group (same formula, solved for p1)."""
    from scipy.optimize import brentq

    _check_rate(p0, "baseline")
    if n_per_group <= 0:
        return math.nan
    edge = 1.0 - 1e-12 if direction == "up" else 1e-12
    if (direction == "up" and p0 >= edge) or (direction == "down" and p0 <= edge):
        return math.nan

    def gap(p1: float) -> float:
        return _n_continuous(p0, p1, alpha, power) - n_per_group

    start = p0 + 1e-12 if direction == "up" else p0 - 1e-12
    if gap(edge) > 0:  # even the most extreme rate needs more units than there are
        return math.nan
    return float(brentq(gap, start, edge) if direction == "up" else brentq(gap, edge, start))


@dataclass(frozen=True)
class SampleSize:
    baseline: float
    target: float
    alpha: float
    power: float
    per_group: int
    groups: int
    total: int
    weekly_units: float | None
    share: float
    days: int | None
    weeks: int | None

    @property
    def absolute_effect(self) -> float:
        return self.target - self.baseline

    @property
    def relative_effect(self) -> float:
        return self.target / self.baseline - 1 if self.baseline else math.nan

    def to_dict(self) -> dict:
        return {**asdict(self), "absolute_effect": self.absolute_effect, "relative_effect": self.relative_effect}


def plan_experiment(
    baseline: float,
    *,
    target: float | None = None,
    mde: float | None = None,
    lift: float | None = None,
    alpha: float = ALPHA,
    power: float = 0.8,
    weekly_units: float | None = None,
    share: float = 1.0,
    groups: int = 2,
) -> SampleSize:
    """Per-group n for baseline → target (or + absolute ``mde``, or × (1 + relative ``lift``)), and duration.

    days = ceil(groups · n / (weekly eligible units / 7 · share)); weeks = ceil(days / 7). This assumes each
    week brings new eligible units; returning units lengthen a test.
    """
    given = [v is not None for v in (target, mde, lift)]
    if sum(given) != 1:
        raise ValueError("give exactly one of target, mde (absolute) or lift (relative)")
    if mde is not None:
        target = baseline + mde
    elif lift is not None:
        target = baseline * (1 + lift)
    assert target is not None
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    n = sample_size_per_group(baseline, target, alpha, power)
    days = weeks = None
    if weekly_units is not None:
        if weekly_units <= 0:
            raise ValueError(f"weekly units must be positive, got {weekly_units}")
        days = math.ceil(groups * n / (weekly_units / 7 * share) - 1e-9)
        weeks = math.ceil(days / 7)
    return SampleSize(baseline, target, alpha, power, n, groups, groups * n, weekly_units, share, days, weeks)


def _check_rate(p: float, name: str) -> None:
    if not 0 < p < 1:
        raise ValueError(f"the {name} rate must be strictly between 0 and 1, got {p}")


# --------------------------------------------------------------------------- tipping points


def g_squared(x_low: int, n_low: int, x_high: int, n_high: int) -> float:
    """Likelihood-ratio statistic G² of the 2×2 table (below the cut vs at or above it)."""
    from scipy.stats import chi2_contingency

    table = np.array([[x_low, n_low - x_low], [x_high, n_high - x_high]], dtype=float)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return 0.0
    stat, *_ = chi2_contingency(table, correction=False, lambda_="log-likelihood")
    return float(stat)


def _g2_vector(c: np.ndarray, m: int, total: int, successes: int) -> np.ndarray:
    """G² for every possible cumulative success count ``c`` below a cut with ``m`` units below (vectorised)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cells = np.stack([c, m - c, successes - c, (total - m) - (successes - c)]).astype(float)
        rows = np.array([m, m, total - m, total - m], dtype=float)[:, None]
        cols = np.array([successes, total - successes, successes, total - successes], dtype=float)[:, None]
        expected = rows * cols / total
        terms = np.where(cells > 0, cells * np.log(cells / expected), 0.0)
    return 2 * terms.sum(axis=0)


def _log_factorials(n: int) -> np.ndarray:
    """``log k!`` for k = 0..n, as ``gammaln(k + 1)`` gives each: the chain below reads millions of them, and a
    lookup costs a tenth of evaluating ``gammaln`` (the same values, so the same p-values to the last bit)."""
    from scipy.special import gammaln

    return gammaln(np.arange(n + 1, dtype=np.float64) + 1)


def _hypergeom_pmf(x: np.ndarray, population: int, good: np.ndarray, draws: int, log_fact: np.ndarray) -> np.ndarray:
    """P(x good in ``draws`` from ``population`` with ``good`` good), vectorised in log space (scipy's
    ``hypergeom.pmf`` is exact but about 100x slower on large arguments; this agrees with it to ~1e-9 relative).
    ``log_fact``: :func:`_log_factorials` of at least ``population``."""
    bad = population - good
    valid = (x >= 0) & (x <= good) & (draws - x >= 0) & (draws - x <= bad)
    xs = np.where(valid, x, 0)

    def log_choose(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # outside ``valid`` any index will do
        a, b = np.asarray(a), np.asarray(b)
        return log_fact[a] - log_fact[np.clip(b, 0, None)] - log_fact[np.clip(a - b, 0, None)]

    log = log_choose(good, xs) + log_choose(bad, draws - xs) - log_choose(population, draws)
    return np.where(valid, np.exp(log), 0.0)


def max_g2_pvalue(successes: Sequence[int], units: Sequence[int], observed: float, eps: float = 1e-18) -> float:
    """Exact permutation p-value of max over cuts of G² (bucket sizes and total successes fixed).

    Under the null, the successes below each cut form a hypergeometric Markov chain; the p-value is the
    probability that the chain crosses the observed maximum at some cut (Miller & Siegmund 1982; Lausen &
    Schumacher 1992). States less likely than ``eps`` are dropped and their mass is added to p, so the result
    is never optimistic, but below about 1e-15 (``P_FLOOR``) it is only an upper bound (the truth may be far
    smaller): ``max_g2_tail`` returns the dropped mass separately, and ``TippingPoint.p_is_bound`` says so.
    """
    crossed, lost = max_g2_tail(successes, units, observed, eps)
    return float(min(1.0, crossed + lost))


def max_g2_tail(
    successes: Sequence[int], units: Sequence[int], observed: float, eps: float = 1e-18
) -> tuple[float, float]:
    """The two parts of ``max_g2_pvalue``: (mass that crossed the observed maximum, mass dropped as negligible).

    The exact p-value lies in [crossed, crossed + lost].
    """
    n = np.asarray(units, dtype=np.int64)
    total, s = int(n.sum()), int(np.sum(successes))
    if s == 0 or s == total or len(n) < 2:
        return 1.0, 0.0
    threshold = observed * (1 - 1e-9) - 1e-12
    log_fact = _log_factorials(total)
    states, probs = np.array([0], dtype=np.int64), np.array([1.0])
    remaining, below = total, 0
    crossed = lost = 0.0
    for draw in n[:-1]:
        draw = int(draw)
        left = s - states  # successes not yet placed, per state
        share = left / remaining
        spread = np.sqrt(np.maximum(draw * share * (1 - share) * (remaining - draw) / max(remaining - 1, 1), 0))
        lo = int(max(0, np.floor((draw * share - SPREAD_SD * spread).min()) - 2))
        hi = int(min(draw, np.ceil((draw * share + SPREAD_SD * spread).max()) + 2))
        xs = np.arange(lo, hi + 1)
        pmf = _hypergeom_pmf(xs[None, :], remaining, left[:, None], draw, log_fact)
        mass = probs[:, None] * pmf
        flat = (states[:, None] + xs[None, :]).ravel()
        # (the x range spans ±10 sd of every state's hypergeometric: what lies outside is below 1e-22)
        new = np.bincount(flat, weights=mass.ravel(), minlength=s + 1)
        keep = new > eps
        lost += float(new[~keep].sum())
        states, probs = np.nonzero(keep)[0].astype(np.int64), new[keep]
        remaining -= draw
        below += draw
        over = _g2_vector(states, below, total, s) >= threshold
        crossed += float(probs[over].sum())
        states, probs = states[~over], probs[~over]
        if not len(states):
            break
    return crossed, lost


def max_g2_union_bound(successes: Sequence[int], units: Sequence[int], observed: float) -> float:
    """An upper bound on ``max_g2_pvalue``: the sum over cuts of P(G² at that cut ≥ ``observed``), each exact
    under the same null (the successes below a cut are hypergeometric; G² is convex in them, so the event is
    two tails, read from scipy's hypergeometric cdf and sf). Cheap where the chain is dear: when the bound is
    already below what the chain resolves (``P_FLOOR``), the chain cannot say more."""
    from scipy.stats import hypergeom

    n = np.asarray(units, dtype=np.int64)
    total, s = int(n.sum()), int(np.sum(successes))
    if s == 0 or s == total or len(n) < 2:
        return 1.0
    threshold = observed * (1 - 1e-9) - 1e-12
    bound, below = 0.0, 0
    for draw in n[:-1]:
        below += int(draw)
        lo, hi = max(0, s - (total - below)), min(s, below)
        support = np.arange(lo, hi + 1, dtype=np.int64)
        over = _g2_vector(support, below, total, s) >= threshold
        if not over.any():
            continue
        inner = support[~over]
        if not len(inner):
            return 1.0
        left, right = int(inner.min()), int(inner.max())  # convex: the cut's G² stays under observed between
        bound += float(hypergeom.cdf(left - 1, total, s, below)) + float(hypergeom.sf(right, total, s, below))
    return min(1.0, bound)


SHAPES = {  # what describe() adds after the shape label
    "uneven": "the rates differ, but a single step fits them badly: step deviance {dev:.1f} on {df} df, "
    "p = {p:.2g}; look at the buckets, the cut is only the largest of several differences",
    "ambiguous": "a step and a linear trend fit about equally well",
}


@dataclass(frozen=True)
class TippingPoint:
    """The best single split of ordered buckets: "at or above ``cut``" vs below."""

    cut: object  # the first bucket value of the upper side
    g2: float
    p_value: float  # an upper bound when p_is_bound (then the truth can be far smaller)
    rate_below: float
    rate_above: float
    units_below: int
    units_above: int
    shape: str  # "threshold" | "gradual" | "uneven" | "ambiguous" | "none"
    deviance_step: float
    deviance_linear: float
    p_is_bound: bool = False  # p is below what the recursion resolves (P_FLOOR) or not exact to 3 digits
    step_fit_p_value: float = math.nan  # goodness of fit of the step: chi-square of its deviance, buckets − 2 df
    step_fit_df: int = 0

    def p_text(self) -> str:
        if self.p_is_bound:
            return f"p < {P_FLOOR:.0e}" if self.p_value <= P_FLOOR else f"p ≤ {self.p_value:.2g}"
        return f"p = {self.p_value:.3g}"

    def describe(self, what: str = "", min_units: int | None = None, withhold: bool = False) -> str:
        """One sentence. ``min_units``: a side with fewer units has its rate withheld (privacy threshold), and
        then the other side's too (with the segment's rate it would give the small side's). ``withhold``: both
        rates withheld anyway (the caller's privacy rule hides buckets on both sides of the cut, whose rates
        would tell them apart; see segworkshop.privacy)."""
        what = f" {what}" if what else ""
        if self.shape == "none":
            return f"No tipping point{what}: no split differs beyond chance ({self.p_text()})."

        def hidden(units: int) -> bool:
            return min_units is not None and units < min_units

        small_above, small_below = hidden(self.units_above), hidden(self.units_below)
        both = withhold or small_above or small_below
        withheld = f"fewer than {min_units} units (rate withheld)"
        protected = "rate withheld (privacy)"
        above = (withheld if small_above else protected) if both else f"{self.rate_above:.1%} succeed"
        below = (withheld if small_below else protected) if both else f"{self.rate_below:.1%}"
        meaning = SHAPES.get(self.shape, "").format(
            dev=self.deviance_step, df=self.step_fit_df, p=self.step_fit_p_value
        )
        cut = str(self.cut)
        at = cut if cut.endswith("+") else (f"{cut}+" if cut.replace(".", "", 1).isdigit() else f"{cut} or above")
        return (
            f"{above[0].upper()}{above[1:]} at {at}{what} vs {below} below "
            f"({self.p_text()} over all splits; shape: {self.shape}{' — ' + meaning if meaning else ''})."
        )


def tipping_point_in_counts(values: Sequence[object], successes: Sequence[int], units: Sequence[int]) -> TippingPoint:
    """Best cut by G² over ordered buckets, its exact p-value over all cuts, and the shape verdict.

    Shape: p ≥ 0.05 → none; else compare a step model (below/above the cut) with a linear-logit trend in the
    bucket's rank (grouped binomial GLMs, both two parameters): step − linear deviance ≥ 2 → gradual; else a
    step that fits badly (its deviance against chi-square with buckets − 2 df, p < 0.05) → uneven; else linear
    − step ≥ 2 → threshold; otherwise ambiguous.
    """
    from scipy.stats import chi2

    x = np.asarray(successes, dtype=np.int64)
    n = np.asarray(units, dtype=np.int64)
    keep = n > 0
    values = [v for v, k in zip(values, keep, strict=True) if k]
    x, n = x[keep], n[keep]
    if len(n) < 2:
        raise ValueError("a tipping point needs at least two non-empty ordered buckets")
    best_g, best = -1.0, 1
    for c in range(1, len(n)):
        g = g_squared(int(x[:c].sum()), int(n[:c].sum()), int(x[c:].sum()), int(n[c:].sum()))
        if g > best_g + 1e-12:
            best_g, best = g, c
    bound = max_g2_union_bound(x, n, best_g)
    if bound <= P_FLOOR:  # below what the exact chain resolves: it would only say "p < P_FLOOR" at more cost
        crossed, lost = 0.0, bound
    else:
        crossed, lost = max_g2_tail(x, n, best_g)
    p = float(min(1.0, crossed + lost))
    dev_step, dev_linear = _shape_deviances(x, n, best)
    df = len(n) - 2
    fit_p = float(chi2.sf(max(dev_step, 0.0), df)) if df > 0 else 1.0
    if p >= ALPHA:
        shape = "none"
    elif dev_step - dev_linear >= 2:
        shape = "gradual"
    elif fit_p < ALPHA:
        shape = "uneven"
    elif dev_linear - dev_step >= 2:
        shape = "threshold"
    else:
        shape = "ambiguous"
    nb, na = int(n[:best].sum()), int(n[best:].sum())
    return TippingPoint(
        cut=values[best],
        g2=best_g,
        p_value=p,
        rate_below=float(x[:best].sum() / nb),
        rate_above=float(x[best:].sum() / na),
        units_below=nb,
        units_above=na,
        shape=shape,
        deviance_step=dev_step,
        deviance_linear=dev_linear,
        p_is_bound=bool(p <= P_FLOOR or lost > 1e-3 * p),
        step_fit_p_value=fit_p,
        step_fit_df=df,
    )


def _shape_deviances(x: np.ndarray, n: np.ndarray, cut: int) -> tuple[float, float]:
    import statsmodels.api as sm

    endog = np.column_stack([x, n - x])
    rank = np.arange(len(n), dtype=float)
    step = (rank >= cut).astype(float)
    out = []
    for regressor in (step, rank):
        model = sm.GLM(endog, sm.add_constant(regressor, has_constant="add"), family=sm.families.Binomial())
        with warnings.catch_warnings():  # a perfect step (0% below, 100% above) is a fine answer here
            warnings.simplefilter("ignore")
            out.append(float(model.fit().deviance))
    return out[0], out[1]


# --------------------------------------------------------------------------- Simpson's paradox


@dataclass(frozen=True)
class StrataCheck:
    """Does an effect hold within strata of another trait? Mantel–Haenszel, CMH and Breslow–Day.

    ``confounded`` compares the crude success-rate ratio (``crude_risk_ratio``) with the Mantel–Haenszel pooled
    one (``pooled_risk_ratio``), see :func:`strata_check`. The odds-ratio fields are kept as before (CMH and
    Breslow–Day are odds-ratio based); ``pooled_ci`` is the CI of the MH *odds* ratio: statsmodels gives none for
    the pooled risk ratio.
    """

    stratum: str
    crude_odds_ratio: float
    pooled_odds_ratio: float
    pooled_ci: tuple[float, float]
    cmh_p_value: float
    breslow_day_p_value: float
    stratum_odds_ratios: dict[str, float]
    reversal: bool
    confounded: bool
    heterogeneous: bool
    corrected: bool = False  # 0.5 was added to every cell of every stratum (some stratum had an empty cell)
    crude_risk_ratio: float = math.nan  # in-segment success rate / the other row's, all strata summed
    pooled_risk_ratio: float = math.nan  # Mantel–Haenszel pooled rate (risk) ratio
    stratum_risk_ratios: dict[str, float] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return self.reversal or self.confounded or self.heterogeneous

    def describe(self) -> str:
        note = " (0.5 added to every cell: a stratum has an empty cell)" if self.corrected else ""
        crude, pooled = _num(self.crude_risk_ratio), _num(self.pooled_risk_ratio)
        if self.reversal:
            return (
                f"Simpson's paradox: within every {self.stratum} the effect goes the other way "
                f"(rate ratio {crude} overall, {pooled} within {self.stratum}){note}."
            )
        if self.confounded:
            return (
                f"Confounded by {self.stratum}: the rate ratio moves from {crude} to {pooled} once {self.stratum} "
                f"is held fixed{note}."
            )
        if self.heterogeneous:
            return (
                f"The effect differs between values of {self.stratum} (Breslow–Day p = {self.breslow_day_p_value:.3g})."
            )
        return f"Holds within {self.stratum} (rate ratio {pooled} within {self.stratum}){note}."


def _num(v: float) -> str:
    return f"{v:.2f}" if math.isfinite(v) else "undefined"


def _odds_ratio(t: np.ndarray) -> float:
    """a·d / (b·c) of a table whose cells are all positive (the caller applies the continuity correction)."""
    a, b, c, d = t.ravel().astype(float)
    return (a * d) / (b * c)


def _risk_ratio(t: np.ndarray) -> float:
    """(a / (a + b)) / (c / (c + d)): the first row's success rate over the second's (cells all positive)."""
    a, b, c, d = t.ravel().astype(float)
    return (a / (a + b)) / (c / (c + d))


def _pooled_risk_ratio(tables: list[np.ndarray]) -> float:
    """Mantel–Haenszel rate ratio Σ a_k·n0_k/N_k / Σ c_k·n1_k/N_k (n1 = a + b, n0 = c + d, N = n1 + n0).

    The same as statsmodels' ``StratifiedTable.riskratio_pooled`` (tests check both): written out here so the
    orientation (first row over second, success in the first column) is explicit.
    """
    t = np.stack(tables).astype(float)
    a, c = t[:, 0, 0], t[:, 1, 0]
    n1, n0 = t[:, 0].sum(axis=1), t[:, 1].sum(axis=1)
    total = n1 + n0
    return float((a * n0 / total).sum() / (c * n1 / total).sum())


def strata_check(tables: dict[str, np.ndarray], stratum: str, confounding: float = 0.10) -> StrataCheck | None:
    """Given one 2×2 table per stratum value ([[in-segment successes, failures], [rest successes, failures]]).

    Strata where one side is empty say nothing and are dropped; None if fewer than two remain. Crude, pooled
    (Mantel–Haenszel) and per-stratum rate ratios and odds ratios (with the MH odds ratio's CI and Breslow–Day)
    are computed on the same tables: the raw ones, or, when any stratum has an empty cell, every stratum with 0.5
    added to every cell (the crude ratios are then those of the sum of the corrected strata, so that identical
    strata give crude = MH). The CMH test uses the raw counts.

    Flags:

    * ``confounded``: |crude rate ratio / MH rate ratio − 1| > ``confounding`` (10 %). The rate ratio, not the
      odds ratio: the odds ratio is non-collapsible, so holding fixed a strong predictor of success moves it even
      when the segment is independent of the stratum (no confounding); the MH rate ratio equals the crude one
      whenever the segment's share is the same in every stratum, so only an imbalance of the segment across
      strata that drive success moves it;
    * ``reversal``: every stratum's effect on one side of no effect and the crude one on the other (the same on
      the rate-ratio and the odds-ratio scale);
    * ``heterogeneous``: Breslow–Day (homogeneity of the odds ratios, as statsmodels provides it) p < 0.05.
    """
    from scipy.stats import chi2
    from statsmodels.stats.contingency_tables import StratifiedTable

    usable = {k: np.asarray(t, dtype=float) for k, t in tables.items() if (np.asarray(t).sum(axis=1) > 0).all()}
    if len(usable) < 2:
        return None
    raw = list(usable.values())
    corrected = any((t == 0).any() for t in raw)
    work = [t + 0.5 for t in raw] if corrected else raw
    st = StratifiedTable(work)
    crude = _odds_ratio(sum(work))
    pooled = float(st.oddsratio_pooled)
    low, high = st.oddsratio_pooled_confint()
    per = {k: float(_odds_ratio(t)) for k, t in zip(usable, work, strict=True)}
    crude_rr = _risk_ratio(sum(work))
    pooled_rr = _pooled_risk_ratio(work)
    per_rr = {k: float(_risk_ratio(t)) for k, t in zip(usable, work, strict=True)}
    logs = np.log(list(per.values()))
    all_above, all_below = (logs > 0).all(), (logs < 0).all()
    reversal = bool((all_above and crude < 1) or (all_below and crude > 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Breslow-Day can be undefined (nan) on sparse strata: then not shown
        try:
            bd = float(st.test_equal_odds().pvalue)
        except Exception:
            bd = math.nan
    cmh = _cmh_p_value(raw, chi2)
    return StrataCheck(
        stratum=stratum,
        crude_odds_ratio=float(crude),
        pooled_odds_ratio=pooled,
        pooled_ci=(float(low), float(high)),
        cmh_p_value=cmh,
        breslow_day_p_value=bd,
        stratum_odds_ratios=per,
        reversal=reversal,
        confounded=bool(abs(crude_rr / pooled_rr - 1) > confounding),
        heterogeneous=bool(bd < ALPHA) if not math.isnan(bd) else False,
        corrected=corrected,
        crude_risk_ratio=float(crude_rr),
        pooled_risk_ratio=pooled_rr,
        stratum_risk_ratios=per_rr,
    )


def _cmh_p_value(tables: list[np.ndarray], chi2) -> float:
    """Cochran–Mantel–Haenszel test without continuity correction (as statsmodels' ``test_null_odds``).

    Strata with a zero margin carry no information (variance 0); if none carries any, p = 1.
    """
    t = np.stack(tables)
    a, rows1, cols1, totals = t[:, 0, 0], t[:, 0].sum(axis=1), t[:, :, 0].sum(axis=1), t.sum(axis=(1, 2))
    rows2, cols2 = totals - rows1, totals - cols1
    informative = totals > 1
    t_ok = totals[informative]
    expected = (rows1 * cols1)[informative] / t_ok
    variance = (rows1 * rows2 * cols1 * cols2)[informative] / (t_ok**2 * (t_ok - 1))
    if variance.sum() <= 0:
        return 1.0
    stat = (a[informative].sum() - expected.sum()) ** 2 / variance.sum()
    return float(chi2.sf(stat, 1))
