"""The worksheet's segment checklists, mapped onto a dataset's own columns and events.

A team picks from the list it knows ("number of logins", "repeat shoppers", "company size"); each item names
the kind of segment and the column or event names it usually goes by. :func:`suggest` looks for those names in
the data (case-insensitively, ignoring ``_``/``-``/spaces) and returns ready segment specs for what it finds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .workshop import Workshop


@dataclass(frozen=True)
class Item:
    label: str  # as the worksheet says it
    kind: str  # trait | bins | did | frequency | count | did-each
    names: tuple[str, ...]  # columns (trait, bins) or events (did, frequency, count) it usually goes by
    options: tuple[tuple[str, Any], ...] = ()  # extra keys of the segment spec (bins, at_least, window_days…)


CHECKLISTS: dict[str, tuple[Item, ...]] = {
    "saas": (
        Item(
            "Number of logins",
            "frequency",
            ("login", "log_in", "signin", "sign_in", "session_start", "app_open"),
            (("window_days", 14),),
        ),
        Item(
            "Time in app (active days)",
            "frequency",
            ("session_start", "app_open", "page_view", "pageview", "screen_view"),
            (("window_days", 28),),
        ),
        Item(
            "Product adoption (core action)",
            "did-each",
            (
                "project_created",
                "invite_sent",
                "integration_connected",
                "report_viewed",
                "workspace_created",
                "dashboard_created",
                "file_uploaded",
            ),
        ),
        Item("Feature usage", "did-each", ("search", "export", "share", "comment", "api_call", "report_viewed")),
        Item("Plan", "trait", ("plan", "plan_type", "tier", "subscription_plan")),
    ),
    "ecomm": (
        Item(
            "Order value",
            "bins",
            ("order_value", "revenue", "amount", "value", "price", "total", "cart_value"),
            (("bins", [0, 20, 50, 100]),),
        ),
        Item("First-time visitors", "count", ("session_start", "visit", "app_open"), (("at_least", 2),)),
        Item("Repeat shoppers", "count", ("purchase", "order_completed", "checkout_completed"), (("at_least", 2),)),
        Item("Guest shoppers", "trait", ("account_type", "guest", "is_guest", "registered", "customer_type")),
        Item("Used search", "did", ("search", "product_search", "search_performed")),
    ),
    "finserv": (
        Item(
            "Application stage",
            "did-each",
            (
                "quote_viewed",
                "application_started",
                "identity_verified",
                "details_completed",
                "documents_uploaded",
                "application_submitted",
            ),
        ),
        Item("Single vs multiple policies", "trait", ("policies", "policy_count", "num_policies", "products_held")),
        Item("Returning customers", "trait", ("returning_customer", "returning", "is_returning", "existing_customer")),
        Item("Product", "trait", ("product", "product_type", "line_of_business")),
    ),
    "demographics": (
        Item("Age", "trait", ("age_band", "age_group", "age_range", "age")),
        Item("Gender", "trait", ("gender", "sex")),
        Item("Country", "trait", ("country", "country_code", "geo_country", "mp_country_code")),
        Item("Region", "trait", ("region", "state", "geo_region")),
        Item("Language", "trait", ("language", "locale")),
    ),
    "technographics": (
        Item("Platform", "trait", ("platform", "device_type", "device_category", "device")),
        Item("Operating system", "trait", ("os", "os_name", "operating_system")),
        Item("Browser", "trait", ("browser", "browser_name")),
        Item("App version", "trait", ("app_version", "version_name", "version")),
    ),
    "firmographics": (
        Item(
            "Company size", "trait", ("company_size", "employees", "employee_count", "size_band", "company_size_band")
        ),
        Item("Industry", "trait", ("industry", "vertical", "sector")),
        Item("Role", "trait", ("role", "job_title", "job_function", "persona")),
        Item("Acquisition channel", "trait", ("channel", "acquisition_channel", "utm_source", "source", "medium")),
    ),
}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


def _find(names: Iterable[str], available: Iterable[str]) -> list[str]:
    index = {}
    for a in available:
        index.setdefault(_norm(a), a)
    return [index[_norm(n)] for n in names if _norm(n) in index]


def suggest(ws: Workshop, checklists: Iterable[str] | None = None) -> pd.DataFrame:
    """For each checklist item: the segment spec that fits this data, or why none does.

    Columns: ``checklist, item, kind, found, spec`` (spec is a workshop.yaml segment, None when not found).
    Trait columns that validate judges never a segment (an id, a time stored as a number, a duplicate of a
    preset's trait: traitrules.py) are not offered.
    """
    from .profile import trait_profile
    from .traitrules import excluded

    profile = trait_profile(ws)  # the shared rule: ids, times stored as numbers and duplicates are not offered
    unfit = set(profile[profile.verdict.map(excluded)].column)
    columns = [c for c in ws.trait_columns() if c not in unfit]
    events = list(ws.events_with_placeholder_ids.select("event").distinct().to_pandas()["event"].dropna())
    success_events = set(ws.config.success.events)
    rows = []
    for checklist in checklists or CHECKLISTS:
        if checklist not in CHECKLISTS:
            raise KeyError(f"unknown checklist {checklist!r}; known: {', '.join(CHECKLISTS)}")
        for item in CHECKLISTS[checklist]:
            options = dict(item.options)
            specs: list[Any] = []
            if item.kind in ("trait", "bins"):
                found = _find(item.names, columns)[:1]
                for col in found:
                    specs.append(col if item.kind == "trait" else {"name": col, "column": col, **options})
            else:
                found = [e for e in _find(item.names, events) if e not in success_events]
                if item.kind != "did-each":
                    found = found[:1]
                for event in found:
                    kind = "did" if item.kind == "did-each" else item.kind
                    name = {"did": f"did_{event}", "frequency": f"{event}_days_a_week", "count": f"{event}_count"}[kind]
                    specs.append({"name": name, kind: event, **options})
            if not specs:
                rows.append({"checklist": checklist, "item": item.label, "kind": item.kind, "found": "", "spec": None})
            for spec, name in zip(specs, found, strict=True):
                rows.append(
                    {"checklist": checklist, "item": item.label, "kind": item.kind, "found": name, "spec": spec}
                )
    return pd.DataFrame(rows, columns=["checklist", "item", "kind", "found", "spec"])
