"""Answer the team's questions: hypotheses with verdicts, tipping points, and the Simpson's-paradox check.

A hypothesis is "users in <value> of <segment> succeed more / less / differently than <versus> (or the rest)".
Every hypothesis of a session is corrected together (Benjamini–Hochberg by default; Holm, stricter, for a few
pre-registered decision-driving ones), and answered even when the answer is "we cannot tell":

* **supported**: significant after correction, in the hypothesised direction;
* **refuted**: significant the other way, or the interval rules out an effect worth acting on (the author's
  ``expected_lift``, or a relative lift of 10% by default);
* **inconclusive**: neither; the minimum detectable effect at these group sizes says how big an effect would
  have been needed to see it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import stats
from .compare import resolve_segments, segment_counts
from .errors import DataError, did_you_mean, listing
from .segments import MISSING, segment_table

DIRECTIONS = ("more", "less", "different")
MEANINGFUL_LIFT = 0.10  # default smallest relative lift worth acting on


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


def check_hypotheses(
    ws: Any,
    hypotheses: Sequence[Hypothesis],
    *,
    correction: str = "fdr_bh",
    alpha: float = stats.ALPHA,
    power: float = 0.8,
) -> pd.DataFrame:
    """One row per hypothesis with the numbers, the corrected q-value and the verdict (see module docstring)."""
    if not hypotheses:
        return pd.DataFrame()
    specs = []
    for h in hypotheses:
        seg = resolve_segments(ws, [h.segment])[0]
        specs.append(seg)
    unique = list({s.name: s for s in specs}.values())
    counts, _ = segment_counts(segment_table(ws, unique), [s.name for s in unique], with_pairs=False)
    rows = []
    for h, seg in zip(hypotheses, specs, strict=True):
        part = counts[counts.segment == seg.name].set_index("value")
        for v in [h.value] + ([h.versus] if h.versus is not None else []):
            if v not in part.index:
                raise DataError(
                    f"hypothesis {h.text or h.value!r}: segment {seg.name!r} has no value {v!r}."
                    f"{did_you_mean(str(v), part.index)} Values: {listing(part.index)}."
                )
        na, xa = int(part.loc[h.value, "units"]), int(part.loc[h.value, "successes"])
        if h.versus is None:
            nb, xb = int(part.units.sum()) - na, int(part.successes.sum()) - xa
        else:
            nb, xb = int(part.loc[h.versus, "units"]), int(part.loc[h.versus, "successes"])
        rows.append(_numbers(h, seg.name, na, xa, nb, xb, alpha, power))
    df = pd.DataFrame(rows)
    df["q_value"] = stats.adjust(df["p_value"].to_numpy(), correction)
    df["correction"] = correction
    verdicts = [_verdict(r, alpha) for r in df.to_dict("records")]
    df["verdict"] = [v[0] for v in verdicts]
    df["explanation"] = [v[1] for v in verdicts]
    return df


def _numbers(h: Hypothesis, segment: str, na: int, xa: int, nb: int, xb: int, alpha: float, power: float) -> dict:
    ra = xa / na if na else math.nan
    rb = xb / nb if nb else math.nan
    test = stats.two_proportion_test(xa, na, xb, nb)
    d_low, d_high = stats.difference_interval(xa, na, xb, nb)
    l_low, l_high = stats.lift_interval(xa, na, xb, nb)
    mde_abs = math.nan
    if na and nb and 0 < rb < 1:
        n_equal = 2 / (1 / na + 1 / nb)  # the equal-size design with the same precision
        way = "down" if h.direction == "less" else "up"
        mde_abs = abs(stats.minimum_detectable_rate(rb, n_equal, alpha, power, direction=way) - rb)
    return {
        **{k: v for k, v in asdict(h).items() if k != "segment"},
        "segment": segment,
        "versus": h.versus if h.versus is not None else "the rest",
        "units_a": na,
        "successes_a": xa,
        "rate_a": ra,
        "units_b": nb,
        "successes_b": xb,
        "rate_b": rb,
        "diff": ra - rb,
        "diff_ci_low": d_low,
        "diff_ci_high": d_high,
        "lift": stats.lift(xa, na, xb, nb),
        "lift_ci_low": l_low,
        "lift_ci_high": l_high,
        "p_value": test.p_value,
        "test": test.method,
        "mde": mde_abs,
        "mde_relative": mde_abs / rb if rb else math.nan,
    }


def _verdict(r: dict, alpha: float) -> tuple[str, str]:
    meaningful = r["expected_lift"] if r["expected_lift"] is not None else MEANINGFUL_LIFT
    meaningful = abs(meaningful)
    significant = r["q_value"] <= alpha
    seen = f"{r['rate_a']:.1%} vs {r['rate_b']:.1%} ({r['versus']}), q = {r['q_value']:.3g}"
    up, down = r["diff"] > 0, r["diff"] < 0
    if significant and (
        (r["direction"] == "more" and up) or (r["direction"] == "less" and down) or r["direction"] == "different"
    ):
        return "supported", f"Supported: {seen}."
    if significant:
        return "refuted", f"Refuted: the difference goes the other way — {seen}."
    ruled_out = {
        "more": r["lift_ci_high"] < meaningful,
        "less": r["lift_ci_low"] > -meaningful,
        "different": -meaningful < r["lift_ci_low"] and r["lift_ci_high"] < meaningful,
    }[r["direction"]]
    if ruled_out:
        return "refuted", (
            f"Refuted: no difference beyond chance ({seen}), and the interval of the lift "
            f"[{r['lift_ci_low']:+.1%}, {r['lift_ci_high']:+.1%}] rules out a lift of {meaningful:.0%} or more."
        )
    mde = (
        ""
        if math.isnan(r["mde"])
        else (
            f" With these group sizes only a difference of {r['mde'] * 100:.1f} points "
            f"({r['mde_relative']:.0%} relative) or more would be detected reliably."
        )
    )
    return "inconclusive", f"Inconclusive (underpowered): {seen}.{mde}"


# --------------------------------------------------------------------------- tipping points and strata


def tipping_point(ws: Any, segment: Any) -> stats.TippingPoint:
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
    return stats.tipping_point(list(counts["value"]), counts["successes"].to_numpy(), counts["units"].to_numpy())


def simpson_check(ws: Any, segment: Any, value: str, stratum: Any) -> stats.StrataCheck | None:
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
