"""discover: the numbers against plain pandas, the exclusions, the labels, the correction and the JSON rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from segworkshop import Workshop
from segworkshop.discover import discover
from segworkshop.stats import two_proportion_test


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(9)
    n = 3000
    ids = np.array([f"u{i:05d}" for i in range(n)])
    first = pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 50 * 86400, n), unit="s")
    tier = rng.choice(["gold", "silver", "bronze"], n, p=[0.2, 0.4, 0.4])
    tutorial = rng.random(n) < 0.4
    p = np.where(tier == "gold", 0.4, 0.15) * np.where(tutorial, 1.5, 1.0)
    won = rng.random(n) < p
    day = pd.to_timedelta(rng.integers(1, 14, n), unit="D")  # the purchase's day, spread over the window
    rows = [pd.DataFrame({"user_id": ids, "event": "visit", "timestamp": first})]
    rows.append(
        pd.DataFrame(
            {"user_id": ids[tutorial], "event": "tutorial", "timestamp": first[tutorial] + pd.Timedelta(days=2)}
        )
    )
    bought = first[won] + day[won]
    rows.append(pd.DataFrame({"user_id": ids[won], "event": "cart", "timestamp": bought - pd.Timedelta(hours=20)}))
    rows.append(
        pd.DataFrame(
            {"user_id": ids[won], "event": "purchase", "timestamp": bought, "amount": rng.gamma(2, 20, won.sum())}
        )
    )
    rows.append(pd.DataFrame({"user_id": ids[won], "event": "review", "timestamp": bought + pd.Timedelta(days=2)}))
    events = pd.concat(rows, ignore_index=True)
    users = pd.DataFrame({"user_id": ids, "tier": tier, "region": rng.choice(["north", "south"], n)})
    units = pd.DataFrame(
        {
            "start": first,
            "won": won,
            "tutorial": tutorial,
            "tier": tier,
            "bought": pd.Series(first + day).where(won).to_numpy(),
        },
        index=ids,
    )
    # censoring, in pandas: a unit counts once start + 14 days <= the last event
    return events, users, units[units.start + pd.Timedelta(days=14) <= events.timestamp.max()]


@pytest.fixture(scope="module")
def result(frames):
    events, users, _ = frames
    ws = Workshop.from_dict(
        {"data": {"events": events, "users": users}, "success": {"event": "purchase", "within_days": 14}}
    )
    return discover(ws)


def test_exclusions_and_labels(result):
    assert result.excluded_events == {
        "purchase": "part of the success definition",
        "review": "happens only after success",
        "amount": "recorded on the success event",
    }
    kinds = result.rows.set_index(["segment", "value"]).kind
    assert kinds[("did_cart", "yes")] == "path"  # every buyer carted first: a step, not a discovery
    assert kinds[("did_tutorial", "yes")] == "behaviour"
    assert kinds[("tier", "gold")] == "trait"
    assert not result.rows.segment.str.contains("review|amount").any()


def test_numbers_match_pandas(result, frames):
    _, _, units = frames
    rows = result.rows.set_index(["segment", "value"])
    won = units.won
    assert result.baseline == {"units": len(units), "successes": int(won.sum()), "rate": won.mean()}
    for value in ["gold", "silver", "bronze"]:
        mask = units.tier == value
        r = rows.loc[("tier", value)]
        assert (r.units, r.successes) == (mask.sum(), won[mask].sum())
        expected = two_proportion_test(won[mask].sum(), mask.sum(), won[~mask].sum(), (~mask).sum()).p_value
        assert r.p_value == pytest.approx(expected)
        assert r.quality == pytest.approx(np.sqrt(mask.mean()) * (won[mask].mean() - won.mean()))
    # the landmark at day 7: units that bought before day 7 are left out; the others are compared on buying later
    compared = units[~(units.bought < units.start + pd.Timedelta(days=7))]
    did, later = compared.tutorial, compared.won
    r = rows.loc[("did_tutorial", "yes")]  # the tutorial is on day 2: inside the 7-day window for everyone
    assert (r.units, r.successes) == (did.sum(), later[did].sum())
    expected = two_proportion_test(later[did].sum(), did.sum(), later[~did].sum(), (~did).sum()).p_value
    assert r.p_value == pytest.approx(expected)
    assert r.lift > 0.2  # the tutorial's true effect on later success, found with the right sign
    assert result.left_out["did_tutorial"]["units"] == len(units) - len(compared)


def test_correction_covers_the_family(result):
    rows = result.rows
    assert result.evaluated == len(rows)
    assert result.family >= result.evaluated
    padded = np.concatenate([rows.p_value.to_numpy(), np.ones(result.family - len(rows))])
    assert np.allclose(rows.q_value, multipletests(padded, method="fdr_bh")[1][: len(rows)])
    ranked = rows.quality.abs().to_numpy()
    assert (np.diff(ranked) <= 1e-12).all()  # ranked by |quality|
    top_traits = rows[rows.kind == "trait"].head(1)
    assert (top_traits.segment.item(), top_traits.value.item()) == ("tier", "gold")


def test_json_rows(result):
    data = json.loads(json.dumps(result.to_dict(max_rows=5)))
    assert len(data["rows"]) == 5 and data["evaluated"] == result.evaluated
    keys = ["kind", "segment", "value", "units", "successes", "rate", "lift", "p_value", "q_value"]
    assert list(data["rows"][0])[: len(keys)] == keys
    assert {r["kind"] for r in data["rows"]} <= {"trait", "behaviour", "path", "frequency", "pair"}


def test_cli_discover(small_workshop: Path):
    from click.testing import CliRunner

    from segworkshop.cli import main

    out = CliRunner().invoke(main, ["discover", str(small_workshop), "--format", "json", "--max-rows", "3"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert len(data["rows"]) == 3 and data["family"] >= data["evaluated"]


@pytest.fixture(scope="module")
def busy():
    """Units with many events over several days: repeated visits, searches, an event trait that changes (and is
    sometimes missing), purchases inside and after the success window."""
    rng = np.random.default_rng(4)
    n = 1500
    ids = np.array([f"b{i:04d}" for i in range(n)])
    first = pd.Timestamp("2026-02-02") + pd.to_timedelta(rng.integers(0, 40 * 86400, n), unit="s")
    rows = [
        pd.DataFrame({"user_id": ids, "event": "visit", "timestamp": first, "platform": rng.choice(["ios", "web"], n)})
    ]
    for event, per_unit, days in (("visit", 6, 12), ("search", 2, 10), ("share", 1, 20)):
        who = np.repeat(ids, per_unit)
        at = np.repeat(first, per_unit) + pd.to_timedelta(rng.integers(0, days * 86400, n * per_unit), unit="s")
        platform = rng.choice(["ios", "web", "android", None], n * per_unit)
        rows.append(pd.DataFrame({"user_id": who, "event": event, "timestamp": at, "platform": platform}))
    buyers = rng.random(n) < 0.35
    bought = first[buyers] + pd.to_timedelta(rng.integers(0, 20 * 86400, buyers.sum()), unit="s")
    rows.append(pd.DataFrame({"user_id": ids[buyers], "event": "purchase", "timestamp": bought}))
    return pd.concat(rows, ignore_index=True)


def _pandas_units(events: pd.DataFrame, window: int = 7, within: int = 14) -> pd.DataFrame:
    """The unit table, first-value trait, landmark and behaviour counts of discover, in plain pandas."""
    g = events.groupby("user_id")
    units = pd.DataFrame({"start": g.timestamp.min()})
    hit = events[events.event == "purchase"].groupby("user_id").timestamp.min().reindex(units.index)
    units["won"] = hit.notna() & (hit <= units.start + pd.Timedelta(days=within))
    units["won_at"] = hit.where(units.won)
    carrying = events[events.platform.notna()].sort_values(["user_id", "timestamp", "platform"])
    units["platform"] = carrying.groupby("user_id").platform.first()
    e = events.join(units.start, on="user_id")
    inside = e[(e.timestamp >= e.start) & (e.timestamp < e.start + pd.Timedelta(days=window))]
    units["searched"] = inside[inside.event == "search"].groupby("user_id").size().reindex(units.index).fillna(0) > 0
    visits = inside[inside.event == "visit"]
    units["visit_days"] = visits.groupby("user_id").timestamp.apply(lambda t: t.dt.date.nunique()).clip(upper=7)
    units["left_out"] = units.won_at < units.start + pd.Timedelta(days=window)
    return units[units.start + pd.Timedelta(days=within) <= events.timestamp.max()]


def test_one_pass_numbers_match_pandas(busy):
    """Event traits (first value, ties: the smallest), did X and days a week doing X, all from the one pass."""
    ws = Workshop.from_dict({"data": {"events": busy}, "success": {"event": "purchase", "within_days": 14}})
    rows = discover(ws, min_units=0).rows.set_index(["segment", "value"])
    units = _pandas_units(busy)
    for value, part in units.groupby("platform"):
        r = rows.loc[("platform", value)]
        assert (r.units, r.successes) == (len(part), part.won.sum())
        rest = units[units.platform != value]
        assert r.p_value == pytest.approx(
            two_proportion_test(part.won.sum(), len(part), rest.won.sum(), len(rest)).p_value, rel=1e-12
        )
    compared = units[~units.left_out]
    r = rows.loc[("did_search", "yes")]
    assert (r.units, r.successes) == (compared.searched.sum(), compared.won[compared.searched].sum())
    for days, part in compared.groupby("visit_days"):
        r = rows.loc[("days_visit", str(days))]
        assert (r.units, r.successes) == (len(part), part.won.sum())


@pytest.mark.parametrize("behaviour_days", [3, 40])
def test_unit_pass_bit_sets_match_pandas(behaviour_days):
    """The one pass keeps, per unit, bit sets of (event, day since the start's calendar day) in the window and of
    (event, before or after success): days doing X, did X and the timing around success, read back from them,
    match plain pandas, over a short window and over one whose 40 days span several 31-bit words."""
    from segworkshop.discover import _event_trait_columns, scan_candidates, unit_anchors
    from segworkshop.population import population

    rng = np.random.default_rng(behaviour_days)
    n = 400
    ids = np.array([f"w{i:04d}" for i in range(n)])
    first = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s")
    rows = [pd.DataFrame({"user_id": ids, "event": "visit", "timestamp": first})]
    for event, per_unit, days in (("visit", 30, 60), ("search", 8, 50), ("share", 2, 90)):
        who = np.repeat(ids, per_unit)
        at = np.repeat(first, per_unit) + pd.to_timedelta(rng.integers(0, days * 86400, n * per_unit), unit="s")
        rows.append(pd.DataFrame({"user_id": who, "event": event, "timestamp": at}))
    buyers = rng.random(n) < 0.5
    bought = first[buyers] + pd.to_timedelta(rng.integers(3600, 80 * 86400, buyers.sum()), unit="s")
    rows.append(pd.DataFrame({"user_id": ids[buyers], "event": "purchase", "timestamp": bought}))
    events = pd.concat(rows, ignore_index=True)
    ws = Workshop.from_dict({"data": {"events": events}, "success": {"event": "purchase", "within_days": 90}})
    base = unit_anchors(ws).cache()
    found = scan_candidates(ws, base, population(ws, base), behaviour_days=behaviour_days)
    got = found.units.to_pandas().set_index("unit_id").sort_index()
    assert _event_trait_columns(ws) == []

    start = events.groupby("user_id").timestamp.min()
    hit = events[events.event == "purchase"].groupby("user_id").timestamp.min().reindex(start.index)
    won = hit.where(hit <= start + pd.Timedelta(days=90))
    e = events.join(start.rename("start"), on="user_id").join(won.rename("won"), on="user_id")
    inside = e[(e.timestamp >= e.start) & (e.timestamp < e.start + pd.Timedelta(days=behaviour_days))]
    weeks = behaviour_days / 7
    for event in ("visit", "search", "share"):
        mine = inside[inside.event == event]
        days = mine.groupby("user_id").timestamp.apply(lambda t: t.dt.date.nunique()).reindex(start.index).fillna(0)
        assert (got[f"_b_did_{event}"] > 0).tolist() == (days > 0).tolist()
        if behaviour_days >= 7:
            expected = np.minimum(np.floor(days / weeks), 7).astype(int)
            assert got[f"_b_days_{event}"].tolist() == expected.tolist()
    scanned = [s.step.event for s in found.segments if s.name.startswith("did_")]
    assert scanned == ["visit", "search", "share"]  # the candidates, most frequent first: _bf<j> / _af<j>
    for j, event in enumerate(scanned):
        mine = e[(e.event == event) & e.won.notna()]
        before = mine[(mine.timestamp >= mine.start) & (mine.timestamp < mine.won)].user_id.unique()
        after = mine[mine.timestamp >= mine.won].user_id.unique()
        assert got[f"_bf{j}"].tolist() == got.index.isin(before).astype(int).tolist()
        assert got[f"_af{j}"].tolist() == got.index.isin(after).astype(int).tolist()


def test_a_trait_recorded_on_the_start_event_is_known_from_the_start():
    """Only the success events make an event column a leak ("recorded on the success event"): a channel recorded
    on the signup a unit starts from is known before anyone succeeds, and is scanned."""
    from segworkshop.discover import candidate_segments

    rng = np.random.default_rng(2)
    n = 600
    ids = np.array([f"s{i:04d}" for i in range(n)])
    first = pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 20 * 86400, n), unit="s")
    channel = rng.choice(["ads", "organic", "referral"], n)
    won = rng.random(n) < 0.3
    rows = [
        pd.DataFrame({"user_id": ids, "event": "visit", "timestamp": first}),
        pd.DataFrame({"user_id": ids, "event": "signup", "timestamp": first + pd.Timedelta(hours=1), "channel": channel}),
        pd.DataFrame({"user_id": ids[won], "event": "purchase", "timestamp": first[won] + pd.Timedelta(days=2)}),
        pd.DataFrame({"user_id": ids[won], "event": "purchase", "timestamp": first[won] + pd.Timedelta(days=60),
                      "order": rng.gamma(2, 20, won.sum())}),
    ]  # fmt: skip
    events = pd.concat(rows, ignore_index=True)
    success = {"event": "purchase", "start": "signup", "within_days": 14}
    segments, excluded, _ = candidate_segments(Workshop.from_dict({"data": {"events": events}, "success": success}))
    assert "channel" in {s.name for s in segments} and "channel" not in excluded
    assert excluded.get("order") == "recorded on the success event"
