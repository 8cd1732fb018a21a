"""The FinServ demo dataset: an insurer's online quote and application. Unit: user; success: ``policy_issued``
within 30 days of the first event, reached through the stages :data:`STAGES` in order (each strictly after the
previous one, so the sequence success definition gives the same successful users).

Events carry ``device`` (desktop / ios / android); the users table has ``product``, ``age_band``, ``channel``,
``region``, ``returning_customer`` and ``policies``. Users come back to view quotes (the "days a week" event) on
several days; the policy is issued one to ten days after the application, in a session of its own. The planted
truths:

* twice: ``returning_customer == "yes"`` converts at about twice the rest (:data:`RETURNING_F`);
* tipping: ``quote_viewed`` on 4 or more days a week multiplies success by :data:`STEP`;
* friction: iOS users first seen in the friction weeks complete their details as usual, but only half as many
  then upload documents (``details_completed -> documents_uploaded``);
* simpson: multi-policy quotes help inside every product (:data:`MULTIPLE_F`) but are mostly life cover
  (:data:`MULTIPLE_BY_PRODUCT`), the slowest product (:data:`PRODUCT_F`), so they lose overall.
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

# the application's stages, in the order they happen (the success ``sequence``)
STAGES = (
    "quote_viewed",
    "application_started",
    "identity_verified",
    "details_completed",
    "documents_uploaded",
    "application_submitted",
    "policy_issued",
)

SPEC = _Kind(
    title="FinServ application demo workshop",
    unit="user",
    events=_alpha(*STAGES),
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
)

PRODUCTS = ("auto", "home", "life")
PRODUCT_W = (0.5, 0.3, 0.2)
PRODUCT_F = np.array([1.0, 0.65, 0.33])
MULTIPLE_BY_PRODUCT = np.array([0.08, 0.28, 0.62])  # multi-policy quotes: concentrated in life
MULTIPLE_F = 1.3
RETURNING_SHARE = 0.2
RETURNING_F = 2.0
CHANNELS = ("broker", "direct", "comparison_site")
CHANNEL_W = (0.25, 0.45, 0.30)
CHANNEL_F = np.array([1.1, 1.0, 0.9])
REGIONS = ("north", "midlands", "south", "london", "scotland", "wales")
REGION_W = (0.22, 0.18, 0.25, 0.18, 0.10, 0.07)
AGE_W = (0.10, 0.26, 0.26, 0.21, 0.17)
DEVICES = ("desktop", "ios", "android")
DEVICE_W = (0.45, 0.32, 0.23)
BASE = 0.085
STEP = 2.7
WEEKDAY_W = (1.1, 1.1, 1.05, 1.0, 0.95, 0.8, 0.85)
HOUR_W = (1, 0.6, 0.5, 0.5, 0.5, 1, 2, 3.5, 5, 6, 6, 6.5, 7, 6.5, 6, 6, 6.5, 7, 7.5, 8, 7.5, 6, 4, 0)  # no 23h


def chunk(rng: np.random.Generator, n: int, first_unit: int, width: int) -> _Chunk:
    ev = {name: i for i, name in enumerate(SPEC.events)}
    stage_codes = np.array([ev[s] for s in STAGES])
    product = _draw(rng, PRODUCT_W, n)
    multiple = _systematic(rng, MULTIPLE_BY_PRODUCT[product], [product])
    returning = rng.random(n) < RETURNING_SHARE
    channel = _draw(rng, CHANNEL_W, n)
    region = _draw(rng, REGION_W, n)
    age = _draw(rng, AGE_W, n)
    device = _draw(rng, DEVICE_W, n)
    first_ms, first_day = _first_seen(rng, n, WEEKDAY_W, HOUR_W)
    window = _in_friction(first_day)
    friction = (device == DEVICES.index("ios")) & window
    bucket = _draw(rng, BUCKET_WEIGHTS, n)

    p = (
        BASE
        * PRODUCT_F[product]
        * np.where(multiple, MULTIPLE_F, 1.0)
        * np.where(returning, RETURNING_F, 1.0)
        * np.where(bucket >= THRESHOLD, STEP, 1.0)
        * CHANNEL_F[channel]
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

    active = _active_days(rng, first_day, bucket, WEEKDAY_W)
    app_day = _pick_day(rng, active)
    wu, wd = np.nonzero(active)
    first_tod = (first_ms - START_MS) % DAY_MS
    day0_ms = first_ms - first_tod
    tod = np.where(wd == 0, first_tod[wu], _tod(rng, len(wu), HOUR_W))
    d7 = wd == 7  # day 7 belongs to the second week only from the first event's time of day on
    tod[d7] = _tod_between(rng, first_tod[wu[d7]], DAY_MS - 1, HOUR_W)
    w_start = day0_ms[wu] + wd * DAY_MS + tod
    w_stage = np.where(wd == app_day[wu], np.minimum(stage[wu], 5), 0)  # stages 1..5 in the app-day session

    # policy_issued in a session of its own, 1-10 days after the application session (so within 30 days)
    iu = np.flatnonzero(success)
    w_app_start = day0_ms + app_day * DAY_MS + _tod_lookup(wu, wd, tod, app_day, n)
    i_start = w_app_start[iu] + DAY_MS + (rng.random(len(iu)) * 9 * DAY_MS).astype(np.int64)
    # late completers: a post-window application on day 22-28, policy 9-15 days later (after day 30)
    lu = np.flatnonzero(late)
    l_app = day0_ms[lu] + (22 + rng.integers(0, 7, len(lu))) * DAY_MS + _tod(rng, len(lu), HOUR_W)
    l_pol = l_app + 9 * DAY_MS + (rng.random(len(lu)) * 6 * DAY_MS).astype(np.int64)
    # return visits after the window: quotes only
    n_visits = rng.poisson(0.2 + 0.3 * bucket)
    vu = np.repeat(np.arange(n), n_visits)
    vday = _later_day(rng, np.full(len(vu), 15), np.minimum(avail, 60)[vu])
    v_start = day0_ms[vu] + vday * DAY_MS + _tod(rng, len(vu), HOUR_W)

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
        return {"device": _labels(DEVICES, device[user[rows]])}

    events = _finish_events(rng, SPEC.events, user, code, ts, sess, session_ids, columns, user_ids)
    users = pa.table(
        {
            "user_id": user_ids,
            "product": _labels(PRODUCTS, product),
            "age_band": _labels(AGE_BANDS, age),
            "channel": _labels(CHANNELS, channel),
            "region": _labels(REGIONS, region),
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
