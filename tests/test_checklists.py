"""The worksheet's checklists mapped onto a dataset's own columns and events."""

from __future__ import annotations

import pandas as pd

from segworkshop import Workshop
from segworkshop.checklists import CHECKLISTS, suggest
from segworkshop.compare import top_values
from segworkshop.segments import parse_segment


def test_checklists_cover_the_worksheet():
    assert set(CHECKLISTS) == {"saas", "ecomm", "finserv", "demographics", "technographics", "firmographics"}
    labels = {i.label for items in CHECKLISTS.values() for i in items}
    for label in [
        "Number of logins",
        "Time in app (active days)",
        "Product adoption (core action)",
        "Feature usage",
        "Order value",
        "First-time visitors",
        "Repeat shoppers",
        "Guest shoppers",
        "Application stage",
        "Single vs multiple policies",
        "Returning customers",
    ]:
        assert label in labels


def test_suggest_maps_names_loosely_and_skips_the_success_event():
    events = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "b"],
            "event": ["Log In", "Purchase", "log_in", "search"],
            "timestamp": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-01", "2026-01-03"]),
            "Device-Type": ["ios", "ios", "web", "web"],
            "Order Value": [None, 30.0, None, None],
        }
    )
    ws = Workshop.from_dict({"data": {"events": events}, "success": {"event": "Purchase"}})
    table = suggest(ws)
    found = table[table.found != ""].set_index("item")
    assert found.loc["Platform", "spec"] == "Device-Type"
    assert found.loc["Order value", "spec"] == {
        "name": "Order Value",
        "column": "Order Value",
        "bins": [0, 20, 50, 100],
    }
    assert found.loc["Number of logins", "spec"]["frequency"] in ("Log In", "log_in")
    assert found.loc["Used search", "spec"] == {"name": "did_search", "did": "search"}
    assert "Repeat shoppers" not in found.index  # its event is the success event
    for spec in found.spec:
        parse_segment(spec)  # every suggestion is a valid segment
    missing = table[table.found == ""]
    assert "Gender" in set(missing["item"])


def test_top_values_groups_the_rest_into_other():
    df = pd.DataFrame(
        {
            "period": ["w1"] * 10,
            "value": [f"v{i}" for i in range(10)],
            "units": [100 - i for i in range(10)],
            "successes": [10] * 10,
            "complete": [True] * 10,
        }
    )
    out = top_values(df, max_values=8)
    assert list(out.value) == [f"v{i}" for i in range(7)] + ["other"]
    other = out[out.value == "other"].iloc[0]
    assert other.units == 93 + 92 + 91 and other.successes == 30
    assert other.rate == 30 / (93 + 92 + 91)
