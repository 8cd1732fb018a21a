"""The SaaS demo dataset: a B2B tool with a free trial. Unit: account (1 to 10 users: the owner who signed up and
the people who joined from an invite); success: ``subscription_started`` by any user within 30 days.

Events carry ``account_id`` and ``platform`` (constant per user); the users table has ``account_id`` and
``role``; the accounts table has ``plan``, ``company_size``, ``industry``, ``country`` and ``channel``. The
planted truths:

* twice: ``channel == "referral"`` converts at about twice the rest (:data:`CHANNEL_F`);
* tipping: days on which any user of the account logged in, 4 or more a week, multiply success by :data:`STEP`;
* friction: accounts whose first user is on iOS and first seen in the friction weeks rarely send an invite
  (:data:`INVITE_FRICTION` instead of :data:`INVITE`), and accounts that never invite convert far less
  (:data:`NO_INVITE_F`), so their success is about halved;
* simpson: the business plan helps inside every company size (:data:`BUSINESS_F`) but is taken mostly by big
  companies (:data:`BUSINESS_BY_SIZE`), which convert slowly (:data:`SIZE_F`), so it loses overall.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .common import (
    BUCKET_WEIGHTS,
    DAY_MS,
    FRICTION_END,
    FRICTION_START,
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
)

PLANS = ("starter", "team", "business")
SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
SIZE_W = (0.35, 0.30, 0.18, 0.11, 0.06)
SIZE_F = np.array([1.0, 0.8, 0.55, 0.38, 0.26])
BUSINESS_BY_SIZE = np.array([0.05, 0.15, 0.35, 0.55, 0.75])  # business-plan trials: concentrated in big firms
BUSINESS_F = 1.3
INDUSTRIES = ("software", "retail", "finance", "healthcare", "education", "media", "other")
INDUSTRY_W = (0.28, 0.14, 0.12, 0.10, 0.10, 0.08, 0.18)
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "IN", "BR")
COUNTRY_W = (0.38, 0.14, 0.10, 0.07, 0.07, 0.05, 0.11, 0.08)
CHANNELS = ("organic", "paid_search", "social", "referral", "partner")
CHANNEL_W = (0.35, 0.22, 0.15, 0.15, 0.13)
CHANNEL_F = np.array([1.05, 0.95, 0.9, 2.0, 1.1])
PLATFORMS = ("web", "desktop", "ios", "android")
CREATOR_PLATFORM_W = (0.45, 0.15, 0.25, 0.15)
MEMBER_PLATFORM_W = (0.55, 0.2, 0.15, 0.10)
ROLES = ("owner", "admin", "member")
INVITE = 0.55  # share of accounts that invite someone in the window
INVITE_FRICTION = 0.08  # ... for iOS-first accounts in the friction window
NO_INVITE_F = 0.3  # success factor for accounts that never invite
BASE = 0.15
STEP = 2.6
WEEKDAY_W = (1.2, 1.25, 1.2, 1.15, 1.0, 0.45, 0.4)
# A signup session's login follows the signup by at most 900 s (the session gap cap): SaaS signup sessions and the
# owner's window sessions start by this time of day, so that a signup's login stays on its calendar day (login is
# the tipping event, counted per calendar day).
LATEST_TOD = DAY_MS - 901_000
HOUR_W = (1, 1, 1, 1, 1, 1.5, 3, 5, 7, 9, 10, 10, 9, 10, 10, 9.5, 8, 6, 4.5, 3.5, 3, 2.5, 2, 1.5)


def chunk(rng: np.random.Generator, n: int, first_unit: int, first_user: int, width: int, account_width: int) -> _Chunk:
    ev = {name: i for i, name in enumerate(SPEC.events)}
    size = _draw(rng, SIZE_W, n)
    business = _systematic(rng, BUSINESS_BY_SIZE[size], [size])
    plan = np.where(business, 2, (rng.random(n) < 0.4).astype(np.int64))  # starter / team / business
    industry = _draw(rng, INDUSTRY_W, n)
    country = _draw(rng, COUNTRY_W, n)
    channel = _draw(rng, CHANNEL_W, n)
    creator_platform = _draw(rng, CREATOR_PLATFORM_W, n)
    first_ms, first_day = _first_seen(rng, n, WEEKDAY_W, HOUR_W, latest=LATEST_TOD)
    window = _in_friction(first_day)
    friction = (creator_platform == PLATFORMS.index("ios")) & window
    bucket = _draw(rng, BUCKET_WEIGHTS, n)

    invited = _systematic(rng, np.where(friction, INVITE_FRICTION, INVITE), [friction, window, bucket])
    p = (
        BASE
        * CHANNEL_F[channel]
        * SIZE_F[size]
        * np.where(business, BUSINESS_F, 1.0)
        * np.where(bucket >= THRESHOLD, STEP, 1.0)
        * np.where(invited, 1.0, NO_INVITE_F)
    ).clip(0, 0.95)
    success = _systematic(rng, p, [friction, window, invited, size, business, bucket, channel])
    joined = invited & (rng.random(n) < 0.8)
    n_join = np.where(joined, np.minimum(rng.geometric(0.45, n), 9), 0)
    n_users = 1 + n_join

    active = _active_days(rng, first_day, bucket, WEEKDAY_W)
    days = np.arange(WINDOW_DAYS)
    invite_day = np.minimum(_pick_day(rng, active), _pick_day(rng, active))  # biased early
    first_tod = (first_ms - START_MS) % DAY_MS
    day0_ms = first_ms - first_tod
    tod_mat = _tod_between(rng, 0, LATEST_TOD, HOUR_W, n * WINDOW_DAYS).reshape(n, WINDOW_DAYS)
    tod_mat[:, 0] = first_tod
    tod_mat[:, 7] = _tod_between(rng, first_tod, LATEST_TOD, HOUR_W)  # day 7: in week two from first_tod on
    avail = _avail(first_ms)

    # users: the creator (owner) and the people who joined from an invite
    acct_of_user = np.repeat(np.arange(n), n_users)
    nu = len(acct_of_user)
    user_offset = np.cumsum(n_users) - n_users
    k = np.arange(nu) - user_offset[acct_of_user]
    is_creator = k == 0
    platform = np.where(is_creator, creator_platform[acct_of_user], _draw(rng, MEMBER_PLATFORM_W, nu))
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
        base_tod + ((LATEST_TOD - base_tod) * (0.2 + 0.75 * rng.random(len(ju)))).astype(np.int64),
        _tod_between(rng, np.where(jd == 7, first_tod[ja], 0), LATEST_TOD, HOUR_W),
    )
    j_start = day0_ms[ja] + jd * DAY_MS + j_tod
    # 3. joiners' later window sessions: on the account's active days after their join day
    later = active[ua[ju]] & (days[None, :] > join_day[ju][:, None]) & (rng.random((len(ju), WINDOW_DAYS)) < 0.45)
    lr, ld = np.nonzero(later)
    l_user, l_acct = ju[lr], ua[ju[lr]]
    l_tod = _tod_between(rng, np.where(ld == 7, first_tod[l_acct], 0), DAY_MS - 1, HOUR_W)
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
    post_start = day0_ms[post_acct] + post_day * DAY_MS + _tod(rng, len(post_acct), HOUR_W)
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
            "platform": _labels(PLATFORMS, platform[u]),
        }

    events = _finish_events(rng, SPEC.events, user, code, ts, sess, session_ids, columns, user_ids)
    events = events.select(["user_id", "event", "timestamp", "session_id", "account_id", "platform"])
    users = pa.table(
        {
            "user_id": user_ids,
            "account_id": pc.take(account_ids, pa.array(ua.astype(np.int32))),
            "role": _labels(ROLES, role),
        }
    )
    accounts = pa.table(
        {
            "account_id": account_ids,
            "plan": _labels(PLANS, plan),
            "company_size": _labels(SIZES, size),
            "industry": _labels(INDUSTRIES, industry),
            "country": _labels(COUNTRIES, country),
            "channel": _labels(CHANNELS, channel),
        }
    )
    return _Chunk(events, users, accounts)
