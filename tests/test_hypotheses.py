"""Hypothesis verdicts: the same error control for support and refutation, each checked against an independent
computation (statsmodels, scipy, the hand formula), wording, confounding, privacy and the CLI command."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import fisher_exact
from statsmodels.stats import proportion as smp
from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from segworkshop import DataError, Workshop, show, stats
from segworkshop.cli import main
from segworkshop.hypotheses import (
    SHOWN,
    Hypothesis,
    check_hypotheses,
    matched_level,
    needed_level,
    ratio_score_interval,
    ratio_score_p,
    shareable,
)
from segworkshop.journal import Journal
from segworkshop.session import Session

T0 = pd.Timestamp("2026-01-05")


def workshop(groups: list[tuple[dict, int, int]], segments: list | None = None, min_units: int = 10) -> Workshop:
    """A workshop with exact counts: each (traits, units, successes) block is that many users, the first
    ``successes`` of them buy within a day. One late visit makes every success window end inside the data."""
    users, bought = [], []
    for traits, n, x in groups:
        start = len(users)
        users += [{"user_id": f"u{start + k:06d}", **traits} for k in range(n)]
        bought += [k < x for k in range(n)]
    users = pd.DataFrame(users)
    bought = np.array(bought)
    events = pd.concat(
        [
            pd.DataFrame({"user_id": users.user_id, "event": "visit", "timestamp": T0}),
            pd.DataFrame(
                {"user_id": users.user_id[bought], "event": "purchase", "timestamp": T0 + pd.Timedelta(days=1)}
            ),
            pd.DataFrame({"user_id": users.user_id[:1], "event": "visit", "timestamp": T0 + pd.Timedelta(days=60)}),
        ],
        ignore_index=True,
    )
    traits = [c for c in users.columns if c != "user_id"]
    return Workshop.from_dict(
        {
            "data": {"events": events, "users": users},
            "success": {"event": "purchase", "within_days": 14},
            "segments": traits if segments is None else segments,
            "privacy": {"min_units": min_units},
        }
    )


def sm_score_p(x1, n1, x2, n2, ratio, alternative):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = smp.test_proportions_2indep(
            x1, n1, x2, n2, value=ratio, compare="ratio", alternative=alternative, method="score"
        )
    return float(res.pvalue)


@pytest.fixture(scope="module")
def audit_ws():
    # the audit's table (4,200/20,000 vs 4,000/20,000) plus four noisy small groups that make a family
    groups = [({"g": "a", "k": "x"}, 20000, 4200), ({"g": "b", "k": "x"}, 20000, 4000)]
    groups += [({"g": "c", "k": v}, 60, 12) for v in ("p", "q", "r", "s")]
    return workshop(groups, segments=[])


# --------------------------------------------------------------------------- the pieces, against references


@pytest.mark.parametrize("method", ["fdr_bh", "fdr_by", "holm", "bonferroni"])
def test_matched_level_reproduces_the_correction(method):
    rng = np.random.default_rng(1)
    for m in (1, 2, 5, 20):
        for _ in range(4):  # statsmodels' holm takes ~45 ms a call
            p = np.concatenate([rng.uniform(0, 0.01, rng.integers(0, m + 1)), rng.uniform(0, 1, m)])[:m]
            q = multipletests(p, method=method)[1]
            level = matched_level(q, method)
            assert ((p <= level) == (q <= 0.05)).all()
            need = needed_level(q, method)
            for j in np.nonzero(q > 0.05)[0][:3]:  # a hypothesis at the needed level would be rejected
                again = p.copy()
                again[j] = need * (1 - 1e-9)
                assert multipletests(again, method=method)[1][j] <= 0.05


TABLES = [
    (4200, 20000, 4000, 20000),
    (9, 10, 3, 10),
    (30, 200, 45, 210),
    (0, 50, 5, 50),
    (45, 50, 50, 50),
    (1, 3, 2, 9),
]


@pytest.mark.parametrize("table", TABLES)
def test_ratio_score_test_is_statsmodels_score_test(table):
    for ratio in (0.8, 0.9, 1.1, 1.5):
        for alternative in ("smaller", "larger"):
            assert ratio_score_p(*table, ratio, alternative) == pytest.approx(
                sm_score_p(*table, ratio, alternative), rel=1e-9, abs=1e-12
            )


def test_ratio_score_test_on_edge_tables():
    assert ratio_score_p(0, 50, 0, 50, 1.1, "smaller") == 1.0  # nobody succeeded: cannot refute anything
    # everybody succeeded in big groups: a ratio of 1.1 is impossible when p2 is near 1, so "no +10%" is shown
    assert ratio_score_p(5000, 5000, 5000, 5000, 1.1, "smaller") < 1e-6
    assert ratio_score_p(5, 5, 5, 5, 1.1, "smaller") > 0.05  # but not with 5 units each
    # successes only in the first group: a lift is never ruled out, a drop always eventually is
    assert ratio_score_p(5, 50, 0, 50, 1.1, "smaller") > 0.5
    low, high = ratio_score_interval(5, 50, 0, 50)
    assert math.isinf(high) and low > -1
    low, high = ratio_score_interval(0, 50, 5, 50)
    assert low == -1 and high < 0.5
    assert all(math.isnan(v) for v in ratio_score_interval(0, 9, 0, 9))


@pytest.mark.parametrize("table", TABLES[:3])
def test_ratio_score_interval_inverts_the_test_and_matches_statsmodels(table):
    for alpha in (0.05, 0.01, 0.0025):
        low, high = ratio_score_interval(*table, alpha)
        assert ratio_score_p(*table, 1 + high, "smaller") == pytest.approx(alpha / 2, rel=1e-6)
        assert ratio_score_p(*table, 1 + low, "larger") == pytest.approx(alpha / 2, rel=1e-6)
        ref = confint_proportions_2indep(*table, compare="ratio", method="score", alpha=alpha)
        assert (low + 1, high + 1) == pytest.approx(tuple(map(float, ref)), rel=1e-6)


# --------------------------------------------------------------------------- point 1: verdicts that mean what they say


def test_audit_table_alone_is_supported(audit_ws):
    (r,) = check_hypotheses(audit_ws, [Hypothesis("g", "a", versus="b")]).to_dict("records")
    assert r["p_value"] == pytest.approx(fisher_exact([[4200, 15800], [4000, 16000]])[1])
    assert r["verdict"] == "supported" and r["ci_level"] == pytest.approx(0.95)
    ref = confint_proportions_2indep(4200, 20000, 4000, 20000, compare="ratio", method="score", alpha=0.05)
    assert (r["lift_ci_low"], r["lift_ci_high"]) == pytest.approx((ref[0] - 1, ref[1] - 1), rel=1e-6)
    # real but smaller than the 10% worth acting on: said in words
    assert "smaller than the 10% worth acting on" in r["explanation"]


def test_audit_table_in_a_family_is_never_no_difference(audit_ws):
    hs = [Hypothesis("g", "a", versus="b", text="A beats B")] + [
        Hypothesis("k", v, direction="different", expected_lift=0.05) for v in ("p", "q", "r", "s")
    ]
    df = check_hypotheses(audit_ws, hs)
    m = len(hs)
    # both kinds of claim: the same correction over the same family, against independent p-values
    assert np.allclose(df.q_value, multipletests(df.p_value, method="fdr_bh")[1])
    p_refute = [sm_score_p(4200, 20000, 4000, 20000, 1.1, "smaller"), *list(df.p_refute[1:])]
    assert df.p_refute[0] == pytest.approx(p_refute[0], rel=1e-9)
    assert np.allclose(df.q_refute, multipletests(p_refute, method="fdr_bh")[1])
    r = df.iloc[0]
    assert r.q_value > 0.05  # 0.013 × 5: not supported once the family counts
    assert "no difference" not in r.explanation
    refuted = int((df.q_refute <= 0.05).sum())
    level = max(refuted, 1) * 0.05 / m  # BH's false-coverage-rate level (Benjamini & Yekutieli 2005)
    assert r.ci_level == pytest.approx(1 - 2 * level)
    ref = confint_proportions_2indep(4200, 20000, 4000, 20000, compare="ratio", method="score", alpha=2 * level)
    assert r.lift_ci_high == pytest.approx(ref[1] - 1, rel=1e-6)
    # refuted exactly when the interval at that level lies wholly below +10%
    assert (r.verdict == "refuted") == (r.lift_ci_high < 0.10)
    assert r.verdict == "refuted"
    assert f"the lift is at most {r.lift_ci_high:+.1%}" in r.explanation
    assert "no effect worth acting on" in r.explanation


def test_mde_is_at_the_adjusted_level(audit_ws):
    hs = [Hypothesis("k", v, direction="more") for v in ("p", "q", "r", "s")]
    df = check_hypotheses(audit_ws, hs)
    assert (df.verdict == "inconclusive").all()
    need = 0.05 / 4  # BH, nothing rejected: a discovery needs p <= 1 · alpha / m
    assert (df.mde_level == need).all()
    for r in df.to_dict("records"):
        n_eq = 2 / (1 / r["units_a"] + 1 / r["units_b"])
        p0, p1 = r["rate_b"], r["rate_b"] + r["mde"]
        za, zb = stats._z(1 - need / 2), stats._z(0.8)
        pbar = (p0 + p1) / 2
        fleiss = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1))) ** 2 / (
            p1 - p0
        ) ** 2
        assert fleiss == pytest.approx(n_eq, rel=1e-6)  # the hand formula at the adjusted level
        plain = stats.minimum_detectable_rate(p0, n_eq, 0.05) - p0
        assert r["mde"] > plain
        assert f"{r['mde'] * 100:.1f} points" in r["explanation"] and f"level {need:.2g} " in r["explanation"]


def test_holm_family_and_levels(audit_ws):
    hs = [Hypothesis("g", "a", versus="b")] + [Hypothesis("k", v) for v in ("p", "q")]
    df = check_hypotheses(audit_ws, hs, correction="holm")
    assert np.allclose(df.q_value, multipletests(df.p_value, method="holm")[1])
    assert np.allclose(df.q_refute, multipletests(df.p_refute, method="holm")[1])
    assert df.attrs["support_level"] == matched_level(df.q_value, "holm")
    with pytest.raises(DataError, match="correction 'sidak' is not one of"):
        check_hypotheses(audit_ws, hs, correction="sidak")


def test_equivalence_refutes_more_less_and_different():
    ws = workshop([({"g": "a"}, 10000, 2000), ({"g": "b"}, 10000, 2000)])
    hs = [Hypothesis("g", "a", versus="b", direction=d) for d in ("more", "less", "different")]
    df = check_hypotheses(ws, hs)
    assert list(df.verdict) == ["refuted"] * 3
    level = 3 * 0.05 / 3  # all three refuted: BH level R·alpha/m
    for r in df.to_dict("records"):
        assert r["ci_level"] == pytest.approx(1 - 2 * level)
        assert r["lift_ci_low"] > -0.10 and r["lift_ci_high"] < 0.10
    assert "the drop is at most" in df.explanation[1]
    assert "between" in df.explanation[2] and "±10%" in df.explanation[2]
    # TOST: the larger of the two one-sided p-values
    tost = max(
        sm_score_p(2000, 10000, 2000, 10000, 1.1, "smaller"), sm_score_p(2000, 10000, 2000, 10000, 0.9, "larger")
    )
    assert df.p_refute[2] == pytest.approx(tost, rel=1e-9)


def test_goes_the_other_way_and_less_speaks_of_a_drop():
    ws = workshop([({"g": "low"}, 3000, 240), ({"g": "high"}, 3000, 360)])
    df = check_hypotheses(ws, [Hypothesis("g", "low", versus="high", direction="less"), Hypothesis("g", "low", "high")])
    less, more = df.to_dict("records")
    assert less["verdict"] == "supported"
    assert "succeed less: 8.0% vs 12.0% (high), a drop of 33.3% (4.0 points)" in less["explanation"]
    assert more["verdict"] == "goes the other way"
    assert more["explanation"].startswith("Goes the other way: the hypothesis was that users with g = low succeed more")


# --------------------------------------------------------------------------- point 2: no hypothesis changes another


def test_an_expected_lift_does_not_change_the_other_verdicts():
    ws = workshop(
        [({"g": "a"}, 4000, 880), ({"g": "b"}, 4000, 800), ({"g": "c"}, 4000, 1200), ({"g": "d"}, 300, 60)],
    )
    others = [
        Hypothesis("g", "a", versus="b"),
        Hypothesis("g", "b", direction="less"),
        Hypothesis("g", "d", versus="b", direction="different"),
        Hypothesis("g", "a", versus="d"),
    ]
    for correction, extra_lift in (("bonferroni", 0.5), ("fdr_bh", 0.3)):
        # the family is held fixed (same five hypotheses); only the fifth one's expected lift changes
        plain = check_hypotheses(ws, [*others, Hypothesis("g", "c")], correction=correction)
        expected = check_hypotheses(
            ws, [*others, Hypothesis("g", "c", expected_lift=extra_lift)], correction=correction
        )
        assert list(plain.meaningful_lift[:4]) == list(expected.meaningful_lift[:4]) == [0.1] * 4
        assert expected.meaningful_lift[4] == extra_lift
        cols = ["verdict", "explanation", "q_value", "p_refute", "lift_ci_low", "lift_ci_high", "mde"]
        pd.testing.assert_frame_equal(plain[cols][:4], expected[cols][:4])
        # the others' refutation q-values move only through the family: the fifth p-value changed
        assert np.allclose(expected.q_refute, multipletests(expected.p_refute, method=correction)[1])


# --------------------------------------------------------------------------- point 3: confounding in the verdict


@pytest.fixture(scope="module")
def simpson_ws():
    # newsletter=yes is mostly on android (low base) but better within each platform
    cells = {  # (platform, newsletter): (units, successes)
        ("web", "yes"): (200, 80),
        ("web", "no"): (800, 240),
        ("android", "yes"): (800, 96),
        ("android", "no"): (200, 16),
    }
    return workshop([({"platform": p, "newsletter": n}, u, x) for (p, n), (u, x) in cells.items()]), cells


def test_confounding_is_in_the_verdict(simpson_ws):
    ws, cells = simpson_ws
    tables = [
        np.array([[cells[(p, "yes")][1], cells[(p, "yes")][0] - cells[(p, "yes")][1]],
                  [cells[(p, "no")][1], cells[(p, "no")][0] - cells[(p, "no")][1]]])
        for p in ("web", "android")
    ]  # fmt: skip
    pooled = StratifiedTable(tables).riskratio_pooled  # the caveat quotes the success-rate ratio
    crude = Table2x2(sum(tables)).riskratio
    assert crude < 1 < pooled  # worse overall, better within every platform
    for versus in (None, "no"):
        (r,) = check_hypotheses(ws, [Hypothesis("newsletter", "yes", versus=versus, direction="less")]).to_dict(
            "records"
        )
        assert r["rate_a"] < r["rate_b"]  # crude: worse
        assert r["verdict"] == "supported, but confounded"
        assert "Confounded by platform: within every platform it goes the other way" in r["caveat"]
        assert f"rate ratio {crude:.2f} overall, {pooled:.2f} within platform" in r["caveat"]
        assert r["caveat"] in r["explanation"]
    # a stratum that is not a confounder leaves the verdict plain
    ws2 = workshop(
        [({"g": g, "h": h}, 500, x) for g, h, x in [("a", "x", 150), ("a", "y", 150), ("b", "x", 100), ("b", "y", 100)]]
    )
    (r,) = check_hypotheses(ws2, [Hypothesis("g", "a")]).to_dict("records")
    assert r["verdict"] == "supported" and r["caveat"] == ""


# --------------------------------------------------------------------------- point 4: wording and edge cases


def test_a_value_versus_itself_and_a_single_valued_segment_are_errors():
    ws = workshop([({"g": "a", "one": "x"}, 50, 10), ({"g": "b", "one": "x"}, 50, 20)])
    with pytest.raises(DataError, match=r"hypothesis 'A vs A' \(Ana\): compares g = 'a' with itself.*leave `versus`"):
        check_hypotheses(ws, [Hypothesis("g", "a", versus="a", text="A vs A", author="Ana")])
    with pytest.raises(DataError, match=r"hypothesis 'one = x': segment 'one' has only one value \(x\)"):
        check_hypotheses(ws, [Hypothesis("one", "x")])
    with pytest.raises(DataError, match=r"no value 'c'.*Values: a, b"):
        check_hypotheses(ws, [Hypothesis("g", "c")])


def test_no_nan_inf_or_zero_q_in_explanations():
    ws = workshop([({"g": "a"}, 400, 120), ({"g": "b"}, 400, 0), ({"g": "c"}, 400, 0), ({"g": "d"}, 5000, 2500)])
    hs = [
        Hypothesis("g", "a", versus="b"),  # no successes in the comparison group: lift infinite
        Hypothesis("g", "b", versus="c", direction="different"),  # nobody succeeded at all
        Hypothesis("g", "d", direction="less"),  # q far below 0.0001
        Hypothesis("g", "b", versus="a", direction="less"),
    ]
    df = check_hypotheses(ws, hs)
    assert math.isinf(df.lift[0])
    assert "no successes in the comparison group" in df.explanation[0]
    assert "q < 0.0001" in df.explanation[2] or "q < 0.0001" in df.explanation[0]
    for text in df.explanation:
        assert not any(bad in text.lower() for bad in ("nan", "inf%", "q = 0 ", "q = 0.", "q = 0;")), text
    assert df.verdict[1] == "inconclusive"


# --------------------------------------------------------------------------- privacy


def test_small_groups_are_hidden_in_what_is_shared():
    ws = workshop([({"g": "a"}, 400, 120), ({"g": "b"}, 500, 100), ({"g": "c"}, 300, 60), ({"g": "tiny"}, 8, 4)])
    hs = [Hypothesis("g", "tiny", text="Tiny <b>"), Hypothesis("g", "a", versus="b"), Hypothesis("g", "c", "a")]
    df = check_hypotheses(ws, hs)
    assert list(df.small) == [True, False, False]
    # c is what a shared comparison table hides with tiny (next smallest): its sizes would reveal tiny's
    assert list(df.counts_hidden) == [True, False, True]
    shared = shareable(df)
    assert list(shared.columns) == [*SHOWN, "hidden"]
    tiny, ab, ca = shared.to_dict("records")
    assert tiny["verdict"] == "hidden" and tiny["explanation"] == "fewer than 10 units (hidden)"
    assert all(tiny[c] is None or pd.isna(tiny[c]) for c in ("units_a", "units_b", "rate_a", "lift", "q_value"))
    assert (ab["units_a"], ab["units_b"]) == (400, 500) and ab["rate_a"] == 0.3
    # c's rate too: with the shown rows and the baseline it would narrow tiny down (privacy.py)
    assert ca["units_a"] is None and pd.isna(ca["rate_a"]) and ca["verdict"] == "hidden"
    assert "would reveal a group of fewer than 10 units" in ca["explanation"]
    assert shareable(df, min_units=450)["hidden"].tolist() == [True, True, True]
    # the report's table: same rows, same rule
    html = []
    show.display = lambda obj: html.append(obj.data)
    show.hypotheses(df)
    page = "".join(html)
    assert "fewer than 10 units (hidden)" in page and "Tiny &lt;b&gt;" in page and "<th>group units</th>" in page
    assert "2.0%" not in page  # nothing of tiny's 50% (or its share) leaks; sizes of a and b are shown
    assert "400" in page and "500" in page


# --------------------------------------------------------------------------- point 5: the command


def _add(folder: Path) -> None:
    j = Journal(folder)
    j.add("hypotheses", "Ana", {"segment": "channel", "value": "email", "direction": "more", "text": "Email buys more"})
    j.add("hypotheses", "Bo", {"segment": "platform", "value": "android", "versus": "web", "direction": "less"})


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_hypotheses_json_contract(small_workshop: Path):
    _add(small_workshop.parent)
    out = run("hypotheses", str(small_workshop.parent), "--format", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert list(data) == ["family", "correction", "alpha", "privacy_min_units", "rows"]
    s = Session(small_workshop.parent)
    ledger = s.ledger()  # the session's family: every comparison of every page (ledger.py)
    assert (data["family"], data["correction"], data["privacy_min_units"]) == (ledger.family, "fdr_bh", 10)
    assert ledger.family > 2
    keys = [
        "author", "text", "segment", "value", "versus", "direction", "units_a", "units_b", "rate_a", "rate_b",
        "lift", "lift_ci_low", "lift_ci_high", "ci_level", "q_value", "verdict", "explanation", "compares",
        "left_out_too_recent", "left_out_succeeded_in_window", "hidden",
    ]  # fmt: skip
    assert all(list(r) == keys for r in data["rows"])
    email = data["rows"][0]
    assert email["author"] == "Ana" and email["versus"] == "the rest" and email["verdict"] == "supported"
    judged = Workshop.load(small_workshop).baseline()["units"]  # units whose success window has closed
    assert isinstance(email["units_a"], int) and email["units_a"] + email["units_b"] == judged
    # exactly what the report shows: check_hypotheses on the session, through shareable
    expected = shareable(s.check_hypotheses())
    assert [r["explanation"] for r in data["rows"]] == list(expected.explanation)
    assert [r["q_value"] for r in data["rows"]] == pytest.approx(list(expected.q_value))


def test_cli_hypotheses_table_csv_empty_and_errors(small_workshop: Path):
    empty = run("hypotheses", str(small_workshop))
    assert empty.exit_code == 0 and "No hypotheses in the journal yet" in empty.output
    assert json.loads(run("hypotheses", str(small_workshop), "--format", "json").stdout)["rows"] == []
    _add(small_workshop.parent)
    table = run("hypotheses", str(small_workshop))
    assert table.exit_code == 0
    assert "1. Ana: channel = email succeed more than the rest" in table.output
    assert (
        "comparisons of the session (2 hypotheses among them" in table.output and "verdict: supported" in table.output
    )
    csv = run("hypotheses", str(small_workshop), "--format", "csv")
    assert csv.output.splitlines()[0] == ",".join([*SHOWN, "hidden"]) and len(csv.output.splitlines()) == 3
    Journal(small_workshop.parent).add("hypotheses", "Cy", {"segment": "channel", "value": "emial"})
    bad = run("hypotheses", str(small_workshop))
    assert bad.exit_code == 2 and "Did you mean 'email'" in bad.output and "Traceback" not in bad.output


def test_a_count_segments_tipping_point_reads_the_right_way_round(small_workshop):
    """ "at 3+" is the 3+ group's rate (the labels run upwards, as for every ordered segment)."""
    from segworkshop.compare import compare
    from segworkshop.hypotheses import tipping_point

    ws = Workshop.load(small_workshop)
    spec = {"name": "visits", "count": "visit", "at_least": 3, "window_days": 7}
    point = tipping_point(ws, spec)
    rows = compare(ws, [spec], strata=False).rows.set_index("value")
    assert point.cut == "3+"
    assert point.rate_above == pytest.approx(rows.loc["3+", "rate"]) and point.units_above == rows.loc["3+", "units"]
    assert point.rate_below == pytest.approx(rows.loc["< 3", "rate"])
    if point.shape != "none":
        assert f"{point.rate_above:.1%} succeed at 3+ " in point.describe()


def test_a_verdict_its_own_interval_does_not_back_is_not_supported():
    """0/12 vs 12/30 at a matched level of 0.01: Fisher's p = 0.0091 rejects, but the 99% score interval of the
    lift reaches 0 (docs/statistics.md, 8): the verdict is not "supported"."""
    from scipy.stats import fisher_exact

    from segworkshop.hypotheses import _decide

    p = fisher_exact([[0, 12], [12, 18]]).pvalue
    assert p < 0.01
    low, high = ratio_score_interval(0, 12, 12, 30, 0.01)
    assert low <= 0 <= high  # lift bounds
    r = {
        "successes_a": 0, "units_a": 12, "successes_b": 12, "units_b": 30, "diff": -0.4, "rate_b": 0.4,
        "direction": "less", "q_value": p, "q_refute": 0.5, "_strata": [], "segment": "plan", "value": "a",
        "versus": "the rest", "text": "", "author": "", "expected_lift": None, "meaningful_lift": 0.1,
        "p_value": p, "lift": -1.0, "test": "fisher", "p_refute": 0.5, "rate_a": 0.0,
    }  # fmt: skip
    out = _decide(r, 0.05, 0.01, 0.05, 0.1, 0.8, "user")
    assert out["verdict"] == "inconclusive"
    assert out["lift_ci_low"] <= 0 <= out["lift_ci_high"]
    r["q_value"], out = 1e-6, None  # a clear effect is still supported
    r.update(successes_a=0, units_a=60, successes_b=30, units_b=60, diff=-0.5, rate_b=0.5, rate_a=0.0)
    assert _decide(r, 0.05, 0.01, 0.05, 0.1, 0.8, "user")["verdict"] == "supported"
