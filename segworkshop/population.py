"""Which units a comparison may count: closed success windows (censoring) and the landmark rule for behaviour.

Two rules, applied in one place (:func:`segworkshop.segments.segment_table`) so that every caller — compare,
trend, hypotheses, discover, the unsuccessful-users profile, prioritisation and the reports — counts the same
units (docs/statistics.md, sections 1 and 6):

* **Censoring.** A unit counts only once its success window is closed: ``start + within_days <= data end``
  (the last event's time, or ``data.observed_until``). A unit still inside its window has not had its chance;
  counting it as unsuccessful biases rates down, most for recent cohorts. Such units are left out of every
  rate, test and size, and counted ("1,930 users started in the last 14 days: too recent to judge, left out").
  Without ``success.within_days`` "success ever" is open for every unit and groups that started at different
  times cannot be compared fairly: comparisons refuse (:func:`require_window`) and propose a window.
* **Landmark** (Anderson, Cain & Gelber 1983). A behaviour ("did X", "days a week doing X", "did X n+ times")
  is measured over ``[start, start + N days)`` for every unit, and compared on success *after* day N among the
  units not yet successful at day N. Units that succeeded inside the behaviour window are left out of that
  comparison (shown as :data:`LEFT_OUT` in the segment's column, never compared) and counted on the row. This
  avoids both classic biases: cutting the window at success (early successes have less time to do X, so X
  looks harmful) and a fixed window that includes time after success (behaviour caused by success looks like a
  driver). The success window must therefore reach past the behaviour window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import ibis

from .errors import DataError
from .memo import per_state

if TYPE_CHECKING:
    from .workshop import Workshop

DEFAULT_BEHAVIOUR_DAYS = 7  # a behaviour segment without a window is measured over the first week
LEFT_OUT = "(succeeded within the behaviour window)"  # a behaviour column's value for units not compared
WINDOW_CHOICES = (7, 14, 21, 28, 30, 45, 60, 90)  # windows init and the refusal messages propose


@dataclass(frozen=True)
class Population:
    """How many units started, how many have a closed success window, and the data end used for it."""

    unit: str
    started: int
    mature: int
    successes: int  # among the mature units
    too_recent: int
    data_end: datetime | None
    within_days: float | None

    @property
    def rate(self) -> float:
        return self.successes / self.mature if self.mature else math.nan

    def describe(self) -> str:
        """The sentence an output prints about units left out as too recent (empty when none are)."""
        if not self.too_recent or self.within_days is None:
            return ""
        days = _num(self.within_days)
        end = f" (data end {self.data_end:%Y-%m-%d %H:%M} UTC)" if self.data_end else ""
        return f"{self.too_recent:,} {self.unit}s started in the last {days} days{end}: too recent to judge, left out."

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "mature": self.mature,
            "successes": self.successes,
            "too_recent": self.too_recent,
            "data_end": self.data_end.isoformat() if self.data_end else None,
            "within_days": self.within_days,
        }


def data_end(ws: Workshop) -> datetime | None:
    """The end of the observation: ``data.observed_until`` when set, else the last event's time (UTC); computed
    once per workshop (:attr:`segworkshop.workshop.Workshop.data_end`)."""
    return ws.data_end


def mature_condition(units: Any, within_days: float | None, end: datetime | None) -> Any:
    """The engine expression "this unit's success window is closed by ``end``" (None: nothing to censor by)."""
    from .unit_table import days_interval

    if within_days is None or end is None:
        return None
    naive = end.astimezone(timezone.utc).replace(tzinfo=None) if end.tzinfo else end  # as the engine's times are
    limit = ibis.literal(naive, type="timestamp")
    return units.start_at + days_interval(within_days) <= limit


def period_judged(period_start: Any, period: str, within_days: float | None, end: datetime | None) -> bool:
    """Every unit first seen in the period (``week`` from its Monday, or ``month``) has a closed success window
    by ``end``: the period ends at least the success window before the data end."""
    import pandas as pd

    if end is None:
        return True
    start = pd.Timestamp(period_start)
    after = start + (pd.Timedelta(days=7) if period == "week" else pd.DateOffset(months=1))
    limit = pd.Timestamp(end).tz_convert(None) if pd.Timestamp(end).tzinfo else pd.Timestamp(end)
    return bool(after + pd.Timedelta(days=within_days or 0) <= limit)


def require_window(ws: Workshop, what: str) -> None:
    """Refuse a comparison without ``success.within_days``, proposing a window from the data."""
    if ws.config.success.within_days is not None:
        return
    proposal = propose_window(ws)
    raise DataError(
        f"{what} needs a success window: without `success.within_days` a unit that started yesterday and one "
        "that started months ago are judged on different amounts of time, so groups with different start dates "
        f"cannot be compared fairly. Add `within_days: {proposal}` under `success:` in workshop.yaml ({_why(proposal)})."
    )


def propose_window(ws: Workshop, share: float = 0.8) -> int:
    """A success window from the data: the smallest usual window holding ``share`` of the successes that
    happen at all, capped so that at least half of the units have a closed window."""
    units = ws.unit_table(traits=[])
    row = units.aggregate(q=units.days_to_success.quantile(share), first=units.start_at.min()).to_pandas()
    q = row.q.iloc[0]
    end = data_end(ws)
    span = None
    if end is not None and row["first"].iloc[0] is not None:
        first = row["first"].iloc[0]
        span = (end.replace(tzinfo=None) - first.to_pydatetime().replace(tzinfo=None)).total_seconds() / 86400
    wanted = 14 if q is None or (isinstance(q, float) and math.isnan(q)) else float(q)
    choices = [w for w in WINDOW_CHOICES if w >= wanted] or [WINDOW_CHOICES[-1]]
    proposal = choices[0]
    if span is not None and span > 0:
        fitting = [w for w in WINDOW_CHOICES if w <= span / 2]
        if fitting and proposal > fitting[-1]:
            proposal = fitting[-1]
    return int(proposal)


def _why(days: int) -> str:
    return f"a window of {days} days holds most of the successes in this data and leaves most units judged"


@per_state
def population(ws: Workshop, units: Any = None) -> Population:
    """Started units, units with a closed success window, and the data end (one query); ``units``: the unit
    table to count, when the caller holds one already (e.g. cached; such a call is not memoised)."""
    units = ws.unit_table(traits=[]) if units is None else units
    within = ws.config.success.within_days
    end = data_end(ws)
    mature = mature_condition(units, within, end)
    ripe = mature if mature is not None else ibis.literal(True)
    row = units.aggregate(
        started=units.count(),
        mature=ripe.ifelse(1, 0).sum(),
        successes=(ripe & units.success).ifelse(1, 0).sum(),
    ).to_pandas()
    started = int(row.started.iloc[0] or 0)
    counted = int(row["mature"].iloc[0] or 0)
    return Population(
        unit=ws.unit,
        started=started,
        mature=counted,
        successes=int(row.successes.iloc[0] or 0),
        too_recent=started - counted,
        data_end=end,
        within_days=within,
    )


def check_landmark(segment: Any, within_days: float | None) -> None:
    """The success window must reach past a behaviour segment's window, or nothing is left to compare."""
    if within_days is None or not segment.behavioural:
        return
    window = segment.window
    if within_days <= window:
        raise DataError(
            f"segment {segment.name!r} measures behaviour over the first {_num(window)} days, but success counts "
            f"only within {_num(within_days)} days of the start: after day {_num(window)} nothing is left to "
            f"compare. Shorten the segment's window (e.g. `{segment.window_key}: {_shorter(within_days)}`) or "
            f"lengthen `success.within_days` (e.g. {_num(2 * window)})."
        )


def _shorter(within_days: float) -> str:
    return _num(max(1.0, min(DEFAULT_BEHAVIOUR_DAYS, math.floor(within_days / 2))))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def landmark_sentence(segment: Any, value: str, rate: float, rest_rate: float, unit: str, within_days: Any) -> str:
    """What a behaviour row compares, in words a PM reads: "among users who had not succeeded by day 7: did
    search in the first 7 days → 16.4% succeeded in days 7–14, vs 11.7% of the others"."""
    n = _num(segment.window)
    later = f"in days {n}–{_num(within_days)}" if within_days is not None else f"after day {n}"
    rest = "—" if math.isnan(rest_rate) else f"{rest_rate:.1%}"
    return (
        f"among {unit}s who had not succeeded by day {n}: {segment.doing(value)} → {rate:.1%} succeeded {later}, "
        f"vs {rest} of the others"
    )


__all__ = [
    "DEFAULT_BEHAVIOUR_DAYS",
    "LEFT_OUT",
    "Population",
    "check_landmark",
    "data_end",
    "landmark_sentence",
    "mature_condition",
    "period_judged",
    "population",
    "propose_window",
    "require_window",
]
