"""Column layouts of the common analytics exports, as each vendor documents them.

A preset maps the canonical fields (user_id, event, timestamp, session_id) and a few well-known traits onto the
vendor's field names. A value is a column or a dotted path into a nested field (``properties.$os``: a struct
field, or a key of a JSON column), ``name[key]`` picks the ``value`` of a key/value array (GA4's
``event_params``), a list gives alternatives (the first one present in the data is used, so the same preset fits
the JSON export and the warehouse table), and ``{coalesce: [a, b]}`` takes the first non-null of several.
Anything in ``data.columns`` overrides the preset.

What a preset keeps: the canonical fields, its traits (under the preset's names), and the export's other scalar
columns, less what misleads as a trait. :func:`not_kept` says which raw columns are left out: the vendor's
bookkeeping (``drop``: ids, copies of the event name, ingestion times; names compared case-insensitively, a
trailing ``*`` matches a prefix), the columns a canonical field or an extracted trait was read from (they would
repeat it under another name), and case-variants of a column already selected (``USER_ID`` next to ``user_id``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
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
    merged: str = ""  # "<merged id column> is …": the vendor has already merged a person's ids, in words
    keys: dict[str, Any] = field(default_factory=dict)  # the id column of the vendor's users / accounts tables
    # the vendor's bookkeeping columns, never kept as traits (case-insensitive; "prefix_*" matches a prefix)
    drop: tuple[str, ...] = ()
    # advice appended when a canonical field is not found, by field (e.g. Heap's per-event tables have no name)
    missing: dict[str, str] = field(default_factory=dict)
    # said by `segworkshop validate` when no trait fit to segment on came with the events
    no_traits: str = ""


# Export API response schema (amplitude.com/docs/apis/analytics/export): the event's ids (uuid,
# $insert_id, event_id), its upload/processing times, the device id, the project id (app)
_AMPLITUDE_DROP = (
    "uuid", "$insert_id", "insert_id", "event_id", "client_event_time", "client_upload_time",
    "server_received_time", "server_upload_time", "processed_time", "device_id", "app", "$schema",
    "amplitude_attribution_ids", "sample_rate",
)  # fmt: skip

# docs.mixpanel.com: $insert_id (Event Deduplication), mp_processing_time_ms, $mp_api_timestamp_ms,
# $mp_api_endpoint, $import (Default Properties); $device_id / $user_id repeat the ids (ID merge).
# Matched as columns of a flattened export too (`properties.$insert_id` or `$insert_id`).
_MIXPANEL_DROP = (
    "$insert_id", "mp_processing_time_ms", "$mp_api_timestamp_ms", "$mp_api_endpoint", "$import",
    "$device_id", "$user_id",
)  # fmt: skip

# [GA4] BigQuery Export schema (support.google.com/analytics/answer/7029846): the event's date in the
# property's time zone, its other times (µs), its bundle and batch sequence numbers, the user's first
# touch (µs), and stream_id, the data stream's numeric id: one per web/app stream, so it repeats
# `platform` under another name
_GA4_DROP = (
    "event_date", "event_previous_timestamp", "event_server_timestamp_offset",
    "event_bundle_sequence_id", "user_first_touch_timestamp", "stream_id", "batch_event_index",
    "batch_page_id", "batch_ordering_id",
)  # fmt: skip

# Warehouse Schemas (segment.com/docs/connections/storage/warehouses/schema): `event` and `event_text` are
# the event's slug and its name as sent (the one read as the event, the other never a trait), id the messageId, uuid / uuid_ts / loaded_at the loader's, and
# received_at / sent_at / original_timestamp the other three of "four timestamps"; the Spec's common
# fields (segment.com/docs/connections/spec/common) in the JSON: messageId, receivedAt, sentAt,
# originalTimestamp. Not `type` (the call: filtered by the preset's `calls`) nor `version`: an event table's
# own property may be called so. context_library_* names the SDK; the anonymous id is one of the person's
# ids (identity.py).
_SEGMENT_DROP = (
    "event_text", "id", "received_at", "sent_at", "original_timestamp", "uuid", "uuid_ts",
    "loaded_at", "message_id", "messageid", "receivedat", "sentat", "originaltimestamp",
    "context_library_*", "anonymous_id", "anonymousid",
)  # fmt: skip


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="heap",
            merged="user_id is Heap's merged user: Heap joins a person's anonymous and identified activity itself",
            doc=(
                "Heap Connect warehouse tables (all_events): user_id, event_table_name, time (UTC), session_id. "
                "all_events carries no traits: user properties are in the `users` table (bring them in with "
                "`data.users: {table: users}`), session properties in `sessions`, which has many rows per user "
                "and is not a users table. A per-event table (e.g. checkout_complete_order) names no event: read "
                "all_events, or add the table's name as event_table_name."
            ),
            columns={
                "user_id": "user_id",
                # Heap Connect data schema (help.heap.io/heap-connect/heap-connect-guide/data-schema; dbt sources in
                # thedatagata/heap_package): all_events = event_id, user_id, session_id, time, event_table_name.
                # No `type` fallback: in a per-event table `type` is the captured interaction (click, view page,
                # submit, change: help.heap.io, Autocaptured Data), not the event, whose name is the table's.
                "event": ["event_table_name", "event_name"],
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
            drop=("event_id",),  # unique per event (the key of all_events with user_id and event_table_name)
            missing={
                "event": (
                    "A Heap Connect per-event table (one per synced event, e.g. checkout_complete_order) has no "
                    "column naming its event: the event is the table's name, and its `type` column is the kind "
                    "of interaction Heap captured (click, view page, submit, change), not the event. Read the "
                    "all_events table instead, which names each row's event in event_table_name "
                    "(`data.events: {table: all_events, database: FILE}`), or give each per-event table its name "
                    "as a column and stack them: SELECT user_id, session_id, time, 'checkout_complete_order' AS "
                    "event_table_name FROM checkout_complete_order UNION ALL SELECT … FROM <the next event table>."
                ),
            },
            no_traits=(
                "the heap preset found no trait to segment on in the events: Heap Connect keeps them off "
                "all_events. User properties are in the `users` table: add `data.users: {table: users}` (keyed by "
                "user_id; `{table: users, database: FILE}` in a DuckDB file, or `{path: users.parquet}`). The "
                "`sessions` table has one row per session, many per user: never pass it as `data.users` (a "
                "repeated user_id is an error); to segment on a session property (platform, device_type, country, "
                "utm_source), join it onto the events by session_id before exporting."
            ),
        ),
        Preset(
            name="amplitude",
            merged="amplitude_id is Amplitude's merged user: the same for a person's anonymous and logged-in events",
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
            drop=_AMPLITUDE_DROP,
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
            drop=_MIXPANEL_DROP,
        ),
        Preset(
            name="posthog",
            merged="person_id is PostHog's person: the same for every distinct_id merged into it",
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
            # posthog.com/docs/data-model (event fields) and /docs/cdp/batch-exports (events model): the event's
            # uuid, when it was ingested (created_at) and exported (_inserted_at), the project (team_id), the
            # autocaptured DOM chain
            drop=("uuid", "created_at", "_inserted_at", "team_id", "elements", "elements_chain", "site_url"),
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
            drop=_GA4_DROP,
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
            drop=_SEGMENT_DROP,
        ),
    )
}


def fold(name: Any) -> str:
    """A column name as compared by the rules: case-insensitively (Snowflake exports upper-case names)."""
    return str(name).casefold()


def spec_columns(spec: Any) -> set[str]:
    """The top-level columns (case-folded) a column spec may read: every alternative, every coalesced part, and
    for a path both the whole name (a flattened export may call a column ``properties.$os``) and its head."""
    if isinstance(spec, list):
        return set().union(*(spec_columns(s) for s in spec)) if spec else set()
    if isinstance(spec, Mapping) and "coalesce" in spec:
        return set().union(*(spec_columns(s) for s in spec["coalesce"])) if spec["coalesce"] else set()
    if isinstance(spec, str):
        return {fold(spec), fold(re.split(r"[.\[]", spec, maxsplit=1)[0])}
    return set()


def dropped(preset: Preset | None, column: str) -> bool:
    """Whether ``column`` is one of the preset's bookkeeping columns (by its name, or the last part of a
    flattened name such as ``properties.$insert_id``; case-insensitive)."""
    if preset is None or not preset.drop:
        return False
    name = fold(column)
    last = name.rsplit(".", 1)[-1]
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(last, p) for p in map(fold, preset.drop))


def not_kept(
    preset: Preset | None, raw_columns: Iterable[str], columns: Mapping[str, Any], selected: Iterable[str]
) -> set[str]:
    """The raw columns that ``map_events`` does not keep beside the ones it has selected.

    ``columns`` are the canonical specs in force (the preset's, overridden by ``data.columns``); ``selected`` the
    names already selected (canonical fields and extracted traits). Left out: a column a canonical field may be
    read from (an alternative or coalesced part: Segment's anonymous_id, PostHog's distinct_id), a column a
    selected trait was read from (Amplitude's os_name once it is ``os``), a case-variant of a selected name, and
    the preset's ``drop`` list. All compared case-insensitively.
    """
    chosen = {fold(s) for s in selected}
    read: set[str] = set()
    for spec in columns.values():
        read |= spec_columns(spec)
    if preset is not None:
        for spec in preset.columns.values():
            read |= spec_columns(spec)
        for trait, spec in preset.traits.items():
            if fold(trait) in chosen:
                read |= spec_columns(spec)
    return {c for c in raw_columns if fold(c) in read or fold(c) in chosen or dropped(preset, c)}


def missing_hint(preset: str | None, name: str) -> str:
    """The preset's advice when canonical field ``name`` is not found ("" if none), to append to the message."""
    found = PRESETS.get(preset) if preset else None
    return f" {found.missing[name]}" if found is not None and name in found.missing else ""
