"""A workshop: its configuration, its engine connection and its data, mapped onto the canonical relations.

>>> ws = Workshop.load("data/ecomm/workshop.yaml")          # doctest: +SKIP
>>> ws.unit_table().to_pandas()                              # doctest: +SKIP

From Python, any source may be a pandas DataFrame, a pyarrow Table, a DuckDB relation or an Ibis table::

    Workshop.from_dict({"data": {"events": df}, "success": {"event": "purchase", "within_days": 14}})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from .config import WorkshopConfig, load_config, parse_config
from .engine import connect, keeps_tables
from .errors import ConfigError, DataError, did_you_mean, listing
from .identity import IdentityRule
from .presets import PRESETS
from .sources import (
    MappedEvents,
    describe_source,
    extra_links,
    identity_rule,
    is_scalar,
    keyed_key_check,
    map_events,
    map_keyed,
    open_table,
    resolve,
    sibling_table,
)
from .unit_table import UNIT_COLUMNS, build_unit_table, identify_traits, summarize


class Workshop:
    """The data of one workshop, ready for analysis. Tables are Ibis expressions on ``self.con``."""

    def __init__(self, config: WorkshopConfig, con: ibis.BaseBackend | None = None) -> None:
        self.config = config
        self.con = con if con is not None else connect(config.engine)
        self._paths: dict[str, ir.Value] = {}  # nested properties read as columns, by path (has_trait)
        self._events: dict[tuple[bool, tuple[str, ...]], ir.Table] = {}  # (keep_placeholders, paths) -> events
        self._filters_read = False  # whether the `where:` filters' nested properties were added to _paths
        self.memo: dict[Any, Any] = {}  # results per state of this opened data, shared by its views (memo.py)

    @classmethod
    def load(cls, path: str | Path, *, con: ibis.BaseBackend | None = None, **sources: Any) -> Workshop:
        """Read ``workshop.yaml``; ``events=``/``users=``/``accounts=`` replace its data sources."""
        config = load_config(path)
        if sources:
            config = config.with_data(**sources)
        return cls(config, con)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, con: ibis.BaseBackend | None = None) -> Workshop:
        """A workshop from a mapping shaped like workshop.yaml (sources may be DataFrames)."""
        return cls(parse_config(raw), con)

    def with_config(self, config: WorkshopConfig) -> Workshop:
        """The same data and connection under another success definition or segments (data opened once)."""
        if config.data is not self.config.data:
            return Workshop(config, self.con)
        new = Workshop(config, self.con)
        for name in ("mapped", "users", "accounts", "data_end", "_identify_traits"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name]
        new._paths = dict(self._paths)
        new.memo = self.memo  # the same data: results keyed by their state (memo.py) hold for every view
        new.keep_unit_tables = self.keep_unit_tables
        return new

    # ------------------------------------------------------------------ data

    @property
    def unit(self) -> str:
        return self.config.unit

    @property
    def unit_key(self) -> str:
        return "account_id" if self.config.unit == "account" else "user_id"

    @cached_property
    def mapped(self) -> MappedEvents:
        data = self.config.data
        raw = open_table(self.con, data.events, self.config.base_dir, "data.events")
        mapped = map_events(raw, data, describe_source(data.events, self.config.base_dir))
        if mapped.links is None:
            return mapped
        links = mapped.links
        rule = identity_rule(data)
        source = self._links_source(rule) if rule is not None else None
        if source is not None:
            table = open_table(self.con, source, self.config.base_dir, "data.identity.links")
            links = extra_links(mapped.pairs, table, rule, data, describe_source(source, self.config.base_dir))
        # one table of links per opened workshop, joined by every query (identity.py)
        return mapped.with_links(links.cache())

    def _links_source(self, rule: IdentityRule) -> Any:
        """The table of id links: ``data.identity.links`` as given, or the preset's table of that name beside
        the events table (Segment's warehouse ``identifies`` beside ``tracks``) when there is one."""
        if rule.links is None or isinstance(self.config.data.identity, IdentityRule):
            return rule.links
        return sibling_table(self.con, self.config.data.events, rule.links, self.config.base_dir)

    @property
    def events(self) -> ir.Table:
        """Canonical events: user_id, event, timestamp (UTC), [session_id], [account_id], properties, and the
        nested properties asked for by path (:meth:`has_trait`). Text ids that say "no id" (``NULL``, blanks)
        are null: their spellings are looked up among the distinct ids on first use (sources.MappedEvents)."""
        return self._events_table(keep_placeholders=False)

    @property
    def events_with_placeholder_ids(self) -> ir.Table:
        """:attr:`events` with text ids as exported (a ``NULL`` id is still text): for a query that reads no id,
        or matches ids to units and drops missing ones itself (the unit table), so that the lookup of the ids'
        "no id" spellings (a grouping of every event) is not paid for it."""
        return self._events_table(keep_placeholders=True)

    def _events_table(self, keep_placeholders: bool) -> ir.Table:
        if not self._filters_read:
            self._filters_read = True
            for name in self._filter_columns():  # `where:` filters may name nested properties too
                self._add_path(name)
        key = (keep_placeholders, tuple(self._paths))
        if key not in self._events:
            self._events[key] = self.mapped.with_columns(self._paths, keep_placeholders=keep_placeholders)
        return self._events[key]

    def has_trait(self, name: str) -> bool:
        """Whether units can be segmented on ``name``: a trait column, or a nested property path the vendor's
        export holds (``user_properties.plan``, ``person_properties.plan``, ``properties.plan``,
        ``user_properties[plan].string_value``), which from then on is an events column named by its path.

        A nested property is read like every event trait: the unit's value is the one on its earliest event
        carrying one (unit_table.py), the same on every engine.
        """
        return name in self.trait_columns() or self._add_path(name)

    def _add_path(self, name: str) -> bool:
        if name in self.mapped.columns or name in self._paths:
            return name in self._paths
        raw = self.mapped.raw
        expr = resolve(raw, name)
        if expr is None or not is_scalar(expr):
            return False
        # a key of a map, of JSON or of a key/value array always "resolves": only the data says it is there
        if not int(raw.select(v=expr).v.count().to_pyarrow().as_py() or 0):
            return False
        self._paths[name] = expr
        return True

    def _filter_columns(self) -> list[str]:
        """Columns named by the `where:` filters of the success definition and the behaviour segments."""
        from .segments import parse_segments

        success = self.config.success
        steps = [*success.steps, *([success.start] if success.start is not None else [])]
        with suppress(ConfigError):  # a segment error is reported where the segments are used, with its fix
            steps += [s.step for s in parse_segments(self.config.segments) if s.step is not None]
        return list(dict.fromkeys(c.column for step in steps for c in step.where))

    @cached_property
    def users(self) -> ir.Table | None:
        table = self._keyed("users", "user_id")
        if table is None and self._identify_traits is not None:
            return self._identify_traits
        return table

    @cached_property
    def _identify_traits(self) -> ir.Table | None:
        """Traits from identify calls (Segment: ``traits.plan``), one row per person: each trait's first value."""
        preset = PRESETS.get(self.config.data.preset or "")
        if preset is None or preset.trait_calls is None or self.mapped.calls is None:
            return None
        return identify_traits(self.mapped, preset.trait_calls)

    @cached_property
    def accounts(self) -> ir.Table | None:
        return self._keyed("accounts", "account_id")

    def _keyed(self, name: str, key: str) -> ir.Table | None:
        spec = getattr(self.config.data, name)
        if spec is None:
            return None
        raw = open_table(self.con, spec, self.config.base_dir, f"data.{name}")
        label = describe_source(spec, self.config.base_dir)
        own = spec.get("columns") if isinstance(spec, Mapping) else None

        def keyed(placeholders: dict[str, list[str]] | None) -> ir.Table:
            return map_keyed(raw, key, self.config.data, label, f"data.{name}", own, spec, placeholders)

        found = keyed_key_check(keyed({key: []}), key, label, f"data.{name}")  # and no key on two rows
        return keyed(None if found is None else {key: found})  # None: too many spellings, each row is checked

    @cached_property
    def data_end(self) -> datetime | None:
        """The end of the observation (UTC): ``data.observed_until`` when set, else the last event's time.

        One query, once per opened data: every censoring decision (population.py) reads it, and every view of
        the data (:meth:`with_config`, e.g. a room's question under the session's decisions) shares it through
        the data's memo (memo.py).
        """
        from .memo import kept

        configured = self.config.data.observed_until
        if configured is not None:
            return configured
        held = kept(self, ("data_end",))
        if held is not None:
            return held
        value = self.events_with_placeholder_ids.timestamp.max().to_pyarrow().as_py()
        if value is None:
            return None
        end = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return kept(self, ("data_end",), end)

    @property
    def unit_events(self) -> ir.Table:
        """Events carrying the unit key: for accounts, ``account_id`` from the events or else the users table."""
        return self._unit_events(self.events)

    @property
    def unit_events_with_placeholder_ids(self) -> ir.Table:
        """:attr:`unit_events` with text ids as exported (see :attr:`events_with_placeholder_ids`)."""
        return self._unit_events(self.events_with_placeholder_ids)

    def _unit_events(self, events: ir.Table) -> ir.Table:
        if self.unit == "user" or "account_id" in events.columns:
            return events
        users = self.users
        if users is None or "account_id" not in users.columns:
            raise DataError(
                f"`unit: account` needs an account for each event, but {self.mapped.label} has no account_id "
                "column and there is no users table with one. Fix: map `data.columns.account_id`, add "
                "`data.users` with user_id and account_id columns, or use `unit: user`."
            )
        link = users.select(_u=users.user_id, account_id=users.account_id)
        joined = events.left_join(link, events.user_id == link._u)
        return joined.select(*events.columns, "account_id")

    # ------------------------------------------------------------------ traits

    @cached_property
    def trait_table(self) -> ir.Table | None:
        """The table whose traits describe a unit: users for ``unit: user``, accounts for ``unit: account``."""
        return self.users if self.unit == "user" else self.accounts

    def event_trait_columns(self) -> list[str]:
        """Event columns that can carry traits (not the canonical fields)."""
        skip = {"user_id", "event", "timestamp", "session_id", "account_id"}
        return [c for c in self.events_with_placeholder_ids.columns if c not in skip]

    def table_trait_columns(self) -> list[str]:
        """The traits of the users (accounts) table: its columns but the key."""
        return [c for c in self.trait_table.columns if c != self.unit_key] if self.trait_table is not None else []

    def trait_columns(self) -> list[str]:
        """Every trait a unit can be segmented on: unit-table traits first, then event columns."""
        table_traits = self.table_trait_columns()
        return table_traits + [c for c in self.event_trait_columns() if c not in table_traits]

    def plain_segments(self) -> list[str]:
        """The segments of workshop.yaml that are plain trait names (``segments: [platform, country]``)."""
        return [s for s in self.config.segments if isinstance(s, str)]

    def _resolve_traits(self, traits: Sequence[str] | None) -> tuple[list[str], list[str]]:
        """Split requested traits into (from event columns, from the users/accounts table)."""
        table_traits = set(self.table_trait_columns())
        if traits is None:
            traits = self.plain_segments()
        from_events, from_table = [], []
        for name in traits:
            if name in table_traits:
                from_table.append(name)
            elif name in self.event_trait_columns() or self.has_trait(name):
                from_events.append(name)
            else:
                raise DataError(
                    f"no trait {name!r}: it is neither a column of the {self.unit}s table nor of the events."
                    f"{did_you_mean(name, self.trait_columns())} Traits available: {listing(self.trait_columns())}."
                )
        return from_events, from_table

    # ------------------------------------------------------------------ the unit table

    def unit_table(
        self, traits: Sequence[str] | None = None, *, include_unstarted: bool = False, first_values: bool = True
    ) -> ir.Table:
        """One row per unit: start, success, time to success, and the traits (default: the plain segments);
        ``first_values=False``: event traits as the instants of their first values (see build_unit_table).

        With :attr:`keep_unit_tables` the table is built in the engine once per success definition and kept
        there (:meth:`_kept_unit_table`): every later question reads a table of one row per unit instead of
        the events."""
        from_events, from_table = self._resolve_traits(traits)
        if first_values and self.unit_tables_kept:
            return self._kept_unit_table(from_events, from_table, include_unstarted)
        return self._build_unit_table(from_events, from_table, include_unstarted, first_values)

    # Every analysis asks for the unit table (population, the id-like check, the counts: three passes over the
    # events for one `compare`), so it is built once and kept; False builds it from the events every time.
    keep_unit_tables = True

    @property
    def unit_tables_kept(self) -> bool:
        """Whether the unit table is kept in the engine (:attr:`keep_unit_tables`, on an engine that keeps
        tables): then every later question reads one row per unit, not the events."""
        return self.keep_unit_tables and keeps_tables(self.con)

    def _build_unit_table(
        self, from_events: list[str], from_table: list[str], include_unstarted: bool, first_values: bool
    ) -> ir.Table:
        unit_traits = None
        if from_table:
            t = self.trait_table
            unit_traits = t.select(self.unit_key, *from_table)
        # grouped by the ids as exported, units whose id says "no id" dropped after (build_unit_table): the
        # events' placeholder ids are never looked up for it
        return build_unit_table(
            self.unit_events_with_placeholder_ids,
            self.config.success,
            drop_missing_ids=True,
            unit_key=self.unit_key,
            event_traits=from_events,
            unit_traits=unit_traits,
            include_unstarted=include_unstarted,
            first_values=first_values,
        )

    def _kept_unit_table(self, from_events: list[str], from_table: list[str], include_unstarted: bool) -> ir.Table:
        """The unit table read from one kept in the engine (``Table.cache()``: a temporary table), built with
        every trait of the units table, the plain segments' event traits and every event trait asked for so
        far; a question on an event trait not in it builds it again with that one added. Kept in the memo of
        the opened data (memo.py) under the settings the unit table depends on, so another success definition
        has its own."""
        from .memo import kept, unit_state_key

        key = ("unit_table", unit_state_key(self))
        held = kept(self, key)
        if held is None or not set(from_events) <= set(held[0]):
            table_traits = self.table_trait_columns()
            # the plain segments' event traits come along (a segment naming no column is the caller's to refuse)
            plain = [t for t in self.plain_segments() if t not in table_traits and self.has_trait(t)]
            wanted = list(dict.fromkeys([*(held[0] if held else ()), *plain, *from_events]))
            table = self._build_unit_table(wanted, table_traits, True, True).cache()
            held = kept(self, key, (tuple(wanted), table))
        table = held[1]
        if not include_unstarted:
            table = table.filter(table.start_at.notnull())
        extra = ["steps_reached"] if "steps_reached" in table.columns else []
        return table.select(*dict.fromkeys([*UNIT_COLUMNS, *extra, *from_events, *from_table]))

    def baseline(self) -> dict[str, Any]:
        """Units, successes and success rate among the units whose success window is closed; units that never
        reached the start, and units too recent to judge (population.py), counted apart."""
        from .population import data_end, mature_condition

        table = self.unit_table(traits=[], include_unstarted=True)
        return summarize(table, mature_condition(table, self.config.success.within_days, data_end(self)))
