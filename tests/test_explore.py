"""The explorer (explore.py): every number against plain pandas, scipy and statsmodels on the small workshop."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import ibis
import numpy as np
import pandas as pd
import pytest
from conftest import write_small_workshop
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from segworkshop import ConfigError, DataError, Workshop
from segworkshop.compare import compare, resolve_segments
from segworkshop.explore import (
    ROW_KEYS,
    Exploration,
    ExplorationTimeout,
    _Budget,
    comparison_key,
    exploration_of,
    explore,
)
from segworkshop.ledger import row_key
from segworkshop.privacy import hidden_cells
from segworkshop.session import Session

WITHIN_DAYS = 14  # the small workshop's success window
MIN_UNITS = 10  # its privacy threshold (the default)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_small_workshop(tmp_path_factory.mktemp("explore") / "workshop").parent


@pytest.fixture(scope="module")
def ws(folder) -> Workshop:
    return Workshop.load(folder / "workshop.yaml")


@pytest.fixture(scope="module")
def session(folder) -> Session:
    return Session(folder)


@pytest.fixture(scope="module")
def ledger(session):
    return session.ledger()  # scans everything once for the module, then read back from disk


# --------------------------------------------------------------------------- the independent computation


@pytest.fixture(scope="module")
def events(folder) -> pd.DataFrame:
    e = pd.read_csv(folder / "events.csv")
    e["timestamp"] = pd.to_datetime(e["timestamp"], utc=True).dt.tz_convert(None)
    return e


@pytest.fixture(scope="module")
def judged(ws, events) -> pd.DataFrame:
    """The workshop's unit table in pandas, censored by hand: a unit counts once start + 14 days <= data end."""
    units = ws.unit_table(traits=["channel", "platform", "order_value"]).to_pandas()
    for c in ("start_at", "success_at"):
        units[c] = pd.to_datetime(units[c]).dt.tz_localize(None)
    end = events.timestamp.max()
    out = units[units.start_at + pd.Timedelta(days=WITHIN_DAYS) <= end].copy()
    assert 0 < len(out) < len(units)  # the small workshop has units too recent to judge
    return out


def did_within(units: pd.DataFrame, events: pd.DataFrame, event: str, days: int) -> pd.Series:
    """yes/no: did the event in [start, start + days), by hand."""
    e = events[events.event == event].merge(units[["unit_id", "start_at"]], left_on="user_id", right_on="unit_id")
    inside = e[(e.timestamp >= e.start_at) & (e.timestamp < e.start_at + pd.Timedelta(days=days))]
    return pd.Series(np.where(units.unit_id.isin(inside.unit_id), "yes", "no"), index=units.index)


def landmark(units: pd.DataFrame, days: int) -> pd.DataFrame:
    """The units compared on a behaviour of ``days``: not yet successful at day ``days``."""
    early = units.success_at.notna() & (units.success_at < units.start_at + pd.Timedelta(days=days))
    return units[~early]


def by_hand(values: pd.Series, success: pd.Series) -> pd.DataFrame:
    """Per value: units, successes, rate, Wilson 95%, lift vs the rest, Fisher's p, BH over the rows."""
    df = pd.DataFrame({"value": values.to_numpy(), "success": success.to_numpy()})
    g = df.groupby("value").success.agg(units="size", successes="sum").reset_index()
    n_all, x_all = g.units.sum(), g.successes.sum()
    rows = []
    for r in g.itertuples(index=False):
        n1, x1 = int(r.units), int(r.successes)
        n2, x2 = n_all - n1, x_all - x1
        low, high = proportion_confint(x1, n1, alpha=0.05, method="wilson")
        p = fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])[1]
        rows.append([r.value, n1, x1, x1 / n1, low, high, (x1 / n1) / (x2 / n2) - 1, p])
    out = pd.DataFrame(rows, columns=["value", "units", "successes", "rate", "ci_low", "ci_high", "lift", "p_value"])
    out["q_value"] = multipletests(out.p_value, method="fdr_bh")[1]
    return out.set_index("value")


def check(result, expected: pd.DataFrame) -> None:
    rows = result.rows.set_index("value")
    assert sorted(rows.index) == sorted(expected.index)
    assert not rows.hidden.any()
    for col in ("units", "successes"):
        assert (rows[col].astype(int) == expected.loc[rows.index, col]).all(), col
    for col in ("rate", "ci_low", "ci_high", "lift", "p_value", "q_value"):
        assert np.allclose(rows[col], expected.loc[rows.index, col], rtol=1e-9, atol=0), col


# --------------------------------------------------------------------------- the numbers


def test_a_trait_against_pandas(ws, judged):
    result = explore(ws, "channel")
    check(result, by_hand(judged.channel, judged.success))
    assert list(result.rows.columns[: len(ROW_KEYS)]) == list(ROW_KEYS)
    assert result.baseline == {
        "units": len(judged),
        "successes": int(judged.success.sum()),
        "rate": judged.success.mean(),
    }
    assert result.left_out["too_recent"] == len(ws.unit_table(traits=[]).to_pandas()) - len(judged)
    assert result.q_source == "exploration" and "only" in result.family_note
    # the same rows as compare computes them (one set of statistics in the house)
    same = compare(ws, ["channel"], strata=False).rows.set_index("value")
    mine = result.rows.set_index("value")
    for col in ("units", "successes", "rate", "ci_low", "ci_high", "lift", "p_value", "q_value"):
        assert np.allclose(mine[col], same.loc[mine.index, col], rtol=1e-12), col


def test_a_behaviour_follows_the_landmark_rule(ws, judged, events):
    result = explore(ws, {"did": "search", "within_days": 7})
    assert result.segment.name == "did_search"  # a default name, as discover names it
    compared = landmark(judged, 7)
    check(result, by_hand(did_within(compared, events, "search", 7), compared.success))
    early = len(judged) - len(compared)
    assert early > 0
    assert result.left_out["succeeded_in_window"] == {"units": early, "successes": early}
    assert result.left_out["succeeded_in_window_note"].startswith(f"{early:,} users succeeded before day 7")
    assert result.baseline["units"] == len(compared)
    assert all("among users who had not succeeded by day 7" in c for c in result.rows.compares)


def test_bins_of_a_numeric_trait(ws, judged):
    result = explore(ws, {"column": "order_value", "bins": [0, 40, 80]})

    def label(v: float) -> str:
        if np.isnan(v):
            return "(missing)"
        return "< 0" if v < 0 else "[0, 40)" if v < 40 else "[40, 80)" if v < 80 else "80+"

    check(result, by_hand(judged.order_value.astype(float).map(label), judged.success))
    assert list(result.rows.value) == ["[0, 40)", "[40, 80)", "80+", "(missing)"]  # the bins' order
    assert any("coverage gap" in n for n in result.hygiene)


def test_within_a_subgroup(ws, judged):
    result = explore(ws, {"segment": "channel", "within": {"segment": "platform", "value": "ios"}})
    ios = judged[judged.platform == "ios"]
    check(result, by_hand(ios.channel, ios.success))  # lift and p against the rest of the ios users
    assert result.within == {"segment": "platform", "value": "ios", "units": len(ios)}
    assert result.baseline["units"] == len(ios)
    assert result.title == "Success by channel, among users with platform = ios"
    # too recent, counted in the subgroup
    units = ws.unit_table(traits=["platform"]).to_pandas()
    assert result.left_out["too_recent"] == int((units.platform == "ios").sum()) - len(ios)
    assert "users with platform = ios started in the last 14 days" in result.left_out["too_recent_note"]


def test_a_behaviour_within_a_subgroup(ws, judged, events):
    spec = Exploration(segment="searched", within={"segment": "channel", "value": "email"})
    result = explore(ws, spec)
    email = landmark(judged[judged.channel == "email"], 7)
    check(result, by_hand(did_within(email, events, "search", 7), email.success))
    early = int((judged.channel == "email").sum()) - len(email)
    assert result.left_out["succeeded_in_window"]["units"] == early


def test_the_subgroup_is_a_filter_in_the_engine(ws, monkeypatch):
    """Only aggregates come back: the rows fetched are the segment's values, not units."""
    import segworkshop.explore as module

    seen = []
    real = module.count_segments

    def spy(table, names, with_pairs):
        seen.append(table)
        return real(table, names, with_pairs)

    monkeypatch.setattr(module, "count_segments", spy)
    explore(ws, {"segment": "channel", "within": {"segment": "platform", "value": "web"}})
    sql = ibis.to_sql(seen[0])
    assert "'web'" in sql and "WHERE" in sql.upper()


# --------------------------------------------------------------------------- q from the session's ledger


def test_q_is_the_ledgers_when_the_comparison_is_in_it(ws, ledger, session):
    result = explore(ws, "channel", ledger=ledger)
    seg = result.segment
    keys = [row_key(seg, v) for v in result.rows.value]
    assert all(k in ledger.p for k in keys)
    assert np.allclose(result.rows.p_value, [ledger.p[k] for k in keys], rtol=1e-12)
    assert np.allclose(result.rows.q_value, [ledger.q(k) for k in keys], rtol=1e-12)
    assert result.q_source == "ledger" and result.family == ledger.family
    assert result.family_note == ledger.note()
    # the dashboard shows the same q
    dash = ledger.apply_comparison(compare(ws, ["channel"], strata=False)).rows.set_index("value").q_value
    assert np.allclose(result.rows.set_index("value").q_value, dash.loc[list(result.rows.value)], rtol=1e-12)
    # the same definition under another name (the dashboard's "searched"): the ledger's q too
    behaviour = explore(ws, {"did": "search", "within_days": 7}, ledger=ledger)
    assert behaviour.q_source == "ledger"
    # Session.explore is the same call with the session's ledger
    via = session.explore({"segment": "channel"})
    assert via.rows.drop(columns="q_value").equals(result.rows.drop(columns="q_value"))
    assert np.allclose(via.rows.q_value, result.rows.q_value, rtol=1e-12)


@pytest.mark.parametrize(
    "spec",
    [
        {"segment": "channel", "within": {"segment": "platform", "value": "ios"}},
        {"segment": {"column": "order_value", "bins": [0, 40, 80]}},
    ],
)
def test_q_adds_a_new_comparison_to_the_ledgers_family(ws, ledger, spec):
    result = explore(ws, spec, ledger=ledger)
    wseg = resolve_segments(ws, ["platform"])[0] if spec.get("within") else None
    keys = [comparison_key(result.segment, v, wseg, "ios" if wseg else None) for v in result.rows.value]
    assert not any(k in ledger.p for k in keys)
    p = result.rows.p_value.to_numpy()
    family = np.concatenate([p, list(ledger.p.values()), np.ones(ledger.padding)])
    expected = multipletests(family, method="fdr_bh")[1][: len(p)]
    assert np.allclose(result.rows.q_value, expected, rtol=1e-12)
    assert result.family == len(family) == ledger.family + len(p)
    assert result.q_source == "ledger + exploration"
    assert "not among them" in result.family_note and f"{len(family):,} in all" in result.family_note
    assert result.family_note.startswith(ledger.note())
    # the session's family is larger than the exploration's: never a smaller q than on its own
    alone = explore(ws, spec).rows.q_value
    assert (result.rows.q_value.to_numpy() >= alone.to_numpy() - 1e-15).all()


# --------------------------------------------------------------------------- privacy


def visit_days(units: pd.DataFrame, events: pd.DataFrame, days: int) -> pd.Series:
    """Days a week visiting, by hand: distinct UTC calendar days with a visit in [start, start + days)."""
    e = events[events.event == "visit"].merge(units[["unit_id", "start_at"]], left_on="user_id", right_on="unit_id")
    inside = e[(e.timestamp >= e.start_at) & (e.timestamp < e.start_at + pd.Timedelta(days=days))]
    n = inside.assign(day=inside.timestamp.dt.floor("D")).groupby("unit_id").day.nunique()
    return units.unit_id.map(n).fillna(0).astype(int) * 7 // days


def by_hand_hidden(values: pd.Series, success: pd.Series) -> set[str]:
    """The groups the privacy rule hides, from counts made by hand (the rule itself is tested in test_privacy)."""
    g = pd.DataFrame({"value": values.to_numpy(), "s": success.to_numpy()}).groupby("value").s.agg(["size", "sum"])
    flags = hidden_cells(g["size"].tolist(), MIN_UNITS, g["sum"].astype(int).tolist(), [str(v) for v in g.index])
    return {str(v) for v, f in zip(g.index, flags, strict=True) if f}


def check_hidden(result, expected_hidden: set[str], shown_sizes: pd.Series) -> None:
    rows = result.rows.set_index("value")
    assert set(rows.index[rows.hidden]) == expected_hidden
    hidden = rows[rows.hidden]
    assert hidden[["units", "successes", "rate", "ci_low", "ci_high", "lift", "p_value", "q_value"]].isna().all().all()
    assert (hidden.note == f"fewer than {MIN_UNITS} units (hidden)").all()  # the protectors look like the small one
    shown = rows[~rows.hidden]
    assert (shown.units.astype(int) == shown_sizes.loc[shown.index]).all()
    payload = json.loads(json.dumps(result.to_dict()))  # nothing of a hidden group travels to the room
    for row in payload["rows"]:
        if row["value"] in expected_hidden:
            assert row["units"] is None and row["successes"] is None and row["hidden"] is True


def test_a_small_group_is_hidden_with_a_second_one(ws, judged, events):
    """Visiting on 7 days of the first 7 is rare: that group is hidden, and one more of the segment (else the total
    minus the others would give it away); their p-values still count in the family."""
    compared = landmark(judged, 7)
    days = visit_days(compared, events, 7)
    sizes = days.value_counts()
    assert (sizes < MIN_UNITS).sum() >= 1 and (sizes >= MIN_UNITS).sum() >= 3
    expected = by_hand_hidden(days.astype(str), compared.success)
    assert {str(v) for v in sizes[sizes < MIN_UNITS].index} < expected and len(expected) >= 2
    result = explore(ws, {"frequency": "visit", "per": "week", "window_days": 7})
    sizes.index = sizes.index.astype(str)
    check_hidden(result, expected, sizes)
    # the q of the shown rows is BH over every row's p (hidden ones included), as by hand
    shown = result.rows[~result.rows.hidden].set_index("value")
    q = by_hand(days.astype(str), compared.success).q_value
    assert np.allclose(shown.q_value, q.loc[shown.index], rtol=1e-12)


def test_when_hiding_any_few_groups_tells_their_rate_every_group_is_hidden(ws, judged):
    """The small workshop knows an order value only for buyers: every binned group is 100% successful and the
    missing one 0%. Hiding the small group with a second one would still tell both rates (all of the hidden units
    succeeded), so the rule hides every group of the segment rather than publish a small group's rate."""
    result = explore(ws, {"column": "order_value", "bins": [0, 5, 100]})
    v = judged.order_value.astype(float)
    values = pd.cut(v, [0, 5, 100, np.inf], right=False, labels=["[0, 5)", "[5, 100)", "100+"]).astype(str)
    values = values.where(v.notna(), "(missing)")
    assert (judged.success[v.notna()]).all() and not judged.success[v.isna()].any()
    expected = by_hand_hidden(values, judged.success)
    assert expected == {"[0, 5)", "[5, 100)", "100+", "(missing)"}
    check_hidden(result, expected, values.value_counts())


# --------------------------------------------------------------------------- the spec


def test_the_spec_round_trips_and_keeps_its_key():
    specs = [
        Exploration("platform"),
        Exploration({"did": "search", "within_days": 7}, within={"segment": "platform", "value": "ios"}),
        Exploration({"frequency": "login", "per": "week", "window_days": 14}),
        Exploration({"column": "order_value", "bins": [0, 20, 50]}, within={"segment": "newsletter", "value": True}),
    ]
    for spec in specs:
        back = Exploration.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert back == spec and back.key() == spec.key() and hash(back) == hash(spec)
    assert len({s.key() for s in specs}) == len(specs)
    # stable: independent of the order of a mapping's keys, and the same in every process (no hash seed)
    a = Exploration({"did": "search", "within_days": 7})
    b = Exploration({"within_days": 7, "did": "search"})
    assert a.key() == b.key() and len(a.key()) == 16
    assert Exploration("platform").key() == "4bd1d4d3b2c6a5ae"
    assert a.describe() == "did_search"
    assert specs[1].describe() == "did_search within platform = ios"
    assert specs[3].describe() == "order_value within newsletter = true"
    # the spec is a copy: changing the caller's mapping later changes nothing
    raw = {"did": "search"}
    spec = Exploration(raw)
    raw["did"] = "purchase"
    assert spec.segment == {"did": "search"}


def test_a_finding_keeps_the_exact_comparison(ws, session):
    spec = Exploration("channel", within={"segment": "platform", "value": "ios"})
    result = explore(ws, spec)
    data = result.finding("email converts best on ios too", tag="learning")
    assert data["about"] == result.title and data["tag"] == "learning"
    session.journal.add("findings", "Ana", data)
    saved = session.findings()[-1]
    again = exploration_of(saved.data)
    assert again == spec
    redrawn = explore(ws, again)
    assert redrawn.rows.drop(columns="q_value").equals(result.rows.drop(columns="q_value"))
    assert exploration_of({"text": "no spec", "tag": "question", "about": ""}) is None
    with pytest.raises(ConfigError, match="needs its text"):
        result.finding("  ")


def test_to_dict_is_json(ws):
    out = explore(ws, {"did": "search"}).to_dict()
    again = json.loads(json.dumps(out, allow_nan=False))
    assert list(again["rows"][0])[: len(ROW_KEYS)] == list(ROW_KEYS)
    assert again["exploration"] == {"segment": {"did": "search"}, "within": None}
    assert again["key"] == Exploration({"did": "search"}).key()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("chanel", DataError, r"`segment`: no segment or trait named 'chanel'\. Did you mean 'channel'"),
        (
            {"segment": "channel", "within": {"segment": "platform", "value": "iOS"}},
            DataError,
            r"`within`: platform has no value 'iOS'\. Did you mean 'ios'\? Values of platform: android, ios, web",
        ),
        (
            {"segment": "channel", "within": {"segment": "platfrom", "value": "ios"}},
            DataError,
            r"`within.segment`: no segment or trait named 'platfrom'\. Did you mean 'platform'",
        ),
        (
            {"segment": "channel", "within": {"segment": "searched", "value": "yes"}},
            ConfigError,
            r"`within.segment` \(searched\) is a behaviour",
        ),
        (
            {"segment": "platform", "within": {"segment": "platform", "value": "ios"}},
            ConfigError,
            "nothing to compare",
        ),
        ({"did": "serch"}, DataError, r"the event 'serch' never occurs in the data\. Did you mean 'search'"),
        ({"column": "chanel", "bins": [0, 1]}, DataError, r"no column 'chanel'.*Did you mean 'channel'"),
        ({"column": "channel", "bins": [0, 1]}, DataError, "bins need a numeric column"),
        ({"did": "search", "within_days": 14}, DataError, r"within_days: 7.*lengthen `success.within_days`"),
    ],
)
def test_clear_errors(ws, spec, error, message):
    with pytest.raises(error, match=message):
        explore(ws, spec)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"segment": {"did": "search", "days": 7}}, r"unknown keys \['days'\]"),
        ({"segment": {"column": "order_value", "bins": [50, 20]}}, "strictly increasing"),
        ({"segment": "channel", "within": {"segment": "platform"}}, "`within` is a mapping with `segment` and"),
        ({"segment": "channel", "within": {"segment": "platform", "value": None}}, r"\(missing\)`\); found None"),
        ({"segment": "channel", "within": {"segment": {"did": "search"}, "value": "yes"}}, "is a behaviour"),
        ({"segment": "channel", "by": "platform"}, r"unknown keys \['by'\]"),
        ({"within": {"segment": "platform", "value": "ios"}}, "a mapping with `segment:`"),
        ({"segment": 3}, "a trait name or a segment mapping"),
        ({"segment": ""}, "is empty"),
    ],
)
def test_a_malformed_spec_fails_before_it_meets_the_data(raw, message):
    with pytest.raises(ConfigError, match=message):
        Exploration.from_dict(raw)


def test_an_id_like_trait_is_refused_before_any_test(folder):
    """A participant can pick any trait: one with a value per unit is refused (as compare refuses it), before
    thousands of tests would run."""
    users = pd.read_csv(folder / "users.csv")
    users["email"] = users.user_id + "@example.com"
    events = pd.read_csv(folder / "events.csv")
    ws = Workshop.from_dict(
        {"data": {"events": events, "users": users}, "success": {"event": "purchase", "within_days": 14}}
    )
    with pytest.raises(DataError, match=r"segment 'email' has \d+ values for \d+ units: it looks like an id"):
        explore(ws, "email")


def test_a_time_budget(ws):
    with pytest.raises(ExplorationTimeout, match=r"took longer than its 1e-09 s") as caught:
        explore(ws, "channel", timeout_s=1e-9)
    assert isinstance(caught.value, DataError) and isinstance(caught.value, TimeoutError)
    assert explore(ws, "channel", timeout_s=30).rows.shape[0] == 3  # a generous budget changes nothing
    with pytest.raises(ConfigError, match="`timeout_s` must be a number of seconds > 0"):
        explore(ws, "channel", timeout_s=0)


def test_the_budget_interrupts_a_running_duckdb_query():
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    con.raw_sql("CREATE VIEW big AS SELECT range AS x FROM range(100000000000)")  # minutes to sum
    started = time.perf_counter()
    with pytest.raises(ExplorationTimeout), _Budget(SimpleNamespace(con=con), 0.3, "a long query"):
        con.table("big").x.sum().to_pandas()
    assert time.perf_counter() - started < 10
    assert int(con.table("big").limit(3).x.sum().to_pandas()) == 3  # the connection still works
