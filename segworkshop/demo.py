"""Seeded generator of realistic product-analytics demo data: SaaS trials, eComm, FinServ applications.

Each kind has an events table (``user_id, event, timestamp, session_id`` plus property / trait columns), a users
table, and for SaaS an accounts table, with four truths embedded on purpose so that a workshop has something real
to find (documented in ``data/README.md`` and returned machine-readably in :attr:`DemoData.truths`):

1. **twice** - one trait value whose success rate is about twice the rest's;
2. **tipping** - "days a week doing X" (distinct UTC calendar days with X in ``[first, first + 14 days)``, halved
   and rounded down: 1..7): success is flat below 4 and about 2.7x higher, flat again, from 4 up. Each unit does X
   on exactly its bucket's number of days in *each* week of the window (the first week always includes day 0,
   where X is part of the first session, so there is no 0 bucket), so the first week alone - what the landmark
   rule measures, with success compared after day 7 - shows the same step;
3. **friction** - on one mobile platform, for units first seen between two dates, one step fails far more often,
   so their success rate is about halved in that period only;
4. **simpson** - a binary trait that wins inside every stratum of another trait and loses overall.

Everything is vectorised with numpy (loops run over a handful of event types and over chunks of units only) and
seeded: the same ``(kind, units, seed)`` gives byte-identical data. Units are generated in chunks of a fixed
size, each with its own seed derived from ``(seed, kind, chunk)``, so :func:`write` can stream a million units to
Parquet part files with bounded memory and :func:`generate` gives the same rows.

How success is drawn: each unit has a success probability that is a product of independent factors (trait,
activity bucket, platform, ...). Success is then drawn by *systematic sampling* within cells ordered by the
designed factors, so rates in every designed cell sit within a unit or so of their expected value (less
binomial noise than coin flips, which keeps the small bundled datasets' truths clean); which units succeed
is still random.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

KINDS = ("saas", "ecomm", "finserv")
# Sizes of the datasets bundled in data/<kind>/ (units: accounts for saas, users otherwise).
BUNDLED_UNITS = {"saas": 5_000, "ecomm": 20_000, "finserv": 20_000}
# Units generated (and written) per chunk: bounds memory for large runs; fixed so chunking is deterministic.
CHUNK_UNITS = {"saas": 50_000, "ecomm": 200_000, "finserv": 200_000}

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

_KIND_IDS = {"saas": 1, "ecomm": 2, "finserv": 3}


@dataclass(frozen=True)
class DemoData:
    """One generated dataset: events, users, accounts (SaaS only) and the truths embedded in it."""

    kind: str
    events: pd.DataFrame
    users: pd.DataFrame
    accounts: pd.DataFrame | None
    truths: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class _Kind:
    title: str
    unit: str
    events: tuple[str, ...]  # alphabetical, so event codes sort like the names
    success_event: str
    within_days: int
    segments: tuple[str, ...]
    truths: dict


def _alpha(*names: str) -> tuple[str, ...]:
    return tuple(sorted(names))


SPECS: dict[str, _Kind] = {
    "ecomm": _Kind(
        title="eComm demo workshop",
        unit="user",
        events=_alpha(
            "session_start", "product_view", "search", "add_to_cart", "checkout_started", "purchase", "signup_completed"
        ),
        success_event="purchase",
        within_days=14,
        segments=("platform", "country", "channel", "account_type", "newsletter", "age_band"),
        truths={
            "twice": {"column": "channel", "value": "email", "table": "users", "ratio": 2.0},
            "tipping": {"event": "session_start", "threshold": THRESHOLD, "window_days": WINDOW_DAYS, "ratio": 2.7},
            "friction": {
                "column": "platform",
                "value": "android",
                "table": "events",
                "start": FRICTION_START,
                "end": FRICTION_END,
                "step": "purchase",
                "after": "checkout_started",
                "ratio": 0.5,
            },
            "simpson": {
                "column": "newsletter",
                "value": "yes",
                "table": "users",
                "stratum": "platform",
                "stratum_table": "events",
            },
        },
    ),
    "saas": _Kind(
        title="SaaS trial demo workshop",
        unit="account",
        events=_alpha(
            "signup",
            "login",
            "project_created",
            "invite_sent",
            "integration_connected",
            "report_viewed",
            "subscription_started",
        ),
        success_event="subscription_started",
        within_days=30,
        segments=("plan", "company_size", "industry", "country", "channel", "platform"),
        truths={
            "twice": {"column": "channel", "value": "referral", "table": "accounts", "ratio": 2.0},
            "tipping": {
                "event": "login",
                "threshold": THRESHOLD,
                "window_days": WINDOW_DAYS,
                "ratio": 2.6,
                "level": "account: days on which any user of the account logged in",
            },
            "friction": {
                "column": "platform",
                "value": "ios",
                "table": "events",
                "who": "the account's first user",
                "start": FRICTION_START,
                "end": FRICTION_END,
                "step": "invite_sent",
                "ratio": 0.5,
            },
            "simpson": {
                "column": "plan",
                "value": "business",
                "table": "accounts",
                "stratum": "company_size",
                "stratum_table": "accounts",
            },
        },
    ),
    "finserv": _Kind(
        title="FinServ application demo workshop",
        unit="user",
        events=_alpha(
            "quote_viewed",
            "application_started",
            "identity_verified",
            "details_completed",
            "documents_uploaded",
            "application_submitted",
            "policy_issued",
        ),
        success_event="policy_issued",
        within_days=30,
        segments=("product", "device", "channel", "region", "returning_customer", "policies"),
        truths={
            "twice": {"column": "returning_customer", "value": "yes", "table": "users", "ratio": 2.0},
            "tipping": {"event": "quote_viewed", "threshold": THRESHOLD, "window_days": WINDOW_DAYS, "ratio": 2.7},
            "friction": {
                "column": "device",
                "value": "ios",
                "table": "events",
                "start": FRICTION_START,
                "end": FRICTION_END,
                "step": "documents_uploaded",
                "after": "details_completed",
                "ratio": 0.5,
            },
            "simpson": {
                "column": "policies",
                "value": "multiple",
                "table": "users",
                "stratum": "product",
                "stratum_table": "users",
            },
        },
    ),
}

FINSERV_STAGES = (
    "quote_viewed",
    "application_started",
    "identity_verified",
    "details_completed",
    "documents_uploaded",
    "application_submitted",
    "policy_issued",
)


def truths(kind: str) -> dict:
    """The machine-readable truths embedded in dataset ``kind`` (designed values; README has measured ones)."""
    spec = _spec(kind)
    out = {k: dict(v) for k, v in spec.truths.items()}
    out["success"] = {"event": spec.success_event, "within_days": spec.within_days}
    out["unit"] = spec.unit
    out["duplicates"] = {"share": DUPLICATE_SHARE}
    if kind == "finserv":
        out["success"]["sequence"] = list(FINSERV_STAGES)
    return out


def _spec(kind: str) -> _Kind:
    if kind not in SPECS:
        raise ValueError(f"unknown demo kind {kind!r}; kinds: {', '.join(KINDS)}.")
    return SPECS[kind]


# ------------------------------------------------------------------------------------------- shared helpers


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
    kind: str,
    user: np.ndarray,
    code: np.ndarray,
    ts_ms: np.ndarray,
    sess: np.ndarray,
    session_ids: pa.Array,
    columns: Callable[[np.ndarray, np.ndarray], dict[str, pa.Array]],
    user_ids: pa.Array,
) -> pa.Table:
    """Add exact duplicates, sort by (user, timestamp, event) and build the Arrow table.

    ``columns(rows, code)`` gives the per-kind property / trait columns for the selected event rows."""
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
        "event": _labels(SPECS[kind].events, c),
        "timestamp": pa.array(ts_ms[rows] * 1000, type=pa.timestamp("us", tz="UTC")),
        "session_id": pc.take(session_ids, pa.array(sess[rows])),
    }
    table.update(columns(rows, c))
    return pa.table(table)


# --------------------------------------------------------------------------------------------------- ecomm

EC_PLATFORMS = ("web", "ios", "android")
EC_PLATFORM_W = (0.45, 0.30, 0.25)
EC_PLATFORM_F = np.array([1.0, 0.8, 0.42])  # success factor by platform
EC_NEWSLETTER_BY_PLATFORM = np.array([0.07, 0.25, 0.65])  # newsletter=yes share: concentrated on android
EC_NEWSLETTER_F = 1.3
EC_COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT")
EC_COUNTRY_W = (0.35, 0.15, 0.12, 0.10, 0.08, 0.06, 0.05, 0.05, 0.04)
EC_CHANNELS = ("organic", "paid_search", "social", "email", "referral")
EC_CHANNEL_W = (0.38, 0.22, 0.15, 0.15, 0.10)
EC_CHANNEL_F = np.array([1.05, 0.9, 0.95, 2.0, 1.15])  # the rest averages 1.0 (weighted): email is 2x
EC_ACCOUNT_TYPES = ("guest", "registered")
EC_ACCOUNT_W = (0.55, 0.45)
EC_ACCOUNT_F = np.array([0.92, 1.1])
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
EC_AGE_W = (0.18, 0.30, 0.24, 0.16, 0.12)
EC_BASE = 0.10
EC_STEP = 2.7
EC_WEEKDAY_W = (1.0, 0.97, 0.97, 1.0, 1.05, 1.15, 1.2)
EC_HOUR_W = (2, 1.5, 1, 1, 1, 1.5, 2.5, 3.5, 4, 4.5, 5, 5, 5.5, 5.5, 5.5, 5.5, 6, 6.5, 7.5, 8, 8, 7, 5, 3.5)


def _ecomm_chunk(rng: np.random.Generator, n: int, first_unit: int, width: int) -> _Chunk:
    ev = {name: i for i, name in enumerate(SPECS["ecomm"].events)}
    platform = _draw(rng, EC_PLATFORM_W, n)
    country = _draw(rng, EC_COUNTRY_W, n)
    channel = _draw(rng, EC_CHANNEL_W, n)
    account = _draw(rng, EC_ACCOUNT_W, n)
    age = _draw(rng, EC_AGE_W, n)
    newsletter = _systematic(rng, EC_NEWSLETTER_BY_PLATFORM[platform], [platform])
    first_ms, first_day = _first_seen(rng, n, EC_WEEKDAY_W, EC_HOUR_W)
    window = _in_friction(first_day)
    friction = (platform == EC_PLATFORMS.index("android")) & window
    bucket = _draw(rng, BUCKET_WEIGHTS, n)

    p = (
        EC_BASE
        * EC_CHANNEL_F[channel]
        * EC_PLATFORM_F[platform]
        * np.where(newsletter, EC_NEWSLETTER_F, 1.0)
        * np.where(bucket >= THRESHOLD, EC_STEP, 1.0)
        * EC_ACCOUNT_F[account]
    ).clip(0, 0.7)
    p_eff = np.where(friction, 0.5 * p, p)  # android in the window: checkout -> purchase fails twice as often
    success = _systematic(rng, p_eff, [friction, window, platform, newsletter, bucket, channel])
    # Unsuccessful users' deepest step in the window: everyone reaches checkout with p / 0.7, so the friction
    # group's lost purchases show up as checkout_started without purchase.
    reach_checkout = np.minimum(p / 0.7, 1.0)
    u = rng.random(n)
    fail_checkout = ~success & (u < (reach_checkout - p_eff) / (1.0 - p_eff))
    fail_cart = ~success & ~fail_checkout & (rng.random(n) < 0.3)
    late = ~success & (rng.random(n) < 0.08)  # purchase, but only after day 14
    repeats = np.where(success & (rng.random(n) < 0.35), rng.geometric(0.55, n), 0)  # later repeat purchases

    # Sessions in the window: one per active day (day 0 starts at the first event), a second on some days.
    active = _active_days(rng, first_day, bucket, EC_WEEKDAY_W)
    funnel_day = _pick_day(rng, active)  # the purchase / checkout / cart session's day
    wu, wd = np.nonzero(active)
    tod = _tod(rng, len(wu), EC_HOUR_W)
    first_tod = (first_ms - START_MS) % DAY_MS
    tod = np.where(wd == 0, first_tod[wu], tod)
    d7 = wd == 7  # day 7 belongs to the second week only from the first event's time of day on
    tod[d7] = _tod_between(rng, first_tod[wu[d7]], DAY_MS - 1, EC_HOUR_W)
    day0_ms = first_ms - first_tod
    w_start = day0_ms[wu] + wd * DAY_MS + tod
    funnel = wd == funnel_day[wu]
    w_purchase = funnel & success[wu]
    w_checkout = funnel & fail_checkout[wu]
    w_cart = funnel & fail_cart[wu]
    w_first = wd == 0
    # second sessions later on the same calendar day (never on day 0: nothing may precede the first event)
    room = DAY_MS - tod - HOUR_MS - 60_000
    second = (wd > 0) & (room > 0) & (rng.random(len(wu)) < 0.12)
    su = wu[second]
    s2_start = w_start[second] + HOUR_MS + (rng.random(len(su)) * room[second]).astype(np.int64)

    # Sessions after the window: return visits, late first purchases, repeat purchases.
    avail = _avail(first_ms)
    n_visits = rng.poisson(0.3 + 0.45 * bucket)
    n_post = n_visits + late + repeats
    pu = np.repeat(np.arange(n), n_post)
    hi = np.minimum(avail, 60)[pu]
    pday = _later_day(rng, np.full(len(pu), 15), hi)
    p_start = day0_ms[pu] + pday * DAY_MS + _tod(rng, len(pu), EC_HOUR_W)
    # the first `late + repeats` post sessions of each user (in generation order) carry a purchase
    pos = np.arange(len(pu)) - np.repeat(np.cumsum(n_post) - n_post, n_post)
    p_purchase = pos < (late + repeats)[pu]

    s_user = np.concatenate([wu, su, pu])
    s_start = np.concatenate([w_start, s2_start, p_start])
    ns = len(s_user)
    zeros = np.zeros(ns, dtype=bool)
    purchase = np.concatenate([w_purchase, zeros[: len(su)], p_purchase])
    checkout = purchase | np.concatenate([w_checkout, zeros[: len(su) + len(pu)]])
    cart = checkout | np.concatenate([w_cart, zeros[: len(su) + len(pu)]]) | (rng.random(ns) < 0.1)
    first_session = np.concatenate([w_first, zeros[: len(su) + len(pu)]])
    registered = account == EC_ACCOUNT_TYPES.index("registered")
    counts = {
        ev["session_start"]: np.ones(ns, dtype=np.int64),
        ev["product_view"]: rng.poisson(1.1, ns) + cart,
        ev["search"]: rng.poisson(0.3, ns),
        ev["add_to_cart"]: cart * (1 + (rng.random(ns) < 0.2)),
        ev["checkout_started"]: checkout.astype(np.int64),
        ev["purchase"]: purchase.astype(np.int64),
        ev["signup_completed"]: (first_session & registered[s_user]).astype(np.int64),
    }
    keys = {
        ev["session_start"]: (0.0, 0.0),
        ev["product_view"]: (1.0, 3.0),
        ev["search"]: (1.0, 3.0),
        ev["signup_completed"]: (1.0, 3.5),
        ev["add_to_cart"]: (2.0, 3.5),
        ev["checkout_started"]: (4.0, 4.0),
        ev["purchase"]: (5.0, 5.0),
    }
    sess, code, ts = _expand(rng, s_start, counts, keys, gap_mean_s=40.0)
    user_global = first_unit + np.arange(n, dtype=np.int64)
    session_ids = _ids("s", _session_numbers(s_user, s_start, user_global), width + 3)
    user = s_user[sess]
    del counts
    order_value = np.round(np.exp(rng.normal(3.9, 0.6, len(code))), 2) + 0.99

    user_ids = _ids("u", user_global, width)

    def columns(rows: np.ndarray, c: np.ndarray) -> dict[str, pa.Array]:
        u = user[rows]
        is_purchase = c == ev["purchase"]
        return {
            "platform": _labels(EC_PLATFORMS, platform[u]),
            "country": _labels(EC_COUNTRIES, country[u]),
            "order_value": pa.array(order_value[rows], mask=~is_purchase, type=pa.float64()),
        }

    events = _finish_events(rng, "ecomm", user, code, ts, sess, session_ids, columns, user_ids)
    users = pa.table(
        {
            "user_id": user_ids,
            "channel": _labels(EC_CHANNELS, channel),
            "account_type": _labels(EC_ACCOUNT_TYPES, account),
            "newsletter": _labels(("no", "yes"), newsletter.astype(np.int64)),
            "age_band": _labels(AGE_BANDS, age),
        }
    )
    return _Chunk(events, users, None)


# ------------------------------------------------------------------------------------------------- finserv

FS_PRODUCTS = ("auto", "home", "life")
FS_PRODUCT_W = (0.5, 0.3, 0.2)
FS_PRODUCT_F = np.array([1.0, 0.65, 0.33])
FS_MULTIPLE_BY_PRODUCT = np.array([0.08, 0.28, 0.62])  # multi-policy quotes: concentrated in life
FS_MULTIPLE_F = 1.3
FS_RETURNING_SHARE = 0.2
FS_RETURNING_F = 2.0
FS_CHANNELS = ("broker", "direct", "comparison_site")
FS_CHANNEL_W = (0.25, 0.45, 0.30)
FS_CHANNEL_F = np.array([1.1, 1.0, 0.9])
FS_REGIONS = ("north", "midlands", "south", "london", "scotland", "wales")
FS_REGION_W = (0.22, 0.18, 0.25, 0.18, 0.10, 0.07)
FS_AGE_W = (0.10, 0.26, 0.26, 0.21, 0.17)
FS_DEVICES = ("desktop", "ios", "android")
FS_DEVICE_W = (0.45, 0.32, 0.23)
FS_BASE = 0.085
FS_STEP = 2.7
FS_WEEKDAY_W = (1.1, 1.1, 1.05, 1.0, 0.95, 0.8, 0.85)
FS_HOUR_W = (1, 0.6, 0.5, 0.5, 0.5, 1, 2, 3.5, 5, 6, 6, 6.5, 7, 6.5, 6, 6, 6.5, 7, 7.5, 8, 7.5, 6, 4, 0)  # no 23h


def _finserv_chunk(rng: np.random.Generator, n: int, first_unit: int, width: int) -> _Chunk:
    ev = {name: i for i, name in enumerate(SPECS["finserv"].events)}
    stage_codes = np.array([ev[s] for s in FINSERV_STAGES])
    product = _draw(rng, FS_PRODUCT_W, n)
    multiple = _systematic(rng, FS_MULTIPLE_BY_PRODUCT[product], [product])
    returning = rng.random(n) < FS_RETURNING_SHARE
    channel = _draw(rng, FS_CHANNEL_W, n)
    region = _draw(rng, FS_REGION_W, n)
    age = _draw(rng, FS_AGE_W, n)
    device = _draw(rng, FS_DEVICE_W, n)
    first_ms, first_day = _first_seen(rng, n, FS_WEEKDAY_W, FS_HOUR_W)
    window = _in_friction(first_day)
    friction = (device == FS_DEVICES.index("ios")) & window
    bucket = _draw(rng, BUCKET_WEIGHTS, n)

    p = (
        FS_BASE
        * FS_PRODUCT_F[product]
        * np.where(multiple, FS_MULTIPLE_F, 1.0)
        * np.where(returning, FS_RETURNING_F, 1.0)
        * np.where(bucket >= THRESHOLD, FS_STEP, 1.0)
        * FS_CHANNEL_F[channel]
    ).clip(0, 0.65)
    # details_completed -> documents_uploaded: 85% normally, half that for iOS in the friction window
    docs_rate = np.where(friction, 0.425, 0.85)
    reach_docs = p / 0.8  # of those who upload documents, 80% get a policy (the rest: declined / abandoned)
    reach_details = np.minimum(reach_docs / 0.85, 1.0)
    reach_docs_eff = reach_details * docs_rate
    p_eff = reach_docs_eff * 0.8
    success = _systematic(rng, p_eff, [friction, window, product, multiple, bucket, returning])
    # last stage reached by the unsuccessful (0 = quote_viewed only ... 5 = application_submitted)
    u = rng.random(n)
    a = (reach_docs_eff - p_eff) / (1 - p_eff)
    b = (reach_details - reach_docs_eff) / (1 - p_eff)
    early = _draw(rng, (0.6, 0.25, 0.15), n)
    stage = np.where(u < a, 4 + (rng.random(n) < 0.4), np.where(u < a + b, 3, early))
    stage = np.where(success, 6, stage)
    avail = _avail(first_ms)
    late = ~success & (stage == 0) & (rng.random(n) < 0.05) & (avail >= 46)  # completes after day 30

    active = _active_days(rng, first_day, bucket, FS_WEEKDAY_W)
    app_day = _pick_day(rng, active)
    wu, wd = np.nonzero(active)
    first_tod = (first_ms - START_MS) % DAY_MS
    day0_ms = first_ms - first_tod
    tod = np.where(wd == 0, first_tod[wu], _tod(rng, len(wu), FS_HOUR_W))
    d7 = wd == 7  # day 7 belongs to the second week only from the first event's time of day on
    tod[d7] = _tod_between(rng, first_tod[wu[d7]], DAY_MS - 1, FS_HOUR_W)
    w_start = day0_ms[wu] + wd * DAY_MS + tod
    w_stage = np.where(wd == app_day[wu], np.minimum(stage[wu], 5), 0)  # stages 1..5 in the app-day session

    # policy_issued in a session of its own, 1-10 days after the application session (so within 30 days)
    iu = np.flatnonzero(success)
    w_app_start = day0_ms + app_day * DAY_MS + _tod_lookup(wu, wd, tod, app_day, n)
    i_start = w_app_start[iu] + DAY_MS + (rng.random(len(iu)) * 9 * DAY_MS).astype(np.int64)
    # late completers: a post-window application on day 22-28, policy 9-15 days later (after day 30)
    lu = np.flatnonzero(late)
    l_app = day0_ms[lu] + (22 + rng.integers(0, 7, len(lu))) * DAY_MS + _tod(rng, len(lu), FS_HOUR_W)
    l_pol = l_app + 9 * DAY_MS + (rng.random(len(lu)) * 6 * DAY_MS).astype(np.int64)
    # return visits after the window: quotes only
    n_visits = rng.poisson(0.2 + 0.3 * bucket)
    vu = np.repeat(np.arange(n), n_visits)
    vday = _later_day(rng, np.full(len(vu), 15), np.minimum(avail, 60)[vu])
    v_start = day0_ms[vu] + vday * DAY_MS + _tod(rng, len(vu), FS_HOUR_W)

    s_user = np.concatenate([wu, iu, lu, lu, vu])
    s_start = np.concatenate([w_start, i_start, l_app, l_pol, v_start])
    s_stage = np.concatenate([w_stage, np.zeros(len(iu), np.int64), np.full(len(lu), 5), 0 * lu, 0 * vu])
    s_quotes = np.concatenate(
        [1 + rng.poisson(0.5, len(wu)), np.zeros(len(iu), np.int64), np.ones(len(lu), np.int64), 0 * lu, 1 + 0 * vu]
    )
    s_policy = np.concatenate([np.zeros(len(wu), np.int64), np.ones(len(iu) + 2 * len(lu), np.int64), 0 * vu])
    s_policy[len(wu) + len(iu) : len(wu) + len(iu) + len(lu)] = 0  # the late application session itself
    ns = len(s_user)
    counts = {ev["quote_viewed"]: s_quotes}
    keys = {ev["quote_viewed"]: (0.0, 0.0)}
    for k in range(1, 6):
        counts[int(stage_codes[k])] = (s_stage >= k).astype(np.int64)
        keys[int(stage_codes[k])] = (float(k), float(k))
    counts[ev["policy_issued"]] = s_policy
    keys[ev["policy_issued"]] = (6.0, 6.0)
    assert ns == len(s_quotes) == len(s_policy)
    sess, code, ts = _expand(rng, s_start, counts, keys, gap_mean_s=60.0, gap_max_s=600.0)
    user_global = first_unit + np.arange(n, dtype=np.int64)
    session_ids = _ids("s", _session_numbers(s_user, s_start, user_global), width + 3)
    user = s_user[sess]
    del counts

    user_ids = _ids("u", user_global, width)

    def columns(rows: np.ndarray, c: np.ndarray) -> dict[str, pa.Array]:
        return {"device": _labels(FS_DEVICES, device[user[rows]])}

    events = _finish_events(rng, "finserv", user, code, ts, sess, session_ids, columns, user_ids)
    users = pa.table(
        {
            "user_id": user_ids,
            "product": _labels(FS_PRODUCTS, product),
            "age_band": _labels(AGE_BANDS, age),
            "channel": _labels(FS_CHANNELS, channel),
            "region": _labels(FS_REGIONS, region),
            "returning_customer": _labels(("no", "yes"), returning.astype(np.int64)),
            "policies": _labels(("single", "multiple"), multiple.astype(np.int64)),
        }
    )
    return _Chunk(events, users, None)


def _tod_lookup(wu: np.ndarray, wd: np.ndarray, tod: np.ndarray, day: np.ndarray, n: int) -> np.ndarray:
    """Per unit: the time of day of its window session on ``day[unit]`` (which must be one of its active days)."""
    out = np.zeros(n, dtype=np.int64)
    hit = wd == day[wu]
    out[wu[hit]] = tod[hit]
    return out


# ---------------------------------------------------------------------------------------------------- saas

SA_PLANS = ("starter", "team", "business")
SA_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
SA_SIZE_W = (0.35, 0.30, 0.18, 0.11, 0.06)
SA_SIZE_F = np.array([1.0, 0.8, 0.55, 0.38, 0.26])
SA_BUSINESS_BY_SIZE = np.array([0.05, 0.15, 0.35, 0.55, 0.75])  # business-plan trials: concentrated in big firms
SA_BUSINESS_F = 1.3
SA_INDUSTRIES = ("software", "retail", "finance", "healthcare", "education", "media", "other")
SA_INDUSTRY_W = (0.28, 0.14, 0.12, 0.10, 0.10, 0.08, 0.18)
SA_COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "IN", "BR")
SA_COUNTRY_W = (0.38, 0.14, 0.10, 0.07, 0.07, 0.05, 0.11, 0.08)
SA_CHANNELS = ("organic", "paid_search", "social", "referral", "partner")
SA_CHANNEL_W = (0.35, 0.22, 0.15, 0.15, 0.13)
SA_CHANNEL_F = np.array([1.05, 0.95, 0.9, 2.0, 1.1])
SA_PLATFORMS = ("web", "desktop", "ios", "android")
SA_CREATOR_PLATFORM_W = (0.45, 0.15, 0.25, 0.15)
SA_MEMBER_PLATFORM_W = (0.55, 0.2, 0.15, 0.10)
SA_ROLES = ("owner", "admin", "member")
SA_INVITE = 0.55  # share of accounts that invite someone in the window
SA_INVITE_FRICTION = 0.08  # ... for iOS-first accounts in the friction window
SA_NO_INVITE_F = 0.3  # success factor for accounts that never invite
SA_BASE = 0.15
SA_STEP = 2.6
SA_WEEKDAY_W = (1.2, 1.25, 1.2, 1.15, 1.0, 0.45, 0.4)
# A signup session's login follows the signup by at most 900 s (the session gap cap): SaaS signup sessions and the
# owner's window sessions start by this time of day, so that a signup's login stays on its calendar day (login is
# the tipping event, counted per calendar day).
SA_LATEST_TOD = DAY_MS - 901_000
SA_HOUR_W = (1, 1, 1, 1, 1, 1.5, 3, 5, 7, 9, 10, 10, 9, 10, 10, 9.5, 8, 6, 4.5, 3.5, 3, 2.5, 2, 1.5)


def _saas_chunk(
    rng: np.random.Generator, n: int, first_unit: int, first_user: int, width: int, account_width: int
) -> _Chunk:
    ev = {name: i for i, name in enumerate(SPECS["saas"].events)}
    size = _draw(rng, SA_SIZE_W, n)
    business = _systematic(rng, SA_BUSINESS_BY_SIZE[size], [size])
    plan = np.where(business, 2, (rng.random(n) < 0.4).astype(np.int64))  # starter / team / business
    industry = _draw(rng, SA_INDUSTRY_W, n)
    country = _draw(rng, SA_COUNTRY_W, n)
    channel = _draw(rng, SA_CHANNEL_W, n)
    creator_platform = _draw(rng, SA_CREATOR_PLATFORM_W, n)
    first_ms, first_day = _first_seen(rng, n, SA_WEEKDAY_W, SA_HOUR_W, latest=SA_LATEST_TOD)
    window = _in_friction(first_day)
    friction = (creator_platform == SA_PLATFORMS.index("ios")) & window
    bucket = _draw(rng, BUCKET_WEIGHTS, n)

    invited = _systematic(rng, np.where(friction, SA_INVITE_FRICTION, SA_INVITE), [friction, window, bucket])
    p = (
        SA_BASE
        * SA_CHANNEL_F[channel]
        * SA_SIZE_F[size]
        * np.where(business, SA_BUSINESS_F, 1.0)
        * np.where(bucket >= THRESHOLD, SA_STEP, 1.0)
        * np.where(invited, 1.0, SA_NO_INVITE_F)
    ).clip(0, 0.95)
    success = _systematic(rng, p, [friction, window, invited, size, business, bucket, channel])
    joined = invited & (rng.random(n) < 0.8)
    n_join = np.where(joined, np.minimum(rng.geometric(0.45, n), 9), 0)
    n_users = 1 + n_join

    active = _active_days(rng, first_day, bucket, SA_WEEKDAY_W)
    days = np.arange(WINDOW_DAYS)
    invite_day = np.minimum(_pick_day(rng, active), _pick_day(rng, active))  # biased early
    first_tod = (first_ms - START_MS) % DAY_MS
    day0_ms = first_ms - first_tod
    tod_mat = _tod_between(rng, 0, SA_LATEST_TOD, SA_HOUR_W, n * WINDOW_DAYS).reshape(n, WINDOW_DAYS)
    tod_mat[:, 0] = first_tod
    tod_mat[:, 7] = _tod_between(rng, first_tod, SA_LATEST_TOD, SA_HOUR_W)  # day 7: in week two from first_tod on
    avail = _avail(first_ms)

    # users: the creator (owner) and the people who joined from an invite
    acct_of_user = np.repeat(np.arange(n), n_users)
    nu = len(acct_of_user)
    user_offset = np.cumsum(n_users) - n_users
    k = np.arange(nu) - user_offset[acct_of_user]
    is_creator = k == 0
    platform = np.where(is_creator, creator_platform[acct_of_user], _draw(rng, SA_MEMBER_PLATFORM_W, nu))
    role = np.where(is_creator, 0, np.where(rng.random(nu) < 0.2, 1, 2))
    ua = acct_of_user
    after_invite = active[ua] & (days[None, :] >= invite_day[ua][:, None])
    join_day = np.where(is_creator, 0, _pick_day(rng, after_invite))

    # subscription: in a window session on an active day (after the invite, if any) or on days 15..29
    sub_in_window = success & (rng.random(n) < 0.6)
    sub_allowed = active & (~invited[:, None] | (days[None, :] >= invite_day[:, None]))
    sub_day = _pick_day(rng, sub_allowed)
    sub_post = success & ~sub_in_window
    late_sub = ~success & (rng.random(n) < 0.05) & (avail >= 32)

    # 1. the creator's window sessions, one per active day
    cu_acct, cu_day = np.nonzero(active)
    c_user = user_offset[cu_acct]
    c_start = day0_ms[cu_acct] + cu_day * DAY_MS + tod_mat[cu_acct, cu_day]
    c_signup = cu_day == 0
    c_invite = invited[cu_acct] & (cu_day == invite_day[cu_acct])
    c_sub = sub_in_window[cu_acct] & (cu_day == sub_day[cu_acct])
    # 2. joiners' first sessions (signup) on their join day, after the invite when on the same day
    ju = np.flatnonzero(~is_creator)
    ja, jd = ua[ju], join_day[ju]
    base_tod = tod_mat[ja, jd]
    same = jd == invite_day[ja]
    j_tod = np.where(
        same,
        base_tod + ((SA_LATEST_TOD - base_tod) * (0.2 + 0.75 * rng.random(len(ju)))).astype(np.int64),
        _tod_between(rng, np.where(jd == 7, first_tod[ja], 0), SA_LATEST_TOD, SA_HOUR_W),
    )
    j_start = day0_ms[ja] + jd * DAY_MS + j_tod
    # 3. joiners' later window sessions: on the account's active days after their join day
    later = active[ua[ju]] & (days[None, :] > join_day[ju][:, None]) & (rng.random((len(ju), WINDOW_DAYS)) < 0.45)
    lr, ld = np.nonzero(later)
    l_user, l_acct = ju[lr], ua[ju[lr]]
    l_tod = _tod_between(rng, np.where(ld == 7, first_tod[l_acct], 0), DAY_MS - 1, SA_HOUR_W)
    l_start = day0_ms[l_acct] + ld * DAY_MS + l_tod
    # 4. after the window: return sessions by any user, the post-window subscriptions, late subscriptions
    n_post = rng.poisson(0.4 + 0.5 * bucket)
    pa_ = np.repeat(np.arange(n), n_post)
    p_user = user_offset[pa_] + (rng.random(len(pa_)) * n_users[pa_]).astype(np.int64)
    p_day = _later_day(rng, np.full(len(pa_), 15), np.minimum(avail, 60)[pa_])
    sa = np.flatnonzero(sub_post)
    s_day = 15 + rng.integers(0, 15, len(sa))
    la = np.flatnonzero(late_sub)
    ldays = _later_day(rng, np.full(len(la), 31), np.minimum(avail, 50)[la], skew=1.5)
    post_acct = np.concatenate([pa_, sa, la])
    post_user = np.concatenate([p_user, user_offset[sa], user_offset[la]])
    post_day = np.concatenate([p_day, s_day, ldays])
    post_start = day0_ms[post_acct] + post_day * DAY_MS + _tod(rng, len(post_acct), SA_HOUR_W)
    post_sub = np.concatenate([np.zeros(len(pa_), bool), np.ones(len(sa) + len(la), bool)])

    s_user = np.concatenate([c_user, ju, l_user, post_user])
    s_start = np.concatenate([c_start, j_start, l_start, post_start])
    nc, nj, nl, npost = len(c_user), len(ju), len(l_user), len(post_user)
    ns = nc + nj + nl + npost

    def pad(x: np.ndarray, before: int, after: int) -> np.ndarray:
        return np.concatenate([np.zeros(before, x.dtype), x, np.zeros(after, x.dtype)])

    signup = np.concatenate([c_signup, np.ones(nj, bool), np.zeros(nl + npost, bool)])
    invites = pad(np.where(c_invite, np.maximum(n_join[cu_acct], 1) + rng.poisson(0.5, nc), 0), 0, nj + nl + npost)
    subscription = np.concatenate([c_sub, np.zeros(nj + nl, bool), post_sub])
    creator_day0 = pad(c_signup, 0, nj + nl + npost)
    counts = {
        ev["signup"]: signup.astype(np.int64),
        ev["login"]: np.ones(ns, dtype=np.int64),
        ev["report_viewed"]: rng.poisson(1.3, ns),
        ev["project_created"]: np.where(creator_day0, rng.random(ns) < 0.85, rng.poisson(0.12, ns)).astype(np.int64),
        ev["integration_connected"]: (rng.random(ns) < 0.07).astype(np.int64),
        ev["invite_sent"]: invites,
        ev["subscription_started"]: subscription.astype(np.int64),
    }
    keys = {
        ev["signup"]: (0.0, 0.0),
        ev["login"]: (1.0, 1.0),
        ev["report_viewed"]: (2.0, 4.0),
        ev["project_created"]: (2.0, 4.0),
        ev["integration_connected"]: (2.5, 4.0),
        ev["invite_sent"]: (3.0, 5.0),
        ev["subscription_started"]: (6.0, 6.0),
    }
    sess, code, ts = _expand(rng, s_start, counts, keys, gap_mean_s=50.0)
    user_global = first_user + np.arange(nu, dtype=np.int64)
    session_ids = _ids("s", _session_numbers(s_user, s_start, user_global), width + 3)
    user = s_user[sess]
    del counts

    user_ids = _ids("u", user_global, width)
    acct_global = first_unit + np.arange(n, dtype=np.int64)
    account_ids = _ids("a", acct_global, account_width)

    def columns(rows: np.ndarray, c: np.ndarray) -> dict[str, pa.Array]:
        u = user[rows]
        return {
            "account_id": pc.take(account_ids, pa.array(ua[u].astype(np.int32))),
            "platform": _labels(SA_PLATFORMS, platform[u]),
        }

    events = _finish_events(rng, "saas", user, code, ts, sess, session_ids, columns, user_ids)
    events = events.select(["user_id", "event", "timestamp", "session_id", "account_id", "platform"])
    users = pa.table(
        {
            "user_id": user_ids,
            "account_id": pc.take(account_ids, pa.array(ua.astype(np.int32))),
            "role": _labels(SA_ROLES, role),
        }
    )
    accounts = pa.table(
        {
            "account_id": account_ids,
            "plan": _labels(SA_PLANS, plan),
            "company_size": _labels(SA_SIZES, size),
            "industry": _labels(SA_INDUSTRIES, industry),
            "country": _labels(SA_COUNTRIES, country),
            "channel": _labels(SA_CHANNELS, channel),
        }
    )
    return _Chunk(events, users, accounts)


# ---------------------------------------------------------------------------------------------- public API


def _chunks(kind: str, units: int, seed: int) -> Iterator[tuple[int, int, _Chunk]]:
    """Yield (chunk index, number of chunks, chunk) in order; each chunk has its own derived seed."""
    _spec(kind)
    units = int(units)
    if units < 1:
        raise ValueError(f"units must be at least 1, got {units}.")
    size = CHUNK_UNITS[kind]
    n_chunks = -(-units // size)
    width = _id_width(10 * units if kind == "saas" else units - 1)
    next_user = 0
    for i in range(n_chunks):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, _KIND_IDS[kind], i]))
        first = i * size
        n = min(size, units - first)
        if kind == "ecomm":
            chunk = _ecomm_chunk(rng, n, first, width)
        elif kind == "finserv":
            chunk = _finserv_chunk(rng, n, first, width)
        else:
            chunk = _saas_chunk(rng, n, first, next_user, width, _id_width(units - 1))
            next_user += chunk.users.num_rows
        yield i, n_chunks, chunk


def generate(kind: str, units: int, seed: int = 0) -> DemoData:
    """Generate dataset ``kind`` (saas, ecomm, finserv) with ``units`` users (accounts for saas) in memory."""
    parts = [chunk for _, _, chunk in _chunks(kind, units, seed)]
    events = pa.concat_tables([c.events for c in parts]).to_pandas()
    users = pa.concat_tables([c.users for c in parts]).to_pandas()
    accounts = pa.concat_tables([c.accounts for c in parts]).to_pandas() if kind == "saas" else None
    return DemoData(kind=kind, events=events, users=users, accounts=accounts, truths=truths(kind))


def workshop_yaml(kind: str, events_path: str = "events.parquet") -> str:
    """The ``workshop.yaml`` text for a generated dataset (paths relative to the file)."""
    spec = _spec(kind)
    lines = [
        f"title: {spec.title}",
        "data:",
        f"  events: {events_path}",
        "  users: users.parquet",
    ]
    if kind == "saas":
        lines.append("  accounts: accounts.parquet")
    lines += [
        f"unit: {spec.unit}",
        "success:",
        f"  event: {spec.success_event}",
        f"  within_days: {spec.within_days}",
        f"segments: [{', '.join(spec.segments)}]",
        "privacy:",
        "  min_units: 10",
    ]
    return "\n".join(lines) + "\n"


_PARQUET = {"compression": "zstd"}
# random millisecond timestamps dominate the files: delta-encode them (and the near-unique session ids)
_EVENTS_PARQUET = {
    **_PARQUET,
    "use_dictionary": ["user_id", "event", "account_id", "platform", "country", "device"],
    "column_encoding": {"timestamp": "DELTA_BINARY_PACKED", "session_id": "DELTA_BYTE_ARRAY"},
}


def _events_options(table: pa.Table) -> dict:
    return {
        **_EVENTS_PARQUET,
        "use_dictionary": [c for c in _EVENTS_PARQUET["use_dictionary"] if c in table.column_names],
    }


def write(
    kind: str,
    out_dir: Path,
    units: int,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Generate dataset ``kind`` chunk by chunk into ``out_dir``: events (``events.parquet``, or a folder
    ``events/`` of part files when there is more than one chunk), ``users.parquet``, ``accounts.parquet`` (saas)
    and ``workshop.yaml``. Memory stays bounded by one chunk. Returns ``out_dir``."""
    _spec(kind)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # remove a previous run's events so that a stale file or part never mixes in
    (out_dir / "events.parquet").unlink(missing_ok=True)
    if (out_dir / "events").is_dir():
        shutil.rmtree(out_dir / "events")
    writers: dict[str, pq.ParquetWriter] = {}
    events_path = "events.parquet"
    total = 0
    try:
        for i, n_chunks, chunk in _chunks(kind, units, seed):
            if n_chunks == 1:
                pq.write_table(chunk.events, out_dir / "events.parquet", **_events_options(chunk.events))
            else:
                events_path = "events"
                (out_dir / "events").mkdir(exist_ok=True)
                pq.write_table(
                    chunk.events, out_dir / "events" / f"part-{i:05d}.parquet", **_events_options(chunk.events)
                )
            total += chunk.events.num_rows
            for name, table in (("users", chunk.users), ("accounts", chunk.accounts)):
                if table is None:
                    continue
                if name not in writers:
                    writers[name] = pq.ParquetWriter(out_dir / f"{name}.parquet", table.schema, **_PARQUET)
                writers[name].write_table(table)
            if progress:
                progress(f"{kind}: chunk {i + 1}/{n_chunks} written ({total:,} events so far)")
            del chunk
    finally:
        for w in writers.values():
            w.close()
    (out_dir / "workshop.yaml").write_text(workshop_yaml(kind, events_path), encoding="utf-8")
    return out_dir
