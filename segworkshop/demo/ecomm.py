"""The eComm demo dataset: an online shop. Unit: user; success: ``purchase`` within 14 days of the first event.

Events carry ``platform`` (web / ios / android), ``country`` and ``order_value`` (on purchases); the users table
has ``channel``, ``account_type``, ``newsletter`` and ``age_band``. Each session starts with ``session_start``
(the "days a week" event); product views outnumber carts, carts checkouts. The planted truths:

* twice: ``channel == "email"`` converts at about twice the rest (:data:`CHANNEL_F`);
* tipping: ``session_start`` on 4 or more days a week multiplies success by :data:`STEP`;
* friction: android users first seen in the friction weeks reach checkout as usual, but their chance to buy is
  halved (``checkout_started -> purchase``);
* simpson: ``newsletter == "yes"`` helps inside every platform (:data:`NEWSLETTER_F`) but sits mostly on android,
  the weakest platform (:data:`NEWSLETTER_BY_PLATFORM`, :data:`PLATFORM_F`), so it loses overall.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .common import (
    AGE_BANDS,
    BUCKET_WEIGHTS,
    DAY_MS,
    FRICTION_END,
    FRICTION_START,
    HOUR_MS,
    START_MS,
    THRESHOLD,
    WINDOW_DAYS,
    _active_days,
    _alpha,
    _avail,
    _Chunk,
    _draw,
    _expand,
    _finish_events,
    _first_seen,
    _ids,
    _in_friction,
    _Kind,
    _labels,
    _later_day,
    _pick_day,
    _session_numbers,
    _systematic,
    _tod,
    _tod_between,
)

SPEC = _Kind(
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
)

PLATFORMS = ("web", "ios", "android")
PLATFORM_W = (0.45, 0.30, 0.25)
PLATFORM_F = np.array([1.0, 0.8, 0.42])  # success factor by platform
NEWSLETTER_BY_PLATFORM = np.array([0.07, 0.25, 0.65])  # newsletter=yes share: concentrated on android
NEWSLETTER_F = 1.3
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT")
COUNTRY_W = (0.35, 0.15, 0.12, 0.10, 0.08, 0.06, 0.05, 0.05, 0.04)
CHANNELS = ("organic", "paid_search", "social", "email", "referral")
CHANNEL_W = (0.38, 0.22, 0.15, 0.15, 0.10)
CHANNEL_F = np.array([1.05, 0.9, 0.95, 2.0, 1.15])  # the rest averages 1.0 (weighted): email is 2x
ACCOUNT_TYPES = ("guest", "registered")
ACCOUNT_W = (0.55, 0.45)
ACCOUNT_F = np.array([0.92, 1.1])
AGE_W = (0.18, 0.30, 0.24, 0.16, 0.12)
BASE = 0.10
STEP = 2.7
WEEKDAY_W = (1.0, 0.97, 0.97, 1.0, 1.05, 1.15, 1.2)
HOUR_W = (2, 1.5, 1, 1, 1, 1.5, 2.5, 3.5, 4, 4.5, 5, 5, 5.5, 5.5, 5.5, 5.5, 6, 6.5, 7.5, 8, 8, 7, 5, 3.5)


def chunk(rng: np.random.Generator, n: int, first_unit: int, width: int) -> _Chunk:
    ev = {name: i for i, name in enumerate(SPEC.events)}
    platform = _draw(rng, PLATFORM_W, n)
    country = _draw(rng, COUNTRY_W, n)
    channel = _draw(rng, CHANNEL_W, n)
    account = _draw(rng, ACCOUNT_W, n)
    age = _draw(rng, AGE_W, n)
    newsletter = _systematic(rng, NEWSLETTER_BY_PLATFORM[platform], [platform])
    first_ms, first_day = _first_seen(rng, n, WEEKDAY_W, HOUR_W)
    window = _in_friction(first_day)
    friction = (platform == PLATFORMS.index("android")) & window
    bucket = _draw(rng, BUCKET_WEIGHTS, n)

    p = (
        BASE
        * CHANNEL_F[channel]
        * PLATFORM_F[platform]
        * np.where(newsletter, NEWSLETTER_F, 1.0)
        * np.where(bucket >= THRESHOLD, STEP, 1.0)
        * ACCOUNT_F[account]
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
    active = _active_days(rng, first_day, bucket, WEEKDAY_W)
    funnel_day = _pick_day(rng, active)  # the purchase / checkout / cart session's day
    wu, wd = np.nonzero(active)
    tod = _tod(rng, len(wu), HOUR_W)
    first_tod = (first_ms - START_MS) % DAY_MS
    tod = np.where(wd == 0, first_tod[wu], tod)
    d7 = wd == 7  # day 7 belongs to the second week only from the first event's time of day on
    tod[d7] = _tod_between(rng, first_tod[wu[d7]], DAY_MS - 1, HOUR_W)
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
    p_start = day0_ms[pu] + pday * DAY_MS + _tod(rng, len(pu), HOUR_W)
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
    registered = account == ACCOUNT_TYPES.index("registered")
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
            "platform": _labels(PLATFORMS, platform[u]),
            "country": _labels(COUNTRIES, country[u]),
            "order_value": pa.array(order_value[rows], mask=~is_purchase, type=pa.float64()),
        }

    events = _finish_events(rng, SPEC.events, user, code, ts, sess, session_ids, columns, user_ids)
    users = pa.table(
        {
            "user_id": user_ids,
            "channel": _labels(CHANNELS, channel),
            "account_type": _labels(ACCOUNT_TYPES, account),
            "newsletter": _labels(("no", "yes"), newsletter.astype(np.int64)),
            "age_band": _labels(AGE_BANDS, age),
        }
    )
    return _Chunk(events, users, None)
