"""Prioritisation maths for the experiments the team might run.

The worksheet's nine questions: (1) who is targeted, (2) risk of degrading the experience, (3) how big the test
group is, (4) the metric and expected lift, (5) forecast lift × group size = impact, (6) short/long-term fit,
(7) fit with the wider strategy, (8) speed: traffic and time to a result, (9) opportunity cost. Questions 3, 5
and 8 are computed here from the real traffic of the target segment; the others are the team's judgement,
scored 1–5 in the session. The default ranking is by impact per week of testing; dot votes override it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import stats
from .compare import resolve_segments
from .population import data_end, period_judged, require_window
from .segments import segment_table

if TYPE_CHECKING:
    from .workshop import Workshop

QUESTIONS = (
    ("target", "Who is targeted (segment and value)?"),
    ("risk", "Risk of degrading the experience (1 = none, 5 = high)"),
    ("size", "How big is the test group (units per week)?"),
    ("lift", "Metric and expected relative lift"),
    ("impact", "Forecast: extra successes per week = rate × lift × group size"),
    ("fit", "Short-term / long-term fit (1 = poor, 5 = strong)"),
    ("strategy", "Fit with the wider strategy (1 = poor, 5 = strong)"),
    ("speed", "Traffic and time to a result (weeks)"),
    ("cost", "Opportunity cost (1 = low, 5 = high)"),
)
JUDGEMENT = ("risk", "fit", "strategy", "cost")
RECENT_WEEKS = 4


@dataclass(frozen=True)
class Candidate:
    """An experiment idea: whom it targets and what it should do to success."""

    name: str
    segment: Any  # a segment name or trait; None targets everyone
    value: str | None
    expected_lift: float  # relative, e.g. 0.1 for +10%
    share: float = 0.5  # share of the group's traffic in the test
    scores: dict[str, int] = field(default_factory=dict)  # the team's 1-5 judgements
    author: str = ""


def weekly_units(
    ws: Workshop, segment: Any = None, value: str | None = None, weeks: int = RECENT_WEEKS
) -> pd.DataFrame:
    """Units first seen per week in the target group, and its success rate over those weeks.

    Uses the last ``weeks`` weeks of first seen whose units all have a closed success window (population.py):
    a week whose units could still succeed would give too low a rate, and one at the end of the data too few
    units. For a behaviour target, the units are those compared on it (not yet successful when its window
    ends), which is whom an experiment on that behaviour would reach.
    """
    period = {"name": "_week", "cohort": "week"}
    segments = resolve_segments(ws, [period] + ([segment] if segment is not None else []))
    table = segment_table(ws, segments)
    if segment is not None:
        table = table.filter(table[segments[1].name] == value)
    counts = table.group_by("_week").aggregate(units=table.count(), successes=table.success.ifelse(1, 0).sum())
    df = counts.to_pandas().rename(columns={"_week": "week"}).sort_values("week").reset_index(drop=True)
    within, end = ws.config.success.within_days, data_end(ws)
    df = df[df.week.map(lambda w: period_judged(w, "week", within, end)).astype(bool)]
    return df.tail(weeks).reset_index(drop=True)


def recent_groups(ws: Workshop, segment: Any, weeks: int = RECENT_WEEKS) -> pd.DataFrame:
    """Units and successes per value of ``segment`` over the last ``weeks`` judged weeks (as
    :func:`weekly_units` counts a target group): the partition the privacy rule judges a target group in."""
    period = {"name": "_week", "cohort": "week"}
    segments = resolve_segments(ws, [period, segment])
    table = segment_table(ws, segments)
    name = segments[1].name
    counts = table.group_by(["_week", name]).aggregate(units=table.count(), successes=table.success.ifelse(1, 0).sum())
    df = counts.to_pandas().rename(columns={"_week": "week", name: "value"})
    within, end = ws.config.success.within_days, data_end(ws)
    df = df[df.week.map(lambda w: period_judged(w, "week", within, end)).astype(bool)]
    recent = sorted(df.week.unique())[-weeks:]
    df = df[df.week.isin(recent)]
    out = df.groupby("value", as_index=False, dropna=False)[["units", "successes"]].sum()
    out["segment"] = name
    out["value"] = out["value"].astype(str)
    out["units"] = out["units"].astype("int64")
    out["successes"] = out["successes"].fillna(0).astype("int64")
    return out


def target_hidden(ws: Workshop, candidate: Candidate, units: int) -> bool:
    """Whether a candidate's traffic and rate are hidden in what is shared: its recent units under the privacy
    threshold, or its group hidden by the one rule (segworkshop.privacy) among the recent groups of its segment
    (the shown groups and "everyone" would otherwise give it by subtraction)."""
    from .privacy import hidden_values, is_small

    min_units = ws.config.privacy_min_units
    if is_small(units, min_units):
        return True
    if candidate.segment is None:
        return False
    groups = recent_groups(ws, candidate.segment)
    if not len(groups):
        return True
    return (str(groups.segment.iloc[0]), str(candidate.value)) in hidden_values(groups, min_units)


@dataclass(frozen=True)
class Evaluation:
    name: str
    target: str
    weekly_units: float
    rate: float
    expected_lift: float
    impact_per_week: float  # extra successes per week if rolled out to the whole group
    per_group: int | None
    weeks_to_result: int | None
    mde_relative: float  # the smallest relative lift detectable in 8 weeks of this traffic
    score: float  # impact per week of testing (the default ranking)
    judgement: float | None  # mean of the team's 1-5 scores, cost and risk inverted
    author: str = ""
    hidden: bool = False  # traffic, rate and what follows from them withheld (privacy threshold)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(ws: Workshop, candidate: Candidate, alpha: float = stats.ALPHA, power: float = 0.8) -> Evaluation:
    """Impact, sample size and weeks to a result for one candidate, from its segment's real weekly traffic."""
    require_window(ws, "prioritisation")
    recent = weekly_units(ws, candidate.segment, candidate.value)
    units = float(recent.units.mean()) if len(recent) else 0.0
    total_units, total_succ = int(recent.units.sum()), int(recent.successes.sum())
    rate = total_succ / total_units if total_units else math.nan
    target = "everyone" if candidate.segment is None else f"{candidate.segment} = {candidate.value}"
    per_group = weeks = None
    if units > 0 and 0 < rate < 1 and 0 < rate * (1 + candidate.expected_lift) < 1 and candidate.expected_lift:
        plan = stats.plan_experiment(
            rate, lift=candidate.expected_lift, alpha=alpha, power=power, weekly_units=units, share=candidate.share
        )
        per_group, weeks = plan.per_group, plan.weeks
    mde = math.nan
    if units > 0 and 0 < rate < 1:
        n8 = units * 8 * candidate.share / 2
        p1 = stats.minimum_detectable_rate(rate, n8, alpha, power)
        mde = p1 / rate - 1 if not math.isnan(p1) else math.nan
    impact = units * rate * candidate.expected_lift if not math.isnan(rate) else 0.0
    score = impact / weeks if weeks else 0.0
    judged = [(6 - v if k in ("risk", "cost") else v) for k, v in candidate.scores.items() if k in JUDGEMENT and v]
    hidden, note = target_hidden(ws, candidate, total_units), ""
    if hidden:  # nothing that would give the group's size or rate: ranked last unless the team votes for it
        units = rate = impact = mde = math.nan
        per_group = weeks = None
        score = 0.0
        note = f"fewer than {ws.config.privacy_min_units} {ws.unit}s in the target group (numbers hidden)"
    return Evaluation(
        name=candidate.name,
        target=target,
        weekly_units=units,
        rate=rate,
        expected_lift=candidate.expected_lift,
        impact_per_week=impact,
        per_group=per_group,
        weeks_to_result=weeks,
        mde_relative=mde,
        score=score,
        judgement=sum(judged) / len(judged) if judged else None,
        author=candidate.author,
        hidden=hidden,
        note=note,
    )


def rank(evaluations: list[Evaluation], votes: dict[str, int] | None = None) -> pd.DataFrame:
    """Candidates ordered by dot votes (if any), then by impact per week of testing; the team can see both."""
    df = pd.DataFrame([e.to_dict() for e in evaluations])
    if df.empty:
        return df
    df["votes"] = [int((votes or {}).get(name, 0)) for name in df.name]
    df = df.sort_values(["votes", "score", "impact_per_week"], ascending=False, kind="stable").reset_index(drop=True)
    df.insert(0, "rank", range(1, len(df) + 1))
    return df


def tally(votes: list[dict[str, int]]) -> dict[str, int]:
    """Dot votes summed over participants (each participant's latest ballot counts once)."""
    total: dict[str, int] = {}
    for ballot in votes:
        for name, dots in ballot.items():
            total[name] = total.get(name, 0) + int(dots)
    return total
