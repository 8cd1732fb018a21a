"""The demo generator: determinism, schema, and every embedded truth checked in the bundled data with plain pandas.

The truths are computed here independently of the package (pandas only): per unit, the first event, success
within the window, the trait values (users / accounts table, or the value on the unit's first event), and
"days a week doing X" = floor(distinct UTC dates with X in [first, first + 14 days) / 2), capped at 7 (1..7:
every unit does X on its first day, and on as many days in each of the two weeks).
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segworkshop import demo

DATA = Path(__file__).resolve().parent.parent / "data"

EVENT_COLUMNS = {
    "ecomm": ["user_id", "event", "timestamp", "session_id", "platform", "country", "order_value"],
    "saas": ["user_id", "event", "timestamp", "session_id", "account_id", "platform"],
    "finserv": ["user_id", "event", "timestamp", "session_id", "device"],
}
USER_COLUMNS = {
    "ecomm": ["user_id", "channel", "account_type", "newsletter", "age_band"],
    "saas": ["user_id", "account_id", "role"],
    "finserv": ["user_id", "product", "age_band", "channel", "region", "returning_customer", "policies"],
}
ACCOUNT_COLUMNS = ["account_id", "plan", "company_size", "industry", "country", "channel"]
EVENTS = {
    "ecomm": {
        "session_start",
        "product_view",
        "search",
        "add_to_cart",
        "checkout_started",
        "purchase",
        "signup_completed",
    },
    "saas": {
        "signup",
        "login",
        "project_created",
        "invite_sent",
        "integration_connected",
        "report_viewed",
        "subscription_started",
    },
    "finserv": set(demo.FINSERV_STAGES),
}


# ------------------------------------------------------------------------------------------ plain pandas


def unit_table(kind: str, events: pd.DataFrame, users: pd.DataFrame, accounts: pd.DataFrame | None) -> pd.DataFrame:
    """One row per unit: first event time, success, days-a-week bucket, friction flag and every trait."""
    t = demo.truths(kind)
    unit = "account_id" if t["unit"] == "account" else "user_id"
    ev = events.sort_values([unit, "timestamp"], kind="stable")
    g = ev.groupby(unit, sort=True)
    units = g["timestamp"].min().rename("first").to_frame()
    # event-column traits: the value on the unit's first event
    for col in [c for c in ("platform", "country", "device") if c in ev.columns]:
        units[col] = g[col].first()
    hit = ev.loc[ev["event"] == t["success"]["event"]].groupby(unit)["timestamp"].min()
    window = pd.Timedelta(days=t["success"]["within_days"])
    units["success"] = (hit.reindex(units.index) <= units["first"] + window).fillna(False).astype(bool)
    # days a week doing X in the first 14 days
    x = ev.loc[ev["event"] == t["tipping"]["event"], [unit, "timestamp"]]
    x = x.join(units["first"], on=unit)
    x = x.loc[(x["timestamp"] >= x["first"]) & (x["timestamp"] < x["first"] + pd.Timedelta(days=14))]
    days = x.assign(day=x["timestamp"].dt.floor("D")).groupby(unit)["day"].nunique()
    units["days_a_week"] = (days.reindex(units.index).fillna(0) // 2).clip(upper=7).astype(int)
    if unit == "account_id":
        units = units.join(accounts.set_index("account_id"))
    else:
        units = units.join(users.set_index("user_id"))
    fr = t["friction"]
    first_day = units["first"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    units["in_window"] = (first_day >= pd.Timestamp(fr["start"])) & (first_day <= pd.Timestamp(fr["end"]))
    return units


def rate(units: pd.DataFrame, mask) -> float:
    return float(units.loc[mask, "success"].mean())


def measure(kind: str, units: pd.DataFrame) -> dict:
    """The numbers that data/README.md reports for each truth."""
    t = demo.truths(kind)
    tw, tp, fr, sp = t["twice"], t["tipping"], t["friction"], t["simpson"]
    out: dict = {"units": len(units), "success_rate": float(units["success"].mean())}
    seg = units[tw["column"]] == tw["value"]
    out["twice"] = {
        "share": float(seg.mean()),
        "rate": rate(units, seg),
        "rest": rate(units, ~seg),
        "ratio": rate(units, seg) / rate(units, ~seg),
    }
    by_bucket = units.groupby("days_a_week")["success"].agg(["size", "mean"])
    high = units["days_a_week"] >= tp["threshold"]
    out["tipping"] = {
        "units": by_bucket["size"].to_dict(),
        "rates": by_bucket["mean"].to_dict(),
        "below": rate(units, ~high),
        "above": rate(units, high),
        "ratio": rate(units, high) / rate(units, ~high),
    }
    on = units[fr["column"]] == fr["value"]
    win = units["in_window"]
    out["friction"] = {
        "units": int((on & win).sum()),
        "in_window": rate(units, on & win),
        "outside": rate(units, on & ~win),
        "others_in_window": rate(units, ~on & win),
        "others_outside": rate(units, ~on & ~win),
    }
    out["friction"]["ratio_vs_outside"] = out["friction"]["in_window"] / out["friction"]["outside"]
    out["friction"]["ratio_vs_others"] = out["friction"]["in_window"] / out["friction"]["others_in_window"]
    a = units[sp["column"]] == sp["value"]
    strata = {}
    for s, grp in units.groupby(sp["stratum"]):
        ga = grp[sp["column"]] == sp["value"]
        strata[s] = {"yes": rate(grp, ga), "no": rate(grp, ~ga), "share_yes": float(ga.mean()), "units": len(grp)}
    out["simpson"] = {"yes": rate(units, a), "no": rate(units, ~a), "share_yes": float(a.mean()), "strata": strata}
    return out


@cache
def bundled(kind: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    folder = DATA / kind
    events = pd.read_parquet(folder / "events.parquet")
    users = pd.read_parquet(folder / "users.parquet")
    accounts = pd.read_parquet(folder / "accounts.parquet") if kind == "saas" else None
    return events, users, accounts


@cache
def bundled_units(kind: str) -> pd.DataFrame:
    return unit_table(kind, *bundled(kind))


@cache
def bundled_measure(kind: str) -> dict:
    return measure(kind, bundled_units(kind))


# ------------------------------------------------------------------------------------------------ tests


def test_api_constants():
    assert demo.DATASETS == ("saas", "ecomm", "finserv")
    assert set(demo.BUNDLED_UNITS) == set(demo.DATASETS)
    for kind in demo.DATASETS:
        t = demo.truths(kind)
        assert {"twice", "tipping", "friction", "simpson", "success"} <= set(t)
        assert t["tipping"]["threshold"] == 4 and t["tipping"]["window_days"] == 14
    with pytest.raises(ValueError, match="unknown demo kind"):
        demo.generate("crm", 10)


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_deterministic(kind):
    a = demo.generate(kind, 300, seed=7)
    b = demo.generate(kind, 300, seed=7)
    c = demo.generate(kind, 300, seed=8)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.users, b.users)
    if kind == "saas":
        pd.testing.assert_frame_equal(a.accounts, b.accounts)
    assert not a.events.equals(c.events)


def test_write_is_byte_identical(tmp_path):
    one = demo.write("finserv", tmp_path / "one", 500, seed=3)
    two = demo.write("finserv", tmp_path / "two", 500, seed=3)
    for name in ("events.parquet", "users.parquet", "workshop.yaml"):
        assert (one / name).read_bytes() == (two / name).read_bytes()


def test_chunked_write_matches_generate(tmp_path, monkeypatch):
    """Large sizes are written as part files chunk by chunk; the rows are the same as generate()'s."""
    monkeypatch.setitem(demo.CHUNK_UNITS, "ecomm", 400)
    out = demo.write("ecomm", tmp_path / "big", 1000, seed=1)
    parts = sorted((out / "events").glob("part-*.parquet"))
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert not (out / "events.parquet").exists()
    assert "  events: events\n" in (out / "workshop.yaml").read_text()
    written = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(written, demo.generate("ecomm", 1000, seed=1).events)
    users = pd.read_parquet(out / "users.parquet")
    assert users["user_id"].is_unique and len(users) == 1000


def test_chunked_saas_ids(monkeypatch):
    """SaaS users are numbered across chunks: ids stay unique, and every user belongs to one account."""
    monkeypatch.setitem(demo.CHUNK_UNITS, "saas", 150)
    d = demo.generate("saas", 400, seed=2)
    assert d.users["user_id"].is_unique and d.accounts["account_id"].is_unique
    assert len(d.accounts) == 400 and set(d.users["account_id"]) == set(d.accounts["account_id"])
    pairs = d.events[["user_id", "account_id"]].drop_duplicates()
    assert pairs["user_id"].is_unique
    assert pairs.merge(d.users, on=["user_id", "account_id"]).shape[0] == len(d.users)
    key = d.events[["user_id", "timestamp", "event"]]
    assert key.equals(key.sort_values(["user_id", "timestamp", "event"]).reset_index(drop=True))


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_small_generate_schema(kind):
    d = demo.generate(kind, 2000, seed=0)
    ev = d.events
    assert list(ev.columns) == EVENT_COLUMNS[kind]
    assert str(ev["timestamp"].dtype) == "datetime64[us, UTC]"
    for col in EVENT_COLUMNS[kind]:
        if col not in ("timestamp", "order_value"):
            assert pd.api.types.is_string_dtype(ev[col]), col
            assert ev[col].notna().all(), col
    assert set(ev["event"].unique()) == EVENTS[kind]
    assert list(d.users.columns) == USER_COLUMNS[kind]
    assert d.users["user_id"].is_unique
    assert set(ev["user_id"]) == set(d.users["user_id"])
    if kind == "saas":
        assert list(d.accounts.columns) == ACCOUNT_COLUMNS
        assert len(d.accounts) == 2000 and d.accounts["account_id"].is_unique
        assert ev["account_id"].nunique() == 2000
        per_account = d.users.groupby("account_id").size()
        assert per_account.min() == 1 and per_account.max() <= 10 and per_account.median() <= 2
    else:
        assert len(d.users) == 2000
        assert d.accounts is None
    # sorted by user, time, event; about 0.1% exact duplicate rows
    key = ev[["user_id", "timestamp", "event"]]
    assert key.equals(key.sort_values(["user_id", "timestamp", "event"]).reset_index(drop=True))
    dup = ev.duplicated().mean()
    assert 0.0005 < dup < 0.002
    # everything inside the observation period: 2026-01-05 .. 30 days after the last signup
    assert ev["timestamp"].min() >= pd.Timestamp("2026-01-05", tz="UTC")
    assert ev["timestamp"].max() < pd.Timestamp("2026-04-29", tz="UTC")
    first = ev.groupby("account_id" if kind == "saas" else "user_id")["timestamp"].min()
    assert first.max() < pd.Timestamp("2026-03-30", tz="UTC")
    # traits on event columns are constant per user
    trait_cols = [c for c in ("platform", "country", "device", "account_id") if c in ev.columns]
    assert (ev.groupby("user_id")[trait_cols].nunique() == 1).all().all()
    # sessions group several events of one user
    per_session = ev.groupby("session_id")["user_id"].agg(["nunique", "size"])
    assert (per_session["nunique"] == 1).all()
    assert per_session["size"].mean() > {"ecomm": 2.5, "saas": 2.5, "finserv": 1.4}[kind]


def test_ecomm_realism():
    ev, users, _ = bundled("ecomm")
    counts = ev["event"].value_counts()
    assert counts["product_view"] > 3 * counts["add_to_cart"] > 3 * counts["purchase"]
    assert counts["checkout_started"] > counts["purchase"]
    assert 17 <= len(ev) / len(users) <= 23  # ~20 events per user, as in the 1M-user benchmark
    purchases = ev.loc[ev["event"] == "purchase"]
    assert purchases["order_value"].gt(0).all() and ev.loc[ev["event"] != "purchase", "order_value"].isna().all()
    assert 20 < purchases["order_value"].median() < 150
    units = bundled_units("ecomm")
    per_user = purchases.drop_duplicates().groupby("user_id").size().reindex(units.index, fill_value=0)
    assert ((per_user >= 2) & units["success"]).sum() > 0.25 * units["success"].sum()  # repeat buyers
    assert ((per_user >= 1) & ~units["success"]).sum() > 500  # purchased, but only after day 14
    # unsuccessful users whose last funnel step is checkout_started
    checkout = ev.loc[ev["event"] == "checkout_started", "user_id"].unique()
    assert (~units.loc[units.index.isin(checkout), "success"]).sum() > 500
    signed_up = ev.loc[ev["event"] == "signup_completed", "user_id"].nunique()
    assert (users["account_type"] == "registered").sum() == signed_up


def test_saas_accounts():
    ev, users, accounts = bundled("saas")
    sizes = users.groupby("account_id").size()
    assert sizes.min() == 1 and sizes.max() <= 10
    assert 0.4 < (sizes == 1).mean() < 0.75
    owners = users.loc[users["role"] == "owner"]
    assert owners["account_id"].is_unique and len(owners) == len(accounts)
    # the account's first event is its owner's signup
    first = ev.sort_values("timestamp", kind="stable").groupby("account_id").first()
    assert (first["event"] == "signup").all()
    assert first["user_id"].isin(owners["user_id"]).all()
    # accounts that invite convert far better than those that do not (the friction's mechanism)
    units = bundled_units("saas")
    invited = units.index.isin(ev.loc[ev["event"] == "invite_sent", "account_id"])
    assert rate(units, invited) > 2.5 * rate(units, ~invited)


def test_finserv_sequence_gives_the_same_success():
    """Success as the ordered sequence of all stages within 30 days equals success as policy_issued."""
    ev, _, _ = bundled("finserv")
    units = bundled_units("finserv")
    ev = ev.sort_values(["user_id", "timestamp"], kind="stable")
    first = ev.groupby("user_id")["timestamp"].min()
    at = first.copy()
    ok = pd.Series(True, index=first.index)
    for i, step in enumerate(demo.FINSERV_STAGES):
        e = ev.loc[ev["event"] == step, ["user_id", "timestamp"]].join(at.rename("prev"), on="user_id")
        e = e.loc[(e["timestamp"] >= e["prev"]) if i == 0 else (e["timestamp"] > e["prev"])]
        nxt = e.groupby("user_id")["timestamp"].min().reindex(first.index)
        ok &= nxt.notna()
        at = nxt.fillna(pd.Timestamp("2100-01-01", tz="UTC").as_unit("us"))
    seq = ok & (at <= first + pd.Timedelta(days=30))
    assert (seq == units["success"].reindex(first.index)).all()
    # funnel: each stage reached by fewer users than the one before
    reached = [ev.loc[ev["event"] == s, "user_id"].nunique() for s in demo.FINSERV_STAGES]
    assert all(a > b for a, b in itertools.pairwise(reached))


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_bundled_files(kind):
    folder = DATA / kind
    names = {"events.parquet", "users.parquet", "workshop.yaml"} | ({"accounts.parquet"} if kind == "saas" else set())
    assert names <= {p.name for p in folder.iterdir()}
    assert (folder / "workshop.yaml").read_text() == demo.workshop_yaml(kind)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 8_000_000
    m = bundled_measure(kind)
    assert m["units"] == demo.BUNDLED_UNITS[kind]


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_truth_twice(kind):
    m = bundled_measure(kind)["twice"]
    assert m["share"] >= 0.10
    assert 1.8 <= m["ratio"] <= 2.3


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_truth_tipping_point(kind):
    m = bundled_measure(kind)["tipping"]
    assert set(m["units"]) == set(range(1, 8))  # no 0 bucket: X is part of every unit's first session
    assert min(m["units"].values()) >= 50
    assert 2.4 <= m["ratio"] <= 3.1
    below = [m["rates"][b] for b in range(1, 4)]
    above = [m["rates"][b] for b in range(4, 8)]
    # a step, not a ramp: flat on each side (every bucket within 15% of its side's rate) ...
    assert all(abs(r / m["below"] - 1) < 0.15 for r in below), below
    assert all(abs(r / m["above"] - 1) < 0.15 for r in above), above
    # ... and the jump sits between 3 and 4
    assert m["rates"][4] / m["rates"][3] > 2.0
    assert min(above) > 1.8 * max(below)


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_tipping_activity_is_the_same_in_each_week(kind):
    """X's distinct UTC days in [first, first + 7 days) and in [first + 7 days, first + 14 days) are the same
    number, the unit's bucket, so the landmark's first week measures the designed "days a week" exactly."""
    t = demo.truths(kind)
    unit = "account_id" if t["unit"] == "account" else "user_id"
    ev, _, _ = bundled(kind)
    units = bundled_units(kind)
    x = ev.loc[ev["event"] == t["tipping"]["event"], [unit, "timestamp"]].join(units["first"], on=unit)
    since = x["timestamp"] - x["first"]
    x = x.assign(day=x["timestamp"].dt.floor("D"))

    def days(mask) -> pd.Series:
        return x.loc[mask].groupby(unit)["day"].nunique().reindex(units.index, fill_value=0)

    week1 = days(since < pd.Timedelta(days=7))
    week2 = days((since >= pd.Timedelta(days=7)) & (since < pd.Timedelta(days=14)))
    assert (week1 == units["days_a_week"]).all()
    assert (week2 == units["days_a_week"]).all()
    assert week1.min() == 1  # day 0 always


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_truth_friction(kind):
    m = bundled_measure(kind)["friction"]
    assert m["units"] >= 100
    assert 0.35 <= m["ratio_vs_outside"] <= 0.65
    # other platforms are unaffected by the window, so against them in the same weeks it is halved too
    assert abs(m["others_in_window"] / m["others_outside"] - 1) < 0.1
    relative = m["ratio_vs_others"] / (m["outside"] / m["others_outside"])
    assert 0.35 <= relative <= 0.65
    assert m["in_window"] < 0.65 * m["others_in_window"]


def test_friction_step_ecomm():
    """Android in the window: users reach checkout as often as ever, but checkout -> purchase halves."""
    ev, _, _ = bundled("ecomm")
    units = bundled_units("ecomm")
    first = units["first"]
    ck = ev.loc[ev["event"] == "checkout_started"].groupby("user_id")["timestamp"].min().reindex(units.index)
    units = units.assign(checkout=ck <= first + pd.Timedelta(days=14))
    on = (units["platform"] == "android") & units["in_window"]
    base = (units["platform"] == "android") & ~units["in_window"]
    reach_on, reach_base = units.loc[on, "checkout"].mean(), units.loc[base, "checkout"].mean()
    assert abs(reach_on / reach_base - 1) < 0.3
    conv_on = units.loc[on & units["checkout"], "success"].mean()
    conv_base = units.loc[base & units["checkout"], "success"].mean()
    assert 0.35 < conv_on / conv_base < 0.65


def test_friction_step_finserv():
    ev, _, _ = bundled("finserv")
    units = bundled_units("finserv")
    did = {
        s: units.index.isin(ev.loc[ev["event"] == s, "user_id"]) for s in ("details_completed", "documents_uploaded")
    }
    on = (units["device"] == "ios") & units["in_window"]
    off = (units["device"] == "ios") & ~units["in_window"]
    step_on = did["documents_uploaded"][on & did["details_completed"]].mean()
    step_off = did["documents_uploaded"][off & did["details_completed"]].mean()
    assert 0.35 < step_on / step_off < 0.65


def test_friction_step_saas():
    ev, _, _ = bundled("saas")
    units = bundled_units("saas")
    invited = units.index.isin(ev.loc[ev["event"] == "invite_sent", "account_id"])
    on = (units["platform"] == "ios") & units["in_window"]
    assert invited[on].mean() < 0.2 < 0.45 < invited[~on].mean()


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_truth_simpson(kind):
    m = bundled_measure(kind)["simpson"]
    assert m["yes"] < m["no"] - 0.01  # overall, A = yes does worse ...
    for stratum, s in m["strata"].items():
        assert s["yes"] > s["no"] + 0.005, (stratum, s)  # ... but better in every stratum
        assert s["units"] * min(s["share_yes"], 1 - s["share_yes"]) >= 50
    shares = [s["share_yes"] for s in m["strata"].values()]
    assert max(shares) > 3 * min(shares)  # because A = yes sits in the low-success strata


@pytest.mark.parametrize("kind", demo.DATASETS)
def test_twice_trait_independent_of_simpson_stratum(kind):
    units = bundled_units(kind)
    t = demo.truths(kind)
    seg = units[t["twice"]["column"]] == t["twice"]["value"]
    shares = seg.groupby(units[t["simpson"]["stratum"]]).mean()
    assert shares.max() - shares.min() < 0.05


def test_first_seen_shape():
    units = bundled_units("ecomm")
    first = units["first"]
    assert first.min() >= pd.Timestamp("2026-01-05", tz="UTC")
    assert first.max() < pd.Timestamp("2026-03-30", tz="UTC")
    weeks = ((first - pd.Timestamp("2026-01-05", tz="UTC")).dt.days // 7).value_counts()
    assert len(weeks) == 12 and weeks.min() > 0.5 * weeks.max()
    hours = first.dt.hour.value_counts(normalize=True)
    assert hours.loc[[19, 20]].mean() > 3 * hours.loc[[2, 3]].mean()  # evenings, not nights
    saas = bundled_units("saas")["first"]
    weekend = saas.dt.day_of_week >= 5
    assert weekend.mean() < 0.2


def test_measure_matches_designed_values():
    """The designed ratios (in truths) are what the bundled data shows, to within sampling."""
    for kind in demo.DATASETS:
        t, m = demo.truths(kind), bundled_measure(kind)
        assert np.isclose(m["twice"]["ratio"], t["twice"]["ratio"], rtol=0.1)
        assert np.isclose(m["tipping"]["ratio"], t["tipping"]["ratio"], rtol=0.12)
