"""Nested properties: JSON-text columns are not traits, and validate lists the paths inside every nested column."""

from __future__ import annotations

import json

import pandas as pd

from segworkshop import Workshop
from segworkshop.validate import validate


def test_json_text_is_not_a_trait_and_its_keys_are_listed(tmp_path):
    frame = pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3"],
            "event": ["view", "buy", "view"],
            "timestamp": ["2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", "2026-01-06T10:00:00Z"],
            "person_properties": [json.dumps({"plan": "pro", "email": "a@x"}), json.dumps({"plan": "free"}), None],
            "properties": [json.dumps({"$os": "iOS"}), json.dumps({"$os": "Android"}), json.dumps({})],
            "note": ["{not json", "plain", "text"],
        }
    )
    path = tmp_path / "posthog.csv"
    frame.to_csv(path, index=False)
    ws = Workshop.from_dict({"data": {"events": str(path), "preset": "posthog"}, "success": {"event": "buy"}})
    assert "person_properties" not in ws.events.columns and "properties" not in ws.events.columns
    assert "note" in ws.events.columns  # text that is not all JSON objects stays a column
    assert ws.events.os.to_pyarrow().to_pylist() == ["iOS", "Android", None]  # the preset still reads into it
    report = validate(ws)
    assert report.nested["person_properties"] == ["person_properties.email", "person_properties.plan"]
    assert "person_properties: .email, .plan" in report.to_text()
    units = ws.unit_table(traits=["person_properties.plan"]).to_pandas().set_index("unit_id")
    assert units["person_properties.plan"].fillna("-").to_dict() == {"p1": "pro", "p2": "free", "p3": "-"}


def test_key_value_arrays_are_listed_with_the_field_that_holds_the_value(tmp_path):
    rows = [
        {
            "user_pseudo_id": "d1",
            "event_name": "open",
            "event_timestamp": 1767607200000000,
            "user_properties": [{"key": "plan", "value": {"string_value": "pro", "int_value": None}}],
            "event_params": [{"key": "value", "value": {"string_value": None, "int_value": 12}}],
        }
    ]
    path = tmp_path / "ga4.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = Workshop.from_dict({"data": {"events": str(path), "preset": "ga4"}, "success": {"event": "buy"}})
    nested = validate(ws).nested
    assert nested["user_properties"] == ["user_properties[plan].string_value"]
    assert nested["event_params"] == ["event_params[value].int_value"]
