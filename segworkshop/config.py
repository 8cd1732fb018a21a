"""The ``workshop.yaml`` model: what data, which unit, what success means, which segments.

Parsing validates as it goes and raises :class:`~segworkshop.errors.ConfigError` with the key's dotted path,
what was found, and the fix. Paths in the file are relative to the file itself.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import ConfigError, did_you_mean
from .identity import parse_identity
from .worksheet import PRIVACY_MIN_UNITS

UNITS = ("user", "account")
SUCCESS_KINDS = ("event", "any_of", "all_of", "sequence")
TIME_UNITS = ("auto", "s", "ms", "us", "ns")
CANONICAL = ("user_id", "event", "timestamp", "session_id", "account_id")
OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in")
FIRST_EVENT = "first_event"
MAX_DAYS = 36_525  # a window (in days) beyond 100 years is a typo, and past what a time interval holds

TOP_KEYS = ("title", "data", "unit", "success", "segments", "privacy", "engine", "participants")
DATA_KEYS = ("events", "users", "accounts", "preset", "columns", "time_unit", "observed_until", "identity", "time_zone")
SUCCESS_KEYS = ("event", "any_of", "all_of", "sequence", "where", "within_days", "start", "name")


@dataclass(frozen=True)
class Condition:
    """One property filter on a step: ``column op value`` (``in``/``not_in`` take a list)."""

    column: str
    op: str
    value: Any

    def describe(self) -> str:
        return f"{self.column} {self.op} {self.value!r}"


@dataclass(frozen=True)
class Step:
    """An event, optionally restricted by property filters (e.g. purchase where plan = 'pro')."""

    event: str
    where: tuple[Condition, ...] = ()

    def describe(self) -> str:
        if not self.where:
            return self.event
        return f"{self.event} where " + " and ".join(c.describe() for c in self.where)


@dataclass(frozen=True)
class SuccessDefinition:
    """What success means: one event, any of / all of several, or an ordered sequence, optionally in a window.

    ``within_days`` is inclusive and counted from the start: the unit's first event, or its first
    occurrence of the ``start`` step (units that never start are left out, and counted).
    """

    kind: Literal["event", "any_of", "all_of", "sequence"]
    steps: tuple[Step, ...]
    within_days: float | None = None
    start: Step | None = None  # None: the unit's first event

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.event for s in self.steps))

    def what(self) -> str:
        """The events that make success, without the window or the start ("purchase", "a → b")."""
        joiner = {"event": "", "any_of": " or ", "all_of": " and ", "sequence": " → "}[self.kind]
        text = joiner.join(s.describe() for s in self.steps) if self.kind != "event" else self.steps[0].describe()
        if self.kind in ("any_of", "all_of") and len(self.steps) > 1:
            text = f"{self.kind.replace('_', ' ')}: {text}"
        return text

    def describe(self) -> str:
        text = self.what()
        if self.within_days is not None:
            days = int(self.within_days) if float(self.within_days).is_integer() else self.within_days
            text += f" within {days} days"
        start = "first event" if self.start is None else self.start.describe()
        return f"{text} (from {start})"


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and how its columns map onto events(user_id, event, timestamp, …)."""

    events: Any
    users: Any = None
    accounts: Any = None
    preset: str | None = None
    columns: Mapping[str, Any] = field(default_factory=dict)
    time_unit: str = "auto"
    observed_until: datetime | None = None  # when the export was taken (UTC); default: the last event's time
    identity: Any = None  # IdentityRule, False (off) or None (the preset's rule); see identity.py
    time_zone: str | None = None  # the zone of times written without one (IANA name); default UTC


@dataclass(frozen=True)
class WorkshopConfig:
    """A validated workshop: the parsed ``workshop.yaml`` (or its Python equivalent)."""

    data: DataConfig
    success: SuccessDefinition
    unit: str = "user"
    title: str = "Segmentation workshop"
    segments: tuple[Any, ...] = ()
    privacy_min_units: int = PRIVACY_MIN_UNITS
    engine: Any = None
    participants: tuple[str, ...] = ()
    path: Path | None = None  # the yaml file, when read from one
    # the mapping as read (``${VAR}`` unexpanded), for a command that writes a copy of the file (upload): the
    # file is read once, so what is copied is what was validated
    raw: Any = field(default=None, repr=False, compare=False, hash=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def with_data(self, **kwargs: Any) -> WorkshopConfig:
        """A copy with some data sources replaced (e.g. a DataFrame instead of a path)."""
        return replace(self, data=replace(self.data, **kwargs))


def load_config(path: str | Path) -> WorkshopConfig:
    """Read and validate a workshop.yaml file."""
    path = Path(path)
    if path.is_dir():
        path = path / "workshop.yaml"
    if not path.exists():
        raise ConfigError(
            f"{path}: no such file. Write one (the README shows the keys; `segworkshop init` drafts one from your "
            "events file), "
            "or pass the path of an existing workshop.yaml."
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}): workshop.yaml must be plain "
            "UTF-8 text. Fix: save it as UTF-8 in your editor, or remove what was pasted or copied in binary "
            "there (`segworkshop init` drafts a clean one)."
        ) from None
    if len(text) > MAX_CONFIG_CHARS:
        raise ConfigError(
            f"{path}: {len(text):,} characters; a workshop.yaml is a page of settings (at most "
            f"{MAX_CONFIG_CHARS:,}). Point it at the data instead of pasting data into it."
        )
    try:
        raw = bounded_load(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}. Check the indentation and quoting.") from None
    return parse_config(raw, path=path.resolve())


MAX_CONFIG_CHARS = 1_000_000
MAX_CONFIG_NODES = 100_000  # values a workshop.yaml may expand to, aliases counted each time they are used


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, counting the values the document expands to: an alias counts as often as it is used,
    so that a billion-laughs file (anchors of anchors) is refused after composing, before it is built."""


def bounded_load(text: str) -> Any:
    """``yaml.safe_load`` that refuses (ConfigError) a document expanding to more than MAX_CONFIG_NODES values."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}

        def size(n: yaml.Node) -> int:  # the expanded size, each shared node computed once
            if id(n) in sizes:
                return sizes[id(n)]
            sizes[id(n)] = MAX_CONFIG_NODES + 1  # a cycle (a recursive alias) is unbounded
            if isinstance(n, yaml.SequenceNode):
                total = 1 + sum(size(c) for c in n.value)
            elif isinstance(n, yaml.MappingNode):
                total = 1 + sum(size(k) + size(v) for k, v in n.value)
            else:
                total = 1
            sizes[id(n)] = min(total, 10 * MAX_CONFIG_NODES)
            return sizes[id(n)]

        expanded = size(node)
        if expanded > MAX_CONFIG_NODES:
            raise ConfigError(
                f"the file expands to more than {MAX_CONFIG_NODES:,} values (YAML anchors and aliases, `&a` / "
                "`*a`, repeated inside each other): refused before it is built. A workshop.yaml needs no "
                "aliases: write the values out."
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_config(raw: Any, path: Path | None = None) -> WorkshopConfig:
    """Validate a workshop mapping (as read from YAML, or built in Python)."""
    where = f"{path}: " if path else ""
    if raw is None:
        raise ConfigError(f"{where}the file is empty. It needs at least `data: {{events: …}}` and `success: …`.")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}expected a mapping of keys (data, unit, success, …), found {_kind(raw)}.")
    _unknown_keys(raw, TOP_KEYS, "", where)
    if "data" not in raw:
        raise ConfigError(f"{where}missing key `data`. Add `data: {{events: path/to/events.parquet}}`.")
    if "success" not in raw:
        raise ConfigError(f"{where}missing key `success`. Add e.g. `success: {{event: purchase, within_days: 14}}`.")
    unit = raw.get("unit", "user")
    if unit not in UNITS:
        raise ConfigError(f"{where}`unit` is {unit!r}; use `user` or `account`.{did_you_mean(str(unit), UNITS)}")
    segments = raw.get("segments") or ()
    if not isinstance(segments, Sequence) or isinstance(segments, str):
        raise ConfigError(f"{where}`segments` must be a list, e.g. `segments: [platform, country]`.")
    participants = raw.get("participants") or ()
    if isinstance(participants, str) or not isinstance(participants, Sequence):
        raise ConfigError(f"{where}`participants` must be a list of names, e.g. `participants: [Ana, Bo]`.")
    return WorkshopConfig(
        title=str(raw.get("title") or "Segmentation workshop"),
        data=parse_data(raw["data"], where),
        unit=unit,
        success=parse_success(raw["success"], where),
        segments=tuple(segments),
        privacy_min_units=_parse_privacy(raw.get("privacy"), where),
        engine=_check_engine(raw.get("engine"), where),
        participants=tuple(str(p) for p in participants),
        path=path,
        raw=copy.deepcopy(dict(raw)) if path is not None else None,
    )


def _check_engine(engine: Any, where: str) -> Any:
    """What can be checked of ``engine:`` without connecting: ``threads`` a whole number ≥ 1 (it is written
    into the engine's settings), a DuckDB file's folder exists (DuckDB creates the file, not the folders)."""
    if not isinstance(engine, Mapping):
        if isinstance(engine, str) and engine.startswith("duckdb://"):
            _check_duckdb_path(engine.split("://", 1)[1].split("?", 1)[0], "engine", where)
        return engine
    threads = engine.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(
            f"{where}`engine.threads` must be a whole number ≥ 1 (the threads DuckDB may use), found {threads!r}. "
            "Fix: e.g. `engine: {backend: duckdb, threads: 2}`, or leave it out (all cores)."
        )
    for key in ("database", "path"):
        if isinstance(engine.get(key), str):
            _check_duckdb_path(engine[key], f"engine.{key}", where)
    url = engine.get("url")
    if isinstance(url, str) and url.startswith("duckdb://"):
        _check_duckdb_path(url.split("://", 1)[1].split("?", 1)[0], "engine.url", where)
    return engine


def _check_duckdb_path(text: str, key: str, where: str) -> None:
    if not text or text == ":memory:" or "$" in text:
        return
    folder = Path(text).expanduser().parent
    if not folder.is_dir():
        raise ConfigError(
            f"{where}`{key}` is {text!r}, but the folder {folder.resolve()} does not exist (DuckDB creates the "
            "database file, not its folders). Fix: create the folder, or give a path in an existing one "
            "(relative paths are from where segworkshop runs)."
        )


def parse_data(raw: Any, where: str = "") -> DataConfig:
    if isinstance(raw, str):
        raw = {"events": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}`data` must be a mapping, e.g. `data: {{events: events.parquet}}`.")
    _unknown_keys(raw, DATA_KEYS, "data.", where)
    if raw.get("events") is None:
        raise ConfigError(f"{where}`data.events` is missing: give the path of the events file, glob or folder.")
    events = raw["events"]
    if isinstance(events, Mapping) and "path" in events:
        extra = set(events) - {"path", "csv"}
        if extra:
            raise ConfigError(
                f"{where}`data.events` has unknown keys {sorted(extra)}; files take "
                "`{path: FILE, csv: {ignore_errors: true}}` (the column mapping is `data.columns`)."
            )
        _check_csv_options(events, "data.events", where)
    preset = raw.get("preset")
    if preset is not None:
        from .presets import PRESETS

        preset = str(preset).lower()
        if preset not in PRESETS:
            raise ConfigError(
                f"{where}`data.preset` is {raw['preset']!r}; known presets: {', '.join(PRESETS)}."
                f"{did_you_mean(preset, PRESETS)}"
            )
    columns = raw.get("columns") or {}
    if not isinstance(columns, Mapping):
        raise ConfigError(f"{where}`data.columns` must map names to your columns, e.g. {{user_id: customer_id}}.")
    for key, value in columns.items():
        if key not in CANONICAL:
            raise ConfigError(
                f"{where}`data.columns.{key}`: unknown field; the fields are {', '.join(CANONICAL)}."
                f"{did_you_mean(str(key), CANONICAL)}"
            )
        ok = isinstance(value, str) or (
            isinstance(value, Mapping)
            and set(value) == {"coalesce"}
            and isinstance(value["coalesce"], list)
            and all(isinstance(v, str) for v in value["coalesce"])
        )
        if not ok:
            raise ConfigError(
                f"{where}`data.columns.{key}` must be a column name (or `{{coalesce: [a, b]}}`), found {value!r}."
            )
    for table_key, own_key in (("users", "user_id"), ("accounts", "account_id")):
        _check_keyed_source(raw.get(table_key), f"data.{table_key}", own_key, where)
    time_unit = str(raw.get("time_unit", "auto"))
    if time_unit not in TIME_UNITS:
        raise ConfigError(f"{where}`data.time_unit` is {time_unit!r}; use one of {', '.join(TIME_UNITS)}.")
    time_zone = raw.get("time_zone")
    if time_zone is not None:
        time_zone = _parse_zone(time_zone, where)
    return DataConfig(
        time_zone=time_zone,
        observed_until=_parse_instant(raw.get("observed_until"), "data.observed_until", where),
        identity=parse_identity(raw.get("identity"), where),
        events=raw["events"],
        users=raw.get("users"),
        accounts=raw.get("accounts"),
        preset=preset,
        columns=dict(columns),
        time_unit=time_unit,
    )


def _parse_zone(raw: Any, where: str) -> str:
    from zoneinfo import available_timezones

    zones = available_timezones()
    if not isinstance(raw, str) or raw not in zones:
        raise ConfigError(
            f"{where}`data.time_zone` is {raw!r}; use an IANA zone name such as America/Los_Angeles or "
            f"Europe/Berlin (the zone the export writes times in).{did_you_mean(str(raw), sorted(zones))}"
        )
    return raw


# options of the CSV reader a source may set (`{path: events.csv, csv: {ignore_errors: true}}`), with their types
CSV_OPTIONS: dict[str, tuple[type, ...]] = {
    "ignore_errors": (bool,),
    "encoding": (str,),
    "max_line_size": (int,),
    "delim": (str,),
    "quote": (str,),
    "escape": (str,),
    "header": (bool,),
    "null_padding": (bool,),
    "strict_mode": (bool,),
    "sample_size": (int,),
    "all_varchar": (bool,),
    "skip": (int,),
    "nullstr": (str,),
}


def _check_csv_options(spec: Any, key: str, where: str) -> None:
    if not isinstance(spec, Mapping) or "csv" not in spec:
        return
    options = spec["csv"]
    if not isinstance(options, Mapping):
        raise ConfigError(f"{where}`{key}.csv` maps CSV reader options, e.g. `csv: {{ignore_errors: true}}`.")
    for name, value in options.items():
        types = CSV_OPTIONS.get(str(name))
        if types is None:
            raise ConfigError(
                f"{where}`{key}.csv.{name}`: not a CSV option segworkshop passes on; use one of "
                f"{', '.join(CSV_OPTIONS)}.{did_you_mean(str(name), CSV_OPTIONS)}"
            )
        if not isinstance(value, types) or (types == (int,) and (isinstance(value, bool) or value < 0)):
            raise ConfigError(
                f"{where}`{key}.csv.{name}` must be {'true or false' if types == (bool,) else types[0].__name__}"
                f", found {value!r}."
            )


def _check_keyed_source(spec: Any, key: str, id_field: str, where: str) -> None:
    """``data.users`` / ``data.accounts`` as a mapping: ``{path: FILE}`` or ``{table: NAME[, database: FILE]}``,
    optionally with the table's own ``columns: {user_id: id}`` (never the events' ``data.columns``)."""
    if not isinstance(spec, Mapping):
        return
    _check_csv_options(spec, key, where)
    extra = set(spec) - {"path", "table", "database", "columns", "csv"}
    if extra:
        raise ConfigError(
            f"{where}`{key}` has unknown keys {sorted(extra)}; use `{{path: FILE, columns: {{{id_field}: COLUMN}}}}` "
            f"or `{{table: NAME, columns: {{{id_field}: COLUMN}}}}`."
        )
    if ("path" in spec) == ("table" in spec):
        raise ConfigError(
            f"{where}`{key}` needs exactly one of `path:` (a file or folder) or `table:` (in the engine)."
        )
    columns = spec.get("columns") or {}
    if not isinstance(columns, Mapping):
        raise ConfigError(f"{where}`{key}.columns` maps this table's ids, e.g. `{{{id_field}: id}}`.")
    for field_name, value in columns.items():
        if field_name not in ("user_id", "account_id"):
            raise ConfigError(
                f"{where}`{key}.columns.{field_name}`: a {key.split('.')[-1]} table maps only its ids (user_id, "
                "account_id); its other columns are traits under their own names."
            )
        if not isinstance(value, str) and not (isinstance(value, Mapping) and set(value) == {"coalesce"}):
            raise ConfigError(f"{where}`{key}.columns.{field_name}` must be a column name, found {value!r}.")


def _parse_instant(raw: Any, key: str, where: str) -> datetime | None:
    """A moment in UTC from YAML (a date, a datetime, or ISO 8601 text); text without a zone is UTC."""
    if raw is None:
        return None
    value: Any = raw
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"{where}`{key}` is {raw!r}, not a date or time; write it as ISO 8601, e.g. 2026-03-31 or "
                "2026-03-31T23:59:59Z."
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ConfigError(f"{where}`{key}` must be a date or time such as 2026-03-31, found {raw!r}.")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_success(raw: Any, where: str = "") -> SuccessDefinition:
    """``purchase`` | ``{event: purchase, where: …}`` | ``{any_of|all_of|sequence: [...]}``, + window and start."""
    if isinstance(raw, str):
        raw = {"event": raw}
    if isinstance(raw, SuccessDefinition):
        return raw
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}`success` must be an event name or a mapping, e.g. `success: {{event: purchase}}`.")
    _unknown_keys(raw, SUCCESS_KEYS, "success.", where)
    kinds = [k for k in SUCCESS_KINDS if k in raw]
    if len(kinds) != 1:
        found = "none" if not kinds else " and ".join(kinds)
        raise ConfigError(
            f"{where}`success` needs exactly one of `event`, `any_of`, `all_of`, `sequence` (found {found}). "
            "Example: `success: {event: purchase}` or `success: {sequence: [signup, activate, purchase]}`."
        )
    kind = kinds[0]
    if kind == "event":
        steps = (_parse_step({"event": raw["event"], "where": raw.get("where")}, "success.event", where),)
    else:
        if "where" in raw:
            raise ConfigError(
                f"{where}`success.where` only applies to a single `event`; with `{kind}`, put the filter on the "
                f"step: `{kind}: [{{event: purchase, where: {{plan: pro}}}}, …]`."
            )
        items = raw[kind]
        if isinstance(items, str) or not isinstance(items, Sequence) or not items:
            raise ConfigError(f"{where}`success.{kind}` must be a non-empty list of events, e.g. [signup, purchase].")
        steps = tuple(_parse_step(item, f"success.{kind}[{i}]", where) for i, item in enumerate(items))
        if kind == "sequence" and len(steps) < 2:
            raise ConfigError(f"{where}`success.sequence` needs at least two steps; use `event:` for one.")
    within = raw.get("within_days")
    if within is not None and not _is_days(within):
        raise ConfigError(f"{where}`success.within_days` must be a number of days ≥ 0, found {within!r}.")
    if within is not None and within > MAX_DAYS:
        raise ConfigError(
            f"{where}`success.within_days` is {within:g} days, more than {MAX_DAYS:,} (100 years): no export "
            "spans that. Use the days a unit has to succeed, e.g. `within_days: 14`, or leave the window out."
        )
    start_raw = raw.get("start", FIRST_EVENT)
    start = None if start_raw in (None, FIRST_EVENT) else _parse_step(start_raw, "success.start", where)
    return SuccessDefinition(kind=kind, steps=steps, within_days=within, start=start)


def _is_days(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value >= 0


def _parse_step(item: Any, key: str, where: str) -> Step:
    if isinstance(item, str):
        item = {"event": item}
    if not isinstance(item, Mapping) or not isinstance(item.get("event"), str) or not item["event"].strip():
        raise ConfigError(
            f"{where}`{key}` must be an event name or `{{event: NAME, where: {{column: value}}}}`, found {item!r}."
        )
    extra = set(item) - {"event", "where"}
    if extra:
        raise ConfigError(f"{where}`{key}` has unknown keys {sorted(extra)}; a step takes `event` and `where`.")
    return Step(event=item["event"], where=_parse_where(item.get("where"), f"{key}.where", where))


def _parse_where(raw: Any, key: str, where: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}`{key}` must map columns to values, e.g. `where: {{plan: pro}}`.")
    out = []
    for column, value in raw.items():
        if isinstance(value, Mapping):
            for op, operand in value.items():
                if op not in OPERATORS:
                    raise ConfigError(
                        f"{where}`{key}.{column}`: unknown operator {op!r}; use one of {', '.join(OPERATORS)}."
                    )
                if op in ("in", "not_in") and not isinstance(operand, list):
                    raise ConfigError(f"{where}`{key}.{column}.{op}` takes a list, e.g. [a, b].")
                out.append(Condition(str(column), op, operand))
        elif isinstance(value, list):
            out.append(Condition(str(column), "in", value))
        else:
            out.append(Condition(str(column), "==", value))
    return tuple(out)


def _parse_privacy(raw: Any, where: str) -> int:
    if raw is None:
        return 10
    value = raw.get("min_units", PRIVACY_MIN_UNITS) if isinstance(raw, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{where}`privacy.min_units` must be a whole number ≥ 1 (default {PRIVACY_MIN_UNITS}), found {value!r}."
        )
    return value


def _unknown_keys(raw: Mapping, allowed: Sequence[str], prefix: str, where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError(
                f"{where}unknown key `{prefix}{key}`; allowed here: {', '.join(allowed)}."
                f"{did_you_mean(str(key), allowed)}"
            )


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string"}.get(type(value), type(value).__name__)
