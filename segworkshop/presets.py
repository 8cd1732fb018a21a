"""Column layouts of the common analytics exports, as each vendor documents them.

A preset maps the canonical fields (user_id, event, timestamp, session_id) and a few well-known traits onto the
vendor's field names. A value is a column or a dotted path into a nested field (``properties.$os``: a struct
field, or a key of a JSON column), ``name[key]`` picks the ``value`` of a key/value array (GA4's
``event_params``), a list gives alternatives (the first one present in the data is used, so the same preset fits
the JSON export and the warehouse table), and ``{coalesce: [a, b]}`` takes the first non-null of several.
Anything in ``data.columns`` overrides the preset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .identity import IdentityRule


@dataclass(frozen=True)
class Preset:
    name: str
    doc: str
    columns: dict[str, Any]
    traits: dict[str, Any] = field(default_factory=dict)
    time_unit: str = "auto"
    identity: IdentityRule | None = None  # how the vendor's anonymous and known ids make one person
    calls: tuple[str, tuple[str, ...]] | None = None  # (call-type column, the types that are events)
    trait_calls: tuple[str, str] | None = None  # (call type, field) whose rows give the person's traits
    merged: str = ""  # where the vendor has already merged a person's ids, in words
    keys: dict[str, Any] = field(default_factory=dict)  # the id column of the vendor's users / accounts tables


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="heap",
            doc="Heap Connect warehouse tables (all_events): user_id, event_table_name, time (UTC), session_id.",
            columns={
                "user_id": "user_id",
                "event": ["event_table_name", "event_name", "type"],
                "timestamp": "time",
                "session_id": "session_id",
            },
            traits={
                "platform": ["platform"],
                "device_type": ["device_type"],
                "browser": ["browser"],
                "country": ["country"],
                "utm_source": ["utm_source"],
            },
        ),
        Preset(
            name="amplitude",
            doc=(
                "Amplitude Export API (JSON lines): amplitude_id (Amplitude's merged user), event_type, "
                "event_time ('YYYY-MM-DD HH:MM:SS.ffffff', UTC), session_id (epoch ms, -1 for none)."
            ),
            columns={
                "user_id": "amplitude_id",
                "event": "event_type",
                "timestamp": "event_time",
                "session_id": "session_id",
            },
            traits={
                "platform": ["platform"],
                "os": ["os_name"],
                "device": ["device_family"],
                "country": ["country"],
                "language": ["language"],
            },
        ),
        Preset(
            name="mixpanel",
            doc=(
                "Mixpanel raw export (JSON lines): event, properties.distinct_id, properties.time (epoch seconds), "
                "properties.$os / $browser / mp_country_code. Projects created before 2023 export `time` in "
                "the project's time zone: set `data.time_zone` to it (e.g. America/Los_Angeles)."
            ),
            columns={
                "user_id": "properties.distinct_id",
                "event": "event",
                "timestamp": "properties.time",
            },
            traits={
                "os": ["properties.$os"],
                "browser": ["properties.$browser"],
                "device": ["properties.$device"],
                "country": ["properties.mp_country_code"],
                "city": ["properties.$city"],
            },
            time_unit="s",
            identity=IdentityRule(known="properties.$user_id", anonymous="properties.$device_id"),
        ),
        Preset(
            name="posthog",
            doc=(
                "PostHog events export / batch export: person_id (or distinct_id), event, timestamp (ISO 8601), "
                "properties (JSON) with $session_id, $os, $browser, $device_type, $geoip_country_code."
            ),
            columns={
                "user_id": ["person_id", "distinct_id"],
                "event": "event",
                "timestamp": "timestamp",
                "session_id": ["properties.$session_id", "$session_id"],
            },
            traits={
                "os": ["properties.$os", "$os"],
                "browser": ["properties.$browser", "$browser"],
                "device_type": ["properties.$device_type", "$device_type"],
                "country": ["properties.$geoip_country_code", "$geoip_country_code"],
            },
        ),
        Preset(
            name="ga4",
            doc=(
                "Google Analytics 4 BigQuery export (events_*): user_pseudo_id, event_name, event_timestamp "
                "(epoch microseconds, UTC), event_params[ga_session_id], device.*, geo.*, traffic_source.*."
            ),
            columns={
                "user_id": "user_pseudo_id",
                "event": "event_name",
                "timestamp": "event_timestamp",
                "session_id": "event_params[ga_session_id].int_value",
            },
            traits={
                "platform": ["platform"],
                "device_category": ["device.category"],
                "os": ["device.operating_system"],
                "browser": ["device.web_info.browser"],
                "country": ["geo.country"],
                "source": ["traffic_source.source"],
                "medium": ["traffic_source.medium"],
            },
            time_unit="us",
            identity=IdentityRule(known="user_id", anonymous="user_pseudo_id"),
        ),
        Preset(
            name="segment",
            doc=(
                "Segment track calls: the JSON spec (userId / anonymousId, event, timestamp, context.*) or the "
                "warehouse `tracks` table (user_id / anonymous_id, event, timestamp, context_* columns)."
            ),
            columns={
                "user_id": [
                    {"coalesce": ["userId", "anonymousId"]},
                    {"coalesce": ["user_id", "anonymous_id"]},
                ],
                "event": ["event_text", "event"],  # the warehouse's `event` is a slug; event_text the name as sent
                "timestamp": "timestamp",
            },
            traits={
                "os": ["context.os.name", "context_os_name"],
                "device_type": ["context.device.type", "context_device_type"],
                "campaign_source": ["context.campaign.source", "context_campaign_source"],
                "locale": ["context.locale", "context_locale"],
            },
            identity=IdentityRule(
                known=["userId", "user_id"], anonymous=["anonymousId", "anonymous_id"], links="identifies"
            ),
            calls=("type", ("track",)),
            trait_calls=("identify", "traits"),
            keys={"user_id": "id"},  # the warehouse `users` table is keyed by `id`
        ),
    )
}
