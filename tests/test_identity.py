"""Identity stitching and nested property paths: people, not ids; properties where vendors put them.

Each expected number is worked out by hand from the rows written here, or by a plain-pandas computation of the
stitching rule (identity.py) over a generated population.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from segworkshop import ConfigError, DataError, Workshop
from segworkshop.compare import compare
from segworkshop.validate import validate


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def mixpanel_row(event, t, device, user=None, **props):
    """A Mixpanel raw-export row under simplified ID merge: distinct_id is `$device:<id>` until the login."""
    properties = {"time": t, "distinct_id": user or f"$device:{device}", "$device_id": device, **props}
    if user:
        properties["$user_id"] = user
    return {"event": event, "properties": properties}


T0 = 1767607200  # 2026-01-05 10:00 UTC
DAY = 86400


def test_mixpanel_anonymous_events_join_the_person_who_logs_in(tmp_path):
    rows = [
        mixpanel_row("View", T0, "d1"),  # anonymous, then logs in as alice on the same device
        mixpanel_row("Sign Up", T0 + 60, "d1", "alice", plan="pro"),
        mixpanel_row("Purchase", T0 + 2 * DAY, "d1", "alice"),
        mixpanel_row("View", T0 + 3 * DAY, "d2", "alice"),  # alice on a second device, logged in
        mixpanel_row("View", T0 + 4 * DAY, "d3"),  # never logs in
        mixpanel_row("View", T0 + 30 * DAY, "d9", "late"),  # keeps the data open past everyone's window
    ]
    ws = Workshop.from_dict(
        {
            "data": {"events": write_jsonl(tmp_path / "mp.jsonl", rows), "preset": "mixpanel"},
            "success": {"event": "Purchase", "within_days": 14},
        }
    )
    events = ws.events.to_pandas().sort_values("timestamp")
    assert events.user_id.tolist() == ["alice", "alice", "alice", "alice", "$device:d3", "late"]
    table = ws.unit_table(traits=[]).to_pandas().set_index("unit_id")
    assert table.loc["alice", "start_at"] == pd.Timestamp("2026-01-05 10:00:00")  # the anonymous first view
    assert ws.baseline()["units"] == 2 and ws.baseline()["successes"] == 1  # late: window still open
    report = validate(ws)
    assert "4 ids in the export merged into 3 people" in report.identity
    assert report.identity in report.to_text()


def test_identity_off_and_by_hand(tmp_path):
    rows = [
        {"type": "track", "event": "view", "anonymousId": "a1", "userId": None, "timestamp": "2026-01-05T10:00:00Z"},
        {"type": "track", "event": "buy", "anonymousId": "a1", "userId": "U", "timestamp": "2026-01-05T11:00:00Z"},
    ]
    path = write_jsonl(tmp_path / "seg.jsonl", rows)
    on = Workshop.from_dict({"data": {"events": path, "preset": "segment"}, "success": {"event": "buy"}})
    assert sorted(on.events.user_id.to_pandas()) == ["U", "U"]
    off = Workshop.from_dict(
        {"data": {"events": path, "preset": "segment", "identity": False}, "success": {"event": "buy"}}
    )
    assert sorted(off.events.user_id.to_pandas()) == ["U", "a1"]
    by_hand = Workshop.from_dict(
        {
            "data": {
                "events": path,
                "columns": {"user_id": "anonymousId"},
                "identity": {"known": "userId", "anonymous": "anonymousId"},
            },
            "success": {"event": "buy"},
        }
    )
    assert sorted(by_hand.events.user_id.to_pandas()) == ["U", "U"]
    with pytest.raises(ConfigError, match=r"data\.identity"):
        Workshop.from_dict({"data": {"events": path, "identity": {"known": "userId"}}, "success": {"event": "buy"}})


def test_a_shared_device_goes_to_the_first_who_logged_in_and_ties_to_the_smallest_id(tmp_path):
    rows = [
        mixpanel_row("View", T0, "shared"),
        mixpanel_row("View", T0 + 100, "shared", "bob"),  # first login on the shared device
        mixpanel_row("View", T0 + 200, "shared", "ann"),
        mixpanel_row("View", T0 + 300, "shared"),  # anonymous again: still bob's device
        mixpanel_row("View", T0, "tie", "zed"),  # two logins at the same instant: the smallest id
        mixpanel_row("View", T0, "tie", "amy"),
        mixpanel_row("View", T0 + 50, "tie"),
    ]
    ws = Workshop.from_dict(
        {
            "data": {"events": write_jsonl(tmp_path / "mp.jsonl", rows), "preset": "mixpanel"},
            "success": {"event": "Buy"},
        }
    )
    events = ws.events.to_pandas()
    anonymous = events[
        events.timestamp.isin([pd.Timestamp("2026-01-05 10:05:00"), pd.Timestamp("2026-01-05 10:00:50")])
    ]
    assert sorted(anonymous.user_id) == ["amy", "bob"]


def test_segment_warehouse_links_table_and_upper_case_columns(tmp_path):
    """Snowflake-style upper-case names; a person whose tracks never carry both ids is linked by `identifies`."""
    tracks = pd.DataFrame(
        {
            "ANONYMOUS_ID": ["a1", "a1", "a2"],
            "USER_ID": [None, None, "U2"],
            "EVENT": ["view", "buy", "view"],
            "TIMESTAMP": ["2026-01-05T10:00:00Z", "2026-01-06T10:00:00Z", "2026-01-05T12:00:00Z"],
        }
    )
    identifies = pd.DataFrame({"ANONYMOUS_ID": ["a1"], "USER_ID": ["U1"], "TIMESTAMP": ["2026-01-05T10:30:00Z"]})
    tracks.to_csv(tmp_path / "tracks.csv", index=False)
    identifies.to_csv(tmp_path / "identifies.csv", index=False)
    ws = Workshop.from_dict(
        {
            "data": {
                "events": str(tmp_path / "tracks.csv"),
                "preset": "segment",
                "identity": {
                    "known": "user_id",
                    "anonymous": "anonymous_id",
                    "links": str(tmp_path / "identifies.csv"),
                },
            },
            "success": {"event": "buy"},
        }
    )
    assert sorted(ws.events.user_id.to_pandas()) == ["U1", "U1", "U2"]
    assert ws.baseline()["units"] == 2


def test_segment_identify_traits_are_a_segment(tmp_path):
    """S3 logs hold every call type: track calls are the events, identify calls give `traits.*` (first value)."""
    rows = [
        {"type": "page", "anonymousId": "a1", "userId": None, "timestamp": "2026-01-05T09:59:00Z", "name": "home"},
        {"type": "track", "event": "view", "anonymousId": "a1", "userId": None, "timestamp": "2026-01-05T10:00:00Z"},
        {
            "type": "identify",
            "anonymousId": "a1",
            "userId": "A",
            "timestamp": "2026-01-05T10:01:00Z",
            "traits": {"plan": "pro"},
        },
        {
            "type": "identify",
            "anonymousId": "a1",
            "userId": "A",
            "timestamp": "2026-01-07T10:01:00Z",
            "traits": {"plan": "team"},
        },
        {"type": "track", "event": "buy", "anonymousId": "a1", "userId": "A", "timestamp": "2026-01-06T10:00:00Z"},
        {
            "type": "identify",
            "anonymousId": "c1",
            "userId": "C",
            "timestamp": "2026-01-05T12:00:00Z",
            "traits": {"plan": "free"},
        },
        {"type": "track", "event": "view", "anonymousId": "c1", "userId": "C", "timestamp": "2026-01-05T12:01:00Z"},
        {"type": "track", "event": "view", "anonymousId": "b1", "userId": None, "timestamp": "2026-01-05T13:00:00Z"},
        {"type": "track", "event": "view", "anonymousId": "z", "userId": "Z", "timestamp": "2026-02-05T12:00:00Z"},
    ]
    ws = Workshop.from_dict(
        {
            "data": {"events": write_jsonl(tmp_path / "seg.jsonl", rows), "preset": "segment"},
            "success": {"event": "buy", "within_days": 14},
            "segments": ["traits.plan"],
        }
    )
    assert ws.events.count().to_pyarrow().as_py() == 5  # track calls only
    assert "type" not in ws.events.columns and "name" in ws.events.columns
    result = compare(ws, strata=False).rows.set_index("value")
    assert result.loc["pro", "units"] == 1 and result.loc["pro", "successes"] == 1  # the first identify's plan
    assert result.loc["free", "units"] == 1 and result.loc["(missing)", "units"] == 1  # b1 never identified


def wide_rows(n_people=40, n_keys=520, seed=5):
    """Mixpanel rows whose `properties` hold more than 500 distinct keys (DuckDB reads them as a MAP)."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_people):
        plan = ["free", "pro"][p % 2]
        t = T0 + int(rng.integers(0, 5 * DAY))
        rows.append(mixpanel_row("View", t, f"d{p}", **{f"k{(p * 13) % n_keys}": 1}))
        extra = {f"k{(p * 13 + j) % n_keys}": j for j in range(1, 14)}
        rows.append(mixpanel_row("Sign Up", t + 60, f"d{p}", f"u{p}", plan=plan, **extra))
        if (p % 2 == 1) or p % 5 == 0:
            rows.append(mixpanel_row("Purchase", t + DAY, f"d{p}", f"u{p}", plan=plan, **{"$os": "iOS"}))
    rows.append(mixpanel_row("View", T0 + 40 * DAY, "dz", "late"))
    return rows


def test_wide_json_reads_as_a_map_and_still_works(tmp_path):
    rows = wide_rows()
    path = write_jsonl(tmp_path / "wide.jsonl", rows)
    ws = Workshop.from_dict(
        {
            "data": {"events": path, "preset": "mixpanel"},
            "success": {"event": "Purchase", "within_days": 14},
            "segments": ["properties.plan"],
        }
    )
    assert ws.mapped.raw.properties.type().is_map()  # the layout that broke the preset
    keys = {k for r in rows for k in r["properties"]}
    assert len(keys) > 500
    truth = pd.DataFrame([{**r["properties"], "event": r["event"]} for r in rows])
    truth["person"] = truth["$user_id"].fillna(
        truth["$device_id"].map(truth.dropna(subset=["$user_id"]).groupby("$device_id")["$user_id"].first())
    )
    assert ws.baseline()["units"] == truth.person.nunique() - 1  # the late person's window is still open
    result = compare(ws, strata=False).rows.set_index("value")
    people = (
        truth[truth.person != "late"]
        .groupby("person")
        .agg(plan=("plan", "first"), buy=("event", lambda e: (e == "Purchase").any()))
    )
    for plan, group in people.groupby("plan"):
        assert result.loc[plan, "units"] == len(group)
        assert result.loc[plan, "successes"] == group.buy.sum()
    assert set(ws.events.os.to_pandas().dropna()) == {"iOS"}  # a preset trait out of the map


def test_nested_paths_as_segments_by_and_where(tmp_path):
    """Amplitude's user_properties.plan, GA4's user_properties[plan].string_value, and a where: on a path."""
    amp = [
        {
            "amplitude_id": 1,
            "event_type": "open",
            "event_time": "2026-01-05 10:00:00.000000",
            "user_properties": {"plan": "pro"},
        },
        {
            "amplitude_id": 1,
            "event_type": "buy",
            "event_time": "2026-01-06 10:00:00.000000",
            "user_properties": {"plan": "pro"},
            "event_properties": {"value": "big"},
        },
        {
            "amplitude_id": 2,
            "event_type": "open",
            "event_time": "2026-01-05 11:00:00.000000",
            "user_properties": {"plan": "free"},
        },
        {
            "amplitude_id": 2,
            "event_type": "buy",
            "event_time": "2026-01-06 11:00:00.000000",
            "user_properties": {"plan": "free"},
            "event_properties": {"value": "small"},
        },
        {"amplitude_id": 3, "event_type": "open", "event_time": "2026-02-05 11:00:00.000000", "user_properties": {}},
    ]
    ws = Workshop.from_dict(
        {
            "data": {"events": write_jsonl(tmp_path / "amp.json", amp), "preset": "amplitude"},
            "success": {"event": "buy", "within_days": 14, "where": {"event_properties.value": "big"}},
        }
    )
    result = compare(ws, by=["user_properties.plan"], strata=False).rows.set_index("value")
    assert result.loc["pro", "successes"] == 1 and result.loc["free", "successes"] == 0
    assert ws.has_trait("user_properties.plan") and not ws.has_trait("user_properties.nope")
    ga4 = [
        {
            "user_pseudo_id": "p1",
            "event_name": "open",
            "event_timestamp": 1767607200000000,
            "user_properties": [{"key": "plan", "value": {"string_value": "team", "int_value": None}}],
        },
        {"user_pseudo_id": "p2", "event_name": "open", "event_timestamp": 1767607300000000, "user_properties": []},
    ]
    ws = Workshop.from_dict(
        {
            "data": {"events": write_jsonl(tmp_path / "ga4.jsonl", ga4), "preset": "ga4"},
            "success": {"event": "buy", "within_days": 7},
        }
    )
    units = ws.unit_table(traits=["user_properties[plan].string_value"]).to_pandas().set_index("unit_id")
    assert units.loc["p1", "user_properties[plan].string_value"] == "team"
    assert pd.isna(units.loc["p2", "user_properties[plan].string_value"])
    with pytest.raises(DataError, match="no segment or trait named 'user_properties\\[nope\\]"):
        compare(ws, by=["user_properties[nope].string_value"])


def test_segment_warehouse_users_table_is_keyed_by_id(tmp_path):
    """Segment's warehouse `users` table is keyed by `id`: the preset knows, and never re-keys the events."""
    pd.DataFrame(
        {
            "id": ["m1", "m2", "m3"],
            "user_id": ["U1", "U1", "U2"],
            "anonymous_id": ["a1", "a1", "a2"],
            "event": ["view", "buy", "view"],
            "event_text": ["view", "buy", "view"],
            "timestamp": ["2026-01-05T10:00:00Z", "2026-01-06T10:00:00Z", "2026-01-05T12:00:00Z"],
        }
    ).to_csv(tmp_path / "tracks.csv", index=False)
    pd.DataFrame({"ID": ["U1", "U2"], "PLAN": ["pro", "free"]}).to_csv(tmp_path / "users.csv", index=False)
    ws = Workshop.from_dict(
        {
            "data": {"events": str(tmp_path / "tracks.csv"), "users": str(tmp_path / "users.csv"), "preset": "segment"},
            "success": {"event": "buy"},
        }
    )
    assert sorted(ws.events.user_id.to_pandas()) == ["U1", "U1", "U2"]
    units = ws.unit_table(traits=["PLAN"]).to_pandas().set_index("unit_id")
    assert units.PLAN.to_dict() == {"U1": "pro", "U2": "free"} and units.success.to_dict() == {"U1": True, "U2": False}


def test_validate_warns_when_anonymous_ids_are_not_stitched(tmp_path):
    frame = pd.DataFrame(
        {
            "user_id": [None, "U"],
            "anonymous_id": ["a1", "a1"],
            "event": ["view", "buy"],
            "timestamp": ["2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"],
        }
    )
    ws = Workshop.from_dict({"data": {"events": frame}, "success": {"event": "buy"}})
    text = validate(ws).to_text()
    assert "data.identity: {known: user_id, anonymous: anonymous_id}" in text
    fixed = Workshop.from_dict(
        {
            "data": {"events": frame, "identity": {"known": "user_id", "anonymous": "anonymous_id"}},
            "success": {"event": "buy"},
        }
    )
    report = validate(fixed)
    assert "no identity rule" not in report.to_text()
    assert "2 ids in the export merged into 1 people" not in report.identity  # one id was empty, not a person
    assert fixed.baseline()["units"] == 1


def test_validate_says_when_the_vendor_merged_the_ids():
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures" / "presets"
    ws = Workshop.from_dict(
        {"data": {"events": str(fixtures / "amplitude_export.json"), "preset": "amplitude"}, "success": {"event": "x"}}
    )
    assert validate(ws).identity.startswith("identity: amplitude_id is Amplitude's merged user")
    data = {"events": str(fixtures / "amplitude_export.json"), "preset": "amplitude", "columns": {"user_id": "user_id"}}
    by_hand = Workshop.from_dict({"data": data, "success": {"event": "x"}})  # the app's own id: nothing is claimed
    assert validate(by_hand).identity is None
