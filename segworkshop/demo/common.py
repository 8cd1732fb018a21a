"""What the three demo datasets share: the time frame, the planted truths' common parameters, random helpers
(weighted draws, systematic sampling, first-seen times, active days, times of day), sessions to events, ids and
labels, and the finishing of a chunk's events table.

The helpers keep their leading underscore: they are private to the ``segworkshop.demo`` package (each kind's
module imports them), not part of its public face.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
START = np.datetime64("2026-01-05", "ms")  # a Monday: first-seen dates spread over 12 weeks from here
SIGNUP_DAYS = 84
START_MS = int(START.astype("int64"))
END_MS = START_MS + (SIGNUP_DAYS + 30) * DAY_MS  # observation ends 30 days after the last signup day
FRICTION_START, FRICTION_END = "2026-02-09", "2026-02-22"  # inclusive, by the unit's first event (UTC)
_FRICTION_DAYS = (
    int((np.datetime64(FRICTION_START) - START.astype("datetime64[D]")).astype(int)),
    int((np.datetime64(FRICTION_END) - START.astype("datetime64[D]")).astype(int)),
)
WINDOW_DAYS = 14  # the "days a week" window
THRESHOLD = 4  # the tipping point, in days a week
DUPLICATE_SHARE = 0.001  # exact duplicate event rows (a realistic imperfection for the validator to report)

# Share of units per "days a week" bucket 0..7 (same for all kinds; independent of every trait). Bucket 0 is
# empty: X is part of every unit's first session (day 0 of week one), so no unit can do X on 0 days of the first
# week; the lowest bucket is 1 (X on day 0 and on one day of the second week). 72% of units are below 4.
BUCKET_WEIGHTS = np.array([0.0, 0.48, 0.14, 0.10, 0.09, 0.07, 0.06, 0.06])
# The users' age bands (eComm and FinServ; each kind has its own weights).
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")


@dataclass(frozen=True)
class _Kind:
    """What a dataset kind is: its workshop.yaml's title, unit, success and segments, and its planted truths."""

    title: str
    unit: str
    events: tuple[str, ...]  # alphabetical, so event codes sort like the names
    success_event: str
    within_days: int
    segments: tuple[str, ...]
    truths: dict


def _alpha(*names: str) -> tuple[str, ...]:
    return tuple(sorted(names))


def _draw(rng: np.random.Generator, weights: Sequence[float], n: int) -> np.ndarray:
    """Category codes 0..k-1 with the given (unnormalised) weights."""
    w = np.asarray(weights, dtype=float)
    return np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right").clip(0, len(w) - 1)


def _systematic(rng: np.random.Generator, p: np.ndarray, keys: Sequence[np.ndarray]) -> np.ndarray:
    """Draw one Bernoulli(p_i) per unit by systematic sampling over units ordered by ``keys`` (first = primary).

    Every run of consecutive units in that order gets ``sum(p)`` successes to within one, so designed cells hit
    their expected rates closely; the order inside a cell is random, so which units succeed is random.
    """
    n = len(p)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((rng.random(n), *[np.asarray(k) for k in reversed(keys)]))
    q = p[order]
    c = np.cumsum(q) + rng.random()
    hit = np.floor(c) > np.floor(c - q)
    out = np.empty(n, dtype=bool)
    out[order] = hit
    return out


def _first_seen(
    rng: np.random.Generator,
    n: int,
    weekday_w: Sequence[float],
    hour_w: Sequence[float],
    latest: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """First-seen times (ms since epoch) over the 12 signup weeks, and their day index from START; times of day
    at most ``latest`` (ms) when given."""
    days = np.arange(SIGNUP_DAYS)
    w = np.asarray(weekday_w, dtype=float)[days % 7] * (1.0 + 0.25 * days / SIGNUP_DAYS)  # mild growth
    day = _draw(rng, w, n)
    tod = _tod(rng, n, hour_w) if latest is None else _tod_between(rng, 0, latest, hour_w, n)
    return START_MS + day * DAY_MS + tod, day


def _tod(rng: np.random.Generator, shape, hour_w: Sequence[float]) -> np.ndarray:
    """Times of day (ms) with an hourly shape."""
    size = int(np.prod(shape))
    hour = _draw(rng, hour_w, size)
    ms = hour * HOUR_MS + (rng.random(size) * HOUR_MS).astype(np.int64)
    return ms.reshape(shape)


def _active_days(
    rng: np.random.Generator, first_day: np.ndarray, bucket: np.ndarray, weekday_w: Sequence[float]
) -> np.ndarray:
    """Which of day offsets 0..13 have the "X" event: exactly ``bucket`` (1..7) days in each week of the window,
    days 0..6 (always including day 0, the first session's day) and days 7..13, so that X's distinct days are
    ``bucket`` in the first week and ``2 * bucket`` over the 14 days. The other days of each week are picked
    without replacement, weighted by weekday."""
    n = len(bucket)
    weekday = (first_day[:, None] + np.arange(WINDOW_DAYS)[None, :]) % 7
    w = np.asarray(weekday_w, dtype=float)[weekday]
    keys = rng.random((n, WINDOW_DAYS)) ** (1.0 / w)  # Efraimidis-Spirakis weighted sampling
    keys[:, 0] = np.inf  # day 0 always
    active = np.zeros((n, WINDOW_DAYS), dtype=bool)
    for lo in (0, 7):
        week = keys[:, lo : lo + 7]
        order = np.argsort(-week, axis=1)
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.broadcast_to(np.arange(7), order.shape), axis=1)
        active[:, lo : lo + 7] = ranks < bucket[:, None]
    return active


def _tod_between(rng: np.random.Generator, lo, hi, hour_w: Sequence[float], n: int | None = None) -> np.ndarray:
    """Times of day (ms) with an hourly shape, conditioned on ``lo <= t <= hi`` (ms, scalars or per row).

    Drawn by inverting the piecewise-uniform hour CDF between ``lo`` and ``hi``, which keeps the hourly shape.
    Day 7's window sessions use ``lo`` = the first event's time of day: the landmark's first week is
    ``[first, first + 7 days)``, so a day-7 session earlier in the day would count in week one."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    size = n if n is not None else int(np.broadcast(lo, hi).size)
    w = np.asarray(hour_w, dtype=float)
    cdf = np.concatenate([[0.0], np.cumsum(w / w.sum())])
    edges = np.arange(len(w) + 1, dtype=float) * HOUR_MS
    a = np.interp(lo.astype(float), edges, cdf)
    b = np.interp(hi.astype(float), edges, cdf)
    v = a + (b - a) * rng.random(size)
    return np.clip(np.interp(v, cdf, edges).astype(np.int64), lo, hi)


def _pick_day(rng: np.random.Generator, allowed: np.ndarray) -> np.ndarray:
    """A random allowed day offset per row of a boolean (rows x days) matrix (rows must allow one)."""
    return np.argmax(rng.random(allowed.shape) * allowed + allowed * 1e-9, axis=1)


def _later_day(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, skew: float = 2.0) -> np.ndarray:
    """Day offsets in [lo, hi] (inclusive), skewed towards lo."""
    span = np.maximum(hi - lo + 1, 1)
    return lo + np.minimum((rng.random(len(lo)) ** skew * span).astype(np.int64), span - 1)


def _avail(first_ms: np.ndarray) -> np.ndarray:
    """Last day offset (from the first-seen day) whose events stay safely before the end of observation."""
    first_day_ms = first_ms - (first_ms - START_MS) % DAY_MS
    return (END_MS - first_day_ms) // DAY_MS - 2


def _in_friction(first_day: np.ndarray) -> np.ndarray:
    return (first_day >= _FRICTION_DAYS[0]) & (first_day <= _FRICTION_DAYS[1])


def _expand(
    rng: np.random.Generator,
    start_ms: np.ndarray,
    counts: dict[int, np.ndarray],
    keys: dict[int, tuple[float, float]],
    gap_mean_s: float,
    gap_max_s: float = 900.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions to events. ``counts[code]`` is how many events of that code each session has; they are ordered
    inside the session by a random key in ``keys[code]`` and spaced by random gaps (>= 1 s) after the session
    start. Every session must have at least one event. Returns (session index, event code, timestamp ms)."""
    sess_parts, code_parts, key_parts = [], [], []
    for code, cnt in counts.items():
        idx = np.repeat(np.arange(len(start_ms)), cnt)
        lo, hi = keys[code]
        sess_parts.append(idx)
        code_parts.append(np.full(len(idx), code, dtype=np.int8))
        key_parts.append(lo + (hi - lo) * rng.random(len(idx)))
    sess = np.concatenate(sess_parts)
    code = np.concatenate(code_parts)
    key = np.concatenate(key_parts)
    del sess_parts, code_parts, key_parts
    # one int64 sort key (session, then in-session key at 2^-20 resolution) sorts far faster than lexsort
    order = np.argsort((sess.astype(np.int64) << 24) | (key * (1 << 20)).astype(np.int64))
    sess, code = sess[order], code[order]
    del key, order
    m = len(sess)
    gaps = np.clip(rng.exponential(gap_mean_s * 1000.0, m), 1000.0, gap_max_s * 1000.0).astype(np.int64)
    first = np.empty(m, dtype=bool)
    first[0] = True
    np.not_equal(sess[1:], sess[:-1], out=first[1:])
    gaps[first] = 0
    cum = np.cumsum(gaps)
    starts = np.flatnonzero(first)
    cum -= np.repeat(cum[starts], np.diff(np.append(starts, m)))
    return sess, code, start_ms[sess] + cum


def _session_numbers(s_user: np.ndarray, s_start: np.ndarray, user_global: np.ndarray) -> np.ndarray:
    """Global session numbers: user number * 1000 + the session's rank among the user's sessions by time."""
    order = np.argsort((s_user.astype(np.int64) << 38) | (s_start - START_MS))
    su = s_user[order]
    first = np.r_[True, su[1:] != su[:-1]]
    starts = np.flatnonzero(first)
    rank = np.arange(len(su)) - np.repeat(starts, np.diff(np.append(starts, len(su))))
    out = np.empty(len(su), dtype=np.int64)
    out[order] = user_global[su] * 1000 + rank
    return out


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, text, "")


def _labels(values: Sequence[str], codes: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(values), type=pa.string()), pa.array(codes.astype(np.int32)))


def _id_width(max_number: int) -> int:
    return max(6, len(str(max(int(max_number), 0))))


@dataclass
class _Chunk:
    events: pa.Table
    users: pa.Table
    accounts: pa.Table | None


def _finish_events(
    rng: np.random.Generator,
    event_names: tuple[str, ...],
    user: np.ndarray,
    code: np.ndarray,
    ts_ms: np.ndarray,
    sess: np.ndarray,
    session_ids: pa.Array,
    columns: Callable[[np.ndarray, np.ndarray], dict[str, pa.Array]],
    user_ids: pa.Array,
) -> pa.Table:
    """Add exact duplicates, sort by (user, timestamp, event) and build the Arrow table.

    ``event_names`` are the kind's events in code order (its ``SPEC.events``); ``columns(rows, code)`` gives the
    per-kind property / trait columns for the selected event rows."""
    m = len(user)
    dup = np.sort(rng.choice(m, size=round(m * DUPLICATE_SHARE), replace=False)) if m else np.zeros(0, np.int64)
    rows = np.concatenate([np.arange(m), dup])
    # sort by (user, timestamp, event) with one int64 key: user | ms since START (35 bits) | event code (3 bits)
    order = np.argsort((user[rows].astype(np.int64) << 38) | ((ts_ms[rows] - START_MS) << 3) | code[rows])
    rows = rows[order]
    del order
    u, c = user[rows], code[rows]
    table = {
        "user_id": pc.take(user_ids, pa.array(u.astype(np.int32))),
        "event": _labels(event_names, c),
        "timestamp": pa.array(ts_ms[rows] * 1000, type=pa.timestamp("us", tz="UTC")),
        "session_id": pc.take(session_ids, pa.array(sess[rows])),
    }
    table.update(columns(rows, c))
    return pa.table(table)
