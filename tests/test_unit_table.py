"""The unit table (unit_table.py) against an independent plain-pandas reference written from its documented semantics.

The reference below is written from the module docstring of ``segworkshop/unit_table.py`` (and the README), not from
the Ibis code path:

* start: the unit's first event, or its first occurrence of the ``start`` step; units that never start are left out
  (kept with a null start under ``include_unstarted=True``, and counted as ``not_started`` by ``baseline()``);
* event / any_of: the earliest matching event at or after the start;
* all_of: when the last of the steps first occurred at or after the start (every step required);
* sequence: greedy earliest matches in order, step 1 at or after the start, each later step strictly after the
  previous step's match; ``steps_reached`` counts the steps matched (whatever the window: ``stopping_points``
  labels ``steps_reached == len(steps)`` on a failed unit "every step, but too late");
* within_days: success only if ``success time <= start + within_days days`` (inclusive);
* a trait from an event column: the value on the unit's earliest event where the column is not null; a column of
  the users (accounts) table wins over an event column of the same name;
* property filters: ``{col: value}`` is ``==``, ``{col: [..]}`` is ``in``, ``{col: {op: value}}`` an operator; a
  null property never matches a filter (SQL semantics, also for ``!=`` and ``not_in``: "plan != free" does not
  claim a purchase whose plan is unknown).

Time comparisons are exact. ``days_to_success`` is computed by the package from whole epoch seconds, so on
sub-second data it may differ from the exact difference by up to one second. The random data are therefore
generated on whole seconds, where ``(success - start) / 1 day`` is exact and is compared within 1e-9 days; the
hand-made boundary data (which need a +1 microsecond event) are compared with a tolerance of 1/86400 day + 1e-9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segworkshop import Workshop
from segworkshop.engine import connect

BASE = pd.Timestamp("2026-03-02 00:00:00")
EVENTS = ["visit", "signup", "view", "cart", "purchase", "share"]
N_USERS = 300
N_ACCOUNTS = 60
SPAN_DAYS = 14
DAY = pd.Timedelta(days=1)
TIME_COLUMNS = ("first_seen", "last_seen", "start_at", "success_at")


# --------------------------------------------------------------------------- random data


def _make_data(seed: int = 20260302) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    uids = np.array([f"u{i:03d}" for i in range(N_USERS)], dtype=object)
    account_of = {
        u: (None if rng.random() < 0.05 else f"a{rng.integers(0, N_ACCOUNTS):02d}") for u in uids
    }  # ~5% of users have no account

    counts = rng.integers(1, 46, N_USERS)
    counts[rng.choice(N_USERS, 15, replace=False)] = 1  # some users with a single event
    user = np.repeat(np.arange(N_USERS), counts)
    n = len(user)
    # whole seconds: mostly on an hour grid (so that events tie with each other and may land exactly on
    # start + N days), some jittered by whole seconds
    hours = rng.integers(0, 24 * SPAN_DAYS, n)
    jitter = np.where(rng.random(n) < 0.3, rng.integers(1, 3600, n), 0)
    events = pd.DataFrame(
        {
            "user_id": uids[user],
            "event": rng.choice(EVENTS, n, p=[0.32, 0.08, 0.22, 0.15, 0.1, 0.13]),
            "timestamp": BASE + pd.to_timedelta(hours * 3600 + jitter, unit="s"),
        }
    )
    # deliberate ties: copies of ~12% of the events, at the same time with another (random) name
    idx = rng.choice(n, int(0.12 * n), replace=False)
    copies = events.iloc[idx].copy()
    copies["event"] = rng.choice(EVENTS, len(copies))
    # a purchase at the very time of the first signup (a tie with a named start), and a cart at the time of a view
    first_signup = events[events.event == "signup"].groupby("user_id").timestamp.min()
    at_start = first_signup.sample(n=min(40, len(first_signup)), random_state=1)
    tie_purchase = pd.DataFrame({"user_id": at_start.index, "event": "purchase", "timestamp": at_start.to_numpy()})
    views = events[events.event == "view"].sample(n=60, random_state=2)
    tie_cart = views.assign(event="cart")
    events = pd.concat([events, copies, tie_purchase, tie_cart], ignore_index=True)
    # ~25% of users never sign up: they never start under `start: signup`
    never = set(rng.choice(uids, N_USERS // 4, replace=False))
    events.loc[events.user_id.isin(never) & (events.event == "signup"), "event"] = "visit"
    events = _inject_window_edges(events, rng)
    n = len(events)

    # properties
    is_purchase = (events.event == "purchase").to_numpy()
    is_cart = (events.event == "cart").to_numpy()
    plan = rng.choice(np.array(["free", "pro", "team", None], dtype=object), n, p=[0.4, 0.3, 0.2, 0.1])
    events["plan"] = pd.Series(np.where(is_purchase, plan, None), dtype=object)
    value = np.round(rng.gamma(2.0, 35.0, n), 2)
    value[rng.random(n) < 0.06] = 50.0  # exactly on a `>= 50` boundary
    value[rng.random(n) < 0.1] = np.nan
    events["order_value"] = np.where(is_purchase | is_cart, value, np.nan)
    channel = rng.choice(np.array(["ads", "organic", "email"], dtype=object), n)
    events["channel"] = pd.Series(np.where(events.event == "visit", channel, None), dtype=object)

    # traits on events: often empty, sometimes changing over time
    home = {u: rng.choice(["ios", "android", "web"]) for u in uids}
    platform = np.array([home[u] for u in events.user_id], dtype=object)
    other = rng.random(n) < 0.2
    platform[other] = rng.choice(["ios", "android", "web"], other.sum())
    platform[rng.random(n) < 0.4] = None
    events["platform"] = pd.Series(platform, dtype=object)
    version = rng.choice([1.0, 1.1, 2.0, 2.5], n)
    version[rng.random(n) < 0.5] = np.nan
    events["app_version"] = version
    country = rng.choice(np.array(["DE", "FR", "US"], dtype=object), n).astype(object)
    country[rng.random(n) < 0.5] = None
    events["country"] = pd.Series(country, dtype=object)

    # the account on each event (~3% of events lose it)
    acct = np.array([account_of[u] for u in events.user_id], dtype=object)
    # a unit's first non-null trait must be unambiguous: no trait value where another event of the same user (or of
    # the same account) happens at the same time
    tied = events.duplicated(["user_id", "timestamp"], keep=False).to_numpy()
    tied = tied | (pd.DataFrame({"a": acct, "t": events.timestamp}).duplicated(keep=False).to_numpy() & pd.notna(acct))
    for column in ("platform", "country"):
        events.loc[tied, column] = None
    events.loc[tied, "app_version"] = np.nan
    acct_on_event = acct.copy()
    acct_on_event[rng.random(n) < 0.03] = None
    events["account_id"] = pd.Series(acct_on_event, dtype=object)

    events = events.sample(frac=1.0, random_state=3).reset_index(drop=True)  # no reliance on row order

    # users: u000..u279 (u280..u299 have events but no users row) plus u300..u309 (a row, no events)
    listed = [f"u{i:03d}" for i in range(280)] + [f"u{i:03d}" for i in range(300, 310)]
    users = pd.DataFrame(
        {
            "user_id": listed,
            "country": pd.Series(rng.choice(["de", "fr", "us", "br"], len(listed)), dtype=object),
            "plan_tier": pd.Series(rng.choice(["basic", "plus", None], len(listed)), dtype=object),
            "account_id": pd.Series([account_of.get(u) for u in listed], dtype=object),
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": [f"a{i:02d}" for i in range(N_ACCOUNTS - 5)],  # a55..a59 have no accounts row
            "tier": pd.Series(rng.choice(["smb", "mid", "ent"], N_ACCOUNTS - 5), dtype=object),
            "country": pd.Series(rng.choice(["se", "no", "fi"], N_ACCOUNTS - 5), dtype=object),
        }
    )
    return {"events": events, "users": users, "accounts": accounts}


def _inject_window_edges(events: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Purchases exactly on start + within_days (counted) and one second later (not), for both kinds of start.

    Given to users whose first purchase at or after the start is later than that edge (or who have none), so the
    injected purchase is the success time; largest windows first, a user at most once per kind of start.
    """
    for start in ("first_event", "signup"):
        used: set[str] = set()
        for within in (7, 5, 4, 3, 2.5):
            pool = events if start == "first_event" else events[events.event == "signup"]
            t0 = pool.groupby("user_id").timestamp.min().rename("t0")
            edge = t0 + pd.to_timedelta(within, unit="D")
            buys = events[events.event == "purchase"].join(t0, on="user_id", how="inner")
            first_buy = buys[buys.timestamp >= buys.t0].groupby("user_id").timestamp.min().reindex(t0.index)
            free = t0.index[(first_buy.isna() | (first_buy > edge)) & ~t0.index.isin(list(used))]
            chosen = rng.choice(np.asarray(free, dtype=object), 8, replace=False)
            used.update(chosen)
            times = edge[chosen].to_numpy() + np.where(
                np.arange(len(chosen)) < len(chosen) // 2, 0, 1_000_000_000
            ).astype("timedelta64[ns]")
            extra = pd.DataFrame({"user_id": chosen, "event": "purchase", "timestamp": times})
            events = pd.concat([events, extra], ignore_index=True)
    return events


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return _make_data()


@pytest.fixture(scope="module")
def engine(data) -> dict:
    """One DuckDB connection (the package's own, in UTC) holding the random tables, shared by the tests: the
    pandas frames are loaded once (the DataFrame path itself is exercised by the boundary tests)."""
    con = connect()
    tables = {name: con.create_table(f"t_{name}", frame) for name, frame in data.items()}
    tables["events_no_account"] = con.create_table("t_events_no_account", data["events"].drop(columns="account_id"))
    return {"con": con, **tables}


# --------------------------------------------------------------------------- the plain-pandas reference


def _as_step(item) -> tuple[str, dict]:
    if isinstance(item, str):
        return item, {}
    return item["event"], dict(item.get("where") or {})


def _filter_mask(column: pd.Series, op: str, value) -> pd.Series:
    present = column.notna()
    if pd.api.types.is_numeric_dtype(column) and isinstance(value, str):
        value = float(value)  # `order_value: {">=": "50"}` (text in YAML) compares as a number
    if op == "in":
        hit = column.isin(value)
    elif op == "not_in":
        hit = ~column.isin(value)
    else:
        hit = {
            "==": lambda: column == value,
            "!=": lambda: column != value,
            ">": lambda: column > value,
            ">=": lambda: column >= value,
            "<": lambda: column < value,
            "<=": lambda: column <= value,
        }[op]()
    return present & hit.fillna(False).astype(bool)


def step_mask(events: pd.DataFrame, item) -> pd.Series:
    name, where = _as_step(item)
    mask = events.event == name
    for column, spec in where.items():
        if isinstance(spec, dict):
            for op, value in spec.items():
                mask &= _filter_mask(events[column], op, value)
        elif isinstance(spec, list):
            mask &= _filter_mask(events[column], "in", spec)
        else:
            mask &= _filter_mask(events[column], "==", spec)
    return mask


def first_after(events: pd.DataFrame, mask: pd.Series, after: pd.Series, *, strict: bool) -> pd.Series:
    """Per unit: the earliest time of a ``mask`` event at (or strictly after) the unit's ``after`` time."""
    hits = events.loc[mask, ["unit", "timestamp"]].merge(after.dropna().rename("t0"), left_on="unit", right_index=True)
    keep = hits.timestamp > hits.t0 if strict else hits.timestamp >= hits.t0
    return hits[keep].groupby("unit").timestamp.min()


def reference(
    data: dict[str, pd.DataFrame],
    success: dict,
    *,
    unit: str = "user",
    events: pd.DataFrame | None = None,
    event_traits: tuple[str, ...] = (),
    table_traits: tuple[str, ...] = (),
    include_unstarted: bool = False,
) -> pd.DataFrame:
    ev = (data["events"] if events is None else events).copy()
    if unit == "user":
        ev["unit"] = ev.user_id
    elif "account_id" in ev.columns:
        ev["unit"] = ev.account_id
    else:
        link = data["users"][["user_id", "account_id"]].rename(columns={"account_id": "unit"})
        ev = ev.merge(link, on="user_id", how="left")
    ev = ev[ev.unit.notna()]

    units = ev.groupby("unit").agg(
        first_seen=("timestamp", "min"), last_seen=("timestamp", "max"), events=("timestamp", "size")
    )
    start = success.get("start", "first_event")
    if start == "first_event":
        units["start_at"] = units.first_seen
    else:
        units["start_at"] = ev[step_mask(ev, start)].groupby("unit").timestamp.min()
    begin = units.start_at

    kind = next(k for k in ("event", "any_of", "all_of", "sequence") if k in success)
    if kind == "event":
        steps = [{"event": success["event"], "where": success.get("where") or {}}]
    else:
        steps = list(success[kind])

    if kind in ("event", "any_of"):
        any_step = np.logical_or.reduce([step_mask(ev, s) for s in steps])
        hit = first_after(ev, pd.Series(any_step, index=ev.index), begin, strict=False).reindex(units.index)
    elif kind == "all_of":
        firsts = pd.concat(
            [first_after(ev, step_mask(ev, s), begin, strict=False).reindex(units.index) for s in steps], axis=1
        )
        hit = firsts.max(axis=1).where(firsts.notna().all(axis=1))
    else:
        previous = begin
        reached = pd.Series(0, index=units.index)
        for i, s in enumerate(steps):
            previous = first_after(ev, step_mask(ev, s), previous, strict=i > 0).reindex(units.index)
            reached += previous.notna().astype(int)
        hit = previous
        units["steps_reached"] = reached

    ok = hit.notna()
    if success.get("within_days") is not None:
        ok &= hit <= begin + pd.to_timedelta(success["within_days"], unit="D")
    units["success"] = ok.astype(bool)
    units["success_at"] = hit.where(ok)
    units["days_to_success"] = (units.success_at - units.start_at).dt.total_seconds() / 86400.0

    for column in event_traits:
        carried = ev[ev[column].notna()].sort_values("timestamp")
        units[column] = carried.drop_duplicates("unit").set_index("unit")[column]
    if table_traits:
        key = "user_id" if unit == "user" else "account_id"
        table = data["users"] if unit == "user" else data["accounts"]
        units = units.drop(columns=[c for c in table_traits if c in units.columns])
        units = units.join(table.set_index(key)[list(table_traits)])

    if not include_unstarted:
        units = units[units.start_at.notna()]
    return units.rename_axis("unit_id").reset_index()


# --------------------------------------------------------------------------- running the package, comparing


def _times(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(s)
    if s.dt.tz is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.astype("datetime64[us]").reset_index(drop=True)


def _values(s: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in s]


def assert_same(got: pd.DataFrame, want: pd.DataFrame, *, days_tol: float = 1e-9) -> None:
    got = got.sort_values("unit_id").reset_index(drop=True)
    want = want.sort_values("unit_id").reset_index(drop=True)
    assert list(got.unit_id.astype(str)) == list(want.unit_id.astype(str)), "different units"
    expected_columns = {"first_seen", "last_seen", "events", "start_at", "success", "success_at", "days_to_success"}
    assert expected_columns <= set(got.columns)
    for column in TIME_COLUMNS:
        pd.testing.assert_series_equal(_times(got[column]), _times(want[column]), check_names=False, obj=column)
    assert got.events.astype(int).tolist() == want.events.astype(int).tolist()
    bad = got.unit_id[got.success.astype(bool).to_numpy() != want.success.to_numpy()]
    assert bad.empty, f"success differs for {list(bad)[:10]}"
    np.testing.assert_allclose(
        got.days_to_success.astype(float), want.days_to_success.astype(float), rtol=0, atol=days_tol, equal_nan=True
    )
    if "steps_reached" in want.columns:
        assert got.steps_reached.astype(int).tolist() == want.steps_reached.astype(int).tolist()
    else:
        assert "steps_reached" not in got.columns
    for column in want.columns:
        if column in (*expected_columns, "unit_id", "steps_reached"):
            continue
        assert _values(got[column]) == _values(want[column]), f"trait {column} differs"


def check(data, engine, success, *, unit="user", traits=(), include_unstarted=False, account_on_events=True):
    """Run the package on the random data and compare with the reference; returns (workshop, got, want)."""
    sources = {"events": engine["events"], "users": engine["users"]}
    events = data["events"]
    if unit == "account":
        sources["accounts"] = engine["accounts"]
        if not account_on_events:
            sources["events"] = engine["events_no_account"]
            events = events.drop(columns="account_id")
    ws = Workshop.from_dict({"data": sources, "unit": unit, "success": success}, con=engine["con"])
    got = ws.unit_table(traits=list(traits), include_unstarted=include_unstarted).to_pandas()
    table = set(data["users" if unit == "user" else "accounts"].columns) - {"user_id", "account_id"}
    if unit == "user":
        table.add("account_id")  # a column of the users table, so a trait of users
    want = reference(
        data,
        success,
        unit=unit,
        events=events,
        event_traits=tuple(t for t in traits if t not in table),
        table_traits=tuple(t for t in traits if t in table),
        include_unstarted=include_unstarted,
    )
    assert_same(got, want)
    return ws, got, want


# --------------------------------------------------------------------------- every kind × window × start

KINDS = {
    "event": {"event": "purchase"},
    "any_of": {"any_of": ["purchase", "share"]},
    "all_of": {"all_of": ["view", "cart", "purchase"]},
    "sequence": {"sequence": ["view", "cart", "purchase"]},
}
STARTS = ["first_event", "signup"]


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("within", [None, 2.5], ids=lambda w: f"within={w}")
@pytest.mark.parametrize("kind", list(KINDS))
def test_kind_window_start(data, engine, kind, within, start):
    success = dict(KINDS[kind], start=start)
    if within is not None:
        success["within_days"] = within
    _, _got, want = check(data, engine, success)
    # the data are meant to exercise something: some successes and some failures among started units
    assert 0 < want.success.sum() < len(want)
    if start == "signup":
        assert len(want) < data["events"].user_id.nunique()  # some users never start


def test_data_has_exact_window_boundaries(data):
    """Sanity of the data: successes exactly on start + within_days (and just after it) exist for both starts."""
    for start in STARTS:
        for within in (7, 2.5):
            edge_delta = pd.to_timedelta(within, unit="D")
            loose = reference(data, {"event": "purchase", "start": start})
            assert (loose.success_at == loose.start_at + edge_delta).sum() >= 4, (start, within)
            assert (loose.success_at == loose.start_at + edge_delta + pd.Timedelta(seconds=1)).sum() >= 4
            tight = reference(data, {"event": "purchase", "start": start, "within_days": within})
            assert (tight.success_at == tight.start_at + edge_delta).sum() >= 4


# --------------------------------------------------------------------------- property filters on steps

ADS = {"event": "visit", "where": {"channel": "ads"}}
FILTERED = {
    "event_where_eq": ({"event": "purchase", "where": {"plan": "pro"}}, None, "first_event"),
    "event_where_list": ({"event": "purchase", "where": {"plan": ["pro", "team"]}}, 7, "signup"),
    "event_where_ge": ({"event": "purchase", "where": {"order_value": {">=": 50}}}, 2.5, "first_event"),
    "event_where_ne": ({"event": "purchase", "where": {"plan": {"!=": "free"}}}, None, "signup"),
    "event_where_not_in": ({"event": "purchase", "where": {"plan": {"not_in": ["free", "team"]}}}, 3, "first_event"),
    "event_where_two": (
        {"event": "purchase", "where": {"plan": "pro", "order_value": {">": 20, "<=": 120}}},
        5,
        ADS,
    ),
    "any_of_steps": ({"any_of": [{"event": "purchase", "where": {"plan": ["pro", "team"]}}, "share"]}, 2.5, "signup"),
    "all_of_steps": ({"all_of": [{"event": "cart", "where": {"order_value": {">=": 50}}}, "purchase"]}, None, ADS),
    "sequence_steps": (
        {
            "sequence": [
                "view",
                {"event": "cart", "where": {"order_value": {"<": 80}}},
                {"event": "purchase", "where": {"plan": "pro"}},
            ]
        },
        4,
        "first_event",
    ),
    "sequence_start_filtered": ({"sequence": ["view", {"event": "purchase", "where": {"plan": "team"}}]}, 3, ADS),
    "sequence_text_number": (
        {"sequence": ["view", {"event": "purchase", "where": {"order_value": {">=": "50"}}}]},
        None,
        "signup",
    ),
}


@pytest.mark.parametrize("name", list(FILTERED))
def test_step_filters(data, engine, name):
    definition, within, start = FILTERED[name]
    success = dict(definition, start=start)
    if within is not None:
        success["within_days"] = within
    _, _got, want = check(data, engine, success)
    assert 0 < want.success.sum() < len(want)


def test_filters_actually_filter(data):
    """Sanity of the data for the filter tests: `plan == pro` succeeds for fewer units than any purchase."""
    plain = reference(data, {"event": "purchase"}).success.sum()
    pro = reference(data, FILTERED["event_where_eq"][0]).success.sum()
    assert 0 < pro < plain
    ads = reference(data, {"event": "purchase", "start": ADS})
    signup = reference(data, {"event": "purchase", "start": "signup"})
    assert len(ads) != len(signup)


# --------------------------------------------------------------------------- sequences: ties, repeats, steps

SPECIAL = {
    "repeated_step": {"sequence": ["view", "view", "purchase"], "within_days": 5},
    "first_step_is_start": {"sequence": ["signup", "purchase"], "start": "signup"},
    "tie_with_previous": {"sequence": ["view", "cart"], "within_days": 1},  # a cart at the view's time is not after it
    "four_steps": {"sequence": ["visit", "view", "cart", "purchase"], "within_days": 3, "start": "signup"},
    "start_is_success": {"event": "signup", "start": "signup", "within_days": 0},
    "all_of_repeated": {"all_of": ["purchase", "purchase", "share"], "start": "signup"},
}


@pytest.mark.parametrize("name", list(SPECIAL))
def test_special_definitions(data, engine, name):
    _, _got, want = check(data, engine, SPECIAL[name])
    assert want.success.sum() > 0
    if name == "start_is_success":
        assert want.success.all() and (want.days_to_success == 0).all()


def test_steps_reached_spread(data):
    """steps_reached takes every value 0..k on the random data (so the comparison means something)."""
    want = reference(data, {"sequence": ["view", "cart", "purchase"], "start": "signup", "within_days": 2})
    assert set(want.steps_reached) == {0, 1, 2, 3}
    assert ((want.steps_reached == 3) & ~want.success).any()  # every step, but too late


# --------------------------------------------------------------------------- units that never start, baseline


@pytest.mark.parametrize(
    "kind, start",
    [("event", "signup"), ("sequence", "signup"), ("all_of", ADS), ("any_of", "first_event")],
    ids=["event-signup", "sequence-signup", "all_of-visit_from_ads", "any_of-first_event"],
)
def test_include_unstarted_and_baseline(data, engine, kind, start):
    success = dict(KINDS[kind], start=start, within_days=5)
    ws, _got, want = check(data, engine, success, include_unstarted=True)
    started = want.start_at.notna()
    if start == "first_event":
        assert started.all()
    else:
        assert (~started).sum() > 0
        assert not want.success[~started].any()
    base = ws.baseline()
    # censoring: a started unit counts once its 5-day window has closed by the last event
    end = pd.to_datetime(data["events"].timestamp).max()
    mature = started & (want.start_at + pd.Timedelta(days=5) <= end)
    assert base["units"] == int(mature.sum())
    assert base["successes"] == int(want.success[mature].sum())
    assert base["not_started"] == int((~started).sum())
    assert base["too_recent"] == int((started & ~mature).sum())
    assert base["rate"] == pytest.approx(want.success[mature].mean())


# --------------------------------------------------------------------------- traits


@pytest.mark.parametrize(
    "traits, start",
    [
        (("platform",), "first_event"),
        (("app_version",), "signup"),
        (("country",), "first_event"),
        (("plan_tier", "platform", "app_version", "country", "account_id"), "signup"),
    ],
    ids=lambda v: "+".join(v) if isinstance(v, tuple) else v,
)
def test_traits_user(data, engine, traits, start):
    _, got, _want = check(data, engine, {"event": "purchase", "start": start, "within_days": 7}, traits=traits)
    if "country" in traits:
        # the users table's (lower-case) country wins over the events' (upper-case) one
        assert set(got.country.dropna()) <= {"de", "fr", "us", "br"}
        assert got.country.isna().any()  # units missing from the users table


def test_first_event_traits_are_not_first_event_values(data):
    """Sanity of the data: the first event's value is often empty, so "first non-null" is what is tested."""
    ev = data["events"].sort_values("timestamp")
    first_any = ev.drop_duplicates("user_id").set_index("user_id").platform
    first_value = ev.dropna(subset=["platform"]).drop_duplicates("user_id").set_index("user_id").platform
    assert first_any.isna().sum() > 20
    assert first_value.notna().all()


# --------------------------------------------------------------------------- accounts


ACCOUNT_CASES = [
    ("event", "first_event", True),
    ("event", "signup", False),
    ("all_of", "signup", True),
    ("sequence", "signup", False),
    ("sequence", "first_event", True),
]


@pytest.mark.parametrize(
    "kind, start, account_on_events",
    ACCOUNT_CASES,
    ids=[f"{k}-{s}-{'account_on_events' if a else 'account_from_users'}" for k, s, a in ACCOUNT_CASES],
)
def test_account_unit(data, engine, kind, start, account_on_events):
    success = dict(KINDS[kind], start=start, within_days=4)
    ws, got, want = check(
        data,
        engine,
        success,
        unit="account",
        traits=("tier", "country", "platform", "app_version"),
        include_unstarted=True,
        account_on_events=account_on_events,
    )
    assert want.unit_id.str.startswith("a").all() and len(want) > 40
    assert set(got.country.dropna()) <= {"se", "no", "fi"}  # the accounts table wins over the event column
    base = ws.baseline()
    started = want.start_at.notna()
    assert (base["units"], base["successes"], base["not_started"]) == (
        int(started.sum()),
        int(want.success[started].sum()),
        int((~started).sum()),
    )


# --------------------------------------------------------------------------- exact window boundaries (microseconds)

T0 = pd.Timestamp("2026-04-01 09:30:15.250000")
US = pd.Timedelta(microseconds=1)


def _boundary_events(kind: str, within: float, named_start: bool) -> tuple[pd.DataFrame, dict, dict[str, bool]]:
    """One case per user; returns the events, the success definition and the expected success of each user."""
    w = pd.to_timedelta(within, unit="D")
    rows: list[tuple[str, str, pd.Timestamp]] = []
    expected: dict[str, bool] = {}

    def user(uid: str, hits: list[tuple[str, pd.Timedelta]], ok: bool) -> None:
        if named_start:
            # events before the start are ignored (a success before the start does not count)
            rows.append((uid, "visit", T0 - 3 * DAY))
            rows.extend((uid, name, T0 - DAY) for name in ("purchase", "share", "cart"))
            rows.append((uid, "signup", T0))
            rows.append((uid, "signup", T0 + US))  # a second signup: the start stays the first one
        else:
            rows.append((uid, "visit", T0))
        rows.extend((uid, name, T0 + offset) for name, offset in hits)
        expected[uid] = ok

    zero = pd.Timedelta(0)
    late = w + US
    if kind == "event":
        success = {"event": "purchase"}
        user("in", [("purchase", w)], True)
        user("out", [("purchase", late)], False)
        user("at_start", [("purchase", zero)], True)
        user("out_then_in", [("purchase", late), ("purchase", w)], True)
    elif kind == "any_of":
        success = {"any_of": ["purchase", "share"]}
        user("in", [("share", w), ("purchase", late)], True)
        user("out", [("share", late), ("purchase", late + US)], False)
        user("at_start", [("share", zero)], True)
    elif kind == "all_of":
        success = {"all_of": ["cart", "purchase"]}
        user("in", [("cart", zero), ("purchase", w)], True)
        user("out", [("cart", zero), ("purchase", late)], False)
        user("tie", [("cart", w), ("purchase", w)], True)  # all_of needs no order
        user("reverse", [("purchase", zero), ("cart", w)], True)
    else:
        success = {"sequence": ["cart", "purchase"]}
        user("in", [("cart", zero), ("purchase", w)], within > 0)  # a zero window leaves no room for two steps
        user("out", [("cart", zero), ("purchase", late)], False)
        user("tie", [("cart", w), ("purchase", w)], False)  # the purchase must be strictly after the cart
        user("tie_then_later", [("cart", zero), ("purchase", zero), ("purchase", w)], within > 0)
        user("reverse", [("purchase", zero), ("cart", w)], False)
    success = dict(success, within_days=within, start="signup" if named_start else "first_event")
    events = pd.DataFrame(rows, columns=["user_id", "event", "timestamp"])
    events["timestamp"] = events.timestamp.astype("datetime64[us]")
    return events, success, expected


@pytest.fixture(scope="module")
def boundary_con():
    """A connection of the package's own (UTC) for the small tests; each loads its DataFrame into it anew."""
    return connect()


BOUNDARY_CASES = [
    *((kind, within, named) for kind in KINDS for within in (7, 0.75) for named in (False, True)),
    *((kind, 0, True) for kind in KINDS),  # a zero window: only what happens at the very start time counts
]


@pytest.mark.parametrize(
    "kind, within, named_start",
    BOUNDARY_CASES,
    ids=[f"{k}-within={w}-{'named_start' if n else 'first_event'}" for k, w, n in BOUNDARY_CASES],
)
def test_window_boundary_is_inclusive(boundary_con, kind, within, named_start):
    """Exactly start + within_days counts, one microsecond later does not (DataFrame sources, microsecond times)."""
    events, success, expected = _boundary_events(kind, within, named_start)
    ws = Workshop.from_dict({"data": {"events": events}, "success": success}, con=boundary_con)
    got = ws.unit_table(traits=[]).to_pandas().set_index("unit_id")
    assert {u: bool(got.success[u]) for u in expected} == expected
    assert (_times(got.start_at) == T0).all()
    # and the whole table against the reference (days from whole epoch seconds: within one second)
    want = reference({"events": events}, success)
    assert_same(got.reset_index(), want, days_tol=1 / 86400 + 1e-9)


def test_traits_from_tied_first_events_do_not_depend_on_row_order():
    """Several events at a unit's very first instant with different values: the smallest value, whatever the
    order of the rows in the file (CDNOW-like exports have such ties)."""
    rng = np.random.default_rng(11)
    n = 400
    users = np.repeat([f"u{i:03d}" for i in range(n)], 3)
    at = np.repeat(pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.integers(0, 86400 * 20, n), unit="s"), 3)
    events = pd.DataFrame(
        {
            "user_id": users,
            "event": "visit",
            "timestamp": at + pd.to_timedelta(np.tile([0, 0, 3600], n), unit="s"),  # two rows tie at the start
            "channel": rng.choice(["email", "paid", "organic", None], 3 * n),
            "score": rng.choice([1.0, 2.0, np.nan], 3 * n),
        }
    )
    first = events.groupby("user_id").timestamp.transform("min")
    expected = {}
    for column in ("channel", "score"):
        carried = events[events[column].notna()]
        first_with = carried.groupby("user_id").timestamp.transform("min")
        expected[column] = carried[carried.timestamp == first_with].groupby("user_id")[column].min()
    assert (events.timestamp == first).sum() == 2 * n
    tables = []
    for seed in (0, 1, 2):
        shuffled = events.sample(frac=1, random_state=seed).reset_index(drop=True)
        ws = Workshop.from_dict({"data": {"events": shuffled}, "success": {"event": "visit"}})
        tables.append(ws.unit_table(traits=["channel", "score"]).to_pandas().set_index("unit_id").sort_index())
    for t in tables[1:]:
        pd.testing.assert_frame_equal(t[["channel", "score"]], tables[0][["channel", "score"]])
    got = tables[0]
    assert got.channel.dropna().to_dict() == expected["channel"].to_dict()
    assert got.score.dropna().to_dict() == expected["score"].to_dict()


@pytest.mark.parametrize("path", ["ordered aggregate", "join"])
def test_an_event_trait_is_the_smallest_value_at_the_earliest_instant_carrying_one(path, monkeypatch):
    """Ties at a unit's first instant with a value resolve to the smallest value, NaN and null are no value, and
    rows come in any order: the same with DuckDB's ordered aggregate as with the join other engines use (here
    forced on DuckDB), and as in plain pandas."""
    from segworkshop import unit_table

    if path == "join":
        monkeypatch.setattr(unit_table, "backend_name", lambda expr: "postgres")
    rng = np.random.default_rng(5)
    n = 4000
    events = pd.DataFrame(
        {
            "user_id": rng.choice([f"u{i}" for i in range(300)], n),
            "event": rng.choice(["visit", "purchase"], n, p=[0.9, 0.1]),
            "timestamp": pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="h"),
            "plan": rng.choice(np.array(["b", "a", "c", None], dtype=object), n),
            "score": np.where(rng.random(n) < 0.3, np.nan, rng.choice([3.0, 1.0, 2.0], n)),
        }
    )
    ws = Workshop.from_dict({"data": {"events": events}, "success": {"event": "purchase", "within_days": 7}})
    got = ws.unit_table(traits=["plan", "score"]).to_pandas().set_index("unit_id").sort_index()
    for column in ("plan", "score"):
        carried = events.dropna(subset=[column])
        first = carried[carried.timestamp == carried.groupby("user_id").timestamp.transform("min")]
        expected = first.groupby("user_id")[column].min().reindex(got.index)
        ties = first.groupby("user_id")[column].nunique()
        assert (ties > 1).sum() > 20  # many units have several values at that instant
        pd.testing.assert_series_equal(got[column], expected, check_names=False, check_dtype=False)
