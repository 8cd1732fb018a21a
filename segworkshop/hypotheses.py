"""Answer the team's questions: hypotheses with verdicts, tipping points, and the Simpson's-paradox check.

A hypothesis is "units in <value> of <segment> succeed more / less / differently than <versus> (or the rest)".
Every hypothesis of a session is one family, corrected together: Benjamini–Hochberg (``fdr_bh``) by default;
``holm`` (stricter, for a few pre-registered decision-driving ones), ``fdr_by`` and ``bonferroni`` on request.
Each hypothesis gets two tests, and each kind of claim gets the *same* error control over the *same* family
(m = every hypothesis checked, including those hidden by the privacy rule):

* **support** — the kit's two-sided test of "no difference" (:func:`stats.two_proportion_test`), q-values by
  the chosen correction. *Supported*: q <= alpha and the difference goes the hypothesised way (``different``:
  either way). *Goes the other way*: q <= alpha the opposite way (its own verdict: a finding, not a refutation).
* **refutation** ("no effect worth acting on") — a one-sided score test (Miettinen–Nurminen, on the ratio of
  the rates) of H0 "the effect is at least the meaningful one": for ``more`` H0: ratio >= 1 + m, for ``less``
  H0: ratio <= 1 − m, for ``different`` both (two one-sided tests, p = the larger). m is the hypothesis' own
  ``expected_lift`` (its absolute value) or 10% (:data:`MEANINGFUL_LIFT`), decided per hypothesis. These p-values
  get the same correction over the same family; *refuted* when that q <= alpha (and the hypothesis is neither
  supported nor goes the other way). Where the score test cannot be computed (nobody succeeded in either
  group) p = 1: nothing is refuted.
* otherwise **inconclusive**, with the minimum detectable effect (Fleiss' formula, power ``power``, two-sided)
  at the per-comparison level this family needs for a further discovery: BH (R + 1)·alpha/m, BY the same over
  c(m) = 1 + 1/2 + … + 1/m, Holm alpha/(m − R), Bonferroni alpha/m (R: hypotheses the support test rejects).

The interval shown (``lift_ci_low``, ``lift_ci_high``, coverage ``ci_level``) is the score interval of the
ratio − 1, computed by inverting the same score test, at the level that matches the row's decision — the level
at which the correction's decisions are exactly "p <= level" (for BH the false-coverage-rate level R·alpha/m of
Benjamini & Yekutieli 2005; BY R·alpha/(m·c(m)); Holm alpha/(m − R + 1); Bonferroni alpha/m; alpha/m when R = 0):

* supported / goes the other way: two-sided at 1 − level (R from the support test);
* refuted / inconclusive: each bound one-sided at the refutation level (R from the refutation test), i.e. a
  two-sided 1 − 2·level interval. So a hypothesis is refuted exactly when that interval lies wholly below
  +m (``less``: wholly above −m; ``different``: inside ±m). Newcombe's difference interval
  (``diff_ci_low``/``diff_ci_high``) is given at the same coverage.

A supported hypothesis whose refutation test also rejects (real, but smaller than worth acting on) stays
*supported*; its explanation says that the effect is at most the bound.

Confounding: for a hypothesis against the rest or against another value, each other configured segment of the
workshop is a stratum (counts per pair, in the same single query); when :func:`stats.strata_check` finds a
reversal (any verdict) or confounding (supported, other way, refuted: the success-rate ratio moves by more than
10 % once the stratum is held fixed, Mantel–Haenszel), the ``caveat`` column says so, quoting the rate ratio
overall and within the stratum, and the verdict becomes e.g. "supported, but confounded".

Privacy: ``small`` marks a hypothesis whose group or versus group has fewer than ``privacy_min_units`` units;
``counts_hidden`` also marks groups a shared comparison table hides to protect such a group (by subtraction).
:func:`shareable` gives the rows as reports and the CLI show them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import stats
from .compare import SegmentCounts, count_segments, resolve_segments, segment_counts
from .errors import DataError, SegworkshopError, did_you_mean, listing
from .memo import per_state
from .population import landmark_sentence, population, require_window
from .privacy import suppress_partition
from .segments import MISSING, segment_table

if TYPE_CHECKING:
    from .workshop import Workshop

DIRECTIONS = ("more", "less", "different")
MEANINGFUL_LIFT = 0.10  # default smallest relative lift worth acting on
CORRECTIONS = {
    "fdr_bh": "Benjamini–Hochberg",
    "fdr_by": "Benjamini–Yekutieli",
    "holm": "Holm",
    "bonferroni": "Bonferroni",
}
VERDICTS = ("supported", "goes the other way", "refuted", "inconclusive")
CONFOUNDED = ", but confounded"
# the columns a report and the CLI show, in order, with their headers
SHOWN = {
    "author": "who",
    "text": "hypothesis",
    "segment": "segment",
    "value": "group",
    "versus": "versus",
    "direction": "succeeds",
    "units_a": "group units",
    "units_b": "versus units",
    "rate_a": "group rate",
    "rate_b": "versus rate",
    "lift": "lift",
    "lift_ci_low": "lift from",
    "lift_ci_high": "lift to",
    "ci_level": "interval",
    "q_value": "q",
    "verdict": "verdict",
    "explanation": "why",
    "compares": "what it compares (behaviour)",
    "left_out_too_recent": "left out: too recent",
    "left_out_succeeded_in_window": "left out: succeeded in the window",
}


@dataclass(frozen=True)
class Hypothesis:
    """ "Units whose <segment> is <value> succeed <direction> than <versus> (None: everyone else)"."""

    segment: Any
    value: str
    versus: str | None = None
    direction: str = "more"
    expected_lift: float | None = None
    text: str = ""
    author: str = ""

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise DataError(f"a hypothesis' direction is one of {', '.join(DIRECTIONS)}, not {self.direction!r}.")

    @property
    def label(self) -> str:
        """How messages name it: its text, or "<segment> = <value>", and its author."""
        name = self.text or f"{getattr(self.segment, 'name', self.segment)} = {self.value}"
        return f"{name!r}" + (f" ({self.author})" if self.author else "")

    @property
    def meaningful(self) -> float:
        """The smallest relative lift worth acting on: its own ``expected_lift`` (absolute value) or 10%."""
        return abs(float(self.expected_lift)) if self.expected_lift else MEANINGFUL_LIFT


@per_state
def check_hypotheses(
    ws: Workshop,
    hypotheses: Sequence[Hypothesis],
    *,
    correction: str = "fdr_bh",
    alpha: float = stats.ALPHA,
    power: float = 0.8,
    others: Sequence[float] = (),
) -> pd.DataFrame:
    """One row per hypothesis with the numbers, both q-values, the interval and the verdict (module docstring).

    ``others``: the p-values of the session's other comparisons (the ledger without these hypotheses,
    ledger.py). The support test is then corrected over all of them together, and the refutation tests over a
    family of the same size (the others counted as p = 1: they make no refutation claim).
    ``df.attrs`` holds the family size, the correction, alpha, the matched levels and the privacy threshold.
    """
    if not hypotheses:
        return pd.DataFrame()
    if correction not in CORRECTIONS:
        raise DataError(f"correction {correction!r} is not one of {', '.join(CORRECTIONS)}.")
    require_window(ws, "testing hypotheses")
    specs = [resolve_segments(ws, [h.segment])[0] for h in hypotheses]
    for h in hypotheses:
        if h.direction != "more" and h.meaningful >= 1:
            raise DataError(
                f"hypothesis {h.label}: an expected lift of {h.expected_lift:+.0%} cannot be a drop (at most −100%): "
                "give the expected change as a share, e.g. 0.2 for 20%."
            )
    strata = _strata_segments(ws)
    counted = _counts(ws, list({s.name: s for s in [*specs, *strata]}.values()))
    singles, pairs = counted.singles, counted.pairs
    pop = population(ws)
    min_units = ws.config.privacy_min_units
    rows = []
    for h, seg in zip(hypotheses, specs, strict=True):
        part = singles[singles.segment == seg.name].set_index("value")
        _check_values(h, seg.name, part)
        na, xa = int(part.loc[h.value, "units"]), int(part.loc[h.value, "successes"])
        if h.versus is None:
            nb, xb = int(part.units.sum()) - na, int(part.successes.sum()) - xa
        else:
            nb, xb = int(part.loc[h.versus, "units"]), int(part.loc[h.versus, "successes"])
        row = _numbers(h, seg.name, na, xa, nb, xb)
        # the units this comparison leaves out, and why (a reader can recount)
        row["left_out_too_recent"] = pop.too_recent
        row["left_out_succeeded_in_window"] = counted.left_out.get(seg.name, {}).get("units", 0)
        row["compares"] = (
            landmark_sentence(
                seg,
                h.value,
                xa / na if na else math.nan,
                xb / nb if nb else math.nan,
                ws.unit,
                ws.config.success.within_days,
            )
            if seg.behavioural and na
            else ""
        )
        row["small"] = na < min_units or nb < min_units
        flags = suppress_partition(part.reset_index().assign(segment=seg.name), min_units)
        protected = set(part.index[flags.to_numpy()])
        row["counts_hidden"] = row["small"] or h.value in protected or (h.versus is not None and h.versus in protected)
        row["_strata"] = [
            (other.name, _strata_tables(pairs, seg.name, other.name, h.value, h.versus))
            for other in strata
            if other.name != seg.name
        ]
        rows.append(row)
    df = pd.DataFrame(rows)
    k = len(df)
    rest = np.asarray(list(others), dtype=float)
    q_all = stats.adjust(np.concatenate([df["p_value"].to_numpy(dtype=float), rest]), correction)
    q_ref_all = stats.adjust(np.concatenate([df["p_refute"].to_numpy(dtype=float), np.ones(len(rest))]), correction)
    m = len(q_all)
    df["q_value"] = q_all[:k]
    df["q_refute"] = q_ref_all[:k]
    df["correction"] = correction
    support_level = matched_level(q_all, correction, alpha)
    refute_level = matched_level(q_ref_all, correction, alpha)
    need = needed_level(q_all, correction, alpha)
    out = [_decide(r, alpha, support_level, refute_level, need, power, ws.unit) for r in df.to_dict("records")]
    for key in out[0]:
        df[key] = [o[key] for o in out]
    df = df.drop(columns="_strata")
    df.attrs.update(
        family=m,
        hypotheses=k,
        correction=correction,
        alpha=alpha,
        power=power,
        support_level=support_level,
        refute_level=refute_level,
        needed_level=need,
        privacy_min_units=min_units,
    )
    return df


# --------------------------------------------------------------------------- counting (the one place)


def _counts(ws: Workshop, segments: list[Any]) -> SegmentCounts:
    """Units and successes per value of each segment, per pair of segments (the strata), and the units a
    behaviour leaves out at its landmark, in one query (the population rules: population.py)."""
    return count_segments(segment_table(ws, segments), [s.name for s in segments], with_pairs=len(segments) > 1)


def _strata_segments(ws: Workshop) -> list[Any]:
    """The workshop's configured segments (the strata of the confounding check); none is fine."""
    try:
        return resolve_segments(ws, None)
    except SegworkshopError:
        return []


# --------------------------------------------------------------------------- the numbers of one hypothesis


def _check_values(h: Hypothesis, segment: str, part: pd.DataFrame) -> None:
    for v in [h.value] + ([h.versus] if h.versus is not None else []):
        if v not in part.index:
            raise DataError(
                f"hypothesis {h.label}: segment {segment!r} has no value {v!r}."
                f"{did_you_mean(str(v), part.index)} Values: {listing(sorted(map(str, part.index)))}."
            )
    if h.versus is not None and h.versus == h.value:
        raise DataError(
            f"hypothesis {h.label}: compares {segment} = {h.value!r} with itself. Pick another value of "
            f"{segment} to compare with, or leave `versus` empty to compare with everyone else."
        )
    if len(part) < 2:
        raise DataError(
            f"hypothesis {h.label}: segment {segment!r} has only one value ({listing(part.index)}), so there is "
            "nothing to compare with. Pick a segment with two or more values, or check its definition."
        )


def _numbers(h: Hypothesis, segment: str, na: int, xa: int, nb: int, xb: int) -> dict:
    m = h.meaningful
    if h.direction == "more":
        p_refute = ratio_score_p(xa, na, xb, nb, 1 + m, "smaller")
    elif h.direction == "less":
        p_refute = ratio_score_p(xa, na, xb, nb, 1 - m, "larger")
    else:  # two one-sided tests: the effect is inside ±m only if both sides are rejected
        p_refute = max(ratio_score_p(xa, na, xb, nb, 1 + m, "smaller"), ratio_score_p(xa, na, xb, nb, 1 - m, "larger"))
    test = stats.two_proportion_test(xa, na, xb, nb)
    ra, rb = xa / na, xb / nb
    return {
        **{k: v for k, v in asdict(h).items() if k != "segment"},
        "segment": segment,
        "versus": h.versus if h.versus is not None else "the rest",
        "meaningful_lift": m,
        "units_a": na,
        "successes_a": xa,
        "rate_a": ra,
        "units_b": nb,
        "successes_b": xb,
        "rate_b": rb,
        "diff": ra - rb,
        "lift": stats.lift(xa, na, xb, nb),
        "p_value": test.p_value,
        "test": test.method,
        "p_refute": p_refute,
    }


def _decide(
    r: dict, alpha: float, support_level: float, refute_level: float, need: float, power: float, unit: str
) -> dict:
    """The verdict, its interval (at the level matching the decision), the MDE, the caveat and the words."""
    xa, na, xb, nb = r["successes_a"], r["units_a"], r["successes_b"], r["units_b"]
    way = "up" if r["diff"] > 0 else "down" if r["diff"] < 0 else "none"
    wanted = {"more": "up", "less": "down", "different": way}[r["direction"]]
    if r["q_value"] <= alpha and way != "none":
        verdict = "supported" if way == wanted else "goes the other way"
    elif r["q_refute"] <= alpha:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    # supported / other way: two-sided 1 − level; otherwise each bound one-sided at the refutation level
    ci_alpha = support_level if verdict in ("supported", "goes the other way") else 2 * refute_level
    low, high = ratio_score_interval(xa, na, xb, nb, ci_alpha)
    if verdict in ("supported", "goes the other way") and low <= 0 <= high:  # lift bounds: 0 is no effect
        # Fisher's test and the score interval disagree (tiny counts at a strict level): a verdict that its own
        # interval does not back is not shown as supported; the interval shown is the one that disagreed
        verdict = "inconclusive"
    d_low, d_high = stats.difference_interval(xa, na, xb, nb, alpha=ci_alpha)
    mde = math.nan
    rb = r["rate_b"]
    if 0 < rb < 1:
        n_equal = 2 / (1 / na + 1 / nb)  # the equal-size design with the same precision
        towards = "down" if r["direction"] == "less" else "up"  # the hypothesised way (``different``: up)
        target = stats.minimum_detectable_rate(rb, n_equal, need, power, direction=towards)
        mde = abs(target - rb)
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # zero margins: Breslow–Day is undefined (nan)
        warnings.simplefilter("ignore", RuntimeWarning)
        checks = [stats.strata_check(tables, name) for name, tables in r["_strata"]]
    caveats = [_caveat(check) for check in checks if check is not None]
    caveats = [c for c, flag in caveats if flag == "reversal" or (flag == "confounded" and verdict != "inconclusive")]
    out = {
        "verdict": verdict + (CONFOUNDED if caveats else ""),
        "caveat": " ".join(caveats),
        "lift_ci_low": low,
        "lift_ci_high": high,
        "diff_ci_low": d_low,
        "diff_ci_high": d_high,
        "ci_level": 1 - ci_alpha,
        "mde": mde,
        "mde_relative": mde / rb if 0 < rb < 1 else math.nan,
        "mde_level": need,
    }
    out["explanation"] = _explain({**r, **out}, verdict, unit, power, alpha)
    return out


def _strata_tables(
    pairs: pd.DataFrame | None, segment: str, other: str, value: str, versus: str | None
) -> dict[str, np.ndarray]:
    """One 2×2 table per value of ``other``: [[group successes, failures], [versus (or rest) successes, failures]]."""
    if pairs is None:
        return {}
    forward = pairs[(pairs.segment == segment) & (pairs.other == other)]
    if len(forward):
        mine, strata, part = forward.value, forward.other_value, forward
    else:
        part = pairs[(pairs.segment == other) & (pairs.other == segment)]
        mine, strata = part.other_value, part.value
    tables = {}
    for w in strata.unique():
        in_w = strata == w
        a = part[in_w & (mine == value)][["units", "successes"]].sum()
        b = part[in_w & ((mine != value) if versus is None else (mine == versus))][["units", "successes"]].sum()
        tables[str(w)] = np.array([[a.successes, a.units - a.successes], [b.successes, b.units - b.successes]])
    return tables


def _caveat(check: stats.StrataCheck) -> tuple[str, str]:
    s = check.stratum
    rrs = f"rate ratio {_ratio(check.crude_risk_ratio)} overall, {_ratio(check.pooled_risk_ratio)} within {s}"
    if check.reversal:
        return f"Confounded by {s}: within every {s} it goes the other way ({rrs}).", "reversal"
    if check.confounded:
        crude, pooled = abs(math.log(check.crude_risk_ratio)), abs(math.log(check.pooled_risk_ratio))
        how = "stronger" if pooled > crude else "weaker"
        return f"Confounded by {s}: holding {s} fixed, the effect is {how} ({rrs}).", "confounded"
    return "", ""


# --------------------------------------------------------------------------- words


def _q(q: float) -> str:
    return "q < 0.0001" if q < 1e-4 else f"q = {q:.2g}"


def _ratio(v: float) -> str:
    return f"{v:.2f}" if math.isfinite(v) else "unbounded"


def _pct(v: float, signed: bool = True) -> str:
    if math.isinf(v):
        return "unbounded" if v > 0 else "−100%"
    return f"{v:+.1%}" if signed else f"{v:.1%}"


def level_text(level: float) -> str:
    """A coverage as a percentage with the digits that matter: 95%, 98.3%, 99.99% (never a rounded 100%)."""
    gap = (1 - level) * 100
    if not math.isfinite(level):
        return "—"
    decimals = max(0, math.ceil(-math.log10(gap)) + 1) if gap > 0 else 0
    return f"{level * 100:.{decimals}f}".rstrip("0").rstrip(".") + "%"


def _effect(r: dict) -> str:
    if r["rate_b"] == 0 and r["rate_a"] > 0:
        return "no successes in the comparison group"
    if r["diff"] == 0:
        return "no difference"
    points = abs(r["diff"]) * 100
    if r["diff"] > 0:
        return f"a lift of {_pct(r['lift'])} ({points:.1f} points)"
    return f"a drop of {_pct(-r['lift'], signed=False)} ({points:.1f} points)"


def _interval(r: dict) -> str:
    low, high = r["lift_ci_low"], r["lift_ci_high"]
    if math.isnan(low) or math.isnan(high):
        return "lift without an interval (nobody succeeded in either group)"
    upper = "no upper bound" if math.isinf(high) else f"{_pct(high)}"
    return f"lift from {_pct(low)} to {upper} ({level_text(r['ci_level'])} interval, matched to the decision)"


def _explain(r: dict, verdict: str, unit: str, power: float, alpha: float) -> str:
    group = f"{unit}s with {r['segment']} = {r['value']}"
    how = {"more": "more", "less": "less", "different": "differently"}[r["direction"]]
    seen = f"{r['rate_a']:.1%} vs {r['rate_b']:.1%} ({r['versus']}), {_effect(r)}"
    m = r["meaningful_lift"]
    if verdict == "supported":
        text = f"Supported: {group} succeed {how}: {seen}; {_q(r['q_value'])}; {_interval(r)}."
        if r["direction"] != "different" and r["q_refute"] <= alpha:
            text += f" But the change is smaller than the {m:.0%} worth acting on ({_q(r['q_refute'])})."
    elif verdict == "goes the other way":
        text = (
            f"Goes the other way: the hypothesis was that {group} succeed {how}, but {seen}; "
            f"{_q(r['q_value'])}; {_interval(r)}."
        )
    elif verdict == "refuted":
        if r["direction"] == "more":
            bound = f"the lift is at most {_pct(r['lift_ci_high'])}"
        elif r["direction"] == "less":
            bound = f"the drop is at most {_pct(-r['lift_ci_low'], signed=False)}"
        else:
            bound = f"the lift lies between {_pct(r['lift_ci_low'])} and {_pct(r['lift_ci_high'])}"
        worth = f"±{m:.0%}" if r["direction"] == "different" else f"{m:.0%}"
        text = (
            f"Refuted, no effect worth acting on: {seen}; {bound} ({level_text(r['ci_level'])} interval, matched "
            f"to the decision), short of the {worth} worth acting on ({_q(r['q_refute'])})."
        )
    else:
        worth = {"more": f"a lift of {m:.0%}", "less": f"a drop of {m:.0%}", "different": f"a change of ±{m:.0%}"}
        text = (
            f"Inconclusive: {seen}; {_q(r['q_value'])}, not significant after correction, and the {_interval(r)} "
            f"does not rule out {worth[r['direction']]}, the effect worth acting on."
        )
        if not math.isnan(r["mde"]):
            text += (
                f" With these group sizes only a difference of {r['mde'] * 100:.1f} points "
                f"({r['mde_relative']:.0%} relative) or more would be detected reliably (power {power:.0%}, "
                f"at the per-comparison level {r['mde_level']:.2g} this family needs)."
            )
    if r["caveat"]:
        text += " " + r["caveat"]
    return text


# --------------------------------------------------------------------------- levels and the ratio score test


def _c(m: int, method: str) -> float:
    return sum(1 / i for i in range(1, m + 1)) if method == "fdr_by" else 1.0


def matched_level(q: Sequence[float], method: str, alpha: float = stats.ALPHA) -> float:
    """The per-comparison level at which ``method``'s decisions are exactly "p <= level" (R = rejections).

    BH: max(R, 1)·alpha/m (the false-coverage-rate level of Benjamini & Yekutieli 2005); BY: the same over c(m);
    Holm: alpha/(m − max(R, 1) + 1); Bonferroni: alpha/m.
    """
    q = np.asarray(q, dtype=float)
    m, r = len(q), max(int((q <= alpha).sum()), 1)
    if method in ("fdr_bh", "fdr_by"):
        return r * alpha / (m * _c(m, method))
    if method == "holm":
        return alpha / (m - r + 1)
    return alpha / m


def needed_level(q: Sequence[float], method: str, alpha: float = stats.ALPHA) -> float:
    """The per-comparison level a not-yet-rejected hypothesis needs to be rejected, the others held fixed."""
    q = np.asarray(q, dtype=float)
    m, r = len(q), int((q <= alpha).sum())
    if method in ("fdr_bh", "fdr_by"):
        return min(r + 1, m) * alpha / (m * _c(m, method))
    if method == "holm":
        return alpha / max(m - r, 1)
    return alpha / m


def ratio_score_p(x1: int, n1: int, x2: int, n2: int, ratio: float, alternative: str) -> float:
    """One-sided p-value of the Miettinen–Nurminen score test of H0: p1/p2 = ``ratio``.

    ``alternative``: "smaller" (H1: p1/p2 < ratio) or "larger". The same statistic as statsmodels'
    ``test_proportions_2indep(..., compare="ratio", method="score")``, written out so that it is defined on
    edge tables (0/n, n/n); p = 1 where it is not (no success in either group).
    """
    from scipy.stats import norm

    if n1 <= 0 or n2 <= 0 or x1 + x2 == 0 or ratio <= 0:
        return 1.0
    n = n1 + n2
    a = n * ratio
    b = -(n1 * ratio + x1 + n2 + x2 * ratio)
    c = x1 + x2
    p2 = (-b - math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)  # constrained maximum likelihood
    p1 = ratio * p2
    var = (p1 * (1 - p1) / n1 + ratio**2 * p2 * (1 - p2) / n2) * n / (n - 1)
    if not var > 0:
        return 1.0
    z = (x1 / n1 - ratio * x2 / n2) / math.sqrt(var)
    return float(norm.cdf(z) if alternative == "smaller" else norm.sf(z))


def ratio_score_interval(x1: int, n1: int, x2: int, n2: int, alpha: float = stats.ALPHA) -> tuple[float, float]:
    """Two-sided 1 − alpha interval of the lift p1/p2 − 1 by inverting :func:`ratio_score_p` (each side alpha/2).

    Defined at 0/n and n/n: the lower end is −100% when x1 = 0, the upper one inf when x2 = 0.
    """
    from scipy.optimize import brentq

    if n1 <= 0 or n2 <= 0 or x1 + x2 == 0:
        return (math.nan, math.nan)
    side = alpha / 2
    lo, hi = math.log(1e-9), math.log(1e9)

    def upper(u: float) -> float:  # > 0 while the ratio e^u is not rejected as too high
        return ratio_score_p(x1, n1, x2, n2, math.exp(u), "smaller") - side

    def lower(u: float) -> float:  # > 0 while e^u is not rejected as too low
        return ratio_score_p(x1, n1, x2, n2, math.exp(u), "larger") - side

    high = math.inf if upper(hi) > 0 or x2 == 0 else math.exp(brentq(upper, lo, hi, xtol=1e-12))
    low = 0.0 if lower(lo) > 0 or x1 == 0 else math.exp(brentq(lower, lo, hi, xtol=1e-12))
    return (low - 1.0, high - 1.0)


# --------------------------------------------------------------------------- what may be shared


def family_text(attrs: dict) -> str:
    """What the q-values of a hypotheses table are corrected over, exactly."""
    how = CORRECTIONS.get(attrs["correction"], attrs["correction"])
    k, m = attrs.get("hypotheses", attrs["family"]), attrs["family"]
    if m == k:
        over = f"over all {m} hypotheses, for support and for refutation alike"
    else:
        over = (
            f"over all {m:,} comparisons of the session ({k} hypotheses among them: the same q as on every other "
            f"page); the refutation tests over a family of the same size"
        )
    return f"q-values: {how} {over} (alpha {attrs['alpha']})"


def shareable(df: pd.DataFrame, min_units: int | None = None) -> pd.DataFrame:
    """The rows as a shared report and the CLI show them: the :data:`SHOWN` columns, then ``hidden``.

    A hypothesis whose group or versus group has fewer than ``min_units`` units (default: the workshop's
    privacy threshold, in ``df.attrs``) shows no numbers and no verdict, only "fewer than N units (hidden)".
    Nor does one whose group the one privacy rule (:mod:`segworkshop.privacy`) hides to protect a small group:
    its sizes would reveal the small group by subtraction, and its rate with the shown rows and the baseline
    would too.
    """
    if df.empty:
        return pd.DataFrame(columns=[*SHOWN, "hidden"])
    limit = int(min_units if min_units is not None else df.attrs.get("privacy_min_units", 10))
    tiny = df["small"].astype(bool) | (df["units_a"] < limit) | (df["units_b"] < limit)
    small = tiny | df["counts_hidden"].astype(bool)
    out = df[list(SHOWN)].copy()
    numbers = ["rate_a", "rate_b", "lift", "lift_ci_low", "lift_ci_high", "ci_level", "q_value"]
    for c in ("units_a", "units_b"):  # whole numbers, or None when hidden
        out[c] = pd.Series(
            [None if h else int(v) for v, h in zip(out[c], small, strict=True)], dtype=object, index=out.index
        )
    out[numbers] = out[numbers].astype("float64").where(~small, np.nan)
    note = f"fewer than {limit} units (hidden)"
    out["verdict"] = out["verdict"].where(~small, "hidden")
    out["explanation"] = out["explanation"].where(~tiny, note)
    out["compares"] = out["compares"].where(~small, "")  # it quotes the rates
    protects = small & ~tiny
    out.loc[protects, "explanation"] = (
        f"hidden: with the other tables its numbers would reveal a group of fewer than {limit} units."
    )
    out["hidden"] = small
    out.attrs = dict(df.attrs, privacy_min_units=limit)
    return out


# --------------------------------------------------------------------------- tipping points and strata


@per_state
def tipping_point(ws: Workshop, segment: Any) -> stats.TippingPoint:
    """The tipping point of an ordered segment (frequency, count, bins, cohort), missing values left out."""
    seg = resolve_segments(ws, [segment])[0]
    if not seg.ordered:
        raise DataError(
            f"segment {seg.name!r} is a {seg.kind}: a tipping point needs ordered buckets (frequency, count or bins)."
        )
    counts, _ = segment_counts(segment_table(ws, [seg]), [seg.name], with_pairs=False)
    counts = counts[counts.value != MISSING]
    labels = seg.labels()
    if labels:  # every bucket, including empty ones, in order
        counts = counts.set_index("value")[["units", "successes"]].reindex(labels, fill_value=0)
        counts = counts.rename_axis("value").reset_index()
    else:
        counts = counts.sort_values("value")
    return stats.tipping_point_in_counts(
        list(counts["value"]), counts["successes"].to_numpy(), counts["units"].to_numpy()
    )


def simpson_check(ws: Workshop, segment: Any, value: str, stratum: Any) -> stats.StrataCheck | None:
    """Does "<segment> = <value> vs the rest" hold within every value of ``stratum``? (Mantel–Haenszel)."""
    seg, strat = resolve_segments(ws, [segment, stratum])
    table = segment_table(ws, [seg, strat])
    _, pairs = segment_counts(table, [seg.name, strat.name], with_pairs=True)
    tables = {}
    for w, part in pairs.groupby("other_value"):
        a = part[part.value == value][["units", "successes"]].sum()
        r = part[part.value != value][["units", "successes"]].sum()
        tables[str(w)] = np.array([[a.successes, a.units - a.successes], [r.successes, r.units - r.successes]])
    return stats.strata_check(tables, strat.name)
