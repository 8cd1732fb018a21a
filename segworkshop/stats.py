"""The statistics of the kit, on statsmodels and scipy (see ../shared/STATS.md for the why of each choice).

* one rate: Wilson interval;
* two rates: Newcombe's difference interval, log-adjusted risk-ratio interval (lift = ratio − 1), and the
  kit's test rule (degenerate → p = 1; every expected count ≥ 5 → pooled z-test; otherwise Fisher's exact);
* many comparisons: Benjamini–Hochberg q-values (Holm and BY on request);
* sample size per group (Fleiss' pooled formula), test duration, minimum detectable effect;
* tipping points: best cut by G², exact p-value of the maximum over cuts, and a shape verdict;
* Simpson's paradox / confounding: Mantel–Haenszel with Breslow–Day.

Every function takes counts (successes, units), never raw rows: the engine does the counting.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

ALPHA = 0.05
Z_EXPECTED_MIN = 5  # every expected count at least this: z-test; otherwise Fisher's exact test

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
    """Interval for the relative lift p1/p2 − 1 (log-adjusted risk ratio; defined with zero counts)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    if n1 <= 0 or n2 <= 0:
        return (math.nan, math.nan)
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="log-adjusted", compare="ratio", alpha=alpha)
    return (float(low) - 1.0, float(high) - 1.0)


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
    method: str  # "z-test" | "fisher" | "degenerate"


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """Two-sided test of p1 = p2 by the kit's rule (see the module docstring)."""
    from scipy.stats import fisher_exact
    from statsmodels.stats.proportion import proportions_ztest

    total, successes = n1 + n2, x1 + x2
    if n1 <= 0 or n2 <= 0 or successes == 0 or successes == total:
        return TestResult(1.0, "degenerate")
    failures = total - successes
    expected = [n * successes / total for n in (n1, n2)] + [n * failures / total for n in (n1, n2)]
    if min(expected) >= Z_EXPECTED_MIN:
        _, p = proportions_ztest([x1, x2], [n1, n2])
        return TestResult(float(p), "z-test")
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


def _log_choose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln

    return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)


def _hypergeom_pmf(x: np.ndarray, population: int, good: np.ndarray, draws: int) -> np.ndarray:
    """P(x good in ``draws`` from ``population`` with ``good`` good), vectorised in log space (scipy's
    ``hypergeom.pmf`` is exact but about 100x slower on large arguments; this agrees with it to ~1e-9 relative)."""
    bad = population - good
    valid = (x >= 0) & (x <= good) & (draws - x >= 0) & (draws - x <= bad)
    xs = np.where(valid, x, 0)
    log = _log_choose(good, xs) + _log_choose(bad, draws - xs) - _log_choose(np.float64(population), np.float64(draws))
    return np.where(valid, np.exp(log), 0.0)


def max_g2_pvalue(successes: Sequence[int], units: Sequence[int], observed: float, eps: float = 1e-18) -> float:
    """Exact permutation p-value of max over cuts of G² (bucket sizes and total successes fixed).

    Under the null, the successes below each cut form a hypergeometric Markov chain; the p-value is the
    probability that the chain crosses the observed maximum at some cut (Miller & Siegmund 1982; Lausen &
    Schumacher 1992). States less likely than ``eps`` are dropped and their mass is added to p, so the result
    is exact to about 1e-15 and never optimistic.
    """
    n = np.asarray(units, dtype=np.int64)
    total, s = int(n.sum()), int(np.sum(successes))
    if s == 0 or s == total or len(n) < 2:
        return 1.0
    threshold = observed * (1 - 1e-9) - 1e-12
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
        pmf = _hypergeom_pmf(xs[None, :], remaining, left[:, None], draw)
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
    return float(min(1.0, crossed + lost))


@dataclass(frozen=True)
class TippingPoint:
    """The best single split of ordered buckets: "at or above ``cut``" vs below."""

    cut: object  # the first bucket value of the upper side
    g2: float
    p_value: float
    rate_below: float
    rate_above: float
    units_below: int
    units_above: int
    shape: str  # "threshold" | "gradual" | "ambiguous" | "none"
    deviance_step: float
    deviance_linear: float

    def describe(self, what: str = "") -> str:
        what = f" {what}" if what else ""
        if self.shape == "none":
            return f"No tipping point{what}: no split differs beyond chance (p = {self.p_value:.3g})."
        return (
            f"{self.rate_above:.1%} succeed at {self.cut}+{what} vs {self.rate_below:.1%} below "
            f"(p = {self.p_value:.3g} over all splits; shape: {self.shape})."
        )


def tipping_point(values: Sequence[object], successes: Sequence[int], units: Sequence[int]) -> TippingPoint:
    """Best cut by G² over ordered buckets, its exact p-value over all cuts, and the shape verdict.

    Shape: p ≥ 0.05 → none; else compare a step model (below/above the cut) with a linear-logit trend in the
    bucket's rank (grouped binomial GLMs, both two parameters): linear deviance − step deviance ≥ 2 →
    threshold; step − linear ≥ 2 → gradual; otherwise ambiguous.
    """
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
    p = max_g2_pvalue(x, n, best_g)
    dev_step, dev_linear = _shape_deviances(x, n, best)
    if p >= ALPHA:
        shape = "none"
    elif dev_linear - dev_step >= 2:
        shape = "threshold"
    elif dev_step - dev_linear >= 2:
        shape = "gradual"
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
    """Does an effect hold within strata of another trait? Mantel–Haenszel, CMH and Breslow–Day."""

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

    @property
    def flagged(self) -> bool:
        return self.reversal or self.confounded or self.heterogeneous

    def describe(self) -> str:
        if self.reversal:
            return (
                f"Simpson's paradox: within every {self.stratum} the effect goes the other way "
                f"(crude OR {self.crude_odds_ratio:.2f}, within-{self.stratum} OR {self.pooled_odds_ratio:.2f})."
            )
        if self.confounded:
            return (
                f"Confounded by {self.stratum}: the odds ratio moves from {self.crude_odds_ratio:.2f} to "
                f"{self.pooled_odds_ratio:.2f} once {self.stratum} is held fixed."
            )
        if self.heterogeneous:
            return (
                f"The effect differs between values of {self.stratum} (Breslow–Day p = {self.breslow_day_p_value:.3g})."
            )
        return f"Holds within {self.stratum} (MH OR {self.pooled_odds_ratio:.2f})."


def _odds_ratio(t: np.ndarray) -> float:
    a, b, c, d = t.ravel().astype(float)
    if min(a, b, c, d) == 0:  # Haldane: add one half to every cell
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    return (a * d) / (b * c)


def strata_check(tables: dict[str, np.ndarray], stratum: str, confounding: float = 0.10) -> StrataCheck | None:
    """Given one 2×2 table per stratum value ([[in-segment successes, failures], [rest successes, failures]]).

    Strata where one side is empty say nothing and are dropped; None if fewer than two remain.
    """
    from statsmodels.stats.contingency_tables import StratifiedTable

    usable = {k: np.asarray(t, dtype=float) for k, t in tables.items() if (np.asarray(t).sum(axis=1) > 0).all()}
    if len(usable) < 2:
        return None
    st = StratifiedTable([t for t in usable.values()])
    crude = _odds_ratio(sum(usable.values()))
    pooled = float(st.oddsratio_pooled)
    low, high = st.oddsratio_pooled_confint()
    per = {k: _odds_ratio(t) for k, t in usable.items()}
    logs = np.log(list(per.values()))
    all_above, all_below = (logs > 0).all(), (logs < 0).all()
    reversal = bool((all_above and crude < 1) or (all_below and crude > 1))
    try:
        bd = float(st.test_equal_odds().pvalue)
    except Exception:  # a stratum with a zero margin can make Breslow-Day undefined
        bd = math.nan
    return StrataCheck(
        stratum=stratum,
        crude_odds_ratio=float(crude),
        pooled_odds_ratio=pooled,
        pooled_ci=(float(low), float(high)),
        cmh_p_value=float(st.test_null_odds(correction=False).pvalue),
        breslow_day_p_value=bd,
        stratum_odds_ratios=per,
        reversal=reversal,
        confounded=bool(abs(crude / pooled - 1) > confounding) if pooled > 0 else False,
        heterogeneous=bool(bd < ALPHA) if not math.isnan(bd) else False,
    )
