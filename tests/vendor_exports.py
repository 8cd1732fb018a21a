"""One known population of shoppers, written out as six analytics vendors deliver their exports.

The point is an independent check of segworkshop's vendor presets: the truth (people, successes, successes by
plan) is computed here in plain pandas from the population itself, never by reading the files through
segworkshop, and each ``write_<vendor>`` function writes the same people as the vendor's documented export
(field names, id semantics, file layout and compression), then returns the workshop mapping a team would write
with only ``data.preset`` set.

The population (:func:`population`), and the rules the truth follows:

* ~240 shoppers, first seen between 2026-01-05 and 2026-02-02 (UTC); each has 1-6 sessions in the 13 days after
  the first event (page views, product views, add to cart, purchase = success).
* Three kinds of people. **anon_then_login** (about half): anonymous on their first device, then log in partway
  (at least a page view and a product view happen before the login, at least one event after it).
  **logged_in** (a quarter): logged in from their first event. **never_login** (a quarter): anonymous throughout.
* Devices: a person who logs in uses 1 or 2 devices; a second device is only used after the login and the person
  logs in on it at its first event (so every vendor can tie it to the person). A never-logged-in person uses one
  device: no vendor can tie two anonymous devices together, so "one person" would not be knowable.
* Plan: free / pro / team, known once the person logs in (success rates 12% / 30% / 45%). **People who never
  log in have no plan: their plan is missing** (compare shows them under ``(missing)``); they buy as guests (8%).
* Success: a purchase at most 14 days after the person's FIRST event, anonymous events included. Purchases are
  never within 3 hours of that boundary, so a reader whose start is off by seconds (an identify call, a GA4
  session_start) still agrees. A few people who log in on day 3-6 buy on day 15.5-16.5: not a success, though it
  is less than 14 days after their login (a reader that starts the window at the login counts them wrongly).
* Censoring: every window closes by 2026-02-17; a dozen people come back for a visit between 2026-02-18 and
  2026-02-24, so the data ends after every window and no unit is too recent to judge.

Vendor layouts and the sources they follow are in each writer's docstring. Times are whole seconds, so every
vendor's resolution (seconds for Mixpanel, ms, µs) holds them exactly.
"""

from __future__ import annotations

import gzip
import json
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

START = pd.Timestamp("2026-01-05", tz="UTC")
FIRST_SEEN_DAYS = 28  # first events spread over four weeks
RETURN_START = pd.Timestamp("2026-02-18", tz="UTC")  # late visits: after every success window has closed
WINDOW_DAYS = 14
MARGIN = pd.Timedelta(hours=3)  # no purchase this close to a window's end
PLANS = ("free", "pro", "team")
PLAN_SHARE = (0.5, 0.3, 0.2)
SUCCESS_RATE = {"free": 0.12, "pro": 0.30, "team": 0.45, None: 0.08}
KINDS = ("anon_then_login", "logged_in", "never_login")
KIND_SHARE = (0.5, 0.25, 0.25)

PAGES = [("/", "Home"), ("/shop", "Shop"), ("/shop/sale", "Sale"), ("/help", "Help"), ("/account", "Your account")]
PRODUCTS = [
    ("SKU-1001", "Trail shoe", 89.0),
    ("SKU-1002", "Rain jacket", 129.0),
    ("SKU-1003", "Wool socks", 14.5),
    ("SKU-1004", "Day pack", 59.0),
    ("SKU-1005", "Water bottle", 19.0),
    ("SKU-1006", "Head lamp", 34.0),
]
DEVICE_KINDS = [  # (os family, os version, browser, browser version, category)
    ("Windows", "10", "Chrome", "131.0.0.0", "desktop"),
    ("Macintosh", "14.6", "Safari", "18.1", "desktop"),
    ("Macintosh", "14.6", "Chrome", "131.0.0.0", "desktop"),
    ("iOS", "18.1", "Safari", "18.1", "mobile"),
    ("Android", "14", "Chrome", "131.0.0.0", "mobile"),
    ("Windows", "11", "Firefox", "133.0", "desktop"),
]
COUNTRIES = [("US", "United States"), ("GB", "United Kingdom"), ("DE", "Germany"), ("FR", "France"), ("CA", "Canada")]


@dataclass
class Population:
    """The shoppers, as plain tables (UTC times, whole seconds).

    ``people``: person, kind, user_id (None if never logged in), email, plan (None if never logged in), country,
    and the ids each vendor gives the person. ``devices``: device_id, person, n (0 or 1), os/browser, vendor
    device ids. ``sessions``: session, person, device_id, start, vendor session ids. ``events``: person,
    device_id, session, time, event (page_view / product_view / add_to_cart / purchase), logged_in, and the page
    and product fields. ``logins``: person, device_id, session, time: each login (identify call) on a device.
    """

    people: pd.DataFrame
    devices: pd.DataFrame
    sessions: pd.DataFrame
    events: pd.DataFrame
    logins: pd.DataFrame
    seed: int


# --------------------------------------------------------------------------- the population


def _uuid4(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _uuid7(rng: np.random.Generator, when: pd.Timestamp) -> str:
    """A UUIDv7 (time-ordered, as posthog-js makes its distinct and session ids)."""
    ms = int(when.timestamp() * 1000)
    raw = bytearray(ms.to_bytes(6, "big") + rng.bytes(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(raw)))


def _session_events(rng: np.random.Generator, first: bool) -> list[dict[str, Any]]:
    """What one visit does before any purchase: a landing page view, product views, maybe another page."""
    path, title = PAGES[int(rng.integers(0, 2))] if first else PAGES[int(rng.integers(0, len(PAGES)))]
    out = [{"event": "page_view", "path": path, "title": title}]
    for _ in range(int(rng.integers(1, 4))):
        sku, name, price = PRODUCTS[int(rng.integers(0, len(PRODUCTS)))]
        out.append(
            {
                "event": "product_view",
                "path": f"/p/{sku.lower()}",
                "title": name,
                "product_id": sku,
                "product_name": name,
                "price": price,
            }
        )
    if rng.random() < 0.3:
        path, title = PAGES[int(rng.integers(0, len(PAGES)))]
        out.append({"event": "page_view", "path": path, "title": title})
    return out


def _cart(rng: np.random.Generator, events: list[dict[str, Any]], buy: bool, order_no: int) -> None:
    viewed = [e for e in events if e["event"] == "product_view"]
    item = viewed[-1] if viewed else None
    if item is None:
        sku, name, price = PRODUCTS[0]
        item = {"product_id": sku, "product_name": name, "price": price, "path": f"/p/{sku.lower()}", "title": name}
    quantity = int(rng.integers(1, 3))
    events.append(
        {
            "event": "add_to_cart",
            "path": item["path"],
            "title": item["title"],
            "product_id": item["product_id"],
            "product_name": item["product_name"],
            "price": item["price"],
            "quantity": quantity,
        }
    )
    if buy:
        events.append(
            {
                "event": "purchase",
                "path": "/checkout/done",
                "title": "Thank you",
                "product_id": item["product_id"],
                "product_name": item["product_name"],
                "price": item["price"],
                "quantity": quantity,
                "order_id": f"ORD-{order_no:06d}",
                "revenue": round(item["price"] * quantity, 2),
            }
        )


def _spaced(offsets: list[int], gap: int) -> list[int]:
    out = sorted(offsets)
    for k in range(1, len(out)):
        out[k] = max(out[k], out[k - 1] + gap)
    return out


def population(seed: int = 5, people: int = 240) -> Population:
    """The shoppers (see the module docstring for every rule); deterministic for a seed."""
    rng = np.random.default_rng(seed)
    day, hour = 86400, 3600
    people_rows, device_rows, session_rows, event_rows, login_rows = [], [], [], [], []
    order_no = 0

    def open_session(person: int, device_id: str, start: pd.Timestamp) -> int:
        number = len(session_rows)
        session_rows.append(
            dict(session=number, person=person, device_id=device_id, start=start,
                 heap_session_id=int(rng.integers(1, 2**53)), posthog_session_id=_uuid7(rng, start))
        )  # fmt: skip
        return number

    def times_of(start: pd.Timestamp, n: int) -> list[pd.Timestamp]:
        out = [start]
        for _ in range(n - 1):
            out.append(out[-1] + pd.Timedelta(seconds=int(rng.integers(20, 240))))
        return out

    def add_events(person, device_id, session, times, visit, logged) -> None:
        for t, e, is_logged in zip(times, visit, logged, strict=True):
            event_rows.append(
                dict(person=person, device_id=device_id, session=session, time=t, logged_in=is_logged, **e)
            )

    for i in range(people):
        kind = str(rng.choice(KINDS, p=KIND_SHARE))
        plan = None if kind == "never_login" else str(rng.choice(PLANS, p=PLAN_SHARE))
        succeeds = bool(rng.random() < SUCCESS_RATE[plan])
        late_buyer = kind == "anon_then_login" and not succeeds and rng.random() < 0.12
        first = START + pd.Timedelta(seconds=int(rng.integers(0, FIRST_SEEN_DAYS * day - 6 * hour)))
        n = 1 + min(int(rng.poisson(2.0)), 5)
        offsets = _spaced([0, *rng.integers(2 * hour, 13 * day, n - 1).tolist()], 2 * hour)
        if late_buyer and not any(3 * day <= o <= 6 * day for o in offsets):
            offsets = _spaced([*offsets, int(rng.integers(3 * day, 6 * day))], 2 * hour)
        n = len(offsets)

        # where the login happens: session j, before its event m
        if kind == "anon_then_login":
            j = next(k for k, o in enumerate(offsets) if o >= 3 * day) if late_buyer else int(rng.integers(0, n))
        else:
            j = 0  # logged_in: at the first event; never_login: j unused
        visits = [_session_events(rng, first=(k == 0)) for k in range(n)]
        if kind == "anon_then_login" and j == 0 and len(visits[0]) < 3:
            visits[0].append({"event": "page_view", "path": "/shop", "title": "Shop"})
        if succeeds:
            k = int(rng.integers(j, n)) if kind != "never_login" else int(rng.integers(0, n))
            order_no += 1
            _cart(rng, visits[k], buy=True, order_no=order_no)
        for k in range(n):
            if rng.random() < 0.15 and not any(e["event"] == "add_to_cart" for e in visits[k]):
                _cart(rng, visits[k], buy=False, order_no=0)
        if kind == "anon_then_login":  # checkout needs a login: never after the cart of a purchase
            names = [e["event"] for e in visits[j]]
            upper = names.index("add_to_cart") + 1 if "purchase" in names else len(names)
            m = int(rng.integers(2 if j == 0 else 0, max(upper, 3 if j == 0 else 1)))
        else:
            m = 0

        # devices: a second one only after the login, logged in from its first event
        n_devices = 1 if kind == "never_login" or rng.random() >= 0.35 else 2
        on_device = [0] * n
        if n_devices == 2:
            later = list(range(j + 1, n))
            if not later:
                n_devices = 1
            else:
                for k in later:
                    on_device[k] = int(rng.random() < 0.5)
                if 1 not in on_device:
                    on_device[later[-1]] = 1
        country = COUNTRIES[int(rng.integers(0, len(COUNTRIES)))]
        user_id = None if kind == "never_login" else f"cust_{10001 + i}"
        devices = []
        for d in range(n_devices):
            os_family, os_version, browser, browser_version, category = DEVICE_KINDS[
                int(rng.integers(0, len(DEVICE_KINDS)))
            ]
            devices.append(
                {
                    "device_id": _uuid4(rng),
                    "person": i,
                    "n": d,
                    "os": os_family,
                    "os_version": os_version,
                    "browser": browser,
                    "browser_version": browser_version,
                    "category": category,
                    "heap_user_id": int(rng.integers(1, 2**53)),  # Heap's anonymous user on this device
                    "ga_client": int(rng.integers(1_000_000_000, 2_000_000_000)),
                    "posthog_anon_id": None,  # set at the device's first event (a UUIDv7 of that time)
                }
            )
        device_rows.extend(devices)

        logged, logged_devices = False, set()
        for k in range(n):
            dev = devices[on_device[k]]["device_id"]
            start = first + pd.Timedelta(seconds=int(offsets[k]))
            session = open_session(i, dev, start)
            times = times_of(start, len(visits[k]))
            new_device = on_device[k] == 1 and dev not in logged_devices
            flags = []
            for idx, t in enumerate(times):
                if (kind != "never_login" and k == j and idx == m) or (new_device and idx == 0):
                    login_rows.append(dict(person=i, device_id=dev, session=session, time=t - pd.Timedelta(seconds=1)))
                    logged_devices.add(dev)
                    logged = logged or on_device[k] == 0
                flags.append(logged if on_device[k] == 0 else True)
            add_events(i, dev, session, times, visits[k], flags)

        if late_buyer:  # day 15.5-16.5 after the first event, less than 14 days after the login
            start = first + pd.Timedelta(seconds=int(rng.integers(int(15.5 * day), int(16.5 * day))))
            session = open_session(i, devices[0]["device_id"], start)
            visit = _session_events(rng, first=False)
            order_no += 1
            _cart(rng, visit, buy=True, order_no=order_no)
            times = times_of(start, len(visit))
            add_events(i, devices[0]["device_id"], session, times, visit, [True] * len(visit))

        people_rows.append(
            {
                "person": i,
                "kind": kind,
                "user_id": user_id,
                "email": None if user_id is None else f"{user_id}@example.com",
                "plan": plan,
                "late_buyer": late_buyer,
                "country": country[0],
                "country_name": country[1],
                "amplitude_id": 100_000_000_000 + i * 1000 + int(rng.integers(0, 1000)),
                "posthog_person_id": _uuid4(rng),
                "heap_identified_id": int(rng.integers(1, 2**53)) if user_id else None,
            }
        )

    # a dozen people come back after every window has closed: the data runs past all of them
    for i in sorted(rng.choice(people, size=12, replace=False).tolist()):
        dev = next(d["device_id"] for d in device_rows if d["person"] == i and d["n"] == 0)
        start = RETURN_START + pd.Timedelta(seconds=int(rng.integers(0, 6 * day)))
        session = open_session(i, dev, start)
        visit = _session_events(rng, first=False)
        logged = [people_rows[i]["kind"] != "never_login"] * len(visit)
        add_events(i, dev, session, times_of(start, len(visit)), visit, logged)

    events = pd.DataFrame(event_rows).sort_values(["time", "person"], kind="stable", ignore_index=True)
    devices = pd.DataFrame(device_rows)
    first_on_device = events.groupby("device_id").time.min()
    devices["first_time"] = devices.device_id.map(first_on_device)
    drng = np.random.default_rng([seed, 99])
    devices["posthog_anon_id"] = [_uuid7(drng, t) for t in devices.first_time]
    sessions = pd.DataFrame(session_rows).sort_values("start", ignore_index=True)
    sessions["device_session_number"] = sessions.groupby("device_id").cumcount() + 1
    pop = Population(
        people=pd.DataFrame(people_rows),
        devices=devices,
        sessions=sessions,
        events=events,
        logins=pd.DataFrame(login_rows).sort_values("time", ignore_index=True),
        seed=seed,
    )
    _check(pop)
    return pop


def _check(pop: Population) -> None:
    """The rules the truth relies on (module docstring): closed windows, no purchase near a boundary."""
    ev = pop.events
    first = ev.groupby("person").time.min()
    end = first + pd.Timedelta(days=WINDOW_DAYS)
    assert end.max() + MARGIN < ev.time.max(), "a success window is still open at the data end"
    buys = ev[ev.event == "purchase"]
    gap = (buys.time.to_numpy() - end[buys.person].to_numpy()) / pd.Timedelta(1, "s")
    assert (np.abs(gap) > MARGIN.total_seconds()).all(), "a purchase is too close to a window's end"
    assert not ev.duplicated(["person", "time"]).any()
    for person, kind in pop.people[["person", "kind"]].itertuples(index=False):
        mine = ev[ev.person == person]
        if kind == "anon_then_login":
            assert (~mine.logged_in).sum() >= 2 and mine.logged_in.any()
        assert kind != "never_login" or mine.device_id.nunique() == 1


# --------------------------------------------------------------------------- the truth


def truth(pop: Population, within_days: float = WINDOW_DAYS) -> dict[str, Any]:
    """People, successes and the split by plan, from the population itself (plain pandas).

    Success: a purchase at most ``within_days`` after the person's first event (anonymous events included).
    ``by_plan`` maps each plan to {units, successes}; the key None is the people whose plan is missing (they
    never logged in).
    """
    ev = pop.events
    first = ev.groupby("person").time.min()
    buys = ev[ev.event == "purchase"]
    deadline = first[buys.person].to_numpy() + pd.Timedelta(days=within_days)
    winners = set(buys.person[buys.time.to_numpy() <= deadline])
    people = pop.people.assign(success=pop.people.person.isin(winners))
    by_plan: dict[str | None, dict[str, int]] = {}
    for plan in [*PLANS, None]:
        group = people[people.plan.isna()] if plan is None else people[people.plan == plan]
        if len(group):
            by_plan[plan] = {"units": len(group), "successes": int(group.success.sum())}
    return {"units": len(people), "successes": int(people.success.sum()), "by_plan": by_plan}


# --------------------------------------------------------------------------- shared helpers


def _rng(pop: Population, vendor: int) -> np.random.Generator:
    return np.random.default_rng([pop.seed, vendor])


def _calls(pop: Population) -> pd.DataFrame:
    """Events and logins in time order, joined with their person, device and session (one row per call).

    ``call`` is ``event`` or ``login``; a login has no page or product fields.
    """
    ev = pop.events.assign(call="event")
    logins = pop.logins.assign(call="login", event="login", logged_in=True)
    calls = pd.concat([ev, logins], ignore_index=True).sort_values(["time", "person"], kind="stable")
    calls = calls.merge(pop.people, on="person", how="left")
    calls = calls.merge(pop.devices.drop(columns=["person"]), on="device_id", how="left")
    calls = calls.merge(pop.sessions.drop(columns=["person", "device_id"]), on="session", how="left")
    return calls.reset_index(drop=True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for missing values (pandas NaN / NA / NaT become None)."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({k: (None if _missing(v) else v) for k, v in row.items()})
    return out


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (list, dict, tuple)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _amp_time(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def _iso_ms(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _us(t: pd.Timestamp) -> int:
    return int(t.value // 1000)


def _jsonl(records: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()


def _wide_props(rng: np.random.Generator, row_no: int, keys: int = 520, per_row: int = 4) -> dict[str, Any]:
    """A few of ``keys`` distinct extra properties (every key appears somewhere): what a heavily instrumented
    project looks like, enough for a JSON reader to see hundreds of keys under ``properties``."""
    out: dict[str, Any] = {}
    for j in range(per_row):
        k = (row_no * per_row + j) % keys
        out[f"prop_{k}"] = (
            int(rng.integers(0, 100)) if k % 3 == 0 else (str(rng.choice(["a", "b", "c"])) if k % 3 == 1 else True)
        )
    return out


# --------------------------------------------------------------------------- Amplitude


AMPLITUDE_EVENTS = {
    "page_view": "[Amplitude] Page Viewed",
    "product_view": "Product Viewed",
    "add_to_cart": "Product Added",
    "purchase": "Purchase",
    "login": "$identify",
}


def write_amplitude(pop: Population, folder: Path, *, project_id: int = 187520) -> dict[str, Any]:
    """The Export API response as saved: one ``.zip`` of hourly gzipped JSON-lines files.

    Layout: ``<project_id>/<project_id>_<YYYY-MM-DD>_<H>#0.json.gz`` inside the zip, one per hour of
    ``server_upload_time`` (the time the Export API's range selects on), one event per line with the Export API's
    fields: ``event_type``, ``event_time`` ('YYYY-MM-DD HH:MM:SS.ffffff', UTC), ``amplitude_id``, ``user_id``
    (null before the login), ``device_id``, ``session_id`` (epoch ms of the session start), ``user_properties``
    ({plan} once known), ``event_properties``, ``uuid``, ``$insert_id``, ``event_id``, ``client_event_time``,
    ``server_received_time``, ``server_upload_time``, ``processed_time``, ``platform``, ``os_name`` (the browser on
    web), ``device_family``, ``country``, ... The login is an ``$identify`` event (the Identify call).

    ``amplitude_id`` is Amplitude's merged user: anonymous events on a device get the same Amplitude ID as the
    events after the user ID arrives there, and a new device whose first event carries a known user ID gets that
    user's Amplitude ID. So it is one id per person here (never-logged-in people have one device).

    Sources: https://amplitude.com/docs/apis/analytics/export (response: zipped archive of JSON files, several
    per hour; response schema), https://amplitude.com/docs/data/sources/amplitude-id-assignment (how device IDs
    and user IDs map to an Amplitude ID).
    """
    rng = _rng(pop, 1)
    calls = _calls(pop)
    event_ids: dict[str, int] = {}
    files: dict[tuple[str, int], list[dict[str, Any]]] = {}
    first_seen = calls.groupby("person").time.min()
    for r in _records(calls):
        t = r["time"]
        upload = t + pd.Timedelta(seconds=int(rng.integers(1, 40)))
        received = upload + pd.Timedelta(milliseconds=int(rng.integers(5, 900)))
        processed = received + pd.Timedelta(milliseconds=int(rng.integers(100, 5000)))
        event_ids[r["device_id"]] = event_ids.get(r["device_id"], 0) + 1
        logged = bool(r["logged_in"])
        props: dict[str, Any] = {}
        if r["call"] == "event":
            props = {"[Amplitude] Page Path": r["path"], "[Amplitude] Page Title": r["title"]}
            if r.get("product_id"):
                props.update({"product_id": r["product_id"], "product_name": r["product_name"], "price": r["price"]})
            if r.get("quantity"):
                props["quantity"] = r["quantity"]
            if r.get("order_id"):
                props.update({"order_id": r["order_id"], "revenue": r["revenue"], "currency": "USD"})
        mobile = r["category"] == "mobile"
        record = {
            "server_received_time": _amp_time(received),
            "app": project_id,
            "device_carrier": None,
            "$schema": 12,
            "city": None,
            "user_id": r["user_id"] if logged else None,
            "uuid": _uuid4(rng),
            "event_time": _amp_time(t),
            "platform": "Web",
            "os_version": r["browser_version"].split(".")[0],
            "amplitude_id": r["amplitude_id"],
            "processed_time": _amp_time(processed),
            "user_creation_time": _amp_time(first_seen[r["person"]]),
            "version_name": None,
            "ip_address": None,
            "paying": True if r.get("order_id") else None,
            "dma": None,
            "group_properties": {},
            "user_properties": {"plan": r["plan"]} if logged else {},
            "client_upload_time": _amp_time(upload - pd.Timedelta(milliseconds=300)),
            "$insert_id": _uuid4(rng),
            "event_type": AMPLITUDE_EVENTS[r["event"]],
            "library": "amplitude-ts/2.11.8",
            "amplitude_attribution_ids": None,
            "device_type": "Apple iPhone" if r["os"] == "iOS" else ("Android" if r["os"] == "Android" else None),
            "device_manufacturer": None,
            "start_version": None,
            "location_lng": None,
            "server_upload_time": _amp_time(received),
            "event_id": event_ids[r["device_id"]],
            "location_lat": None,
            "os_name": ("Mobile " if mobile else "") + r["browser"],
            "amplitude_event_type": None,
            "device_brand": None,
            "groups": {},
            "event_properties": props,
            "data": {"path": "/2/httpapi"} if r["call"] == "event" else {},
            "device_id": r["device_id"],
            "language": "English",
            "device_model": r["os"],
            "country": r["country_name"],
            "region": None,
            "is_attribution_event": False,
            "adid": None,
            "session_id": int(r["start"].value // 1_000_000),
            "device_family": {"Macintosh": "Mac OS X", "iOS": "Apple iPhone"}.get(r["os"], r["os"]),
            "sample_rate": None,
            "idfa": None,
            "client_event_time": _amp_time(t),
        }
        files.setdefault((received.strftime("%Y-%m-%d"), received.hour), []).append(record)
    folder.mkdir(parents=True, exist_ok=True)
    first_day, last_day = min(files)[0].replace("-", ""), max(files)[0].replace("-", "")
    path = folder / f"amplitude_export_{project_id}_{first_day}T00-{last_day}T23.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for (day, hour), records in sorted(files.items()):
            data = gzip.compress(_jsonl(records), mtime=0)
            y, mo, d = (int(x) for x in day.split("-"))
            info = zipfile.ZipInfo(
                f"{project_id}/{project_id}_{day}_{hour}#0.json.gz", date_time=(y, mo, d, hour, 0, 0)
            )
            zf.writestr(info, data)
    return {
        "data": {"events": str(path), "preset": "amplitude"},
        "success": {"event": AMPLITUDE_EVENTS["purchase"], "within_days": WINDOW_DAYS},
        "segments": ["user_properties.plan"],
    }


# --------------------------------------------------------------------------- Mixpanel


MIXPANEL_EVENTS = {
    "page_view": "$mp_web_page_view",
    "product_view": "Product Viewed",
    "add_to_cart": "Add To Cart",
    "purchase": "Purchase",
}


def write_mixpanel(pop: Population, folder: Path, *, wide: bool = False) -> dict[str, Any]:
    """The raw event export (``/api/2.0/export``) as saved: JSON lines, ``{"event": ..., "properties": {...}}``.

    A project on Simplified ID Merge, in UTC: the SDK sends ``$device_id`` on every event and ``$user_id`` once
    the user is identified; ``distinct_id`` is ``$user_id`` when present, else ``$device:<$device_id>``. The raw
    export returns events as received and stored, so a person who logged in partway has two distinct_ids in the
    file (tied by the events that carry both ``$device_id`` and ``$user_id``). ``time`` is epoch seconds;
    ``$insert_id``, ``mp_processing_time_ms``, ``$os``, ``$browser``, ``mp_country_code``, ``$current_url`` as the
    JavaScript SDK sends them; ``plan`` is a super property registered at the login (so on every event after it).
    With ``wide``: 520 distinct extra keys (``prop_0`` .. ``prop_519``) sprinkled over the events.

    Sources: https://docs.mixpanel.com/docs/tracking-methods/id-management/identifying-users-simplified
    ($device_id / $user_id and how distinct_id is derived), https://docs.mixpanel.com/reference/raw-data-export-api
    and https://developer.mixpanel.com/reference/raw-event-export (JSONL, events as received, time in seconds).
    """
    rng = _rng(pop, 2)
    calls = _calls(pop)
    calls = calls[calls.call == "event"]
    lines = []
    for n, r in enumerate(_records(calls)):
        logged = bool(r["logged_in"])
        url = f"https://shop.example.com{r['path']}"
        props: dict[str, Any] = {
            "time": int(r["time"].timestamp()),
            "distinct_id": r["user_id"] if logged else f"$device:{r['device_id']}",
            "$browser": r["browser"],
            "$browser_version": float(r["browser_version"].split(".")[0]),
            "$city": None,
            "$current_url": url,
            "$device_id": r["device_id"],
            "$initial_referrer": "$direct",
            "$initial_referring_domain": "$direct",
            "$insert_id": rng.bytes(12).hex()[:22],
            "$lib_version": "2.58.0",
            "$mp_api_endpoint": "api-js.mixpanel.com",
            "$mp_api_timestamp_ms": int(r["time"].timestamp() * 1000) + int(rng.integers(50, 900)),
            "$os": {"Macintosh": "Mac OS X"}.get(r["os"], r["os"]),
            "$screen_height": 1080 if r["category"] == "desktop" else 844,
            "$screen_width": 1920 if r["category"] == "desktop" else 390,
            "mp_country_code": r["country"],
            "mp_lib": "web",
            "mp_processing_time_ms": int(r["time"].timestamp() * 1000) + int(rng.integers(1000, 60000)),
            "mp_sent_by_lib_version": "2.58.0",
        }
        if logged:
            props["$user_id"] = r["user_id"]
            props["plan"] = r["plan"]
        if r["event"] == "page_view":
            props.update(
                {
                    "current_domain": "shop.example.com",
                    "current_page_title": r["title"],
                    "current_url_path": r["path"],
                    "current_url_protocol": "https:",
                }
            )
        if r.get("product_id"):
            props.update({"product_id": r["product_id"], "product_name": r["product_name"], "price": r["price"]})
        if r.get("quantity"):
            props["quantity"] = r["quantity"]
        if r.get("order_id"):
            props.update({"order_id": r["order_id"], "revenue": r["revenue"], "currency": "USD"})
        if wide:
            props.update(_wide_props(rng, n))
        lines.append({"event": MIXPANEL_EVENTS[r["event"]], "properties": props})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mixpanel_export.jsonl"
    path.write_bytes(_jsonl(lines))
    return {
        "data": {"events": str(path), "preset": "mixpanel"},
        "success": {"event": MIXPANEL_EVENTS["purchase"], "within_days": WINDOW_DAYS},
        "segments": ["properties.plan"],
    }


# --------------------------------------------------------------------------- PostHog


POSTHOG_EVENTS = {
    "page_view": "$pageview",
    "product_view": "Product Viewed",
    "add_to_cart": "Product Added",
    "purchase": "Order Completed",
    "login": "$identify",
}


def write_posthog(
    pop: Population, folder: Path, *, format: str = "parquet", wide: bool = False, prefix: str = "posthog/events"
) -> dict[str, Any]:
    """An S3 batch export of the events model, as it lands in the bucket (daily interval, max file size set).

    Keys: ``<prefix>/<data_interval_start>-<data_interval_end>-0.parquet.zst`` (Parquet whose pages are zstd
    compressed: PostHog hands the compression to the Parquet writer, and the key gets the ``.zst`` ending) or,
    with ``format="jsonl"``, ``...-0.jsonl.gz`` (gzip of JSON lines); beside each, the run's
    ``<data_interval_start>-<data_interval_end>_manifest.json`` listing its files. Interval bounds are ISO 8601
    with ``+00:00``; a run holds the events ingested (``_inserted_at``) in its interval.

    Columns (Parquet): uuid, event, properties (JSON text), distinct_id (the device's anonymous id until the
    ``$identify``, then the user id), timestamp, created_at, elements_chain, person_properties (JSON text: the
    person's properties at ingestion, with ``plan`` from the ``$set`` of the ``$identify``), person_id (the person
    at ingestion: one per person here, since the anonymous person is the one that gets identified and a second
    device is identified from its first event), _inserted_at. In JSON lines the times are ISO 8601 text and the
    two JSON columns are nested objects. With ``wide``: 520 extra keys in ``properties``.

    Sources: https://posthog.com/docs/cdp/batch-exports/s3 (events model schema, file formats),
    PostHog/posthog ``products/batch_exports/backend/temporal/destinations/s3_batch_export.py`` (``get_s3_key``,
    ``get_manifest_key``, COMPRESSION_EXTENSIONS) and ``temporary_file.py`` (ParquetWriter does the compression).
    """
    if format not in ("parquet", "jsonl"):
        raise ValueError("format is parquet or jsonl")
    rng = _rng(pop, 3)
    calls = _calls(pop)
    rows = []
    for n, r in enumerate(_records(calls)):
        logged = bool(r["logged_in"])
        distinct = r["user_id"] if logged else r["posthog_anon_id"]
        url = f"https://shop.example.com{r['path']}" if r.get("path") else "https://shop.example.com/account"
        props: dict[str, Any] = {
            "$os": {"Macintosh": "Mac OS X"}.get(r["os"], r["os"]),
            "$os_version": r["os_version"],
            "$browser": r["browser"],
            "$browser_version": float(r["browser_version"].split(".")[0]),
            "$device_type": "Desktop" if r["category"] == "desktop" else "Mobile",
            "$current_url": url,
            "$host": "shop.example.com",
            "$pathname": r.get("path") or "/account",
            "$lib": "web",
            "$lib_version": "1.194.1",
            "$insert_id": rng.bytes(8).hex(),
            "$time": r["time"].timestamp(),
            "distinct_id": distinct,
            "$device_id": r["posthog_anon_id"],
            "$session_id": r["posthog_session_id"],
            "$window_id": _uuid7(rng, r["start"]),
            "$geoip_country_code": r["country"],
            "$geoip_country_name": r["country_name"],
            "$is_identified": logged,
        }
        if r["call"] == "login":
            props["$anon_distinct_id"] = r["posthog_anon_id"]
            props["$set"] = {"plan": r["plan"], "email": r["email"]}
        else:
            if r.get("title"):
                props["title"] = r["title"]
            if r.get("product_id"):
                props.update({"product_id": r["product_id"], "name": r["product_name"], "price": r["price"]})
            if r.get("quantity"):
                props["quantity"] = r["quantity"]
            if r.get("order_id"):
                props.update({"order_id": r["order_id"], "revenue": r["revenue"], "currency": "USD"})
        if wide:
            props.update(_wide_props(rng, n))
        person_props: dict[str, Any] = {
            "$initial_os": props["$os"],
            "$initial_browser": r["browser"],
            "$initial_geoip_country_code": r["country"],
        }
        if logged:
            person_props.update({"plan": r["plan"], "email": r["email"]})
        created = r["time"] + pd.Timedelta(seconds=int(rng.integers(1, 90)))
        inserted = created + pd.Timedelta(seconds=int(rng.integers(1, 30)))
        rows.append(
            {
                "uuid": _uuid7(rng, r["time"]),
                "event": POSTHOG_EVENTS[r["event"]],
                "properties": props,
                "distinct_id": distinct,
                "timestamp": r["time"],
                "created_at": created,
                "elements_chain": "",
                "person_properties": person_props,
                "person_id": r["posthog_person_id"],
                "_inserted_at": inserted,
            }
        )
    out = folder / prefix
    out.mkdir(parents=True, exist_ok=True)
    by_day: dict[pd.Timestamp, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(row["_inserted_at"].floor("D"), []).append(row)
    schema = pa.schema(
        [
            ("uuid", pa.string()),
            ("event", pa.string()),
            ("properties", pa.string()),
            ("distinct_id", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("created_at", pa.timestamp("us", tz="UTC")),
            ("elements_chain", pa.string()),
            ("person_properties", pa.string()),
            ("person_id", pa.string()),
            ("_inserted_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    for day, day_rows in sorted(by_day.items()):
        start, end = day.isoformat(), (day + pd.Timedelta(days=1)).isoformat()
        if format == "parquet":
            name = f"{start}-{end}-0.parquet.zst"
            table = pa.Table.from_pylist(
                [
                    {
                        **row,
                        "properties": json.dumps(row["properties"]),
                        "person_properties": json.dumps(row["person_properties"]),
                    }
                    for row in day_rows
                ],
                schema=schema,
            )
            pq.write_table(table, out / name, compression="zstd")
        else:
            name = f"{start}-{end}-0.jsonl.gz"
            text = [
                {**row, **{k: row[k].isoformat() for k in ("timestamp", "created_at", "_inserted_at")}}
                for row in day_rows
            ]
            (out / name).write_bytes(gzip.compress(_jsonl(text), mtime=0))
        manifest = {"files": [f"{prefix}/{name}"]}
        (out / f"{start}-{end}_manifest.json").write_text(json.dumps(manifest))
    return {
        "data": {"events": str(out), "preset": "posthog"},
        "success": {"event": POSTHOG_EVENTS["purchase"], "within_days": WINDOW_DAYS},
        "segments": ["person_properties.plan"],
    }


# --------------------------------------------------------------------------- GA4


GA4_EVENTS = {
    "page_view": "page_view",
    "product_view": "view_item",
    "add_to_cart": "add_to_cart",
    "purchase": "purchase",
}

_TYPES = {"s": pa.string(), "i": pa.int64(), "f": pa.float64(), "b": pa.bool_()}


def _struct(spec: str) -> pa.StructType:
    """A struct type from ``"name:t name:t ..."`` (t: s string, i int64, f float64, b bool)."""
    return pa.struct([(name, _TYPES[t]) for name, t in (item.split(":") for item in spec.split())])


_GA4_VALUE = "string_value:s int_value:i float_value:f double_value:f"
_GA4_DEVICE = (
    "category:s mobile_brand_name:s mobile_model_name:s mobile_marketing_name:s mobile_os_hardware_model:s "
    "operating_system:s operating_system_version:s vendor_id:s advertising_id:s language:s "
    "is_limited_ad_tracking:s time_zone_offset_seconds:i browser:s browser_version:s"
)
_GA4_ECOMMERCE = (
    "total_item_quantity:i purchase_revenue_in_usd:f purchase_revenue:f refund_value_in_usd:f refund_value:f "
    "shipping_value_in_usd:f shipping_value:f tax_value_in_usd:f tax_value:f unique_items:i transaction_id:s"
)
_GA4_ITEM = (
    "item_id:s item_name:s item_brand:s item_category:s price_in_usd:f price:f quantity:i item_revenue_in_usd:f "
    "item_revenue:f"
)
GA4_SCHEMA = pa.schema(
    [
        ("event_date", pa.string()),
        ("event_timestamp", pa.int64()),
        ("event_name", pa.string()),
        ("event_params", pa.list_(pa.struct([("key", pa.string()), ("value", _struct(_GA4_VALUE))]))),
        ("event_previous_timestamp", pa.int64()),
        ("event_value_in_usd", pa.float64()),
        ("event_bundle_sequence_id", pa.int64()),
        ("event_server_timestamp_offset", pa.int64()),
        ("user_id", pa.string()),
        ("user_pseudo_id", pa.string()),
        ("privacy_info", _struct("analytics_storage:s ads_storage:s uses_transient_token:s")),
        (
            "user_properties",
            pa.list_(pa.struct([("key", pa.string()), ("value", _struct(_GA4_VALUE + " set_timestamp_micros:i"))])),
        ),
        ("user_first_touch_timestamp", pa.int64()),
        ("user_ltv", _struct("revenue:f currency:s")),
        (
            "device",
            pa.struct([*_struct(_GA4_DEVICE), pa.field("web_info", _struct("browser:s browser_version:s hostname:s"))]),
        ),
        ("geo", _struct("city:s country:s continent:s region:s sub_continent:s metro:s")),
        ("app_info", _struct("id:s version:s install_store:s firebase_app_id:s install_source:s")),
        ("traffic_source", _struct("name:s medium:s source:s")),
        ("stream_id", pa.string()),
        ("platform", pa.string()),
        ("event_dimensions", _struct("hostname:s")),
        ("ecommerce", _struct(_GA4_ECOMMERCE)),
        ("items", pa.list_(_struct(_GA4_ITEM))),
        ("is_active_user", pa.bool_()),
        ("batch_event_index", pa.int64()),
        ("batch_page_id", pa.int64()),
        ("batch_ordering_id", pa.int64()),
    ]
)


def _ga4_param(key: str, value: Any) -> dict[str, Any]:
    v = {"string_value": None, "int_value": None, "float_value": None, "double_value": None}
    if isinstance(value, str):
        v["string_value"] = value
    elif isinstance(value, float):
        v["double_value"] = value
    else:
        v["int_value"] = int(value)
    return {"key": key, "value": v}


def write_ga4(pop: Population, folder: Path, *, property_id: int = 412345678) -> dict[str, Any]:
    """The BigQuery export, extracted table by table: ``analytics_<property_id>/events_YYYYMMDD.parquet``.

    One daily shard per day (the property's time zone is UTC here), and, for the last day, also the streaming
    export's ``events_intraday_YYYYMMDD`` shard, holding part of that day's events again (the intraday table is
    deleted only once the daily one is complete, so an extract taken in between has both): a reader must not
    count them twice. Rows follow the export schema: event_date, event_timestamp (µs), event_name, event_params
    (key / value {string_value, int_value, float_value, double_value}, with ga_session_id and ga_session_number),
    user_id (set after the login on that device), user_pseudo_id (the browser's client id: one per device),
    user_properties (plan, with set_timestamp_micros, once logged in), user_first_touch_timestamp, device
    {category, operating_system, web_info {browser}}, geo {country}, traffic_source {source, medium},
    stream_id, platform, ecommerce and items for the shop events; and the automatically collected first_visit and
    session_start events (same time as the page view that starts the visit).

    Sources: https://support.google.com/analytics/answer/7029846 (GA4 BigQuery Export schema: datasets, the
    events_ and events_intraday_ tables, every field), https://developers.google.com/analytics/bigquery/event-schema.
    """
    rng = _rng(pop, 4)
    calls = _calls(pop)
    calls = calls[calls.call == "event"]
    logins = pop.logins.groupby("device_id").time.min()
    rows = []
    seen_session: set[int] = set()
    for bundle, r in enumerate(_records(calls), start=1):
        logged = bool(r["logged_in"])
        ts = _us(r["time"])
        pseudo = f"{r['ga_client']}.{int(r['first_time'].timestamp())}"
        names = []
        if r["session"] not in seen_session:
            seen_session.add(r["session"])
            if r["device_session_number"] == 1:
                names.append("first_visit")
            names.append("session_start")
        names.append(GA4_EVENTS[r["event"]])
        for k, name in enumerate(names):
            params = [
                _ga4_param("ga_session_id", int(r["start"].timestamp())),
                _ga4_param("ga_session_number", int(r["device_session_number"])),
                _ga4_param("page_location", f"https://shop.example.com{r['path']}"),
                _ga4_param("page_title", r["title"]),
                _ga4_param("engagement_time_msec", int(rng.integers(100, 30000))),
            ]
            items, ecommerce, value = [], None, None
            if name in ("view_item", "add_to_cart", "purchase"):
                qty = int(r.get("quantity") or 1)
                items = [
                    {
                        "item_id": r["product_id"],
                        "item_name": r["product_name"],
                        "item_brand": "Trailhead",
                        "item_category": "Outdoor",
                        "price_in_usd": r["price"],
                        "price": r["price"],
                        "quantity": qty,
                        "item_revenue_in_usd": r["price"] * qty if name == "purchase" else None,
                        "item_revenue": r["price"] * qty if name == "purchase" else None,
                    }
                ]
                params.append(_ga4_param("currency", "USD"))
                params.append(_ga4_param("value", float(r["price"] * qty)))
            if name == "purchase":
                params.append(_ga4_param("transaction_id", r["order_id"]))
                value = float(r["revenue"])
                ecommerce = {
                    "total_item_quantity": int(r["quantity"]),
                    "purchase_revenue_in_usd": value,
                    "purchase_revenue": value,
                    "refund_value_in_usd": None,
                    "refund_value": None,
                    "shipping_value_in_usd": None,
                    "shipping_value": None,
                    "tax_value_in_usd": None,
                    "tax_value": None,
                    "unique_items": 1,
                    "transaction_id": r["order_id"],
                }
            user_props = []
            if logged:
                set_at = logins.get(r["device_id"], r["time"])
                user_props = [
                    {
                        "key": "plan",
                        "value": {
                            "string_value": r["plan"],
                            "int_value": None,
                            "float_value": None,
                            "double_value": None,
                            "set_timestamp_micros": _us(set_at),
                        },
                    }
                ]
            rows.append(
                {
                    "event_date": r["time"].strftime("%Y%m%d"),
                    "event_timestamp": ts + k,
                    "event_name": name,
                    "event_params": params,
                    "event_previous_timestamp": None,
                    "event_value_in_usd": value,
                    "event_bundle_sequence_id": bundle,
                    "event_server_timestamp_offset": int(rng.integers(100_000, 3_000_000)),
                    "user_id": r["user_id"] if logged else None,
                    "user_pseudo_id": pseudo,
                    "privacy_info": {"analytics_storage": None, "ads_storage": None, "uses_transient_token": "No"},
                    "user_properties": user_props,
                    "user_first_touch_timestamp": _us(r["first_time"]),
                    "user_ltv": {"revenue": 0.0, "currency": "USD"},
                    "device": {
                        "category": r["category"],
                        "mobile_brand_name": None,
                        "mobile_model_name": None,
                        "mobile_marketing_name": None,
                        "mobile_os_hardware_model": None,
                        "operating_system": r["os"],
                        "operating_system_version": f"{r['os']} {r['os_version']}",
                        "vendor_id": None,
                        "advertising_id": None,
                        "language": "en-us",
                        "is_limited_ad_tracking": "No",
                        "time_zone_offset_seconds": None,
                        "browser": None,
                        "browser_version": None,
                        "web_info": {
                            "browser": r["browser"],
                            "browser_version": r["browser_version"],
                            "hostname": "shop.example.com",
                        },
                    },
                    "geo": {
                        "city": "",
                        "country": r["country_name"],
                        "continent": "",
                        "region": "",
                        "sub_continent": "",
                        "metro": "(not set)",
                    },
                    "app_info": None,
                    "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
                    "stream_id": "7654321098",
                    "platform": "WEB",
                    "event_dimensions": None,
                    "ecommerce": ecommerce,
                    "items": items,
                    "is_active_user": True,
                    "batch_event_index": k + 1,
                    "batch_page_id": int(r["time"].timestamp() * 1000),
                    "batch_ordering_id": bundle,
                }
            )
    dataset = folder / f"analytics_{property_id}"
    dataset.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(row["event_date"], []).append(row)
    for day, day_rows in sorted(by_day.items()):
        pq.write_table(pa.Table.from_pylist(day_rows, schema=GA4_SCHEMA), dataset / f"events_{day}.parquet")
    last = max(by_day)
    part = by_day[last][: max(1, len(by_day[last]) // 2)]
    pq.write_table(pa.Table.from_pylist(part, schema=GA4_SCHEMA), dataset / f"events_intraday_{last}.parquet")
    return {
        "data": {"events": str(dataset), "preset": "ga4"},
        "success": {"event": GA4_EVENTS["purchase"], "within_days": WINDOW_DAYS},
        "segments": ["user_properties[plan].string_value"],
    }


# --------------------------------------------------------------------------- Segment


SEGMENT_TRACKS = {"product_view": "Product Viewed", "add_to_cart": "Product Added", "purchase": "Order Completed"}


def _segment_calls(pop: Population) -> list[dict[str, Any]]:
    """Every call analytics.js sends, as the Tracking API stores it: page, track and identify."""
    rng = _rng(pop, 5)
    calls = _calls(pop)
    out = []
    for r in _records(calls):
        logged = bool(r["logged_in"])
        sent = r["time"] + pd.Timedelta(milliseconds=int(rng.integers(5, 800)))
        received = sent + pd.Timedelta(milliseconds=int(rng.integers(20, 1500)))
        ua = f"Mozilla/5.0 ({r['os']}) {r['browser']}/{r['browser_version']}"
        page = (
            {
                "path": r["path"],
                "referrer": "",
                "search": "",
                "title": r["title"],
                "url": f"https://shop.example.com{r['path']}",
            }
            if r.get("path")
            else {
                "path": "/account",
                "referrer": "",
                "search": "",
                "title": "Your account",
                "url": "https://shop.example.com/account",
            }
        )
        call: dict[str, Any] = {
            "anonymousId": r["device_id"],
            "channel": "client",
            "context": {
                "ip": f"203.0.113.{int(rng.integers(1, 255))}",
                "library": {"name": "analytics.js", "version": "npm:next-1.72.0"},
                "locale": "en-US",
                "page": page,
                "userAgent": ua,
            },
            "integrations": {},
            "messageId": f"ajs-next-{rng.bytes(16).hex()}",
            "originalTimestamp": _iso_ms(r["time"]),
            "projectId": "Kp3x9QWmZt",
            "receivedAt": _iso_ms(received),
            "sentAt": _iso_ms(sent),
            "timestamp": _iso_ms(r["time"]),
            "userId": r["user_id"] if logged else None,
            "version": 2,
        }
        if r["call"] == "login":
            call.update({"type": "identify", "traits": {"plan": r["plan"], "email": r["email"]}})
        elif r["event"] == "page_view":
            call.update({"type": "page", "name": r["title"], "properties": dict(page)})
        else:
            props: dict[str, Any] = {"product_id": r["product_id"], "name": r["product_name"], "price": r["price"]}
            if r.get("quantity"):
                props["quantity"] = r["quantity"]
            if r.get("order_id"):
                props = {
                    "order_id": r["order_id"],
                    "total": r["revenue"],
                    "revenue": r["revenue"],
                    "currency": "USD",
                    "products": [props],
                }
            call.update({"type": "track", "event": SEGMENT_TRACKS[r["event"]], "properties": props})
        out.append(call)
    return out


def write_segment(
    pop: Population, folder: Path, *, warehouse: bool = False, upper: bool = False, source_id: str = "Kp3x9QWmZt"
) -> dict[str, Any]:
    """Segment's AWS S3 destination, or (``warehouse=True``) a Segment warehouse.

    S3: ``segment-logs/<source_id>/<received-day>/<upload-ms>.<uuid>.gz``, where received-day is the UTC day the
    API received the calls, as epoch milliseconds; bare gzip files (no ``.json`` in the name) of newline-separated
    JSON, the full call as received, every call type: ``page`` (page views), ``track`` (Product Viewed, Product
    Added, Order Completed: event, properties, userId (null before the login), anonymousId, timestamp, messageId,
    context {...}) and ``identify`` (userId, anonymousId, traits {plan, email}). The plan is only in the identify
    calls' traits.

    Warehouse: a DuckDB file with the warehouse schema's tables: ``tracks`` (id, anonymous_id, user_id, event (the
    event's table name, snake_case), event_text (its name as sent), timestamp, received_at, context_* columns,
    ...), ``identifies`` (id, anonymous_id, user_id, the traits as columns: plan, email, ...), ``users`` (id, plan,
    email, ...: the latest traits of each identified user; no anonymous_id), ``pages`` and one table per event.
    With ``upper``: upper-case table and column names, as in Snowflake.

    Sources: https://segment.com/docs/connections/storage/catalog/aws-s3/ (data format: gzipped newline-separated
    JSON of the full call; ``segment-logs/{source-id}/{received-day}/filename.gz``),
    https://segment.com/docs/connections/spec/ (track / identify / page fields),
    https://segment.com/docs/connections/storage/warehouses/schema/ (tracks, identifies, users, pages, event_text).
    """
    calls = _segment_calls(pop)
    if warehouse:
        return _segment_warehouse(calls, folder, upper)
    rng = _rng(pop, 6)
    batches: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for call in calls:
        received = pd.Timestamp(call["receivedAt"])
        day_ms = int(received.floor("D").timestamp() * 1000)
        batch = received.hour // 6  # a few files a day
        batches.setdefault((day_ms, batch), []).append(call)
    root = folder / "segment-logs"
    for (day_ms, batch), records in sorted(batches.items()):
        where = root / source_id / str(day_ms)
        where.mkdir(parents=True, exist_ok=True)
        upload_ms = day_ms + (batch + 1) * 6 * 3_600_000 + int(rng.integers(0, 600_000))
        name = f"{upload_ms}.{_uuid4(rng)}.gz"
        (where / name).write_bytes(gzip.compress(_jsonl(records), mtime=0))
    return {
        "data": {"events": str(root), "preset": "segment"},
        "success": {"event": SEGMENT_TRACKS["purchase"], "within_days": WINDOW_DAYS},
        "segments": ["traits.plan"],
    }


def _snake(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _segment_warehouse(calls: list[dict[str, Any]], folder: Path, upper: bool) -> dict[str, Any]:
    def base(call: dict[str, Any]) -> dict[str, Any]:
        page = call["context"]["page"]
        return {
            "id": call["messageId"],
            "anonymous_id": call["anonymousId"],
            "user_id": call["userId"],
            "timestamp": pd.Timestamp(call["timestamp"]),
            "original_timestamp": pd.Timestamp(call["originalTimestamp"]),
            "sent_at": pd.Timestamp(call["sentAt"]),
            "received_at": pd.Timestamp(call["receivedAt"]),
            "uuid_ts": pd.Timestamp(call["receivedAt"]) + pd.Timedelta(minutes=7),
            "context_ip": call["context"]["ip"],
            "context_library_name": call["context"]["library"]["name"],
            "context_library_version": call["context"]["library"]["version"],
            "context_locale": call["context"]["locale"],
            "context_page_path": page["path"],
            "context_page_referrer": page["referrer"],
            "context_page_search": page["search"],
            "context_page_title": page["title"],
            "context_page_url": page["url"],
            "context_user_agent": call["context"]["userAgent"],
        }

    tracks, identifies, pages, per_event = [], [], [], {}
    users: dict[str, dict[str, Any]] = {}
    for call in calls:
        row = base(call)
        if call["type"] == "track":
            row.update({"event": _snake(call["event"]), "event_text": call["event"]})
            tracks.append(row)
            props = {k: v for k, v in call["properties"].items() if not isinstance(v, (list, dict))}
            per_event.setdefault(_snake(call["event"]), []).append({**row, **props})
        elif call["type"] == "identify":
            identifies.append({**row, **call["traits"]})
            users[call["userId"]] = {
                "id": call["userId"],
                **call["traits"],
                "received_at": row["received_at"],
                "uuid_ts": row["uuid_ts"],
            }
        else:
            pages.append({**row, "name": call["name"], **call["properties"]})
    tables = {"tracks": tracks, "identifies": identifies, "users": list(users.values()), "pages": pages, **per_event}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "segment.duckdb"
    con = duckdb.connect(str(path))
    try:
        for name, rows in tables.items():
            df = pd.DataFrame(rows)
            for c in df.columns:
                if df[c].dtype == object and c in ("user_id", "plan", "email", "anonymous_id", "name"):
                    df[c] = df[c].astype("string")
            table = name.upper() if upper else name
            if upper:
                df.columns = [c.upper() for c in df.columns]
            con.register("df_view", df)
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM df_view')
            con.unregister("df_view")
    finally:
        con.close()
    t = str.upper if upper else str
    return {
        "data": {
            "events": {"table": t("tracks"), "database": str(path)},
            "users": {"table": t("users"), "database": str(path)},
            "preset": "segment",
        },
        "success": {"event": SEGMENT_TRACKS["purchase"], "within_days": WINDOW_DAYS},
        "segments": [t("plan")],
    }


# --------------------------------------------------------------------------- Heap


HEAP_EVENTS = {
    "page_view": "pageviews",
    "product_view": "shop_product_viewed",
    "add_to_cart": "shop_added_to_cart",
    "purchase": "shop_purchase",
}


def write_heap(pop: Population, folder: Path, *, users_table: str = "users") -> dict[str, Any]:
    """Heap Connect to a warehouse, as a DuckDB file ``heap.duckdb``: all_events, users, sessions, pageviews,
    one table per synced event, user_migrations.

    In a warehouse sync Heap resolves identities on write: every event of a person carries the identified user's
    ``user_id`` (a hash of the identity) once they were identified, their anonymous ids are folded into it
    (``user_migrations`` lists from_user_id → to_user_id); a person never identified keeps the anonymous user of
    their device. ``all_events``: event_id, user_id, session_id, time (UTC), event_table_name (``pageviews`` or
    the synced event's table, ``<category>_<event name>``). ``users``: user_id, identity (null when anonymous),
    email, joindate, last_modified, and custom user properties (``plan``). ``sessions``: session_id, user_id, time
    and the session's properties: many rows per user. ``users_table`` names the table the mapping passes as
    ``data.users`` (``"sessions"``: the mistake a users check must catch).

    Sources: https://help.heap.io/heap-connect/heap-connect-guide/data-schema (users, sessions, pageviews,
    all_events, event tables), https://help.heap.io/heap-connect/heap-connect-guide/identity-resolution (user
    migrations; warehouses resolve them on write), https://fivetran.com/docs/connectors/applications/heap/connector-schema
    (column lists).
    """
    rng = _rng(pop, 7)
    people = pop.people.set_index("person")
    devices = pop.devices.set_index("device_id")
    heap_user = {
        p: (int(people.at[p, "heap_identified_id"]) if pd.notna(people.at[p, "user_id"]) else None)
        for p in people.index
    }
    for _, row in devices.iterrows():
        if heap_user[row.person] is None:
            heap_user[row.person] = int(row.heap_user_id)
    ev = pop.events
    event_ids = 10**9 + np.arange(len(ev)) * 1000 + rng.integers(0, 1000, len(ev))  # unique, not sequential
    sessions = pop.sessions.set_index("session")
    all_events = pd.DataFrame(
        {
            "event_id": event_ids.astype("int64"),
            "user_id": ev.person.map(heap_user).astype("int64"),
            "session_id": ev.session.map(sessions.heap_session_id).astype("int64"),
            "time": ev.time.dt.tz_localize(None),
            "event_table_name": ev.event.map(HEAP_EVENTS),
        }
    )
    first = ev.groupby("person").time.min().dt.tz_localize(None)
    last = ev.groupby("person").time.max().dt.tz_localize(None)
    users = pd.DataFrame(
        {
            "user_id": [heap_user[p] for p in people.index],
            "identity": people.user_id.astype("string").to_numpy(),
            "handle": people.user_id.astype("string").to_numpy(),
            "email": people.email.astype("string").to_numpy(),
            "joindate": first.reindex(people.index).to_numpy(),
            "last_modified": last.reindex(people.index).to_numpy(),
            "plan": people.plan.astype("string").to_numpy(),
        }
    )
    s = pop.sessions.merge(devices[["os", "browser", "category"]], left_on="device_id", right_index=True)
    s = s.merge(people[["country_name"]], left_on="person", right_index=True)
    sessions_table = pd.DataFrame(
        {
            "session_id": s.heap_session_id.astype("int64"),
            "user_id": s.person.map(heap_user).astype("int64"),
            "time": s.start.dt.tz_localize(None),
            "library": "web",
            "platform": s.os,
            "device_type": s.category.map({"desktop": "Desktop", "mobile": "Mobile"}),
            "browser": s.browser,
            "country": s.country_name,
            "referrer": None,
            "landing_page": "shop.example.com/",
            "utm_source": None,
        }
    )
    views = ev.event == "page_view"
    pageviews = (
        all_events[views.to_numpy()]
        .drop(columns=["event_table_name"])
        .assign(path=ev.path[views].to_numpy(), title=ev.title[views].to_numpy(), domain="shop.example.com")
    )
    migrations = []
    for p in people.index:
        if pd.isna(people.at[p, "user_id"]):
            continue
        for d in devices.index[devices.person == p]:
            migrations.append(
                {
                    "from_user_id": int(devices.at[d, "heap_user_id"]),
                    "to_user_id": heap_user[p],
                    "time": pop.logins[pop.logins.device_id == d].time.min().tz_localize(None),
                }
            )
    tables = {
        "all_events": all_events,
        "users": users,
        "sessions": sessions_table,
        "pageviews": pageviews,
        "user_migrations": pd.DataFrame(migrations),
    }
    for canonical, table in HEAP_EVENTS.items():
        if canonical != "page_view":
            tables[table] = all_events[(ev.event == canonical).to_numpy()].drop(columns=["event_table_name"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "heap.duckdb"
    con = duckdb.connect(str(path))
    try:
        for name, df in tables.items():
            con.register("df_view", df)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM df_view')
            con.unregister("df_view")
    finally:
        con.close()
    return {
        "data": {
            "events": {"table": "all_events", "database": str(path)},
            "users": {"table": users_table, "database": str(path)},
            "preset": "heap",
        },
        "success": {"event": HEAP_EVENTS["purchase"], "within_days": WINDOW_DAYS},
        "segments": ["plan"],
    }


WRITERS = {
    "amplitude": write_amplitude,
    "mixpanel": write_mixpanel,
    "posthog": write_posthog,
    "ga4": write_ga4,
    "segment": write_segment,
    "heap": write_heap,
}


def vendor_ids(pop: Population) -> dict[str, int]:
    """How many ids a reader that does not stitch identities would count as people, per vendor id column:
    what makes the tests sensitive to identity stitching."""
    ev = pop.events.merge(pop.people[["person", "user_id"]], on="person")
    logged = ev.logged_in.to_numpy()
    mixpanel = np.where(logged, ev.user_id.astype(object), "$device:" + ev.device_id.astype(str))
    segment = np.where(logged, ev.user_id.astype(object), ev.device_id.astype(object))
    return {
        "mixpanel_distinct_ids": len(set(mixpanel)),
        "ga4_user_pseudo_ids": ev.device_id.nunique(),
        "segment_user_or_anonymous_ids": len(set(segment)),
        "posthog_distinct_ids": len(set(mixpanel)),  # same shape: anonymous id per device, then the user id
    }


__all__ = [
    "WRITERS",
    "Population",
    "population",
    "truth",
    "vendor_ids",
    "write_amplitude",
    "write_ga4",
    "write_heap",
    "write_mixpanel",
    "write_posthog",
    "write_segment",
]
