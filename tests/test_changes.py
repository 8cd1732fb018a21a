"""What changed since the previous run (segworkshop.changes), checked against an independent pandas computation.

Each dataset is generated with a known truth: users start uniformly over some days, buy with a probability that
depends on their channel (and, for the "real change" case, on their cohort), and search in their first hours.
A "run" is a Workshop on the events observed up to ``observed_until``; its summary is what
``changes.record`` writes to summary.json. The pandas reference recomputes, from the raw events, each user's
start, success within 14 days, maturity, cohort (window closed after the previous data end or not) and the
landmark value of the behaviour segment.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from segworkshop import Workshop
from segworkshop import changes as ch
from segworkshop.population import LEFT_OUT

START = pd.Timestamp("2026-01-05")
WITHIN, BEHAVIOUR = 14, 7
SEGMENTS = ["channel", "platform", {"name": "searched", "did": "search"}, {"name": "signup_week", "cohort": "week"}]
SEEDS = range(20)


def day(d: float) -> pd.Timestamp:
    return START + pd.Timedelta(days=d)


def make(n: int, days: float, seed: int, doubled_after: pd.Timestamp | None = None) -> pd.DataFrame:
    """Events of ``n`` users starting uniformly over ``days``. Email buys at 30 %, the others at 15 %; with
    ``doubled_after``, email users whose 14-day window closes after that instant buy at 60 % (a real change)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"u{i:05d}" for i in range(n)])
    first = (START + pd.to_timedelta(rng.integers(0, int(days * 86400), n), unit="s")).to_numpy()
    first = pd.DatetimeIndex(first)
    channel = rng.choice(["email", "organic", "paid"], n)
    platform = rng.choice(["ios", "android", "web"], n, p=[0.45, 0.45, 0.10])
    p = np.where(channel == "email", 0.30, 0.15)
    if doubled_after is not None:
        late = first + pd.Timedelta(days=WITHIN) > doubled_after
        p = np.where((channel == "email") & late, 0.60, p)
    won = rng.random(n) < p
    bought = first + pd.to_timedelta(rng.uniform(0.5, WITHIN - 0.5, n), unit="D")
    searched = rng.random(n) < 0.5

    def rows(who: np.ndarray, event: str, at: pd.DatetimeIndex) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "user_id": ids[who],
                "event": event,
                "timestamp": at[who],
                "channel": channel[who],
                "platform": platform[who],
            }
        )

    everyone = np.ones(n, bool)
    events = pd.concat(
        [
            rows(everyone, "visit", first),
            rows(searched, "search", first + pd.Timedelta(hours=2)),
            rows(won, "purchase", bought),
        ],
        ignore_index=True,
    )
    events["timestamp"] = events.timestamp.dt.floor("s")
    return events


def run(events: pd.DataFrame, until: pd.Timestamp, within: float | None = WITHIN, **extra) -> Workshop:
    """The workshop a run sees: the events up to ``until``, observed until then."""
    success = {"event": "purchase"} | ({"within_days": within} if within is not None else {})
    raw = {
        "data": {"events": events[events.timestamp <= until], "observed_until": until.isoformat()},
        "success": success,
        "segments": extra.pop("segments", SEGMENTS),
        **extra,
    }
    return Workshop.from_dict(raw)


def summary_of(ws: Workshop, started: str = "2026-03-01T06:00:00+00:00") -> dict:
    """The previous run's summary.json as report.run writes it (the fields changes.since reads)."""
    return {"workshop": "/w/workshop.yaml", "started": started, "version": "test", **ch.record(ws)}


def boundary_of(ws: Workshop, started: str = "2026-03-01T06:00:00+00:00") -> dict:
    """The part of a summary.json that changes.since needs (data end, definition): no counts, for loops."""
    from segworkshop.population import data_end

    return {"started": started, "data_end": data_end(ws).isoformat(), "definition": ch.definition(ws)}


def reference(events: pd.DataFrame, prev_end: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Per user, by hand: start, success within 14 days (inclusive), mature at ``end``, cohort, landmark value."""
    ev = events[events.timestamp <= end]
    start = ev.groupby("user_id").timestamp.min()
    users = pd.DataFrame({"start": start})
    users["channel"] = ev.sort_values("timestamp").groupby("user_id").channel.first()
    users["platform"] = ev.sort_values("timestamp").groupby("user_id").platform.first()
    buys = ev[ev.event == "purchase"].join(users.start, on="user_id")
    buys = buys[(buys.timestamp >= buys.start) & (buys.timestamp <= buys.start + pd.Timedelta(days=WITHIN))]
    users["success_at"] = buys.groupby("user_id").timestamp.min()
    users["success"] = users.success_at.notna()
    closes = users.start + pd.Timedelta(days=WITHIN)
    users = users[closes <= end].copy()
    users["new"] = (users.start + pd.Timedelta(days=WITHIN)) > prev_end
    search = ev[ev.event == "search"].join(users.start, on="user_id", how="inner")
    in_window = search[(search.timestamp >= search.start) & (search.timestamp < search.start + pd.Timedelta(days=7))]
    users["searched"] = np.where(users.index.isin(in_window.user_id), "yes", "no")
    early = users.success_at.notna() & (users.success_at < users.start + pd.Timedelta(days=BEHAVIOUR))
    users.loc[early, "searched"] = LEFT_OUT
    return users


def reference_counts(users: pd.DataFrame) -> pd.DataFrame:
    """Units and successes per (segment, value, cohort), LEFT_OUT dropped; the baseline as segment ''."""
    parts = [users.groupby("new").success.agg(units="size", successes="sum").reset_index().assign(segment="", value="")]
    for name in ("channel", "platform", "searched"):
        part = users[users[name] != LEFT_OUT]
        g = part.groupby([name, "new"]).success.agg(units="size", successes="sum").reset_index()
        parts.append(g.rename(columns={name: "value"}).assign(segment=name))
    out = pd.concat(parts, ignore_index=True)[["segment", "value", "new", "units", "successes"]]
    return out.astype({"units": "int64", "successes": "int64", "new": bool})


def any_flag(changed: ch.Changes) -> bool:
    return bool(len(changed.flagged))


# --------------------------------------------------------------------------- (e) counts and statistics


def test_counts_and_statistics_equal_a_pandas_computation():
    events = make(1500, 70, seed=7)
    prev_end, end = day(56), day(84)
    changed = ch.since(run(events, end), summary_of(run(events, prev_end)))
    assert changed.status == ch.COMPARED, changed.message
    users = reference(events, prev_end, end)

    mine = ch.cohort_counts(
        run(events, end), prev_end.tz_localize("UTC").to_pydatetime(), ch.parse_segments(SEGMENTS[:3])
    )
    key = ["segment", "value", "new"]
    got = mine.sort_values(key).reset_index(drop=True)
    want = reference_counts(users).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_like=True)

    rows = changed.rows.set_index(["segment", "value"])
    base = rows.loc[("baseline", "all users")]
    assert base.new_units == users.new.sum() and base.earlier_units == (~users.new).sum()
    assert base.new_successes == users[users.new].success.sum()
    # every row's test, interval and q by hand: Fisher (scipy), Newcombe (statsmodels), BH over all rows
    p_by_hand = []
    for (segment, value), r in rows.iterrows():
        part = users if segment == "baseline" else users[users[segment] == value]
        new, old = part[part.new], part[~part.new]
        x1, n1, x0, n0 = new.success.sum(), len(new), old.success.sum(), len(old)
        assert (r.new_units, r.new_successes, r.earlier_units, r.earlier_successes) == (n1, x1, n0, x0)
        p = fisher_exact([[x1, n1 - x1], [x0, n0 - x0]])[1]
        assert r.p_value == pytest.approx(p, rel=1e-12)
        low, high = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff")
        assert (r.ci_low, r.ci_high) == pytest.approx((low, high), rel=1e-9)
        assert r.change == pytest.approx(x1 / n1 - x0 / n0)
        p_by_hand.append(p)
    assert list(rows.q_value) == pytest.approx(list(multipletests(p_by_hand, method="fdr_bh")[1]), rel=1e-9)
    assert changed.comparisons == len(rows) == 1 + 3 + 3 + 2  # baseline, channel, platform, searched yes/no
    assert "signup_week" not in set(changed.rows.segment) and changed.skipped_segments == ["signup_week"]
    # the earlier cohorts are exactly the units the previous run judged
    previous = summary_of(run(events, prev_end))
    assert (base.earlier_units, base.earlier_successes) == (
        previous["baseline"]["units"],
        previous["baseline"]["successes"],
    )
    assert not changed.notes


# --------------------------------------------------------------------------- (a) null pairs


def test_null_pairs_flag_nothing_beyond_the_bh_rate():
    """Same process, the second run on data extended by three weeks: flagged seeds out of 20."""
    flagged = uncorrected = rows = 0
    for seed in SEEDS:
        events = make(1200, 70, seed=seed)
        changed = ch.since(run(events, day(77)), boundary_of(run(events, day(56))))
        assert changed.status == ch.COMPARED
        rows += changed.comparisons
        flagged += any_flag(changed)
        uncorrected += bool((changed.rows.p_value < 0.05).any())
    # BH at 0.05 under a global null: P(any flag) <= 0.05 per pair (Fisher is conservative), about 1 of 20;
    # 3 or more would happen with probability 7.5 %. Measured: 1 of 20 (seed 2, email -16.9 pts, p = 0.0017,
    # q = 0.016), while "p < 0.05 on some row" holds in 6 of 20: the correction is what keeps the weekly quiet.
    assert rows == 20 * 9
    assert flagged <= 2, flagged
    assert uncorrected >= 3, uncorrected


# --------------------------------------------------------------------------- (b) windows maturing on the same users


def test_windows_maturing_on_the_same_users_flag_nothing():
    """No new users after the first run: its too-recent users become the new cohort as observed_until moves on."""
    flagged = 0
    for seed in SEEDS:
        events = make(1200, 56, seed=100 + seed)  # every user has started by day 56
        first, later = run(events, day(60)), run(events, day(80))
        changed = ch.since(later, boundary_of(first))
        assert changed.status == ch.COMPARED
        base = changed.baseline()
        from segworkshop.population import population

        pop = population(first)
        # the same users: the earlier cohorts are what the first run judged, the new cohort what it left out
        assert (base["earlier_units"], base["earlier_successes"]) == (pop.mature, pop.successes)
        assert base["new_units"] == pop.too_recent
        flagged += any_flag(changed)
    assert flagged <= 2, flagged  # measured: 0 of 20 (smallest q 0.24)


def test_no_window_closed_since_says_there_is_no_new_cohort():
    events = make(600, 42, seed=3)  # every window closed by day 56
    changed = ch.since(run(events, day(84)), summary_of(run(events, day(70))))
    assert changed.status == ch.NO_NEW_COHORT and not len(changed.rows)
    assert "there is no new cohort to compare yet" in changed.message
    assert "No user's 14-day success window closed between the previous run's data end (2026-03-16 00:00 UTC)" in (
        changed.message
    )
    same = ch.since(run(events, day(70)), summary_of(run(events, day(70))))
    assert same.status == ch.NO_NEW_COHORT and "not after the previous run's" in same.message


# --------------------------------------------------------------------------- (c) a real change


def test_a_doubled_rate_in_the_new_cohort_is_flagged_with_its_sign():
    events = make(3000, 70, seed=11, doubled_after=day(56))
    changed = ch.since(run(events, day(84)), summary_of(run(events, day(56))))
    rows = changed.rows.set_index(["segment", "value"])
    email = rows.loc[("channel", "email")]
    assert email.beyond_noise and email.q_value <= 0.05
    assert email.change > 0 and email.ci_low > 0
    assert email.earlier_rate == pytest.approx(0.30, abs=0.05) and email.new_rate == pytest.approx(0.60, abs=0.07)
    for other in ("organic", "paid"):
        assert not rows.loc[("channel", other)].beyond_noise


# --------------------------------------------------------------------------- (d) runs that cannot be compared


def test_a_changed_success_definition_is_refused():
    events = make(600, 56, seed=5)
    changed = ch.since(run(events, day(84), within=7), summary_of(run(events, day(70))))
    assert changed.status == ch.NOT_COMPARABLE and not len(changed.rows)
    assert changed.message == (
        "The success definition changed from “purchase within 14 days (from first event)” to “purchase within 7 "
        "days (from first event)”: changes are not comparable."
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"segments": ["channel"]}, "The segments changed from [channel; platform; searched: did search"),
        (
            {"privacy": {"min_units": 5}},
            "The privacy threshold changed from 10 to 5 units: changes are not comparable.",
        ),
    ],
)
def test_changed_segments_or_privacy_threshold_are_refused(change, words):
    events = make(600, 56, seed=5)
    changed = ch.since(run(events, day(84), **change), summary_of(run(events, day(70))))
    assert changed.status == ch.NOT_COMPARABLE and words in changed.message
    assert changed.message.endswith("changes are not comparable.")


def test_a_changed_unit_is_refused():
    before = {"definition": {**ch.definition(run(make(50, 7, seed=1), day(30))), "unit": "account"}}
    now = ch.definition(run(make(50, 7, seed=1), day(30)))
    assert ch._differences(before["definition"], now) == [
        "The unit changed from account to user: changes are not comparable."
    ]


def test_an_older_summary_no_previous_run_and_no_window():
    events = make(600, 56, seed=5)
    ws = run(events, day(84))
    older = {"workshop": "/w/workshop.yaml", "started": "2026-02-01T06:00:00", "version": "0.4.0"}
    older |= {"baseline": {"units": 500, "successes": 90, "rate": 0.18}, "segments": []}
    changed = ch.since(ws, older)
    assert changed.status == ch.OLD_SUMMARY and not len(changed.rows)
    assert "did not record its data end and success definition" in changed.message and "0.4.0" in changed.message
    assert ch.since(ws, None).status == ch.FIRST_RUN
    windowless = ch.since(run(events, day(84), within=None), summary_of(run(events, day(70))))
    assert windowless.status == ch.NO_WINDOW
    assert "Comparing with the previous run needs a success window" in windowless.message
    assert "within_days:" in windowless.message
    record = ch.record(run(events, day(84), within=None))
    assert record["segments"] == [] and record["data_end"] == "2026-03-30T00:00:00+00:00"


def test_revised_data_of_the_earlier_cohorts_is_noted():
    events = make(1200, 70, seed=2)
    previous = summary_of(run(events, day(56)))
    previous["baseline"] = {**previous["baseline"], "successes": previous["baseline"]["successes"] + 3}
    changed = ch.since(run(events, day(84)), previous)
    assert changed.status == ch.COMPARED
    assert any("the data of the earlier cohorts was revised" in n for n in changed.notes)


# --------------------------------------------------------------------------- privacy


def rare_web(events: pd.DataFrame, prev_end: pd.Timestamp, new: int, earlier: int) -> pd.DataFrame:
    """Make exactly ``earlier`` earlier-cohort users and ``new`` new-cohort users web users, the rest ios/android."""
    starts = events.groupby("user_id").timestamp.min()
    closes = starts + pd.Timedelta(days=WITHIN)
    old_ids = closes[closes <= prev_end].index
    new_ids = closes[closes > prev_end].index
    web = set(old_ids[:earlier]) | set(new_ids[:new])
    out = events.copy()
    out["platform"] = np.where(out.user_id.isin(web), "web", np.where(out.platform == "web", "ios", out.platform))
    return out


def test_small_groups_are_hidden_and_cannot_be_recovered_by_subtraction():
    prev_end, end = day(56), day(84)
    events = rare_web(make(1500, 70, seed=4), prev_end, new=4, earlier=40)
    changed = ch.since(run(events, end), summary_of(run(events, prev_end)))
    rows = changed.rows.set_index(["segment", "value"])
    assert rows.loc[("platform", "web")].hidden  # 4 in the new cohort
    platform = rows.loc["platform"]
    assert platform.hidden.sum() == 2  # and a second platform, or baseline − shown = web
    assert not rows.loc["channel"].hidden.any() and not rows.loc[("baseline", "all users")].hidden
    # hidden rows stay in the family (every comparison computed), lose their numbers, never reach summary.json
    assert changed.comparisons == 9 and changed.hidden_comparisons == 2
    shared = changed.shareable().set_index(["segment", "value"])
    assert shared.loc[("platform", "web"), ["new_units", "earlier_rate", "p_value", "q_value"]].isna().all()
    published = changed.to_dict()["rows"]
    assert {(r["segment"], r["value"]) for r in published}.isdisjoint(
        set(platform[platform.hidden].index.map(lambda v: ("platform", v)))
    )
    assert len(published) == 7


def test_the_record_does_not_publish_small_groups():
    prev_end = day(56)
    events = rare_web(make(1500, 70, seed=4), prev_end, new=30, earlier=6)
    record = ch.record(run(events, prev_end))
    platforms = [s for s in record["segments"] if s["segment"] == "platform"]
    assert "web" not in {s["value"] for s in platforms}
    assert len(platforms) == 1  # a second one hidden: baseline − ios − android would give web's 6
    assert record["data_end"] == "2026-03-02T00:00:00+00:00" and len(record["fingerprint"]) == 16
    assert record["definition"]["success"] == "purchase within 14 days (from first event)"


def test_the_index_section_says_what_was_compared_and_corrected():
    from segworkshop import report

    prev_end, end = day(56), day(84)
    events = rare_web(make(1500, 70, seed=4), prev_end, new=4, earlier=40)
    previous = summary_of(run(events, prev_end))
    changed = ch.since(run(events, end), previous)
    section = report._changes_section({}, previous, changed)
    assert "Since the previous run (2026-03-01T06:00:00+00:00)" in section
    assert "Benjamini–Hochberg over all 9 comparisons computed" in section and "2 of them hidden" in section
    assert "q (BH)" in section and "fewer than 10 users in a cohort (hidden)" in section
    assert "Cohort segments (signup_week) are not compared" in section
    assert section.count("<tr>") == 1 + 9
    refused = ch.since(run(events, end, within=7), previous)
    assert "changes are not comparable" in report._changes_section({}, previous, refused)
    assert "<table>" not in report._changes_section({}, previous, refused)
    assert "changes start with the next run" in report._changes_section({}, None, None)


def test_no_float_counts_in_the_summary_block():
    events = make(600, 70, seed=9)
    block = ch.since(run(events, day(84)), summary_of(run(events, day(56)))).to_dict()
    assert block["status"] == ch.COMPARED and block["comparisons"] >= 1
    assert all(isinstance(r["new_units"], int) for r in block["rows"])
    assert not any(isinstance(v, float) and math.isnan(v) for r in block["rows"] for v in r.values())
