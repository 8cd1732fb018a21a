"""The session's ledger: one correction over every comparison a session computes, one q per comparison."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_small_workshop
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests

from segworkshop.compare import compare
from segworkshop.discover import discover
from segworkshop.ledger import CACHE, row_key, session_ledger
from segworkshop.segments import parse_segment
from segworkshop.session import Session
from segworkshop.unsuccessful import profile


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Session:
    """One session for the module (building a ledger scans everything: done once, then read back)."""
    s = Session(write_small_workshop(tmp_path_factory.mktemp("ledger") / "workshop").parent)
    s.journal.add("hypotheses", "Ana", {"segment": "channel", "value": "email", "text": "email buys more"})
    s.journal.add("hypotheses", "Bo", {"segment": "platform", "value": "web", "versus": "ios", "text": "web > ios"})
    s.journal.add("hypotheses", "Bo", {"segment": "searched", "value": "yes", "text": "searchers buy more"})
    return s


def test_q_is_bh_over_the_union_of_every_page(session):
    ledger = session.ledger()
    p = np.array(list(ledger.p.values()))
    assert ledger.family == len(p) + ledger.padding and ledger.padding > 0
    q = multipletests(np.concatenate([p, np.ones(ledger.padding)]), method="fdr_bh")[1][: len(p)]
    assert np.allclose([ledger.q(k) for k in ledger.p], q)
    pages = {page for where in ledger.pages.values() for page in where}
    assert pages >= {"dashboard", "hypotheses", "discover", "unsuccessful users", "tipping points"}
    assert "comparisons this session computed" in ledger.note()


def test_one_comparison_has_one_q_on_every_page(session):
    ws, ledger = session.workshop, session.ledger()
    dashboard = ledger.apply_comparison(compare(ws)).rows.set_index(["segment", "value"])
    email = dashboard.loc[("channel", "email"), "q_value"]
    # the hypotheses page: "channel = email vs the rest" is the dashboard's row
    hyps = session.check_hypotheses().set_index("text")
    assert hyps.loc["email buys more", "q_value"] == pytest.approx(email, rel=1e-12)
    # discover's scan: the same trait value
    found = ledger.apply_discovery(discover(ws)).rows.set_index(["segment", "value"])
    assert found.loc[("channel", "email"), "q_value"] == pytest.approx(email, rel=1e-12)
    # a behaviour under two names (the dashboard's "searched", discover's "did_search", both 7 days): one entry
    assert found.loc[("did_search", "yes"), "q_value"] == pytest.approx(dashboard.loc[("searched", "yes"), "q_value"])
    assert hyps.loc["searchers buy more", "q_value"] == pytest.approx(dashboard.loc[("searched", "yes"), "q_value"])
    # the unsuccessful-users profile tests the same 2x2 table, transposed: the same p, the same q
    segs = session.segments()
    rows = ledger.apply_profile(profile(ws, by=segs), segs).set_index(["segment", "value"])
    assert rows.loc[("channel", "email"), "q_value"] == pytest.approx(email, rel=1e-12)
    r, base = rows.loc[("channel", "email")], ws.baseline()  # a trait: compared among every judged unit
    fails, wins = int(r.unsuccessful), int(r.units - r.unsuccessful)
    total_fails, total_wins = base["units"] - base["successes"], base["successes"]
    table = [[fails, wins], [total_fails - fails, total_wins - wins]]
    assert fisher_exact(table)[1] == pytest.approx(ledger.p[row_key(segs[0], "email")], rel=1e-9)


def test_the_q_does_not_depend_on_what_a_page_asks_for(session):
    """On its own, a compare by one segment corrects over its rows only; in the session it is the ledger's q."""
    ws, ledger = session.workshop, session.ledger()
    alone = compare(ws, ["channel"]).rows.set_index("value").q_value
    by_two = compare(ws, ["channel", "platform"]).rows.set_index(["segment", "value"]).q_value
    assert alone["email"] != by_two[("channel", "email")]  # the old behaviour: q moved with --by
    in_session = [ledger.apply_comparison(compare(ws, by)).rows for by in (["channel"], ["channel", "platform"])]
    assert (
        in_session[0].set_index("value").q_value["email"]
        == in_session[1].set_index(["segment", "value"]).q_value[("channel", "email")]
    )


def test_kept_once_per_state_and_recomputed_when_it_changes(session):  # last: it adds a hypothesis
    first = session.ledger()
    files = list((session.folder / CACHE).glob("ledger-*.json"))
    assert len(files) == 1
    again = session_ledger(session)
    assert again.p == first.p  # read back, not recomputed
    session.journal.add("hypotheses", "Chen", {"segment": "channel", "value": "paid", "direction": "less"})
    changed = session.ledger()
    assert len(list((session.folder / CACHE).glob("ledger-*.json"))) == 2
    assert changed.family >= first.family
    key = row_key(parse_segment("channel"), "paid")
    assert "hypotheses" in changed.pages[key]


def test_the_ledger_follows_how_the_data_is_read(small_workshop):
    """A changed identity rule, time zone or time unit gives another fingerprint (so no stale cached q)."""
    from segworkshop.ledger import fingerprint
    from segworkshop.workshop import Workshop

    base = Workshop.load(small_workshop)
    prints = {fingerprint(base, [], [])}
    text = small_workshop.read_text()
    for extra in ("  time_zone: Europe/Berlin\n", "  identity: false\n", "  time_unit: s\n"):
        small_workshop.write_text(
            text.replace(
                "data: {events: events.csv, users: users.csv}\n",
                "data:\n  events: events.csv\n  users: users.csv\n" + extra,
            )
        )
        prints.add(fingerprint(Workshop.load(small_workshop), [], []))
    assert len(prints) == 4
