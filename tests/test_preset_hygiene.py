"""Presets keep what matters and drop what misleads: vendor bookkeeping is not a trait, Heap's per-event tables
name no event, an alias appears once, ids and times stored as numbers are never binned nor offered (one rule for
validate, init, discover and the segment picker), names match whatever their case, and Heap says where its traits
live. Tiny hand-made exports; every expectation written out."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from segworkshop import DataError, Workshop
from segworkshop.checklists import suggest
from segworkshop.config import load_config
from segworkshop.discover import candidate_segments
from segworkshop.presets import PRESETS
from segworkshop.profile import trait_profile
from segworkshop.scaffold import init
from segworkshop.validate import validate

FIXTURES = Path(__file__).parent / "fixtures" / "presets"
T0 = pd.Timestamp("2026-01-05 10:00:00")


def workshop(events, preset: str | None = None, **data) -> Workshop:
    spec = {"events": events, **({"preset": preset} if preset else {}), **data}
    return Workshop.from_dict({"data": spec, "success": {"event": "purchase"}})


def verdicts(ws: Workshop) -> dict[str, str]:
    return dict(zip(*(trait_profile(ws).pipe(lambda t: (t.column, t.verdict))), strict=True))


# --------------------------------------------------------------------------- 1. vendor bookkeeping is not a trait


def segment_tracks(n_users: int = 6) -> pd.DataFrame:
    """Segment's warehouse `tracks` table (Warehouse Schemas doc), two calls per user, the first anonymous."""
    rows = []
    for u in range(n_users):
        for k, event in enumerate(["product_viewed", "purchase"]):
            at = T0 + pd.Timedelta(hours=u, minutes=10 * k)
            rows.append(
                {
                    "id": f"ajs-{u}-{k}",
                    "received_at": at + pd.Timedelta(seconds=1),
                    "uuid_ts": at + pd.Timedelta(seconds=3),
                    "uuid": f"uu-{u}-{k}",
                    "loaded_at": at + pd.Timedelta(minutes=5),
                    "anonymous_id": f"anon-{u}",
                    "user_id": None if k == 0 else f"user-{u}",
                    "event": event,
                    "event_text": event.replace("_", " ").title(),
                    "timestamp": at,
                    "sent_at": at,
                    "original_timestamp": at,
                    "context_library_name": "analytics.js",
                    "context_library_version": "5.1.0",
                    "context_os_name": ["iOS", "Android"][u % 2],
                    "context_campaign_medium": ["email", "cpc", "social"][u % 3],
                    "plan": ["free", "pro", "team"][u % 3],
                }
            )
    return pd.DataFrame(rows)


def test_segment_bookkeeping_is_not_a_trait():
    ws = workshop(segment_tracks(), "segment")
    # event_text (the event's name again), the message and loader ids, the other three timestamps, the SDK and the
    # anonymous id (coalesced into the person) are gone; the context trait is extracted once, under the preset's name
    assert ws.events.columns == ("user_id", "event", "timestamp", "os", "context_campaign_medium", "plan")
    assert ws.trait_columns() == ["os", "context_campaign_medium", "plan"]
    assert sorted(ws.events.to_pandas().os.unique()) == ["Android", "iOS"]
    report = validate(ws)
    assert list(report.traits.column) == ["os", "context_campaign_medium", "plan"]
    assert not any("event_text" in f.message or "'id'" in f.message for f in report.findings)


@pytest.mark.parametrize(
    ("name", "preset", "gone", "kept"),
    [
        pytest.param(
            "amplitude_export.json",
            "amplitude",
            {
                "uuid",
                "$insert_id",
                "event_id",
                "client_event_time",
                "client_upload_time",
                "server_received_time",
                "server_upload_time",
                "device_id",
                "app",
            },
            ("os", "device", "city", "country", "device_type", "language", "library", "os_version", "platform"),
            id="amplitude",
        ),
        pytest.param(
            "posthog_events.jsonl",
            "posthog",
            {"uuid", "distinct_id", "elements_chain", "team_id"},
            ("os", "browser", "device_type", "country"),
            id="posthog-jsonl",
        ),
        pytest.param(
            "posthog_events.csv",
            "posthog",
            {"uuid", "distinct_id", "elements_chain", "created_at", "properties"},
            ("os", "browser", "device_type", "country"),
            id="posthog-csv",
        ),
        pytest.param(
            "ga4_events.jsonl",
            "ga4",
            {"event_date", "event_previous_timestamp", "event_bundle_sequence_id", "stream_id"},
            ("device_category", "os", "browser", "country", "source", "medium", "platform"),
            id="ga4",
        ),
        pytest.param(
            "heap_all_events.csv",
            "heap",
            {"event_id"},
            ("library", "platform", "device_type", "country", "region", "city", "browser", "referrer"),
            id="heap",
        ),
    ],
)
def test_each_vendors_bookkeeping_is_dropped(name, preset, gone, kept):
    ws = workshop(str(FIXTURES / name), preset)
    raw = set(ws.mapped.raw.columns)
    assert gone <= raw  # they are in the export ...
    traits = ws.trait_columns()
    assert not gone & set(traits)  # ... and not among the traits
    assert [t for t in traits if t in kept] == list(kept)


def test_mixpanel_flattened_export_drops_its_bookkeeping_by_the_last_part_of_the_name():
    """A flattened raw export (`properties.$insert_id` as a column): the drop list matches the property's name."""
    df = pd.DataFrame(
        {
            "event": ["Sign Up", "purchase", "Sign Up"],
            "properties.time": [1767607200, 1767610925, 1767657599],
            "properties.distinct_id": ["u-1", "u-1", "u-2"],
            "properties.$insert_id": ["a1", "a2", "a3"],
            "properties.mp_processing_time_ms": [1767607200500, 1767610925500, 1767657599500],
            "properties.$mp_api_timestamp_ms": [1767607200400, 1767610925400, 1767657599400],
            "properties.$os": ["Mac OS X", "Mac OS X", "iOS"],
            "properties.plan": ["free", "pro", "free"],
        }
    )
    ws = workshop(df, "mixpanel")
    assert ws.events.columns == ("user_id", "event", "timestamp", "os", "properties.plan")
    assert ws.events.to_pandas().os.tolist() == ["Mac OS X", "Mac OS X", "iOS"]


# --------------------------------------------------------------------------- 2. Heap's per-event tables


def heap_event_table() -> pd.DataFrame:
    """A Heap Connect per-event table (checkout_complete_order): no event_table_name; `type` is the interaction."""
    return pd.DataFrame(
        {
            "event_id": [6523003, 6523009],
            "user_id": [4419823312, 7700123],
            "session_id": [8812002, 8812003],
            "time": [T0, T0 + pd.Timedelta(hours=2)],
            "type": ["click", "click"],
            "library": ["web", "ios"],
            "platform": ["Mac OS X", "iOS"],
        }
    )


def test_heap_per_event_table_never_takes_type_as_the_event():
    with pytest.raises(DataError) as err:
        workshop(heap_event_table(), "heap").events  # noqa: B018
    text = str(err.value)
    assert "no column for `event`: looked for ['event_table_name', 'event_name'] (from the heap preset)" in text
    assert "per-event table" in text and "the event is the table's name" in text
    assert "its `type` column is the kind of interaction Heap captured (click, view page, submit, change)" in text
    assert "Read the all_events table instead" in text and "'checkout_complete_order' AS event_table_name" in text
    # the fix, as the message says it: the table's name as event_table_name
    named = heap_event_table().assign(event_table_name="checkout_complete_order")
    events = workshop(named, "heap").events.to_pandas()
    assert events.event.tolist() == ["checkout_complete_order", "checkout_complete_order"]
    assert "type" in events.columns and events.type.tolist() == ["click", "click"]  # a property, not the name


# --------------------------------------------------------------------------- 3. an alias appears once


def test_amplitude_aliases_appear_once():
    ws = workshop(str(FIXTURES / "amplitude_export.json"), "amplitude")
    events = ws.events.to_pandas().sort_values("timestamp")
    assert {"os_name", "device_family"}.isdisjoint(ws.events.columns)  # extracted as os and device: not kept again
    assert events.os.tolist() == ["ios", "ios", "android"]
    assert events.device.tolist() == ["Apple iPhone", "Apple iPhone", "Samsung Phone"]
    assert events.device_type.tolist() == ["Apple iPhone 15", "Apple iPhone 15", "Samsung Galaxy S23"]  # not an alias


def ga4_app_events(path: Path, n_users: int = 40) -> Path:
    """A GA4 export of two app streams: device.operating_system is platform in other letters, stream_id one per
    platform; device.category differs."""
    rng = np.random.default_rng(4)
    lines = []
    for u in range(n_users):
        android = u % 2 == 0
        for k, name in enumerate(["first_open", "purchase"]):
            lines.append(
                {
                    "event_timestamp": str(1767607200000000 + u * 3_600_000_000 + k * 60_000_000),
                    "event_name": name,
                    "user_pseudo_id": f"p{u}",
                    "platform": "ANDROID" if android else "IOS",
                    "stream_id": "4178900001" if android else "4178900002",
                    "device": {
                        "category": ["mobile", "tablet"][int(rng.integers(0, 2))],
                        "operating_system": "Android" if android else "iOS",
                    },
                }
            )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_ga4_same_groups_under_another_name_are_one_trait(tmp_path):
    ws = workshop(str(ga4_app_events(tmp_path / "events_20260105.jsonl")), "ga4")
    assert "stream_id" not in ws.events.columns  # the data stream's id: the platform again
    v = verdicts(ws)
    assert v["platform"] == "ok"
    assert v["os"] == "duplicate of 'platform': the same groups under another name"
    assert v["device_category"] == "ok"
    events = ws.events.to_pandas()
    assert set(zip(events.platform, events.os, strict=True)) == {("ANDROID", "Android"), ("IOS", "iOS")}


# --------------------------------------------------------------------------- 4. ids and epoch numbers: one rule


def numeric_export(n_users: int = 200, seed: int = 5) -> pd.DataFrame:
    """Events with numeric columns a naive profile would bin: an event id, a first-touch time in µs (named), a
    signup time in epoch seconds (not named: spread like times), a YYYYMMDD date, a product id with many values;
    and two real traits: an amount and a plan."""
    rng = np.random.default_rng(seed)
    first = 1767607200 + rng.integers(0, 60 * 86400, n_users)  # 60 days of signups, epoch seconds
    rows = []
    for u in range(n_users):
        for k, event in enumerate(["visit", "search", "purchase" if u % 3 == 0 else "visit"]):
            at = pd.Timestamp(int(first[u]) + 3600 * k, unit="s")
            rows.append(
                {
                    "user_id": f"u{u:03d}",
                    "event": event,
                    "timestamp": at.isoformat(),
                    "event_id": 900_000 + 3 * u + k,
                    "user_first_touch_timestamp": int(first[u]) * 1_000_000,
                    "signup": int(first[u]),
                    "event_date": int(at.strftime("%Y%m%d")),
                    "product": int(rng.integers(1000, 1400)),
                    "amount": round(float(first[u] % 997) / 3, 2),
                    "plan": ["free", "pro", "team"][u % 3],
                }
            )
    return pd.DataFrame(rows)


def test_ids_and_epoch_numbers_are_never_binned_nor_offered(tmp_path):
    df = numeric_export()
    ws = Workshop.from_dict({"data": {"events": df}, "success": {"event": "purchase", "within_days": 14}})
    v = verdicts(ws)
    assert v["event_id"] == "id-like: an identifier (600 values), not a quantity to bin"
    assert (
        v["user_first_touch_timestamp"]
        == "epoch-like: a time stored as a number (epoch us): not a segment, never binned"
    )
    assert v["signup"] == "epoch-like: a time stored as a number (epoch s): not a segment, never binned"
    assert v["event_date"].startswith("epoch-like: a time stored as a number (a YYYYMMDD date)")
    assert v["product"] == "id-like: too many values to segment on"
    assert v["amount"] == "numeric: segment with bins"
    assert v["plan"] == "ok"
    report = validate(ws)
    warned = " ".join(f.message for f in report.findings)
    assert "'user_first_touch_timestamp' looks like a time stored as a number (epoch us)" in warned
    assert "'event_id' looks like an id (600 values)" in warned
    # discover scans the plan and bins the amount, nothing else
    segments, _, _ = candidate_segments(ws)
    traits = {s.name: s for s in segments if s.kind in ("trait", "bins")}
    assert sorted(traits) == ["amount", "plan"] and traits["amount"].kind == "bins"
    # the segment picker's suggestions (checklists.suggest): the checklist's "Product" is not the product id
    found = suggest(ws)
    assert "product" not in set(found.found) and "plan" in set(found.found)
    # init writes only the plan as a segment
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False)
    config = load_config(init(tmp_path / "w", path))
    assert list(config.segments) == ["plan"]


def test_a_heap_event_id_and_a_ga4_first_touch_are_judged_so_without_a_preset():
    df = pd.DataFrame(
        {
            "user_id": [f"u{i % 80}" for i in range(240)],
            "event": ["visit", "purchase", "visit"] * 80,
            "timestamp": [(T0 + pd.Timedelta(minutes=7 * i)).isoformat() for i in range(240)],
            # Heap's bigint event ids sit in the epoch-µs range: the name says id first
            "event_id": [4029384756102938 + 7919 * i for i in range(240)],
            "few_times_ms": [1767607200000 + 1000 * (i % 3) for i in range(240)],  # 3 values, named: still a time
        }
    )
    v = verdicts(workshop(df))
    assert v["event_id"] == "id-like: an identifier (240 values), not a quantity to bin"
    assert v["few_times_ms"] == "epoch-like: a time stored as a number (epoch ms): not a segment, never binned"


# --------------------------------------------------------------------------- 5. upper-cased warehouse names


def test_upper_case_names_drop_and_judge_alike():
    df = segment_tracks(60).rename(columns=str.upper)
    df["SIGNED_UP_AT"] = [1767607200 + 86400 * (i // 2) for i in range(len(df))]  # epoch seconds, per user
    df["ORDER_ID"] = [5_000_000 + i for i in range(len(df))]
    ws = workshop(df, "segment")
    assert ws.events.columns == (
        "user_id", "event", "timestamp", "os", "CONTEXT_CAMPAIGN_MEDIUM", "PLAN", "SIGNED_UP_AT", "ORDER_ID",
    )  # fmt: skip
    assert "CONTEXT_OS_NAME" not in ws.events.columns  # read once, as os
    v = verdicts(ws)
    assert v["SIGNED_UP_AT"] == "epoch-like: a time stored as a number (epoch s): not a segment, never binned"
    assert v["ORDER_ID"] == "id-like: an identifier (120 values), not a quantity to bin"
    assert v["os"] == "ok" and v["PLAN"] == "ok"


# --------------------------------------------------------------------------- 6. where Heap's traits live


def heap_tables(folder: Path, n_users: int = 30) -> Path:
    """A DuckDB file as Heap Connect syncs it: all_events (no traits), users (one row each), sessions (two each)."""
    path = folder / "heap.duckdb"
    con = duckdb.connect(str(path))
    events = pd.DataFrame(
        {
            "event_id": range(2 * n_users),
            "user_id": [u for u in range(n_users) for _ in range(2)],
            "session_id": [10_000 + 2 * u + k for u in range(n_users) for k in range(2)],
            "time": [T0 + pd.Timedelta(hours=u, minutes=5 * k) for u in range(n_users) for k in range(2)],
            "event_table_name": [e for u in range(n_users) for e in ("pageviews", "purchase" if u % 2 else "cart")],
        }
    )
    users = pd.DataFrame({"user_id": range(n_users), "plan": ["free", "pro", "team"] * (n_users // 3)})
    sessions = pd.DataFrame(
        {"session_id": events.session_id, "user_id": events.user_id, "platform": ["web", "ios"] * n_users}
    )
    for name, frame in (("all_events", events), ("users", users), ("sessions", sessions)):
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    con.close()
    return path


def test_heap_says_where_its_traits_live(tmp_path):
    db = str(heap_tables(tmp_path))
    assert "`data.users: {table: users}`" in PRESETS["heap"].doc and "sessions" in PRESETS["heap"].doc
    events = {"table": "all_events", "database": db}
    bare = validate(workshop(events, "heap"))
    assert bare.traits.empty  # event_id is bookkeeping; nothing else came with the events
    hint = next(f.message for f in bare.findings if "heap preset found no trait" in f.message)
    assert "add `data.users: {table: users}`" in hint
    assert "never pass it as `data.users`" in hint and "many per user" in hint
    # the advice, followed as written: the users table's traits, and no hint any more
    with_users = validate(workshop(events, "heap", users={"table": "users", "database": db}))
    assert list(with_users.traits.column) == ["plan"] and with_users.traits.verdict.tolist() == ["ok"]
    assert not any("heap preset found no trait" in f.message for f in with_users.findings)
    # and what it warns against: sessions passed as users is an error naming the repeated key
    with pytest.raises(DataError, match="more than one row"):
        validate(workshop(events, "heap", users={"table": "sessions", "database": db}))
