"""compare / trend / hypotheses / tipping / Simpson on synthetic data, against pandas and statsmodels."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from segworkshop import DataError, Workshop
from segworkshop.compare import compare, suppress_small, trend
from segworkshop.hypotheses import Hypothesis, check_hypotheses, simpson_check, tipping_point

START = pd.Timestamp("2026-01-05")


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(5)
    n = 6000
    users = pd.DataFrame(
        {
            "user_id": [f"u{i:05d}" for i in range(n)],
            "channel": rng.choice(["email", "organic", "paid", "tv"], n, p=[0.3, 0.4, 0.298, 0.002]),
            "platform": rng.choice(["web", "android"], n, p=[0.5, 0.5]),
        }
    )
    # Simpson: newsletter=yes mostly on android (low base), but better within each platform
    android = users.platform == "android"
    users["newsletter"] = np.where(rng.random(n) < np.where(android, 0.8, 0.2), "yes", "no")
    base = np.where(android, 0.08, 0.30) + np.where(users.newsletter == "yes", 0.04, 0)
    base = base * np.where(users.channel == "email", 2.0, 1.0)
    days = rng.integers(0, 8, n)  # days a week active
    p = np.clip(base * np.where(days >= 4, 1.8, 1.0), 0, 0.95)
    success = rng.random(n) < p
    first = START + pd.to_timedelta(rng.integers(0, 70 * 86400, n), unit="s")
    rows = [pd.DataFrame({"user_id": users.user_id, "event": "visit", "timestamp": first})]
    for d in range(7):
        active = days > d
        for week in (0, 1):
            rows.append(
                pd.DataFrame(
                    {
                        "user_id": users.user_id[active],
                        "event": "login",
                        "timestamp": first[active] + pd.Timedelta(days=7 * week + d, hours=1),
                    }
                )
            )
    rows.append(
        pd.DataFrame(
            # after the first week: the login segment's landmark (day 7) leaves every success to compare
            {
                "user_id": users.user_id[success],
                "event": "purchase",
                "timestamp": first[success] + pd.Timedelta(days=10),
            }
        )
    )
    return pd.concat(rows, ignore_index=True), users, pd.Series(success, index=users.user_id)


@pytest.fixture(scope="module")
def ws(frames):
    events, users, _ = frames
    return Workshop.from_dict(
        {
            # observed long after the last start: every success window is closed (censoring: test_population.py)
            "data": {"events": events, "users": users, "observed_until": "2026-12-31"},
            "success": {"event": "purchase", "within_days": 14},
            "segments": [
                "channel",
                "platform",
                "newsletter",
                {"name": "active_days", "frequency": "login", "window_days": 7},
            ],
            "privacy": {"min_units": 20},
        }
    )


def test_rows_match_pandas_and_statsmodels(ws, frames):
    _, users, success = frames
    result = compare(ws, ["channel", "platform"])
    rows = result.rows
    assert result.baseline == {"units": 6000, "successes": int(success.sum()), "rate": success.mean()}
    p_values = []
    for r in rows.to_dict("records"):
        mask = (users.set_index("user_id")[r["segment"]] == r["value"]).reindex(success.index)
        n1, x1 = int(mask.sum()), int(success[mask].sum())
        n2, x2 = int((~mask).sum()), int(success[~mask].sum())
        assert (r["units"], r["successes"]) == (n1, x1)
        assert r["rate"] == pytest.approx(x1 / n1)
        low, high = proportion_confint(x1, n1, method="wilson")
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((low, high))
        assert r["lift"] == pytest.approx((x1 / n1) / (x2 / n2) - 1)
        assert (r["diff_ci_low"], r["diff_ci_high"]) == pytest.approx(
            confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        )
        if r["test"] == "z-test":
            assert r["p_value"] == pytest.approx(proportions_ztest([x1, x2], [n1, n2])[1])
        else:
            assert r["test"] == "fisher"
            assert r["p_value"] == pytest.approx(fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])[1])
        p_values.append(r["p_value"])
        assert r["small"] == (n1 < 20)
    assert np.allclose(rows.q_value, multipletests(p_values, method="fdr_bh")[1])
    assert rows.loc[rows.value == "tv", "small"].item()


def test_json_contract(ws, row_contract):
    data = json.loads(json.dumps(compare(ws, ["channel"]).to_dict()))
    assert set(data) >= {"unit", "success", "baseline", "rows"}
    assert data["unit"] == "user" and set(data["baseline"]) == {"units", "successes", "rate"}
    keys = row_contract
    assert list(data["rows"][0])[: len(keys)] == keys


def test_twice_segment_significant_after_bh(ws):
    rows = compare(ws, ["channel"]).rows.set_index("value")
    assert rows.loc["email", "q_value"] < 1e-6
    assert 0.6 < rows.loc["email", "lift"] < 1.4


def test_simpson_pair_is_flagged_next_to_the_row(ws):
    rows = compare(ws, ["newsletter", "platform"]).rows.set_index(["segment", "value"])
    assert "Simpson's paradox" in rows.loc[("newsletter", "yes"), "strata"]
    check = simpson_check(ws, "newsletter", "yes", "platform")
    assert check.reversal and check.crude_odds_ratio < 1 < check.pooled_odds_ratio
    assert check.crude_risk_ratio < 1 < check.pooled_risk_ratio
    # channel is independent of platform: however strongly platform drives success, no note
    by_channel = compare(ws, ["channel", "platform"]).rows.set_index(["segment", "value"])
    assert by_channel.loc[("channel", "email"), "strata"] == ""


def test_tipping_point_at_four(ws):
    tp = tipping_point(ws, "active_days")
    assert tp.cut == "4"
    assert tp.shape == "threshold"
    assert tp.p_value < 1e-6


def test_hygiene_notes(ws):
    result = compare(ws, ["channel"])
    assert any("under the privacy threshold of 20" in n and "tv" in n for n in result.hygiene)


def test_suppression_cannot_be_undone_by_subtraction(ws):
    rows = compare(ws, ["channel"]).rows
    shared = suppress_small(rows, 20)
    hidden = shared[shared.hidden]
    assert set(hidden.value) == {"tv", rows[rows.value != "tv"].sort_values("units").value.iloc[0]}
    assert hidden.units.isna().all() and hidden.rate.isna().all()
    assert (hidden.note == "fewer than 20 units (hidden)").all()


def test_trend_counts_and_completeness(ws, frames):
    events, users, success = frames
    df = trend(ws, "platform", every="week")
    first = events.groupby("user_id").timestamp.min()
    week = (first.dt.normalize() - pd.to_timedelta(first.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    platform = users.set_index("user_id").platform.reindex(first.index)
    expected = pd.DataFrame({"week": week, "platform": platform, "success": success.reindex(first.index)})
    grouped = expected.groupby(["week", "platform"]).success.agg(["size", "sum"])
    got = df.set_index(["period", "value"])
    for (w, p), r in grouped.iterrows():
        assert got.loc[(w, p), "units"] == r["size"]
        assert got.loc[(w, p), "successes"] == r["sum"]
    end = pd.Timestamp("2026-12-31")  # data.observed_until: every window closed (open ones: test_population.py)
    for (w, _p), row in got.iterrows():  # complete: every unit of the week has a closed success window
        assert row["complete"] == (pd.Timestamp(w) + pd.Timedelta(days=7 + 14) <= end)


def test_hypotheses_verdicts_and_session_correction(ws):
    hs = [
        Hypothesis("channel", "email", direction="more", text="Email signups buy more", author="Ana"),
        Hypothesis("channel", "email", direction="less", text="Email signups buy less", author="Bo"),
        Hypothesis("platform", "web", versus="android", direction="more", author="Cy"),
        Hypothesis("channel", "tv", direction="more", author="Di"),
    ]
    df = check_hypotheses(ws, hs)
    # channel is drawn independently of platform and newsletter: no caveat (the odds-ratio rule, non-collapsible,
    # said "confounded by platform" here). platform is flagged by newsletter, which is drawn from platform and
    # moves success: the segment's share differs across those strata, which the rate ratio does see
    assert list(df.verdict[:3]) == ["supported", "goes the other way", "supported, but confounded"]
    assert list(df.caveat[:2]) == ["", ""] and "Confounded by newsletter" in df.caveat[2]
    assert df.verdict[3] == "inconclusive"
    assert "only a difference of" in df.explanation[3]
    assert np.allclose(df.q_value, multipletests(df.p_value, method="fdr_bh")[1])
    holm = check_hypotheses(ws, hs, correction="holm")
    assert np.allclose(holm.q_value, multipletests(df.p_value, method="holm")[1])
    # web vs android by hand
    r = df.iloc[2]
    assert r.units_a + r.units_b == 6000
    assert r.p_value == pytest.approx(proportions_ztest([r.successes_a, r.successes_b], [r.units_a, r.units_b])[1])


def test_refuted_when_the_effect_goes_the_other_way_or_is_ruled_out(ws, frames):
    # web converts far better than android: "web converts less" goes the other way (a finding, not a refutation)
    df = check_hypotheses(ws, [Hypothesis("platform", "web", direction="less")])
    assert df.verdict[0].startswith("goes the other way") and "other way" in df.explanation[0]
    # no effect at all, big groups: a random half of the users; the interval rules out a +50% lift
    events, users, _ = frames
    users = users.assign(half=np.where(np.arange(len(users)) % 2 == 0, "a", "b"))
    ws2 = Workshop.from_dict(
        {"data": {"events": events, "users": users}, "success": {"event": "purchase", "within_days": 14}}
    )
    df = check_hypotheses(ws2, [Hypothesis("half", "a", direction="more", expected_lift=0.5)])
    assert df.verdict[0] == "refuted" and "short of the 50% worth acting on" in df.explanation[0]


def test_unknown_value_and_segment(ws):
    with pytest.raises(DataError, match=r"no value 'emial'.*Did you mean 'email'"):
        check_hypotheses(ws, [Hypothesis("channel", "emial")])
    with pytest.raises(DataError, match=r"no segment or trait named 'chanel'.*Did you mean 'channel'"):
        compare(ws, ["chanel"])


def test_success_table_counts_like_a_comparison_against_pandas(tmp_path):
    """The demo's plain table: units whose window is closed, per value, equal to a pandas count."""
    from conftest import write_small_workshop

    from segworkshop.compare import success_table
    from segworkshop.population import data_end

    ws = Workshop.load(write_small_workshop(tmp_path / "w"))
    got = success_table(ws, ["platform"])
    units = ws.unit_table(traits=["platform"]).to_pandas()
    end = pd.Timestamp(data_end(ws)).tz_localize(None)
    closed = units[units.start_at + pd.Timedelta(days=ws.config.success.within_days) <= end]
    expected = closed.groupby("platform").success.agg(["size", "sum"])
    assert list(got.value) == sorted(expected.index)
    for row in got.itertuples():
        assert (row.units, row.successes) == (expected.loc[row.value, "size"], expected.loc[row.value, "sum"])
        assert row.rate == row.successes / row.units


def test_singles_and_pairs_summed_from_the_crossed_cells_match_pandas(monkeypatch):
    """With pairs, count_segments sums every single and pair from one grouping by all the segments at once; past
    JOINT_CELLS cells it asks one grouping per segment and pair. Both give plain pandas' counts, with missing
    values and a behaviour's landmark (LEFT_OUT: counted apart, in no pair)."""
    import ibis

    from segworkshop import compare as compare_module
    from segworkshop.population import LEFT_OUT

    rng = np.random.default_rng(5)
    n = 5000
    df = pd.DataFrame(
        {
            "plan": rng.choice(["free", "pro", "team", "(missing)"], n),
            "region": rng.choice(["eu", "us", "apac"], n),
            "did_x": rng.choice(["yes", "no", LEFT_OUT], n, p=[0.4, 0.4, 0.2]),
            "success": rng.random(n) < 0.3,
        }
    )
    names = ["plan", "region", "did_x"]
    table = ibis.memtable(df)
    crossed = compare_module.count_segments(table, names, with_pairs=True)
    monkeypatch.setattr(compare_module, "JOINT_CELLS", 1)  # too many cells: one grouping per segment and pair
    grouped = compare_module.count_segments(table, names, with_pairs=True)
    for counts in (crossed, grouped):
        for a in names:
            kept = df[df[a] != LEFT_OUT]
            expected = kept.groupby(a).success.agg(["size", "sum"])
            got = counts.singles[counts.singles.segment == a].set_index("value").sort_index()
            assert (
                got.units.tolist() == expected["size"].tolist() and got.successes.tolist() == expected["sum"].tolist()
            )
        assert counts.left_out == {"did_x": {"units": int((df.did_x == LEFT_OUT).sum()),
                                             "successes": int(df.success[df.did_x == LEFT_OUT].sum())}}  # fmt: skip
        for a, b in [("plan", "region"), ("plan", "did_x"), ("region", "did_x")]:
            kept = df[(df[a] != LEFT_OUT) & (df[b] != LEFT_OUT)]
            expected = kept.groupby([a, b]).success.agg(["size", "sum"]).reset_index()
            got = counts.pairs[(counts.pairs.segment == a) & (counts.pairs.other == b)]
            assert got[["value", "other_value", "units", "successes"]].values.tolist() == expected.values.tolist()
    pd.testing.assert_frame_equal(crossed.pairs, grouped.pairs, check_dtype=False)
