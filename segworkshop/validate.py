"""Is this export usable for a session? A health report on the data, computed in the engine.

Counts rows, units and the date range; lists events with their counts; finds null or blank ids, times that do
not parse (with examples of the bad values), exact duplicate rows; lists trait columns with their number of
values and flags the ones that look like ids; checks that the success definition can happen at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from . import traitrules
from .errors import DataError, SegworkshopError, did_you_mean, first_line, listing
from .identity import summarize_identity
from .masking import redact
from .nested import nested_paths
from .presets import PRESETS
from .profile import event_counts, trait_profile
from .segments import segment_problems
from .sources import resolve_path
from .workshop import Workshop

BAD_TIME_SHARE = 0.01  # more than 1% of rows with unreadable times: the mapping is wrong, not the odd row


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning"
    message: str


@dataclass
class ValidationReport:
    """What ``segworkshop validate`` prints; ``ok`` is False when the session cannot run on this data."""

    source: str
    unit: str
    rows: int = 0
    users: int = 0
    accounts: int | None = None
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    events: pd.DataFrame = field(default_factory=pd.DataFrame)  # event, rows, users
    null_user_ids: int = 0
    blank_user_ids: int = 0
    null_events: int = 0
    missing_timestamps: int = 0
    bad_timestamps: int = 0
    bad_timestamp_examples: list[str] = field(default_factory=list)
    duplicate_rows: int = 0
    traits: pd.DataFrame = field(default_factory=pd.DataFrame)  # column, source, type, values, missing, verdict
    baseline: dict[str, Any] | None = None
    identity: str | None = None  # how many exported ids became how many people (identity.py)
    nested: dict[str, list[str]] = field(default_factory=dict)  # nested column -> its property paths (nested.py)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def error(self, message: str) -> None:
        self.findings.append(Finding("error", message))

    def warn(self, message: str) -> None:
        self.findings.append(Finding("warning", message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "unit": self.unit,
            "rows": self.rows,
            "users": self.users,
            "accounts": self.accounts,
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
            "events": self.events.to_dict(orient="records"),
            "null_user_ids": self.null_user_ids,
            "blank_user_ids": self.blank_user_ids,
            "null_events": self.null_events,
            "missing_timestamps": self.missing_timestamps,
            "bad_timestamps": self.bad_timestamps,
            "bad_timestamp_examples": self.bad_timestamp_examples,
            "duplicate_rows": self.duplicate_rows,
            "traits": self.traits.to_dict(orient="records"),
            "baseline": self.baseline,
            "identity": self.identity,
            "nested": self.nested,
            "findings": [f.__dict__ for f in self.findings],
            "ok": self.ok,
        }

    def to_text(self) -> str:
        lines = [f"Data: {self.source}"]
        span = f"{self.first:%Y-%m-%d %H:%M} → {self.last:%Y-%m-%d %H:%M} UTC" if self.first is not None else "—"
        lines.append(
            f"  {self.rows:,} events from {self.users:,} users"
            + (f" in {self.accounts:,} accounts" if self.accounts is not None else "")
            + f", {span}"
        )
        lines.append(
            f"  null user ids: {self.null_user_ids:,}   blank user ids: {self.blank_user_ids:,}   "
            f"null event names: {self.null_events:,}   duplicate rows: {self.duplicate_rows:,}"
        )
        lines.append(
            f"  times missing: {self.missing_timestamps:,}   times that do not parse: {self.bad_timestamps:,}"
            + (
                f" (e.g. {', '.join(repr(x) for x in self.bad_timestamp_examples)})"
                if self.bad_timestamp_examples
                else ""
            )
        )
        if self.identity:
            lines.append(f"  {self.identity}")
        if len(self.events):
            lines.append(f"\nEvents ({len(self.events)}):")
            for row in self.events.head(30).itertuples():
                lines.append(f"  {row.event:<32} {row.rows:>12,} rows {row.users:>10,} users")
            if len(self.events) > 30:
                lines.append(f"  … {len(self.events) - 30} more")
        if len(self.traits):
            lines.append("\nTraits:")
            for row in self.traits.itertuples():
                lines.append(
                    f"  {row.column:<28} {row.source:<8} {row.type:<10} {row.values:>8,} values "
                    f"{row.missing:>6.1%} missing  {row.verdict}"
                )
        if self.nested:
            lines.append("\nNested properties (segment on one by its path, e.g. `segments: [user_properties.plan]`):")
            for column, paths in self.nested.items():
                shown = ", ".join(p[len(column) :] if p.startswith(column) else p for p in paths[:15])
                more = f", … {len(paths) - 15} more" if len(paths) > 15 else ""
                lines.append(f"  {column}: {shown}{more}")
        if self.baseline:
            b = self.baseline
            lines.append(
                f"\nSuccess: {b['definition']}\n  {b['successes']:,} of {b['units']:,} {self.unit}s "
                f"({b['rate']:.1%})"
                + (f"; {b['not_started']:,} never reached the start" if b["not_started"] else "")
                + (
                    f"; {b['too_recent']:,} started too recently to judge (success window still open), left out"
                    if b.get("too_recent")
                    else ""
                )
            )
        if self.findings:
            lines.append("")
            for f in self.findings:
                lines.append(f"{f.level.upper()}: {f.message}")
        lines.append("\n" + ("OK: the data can be used." if self.ok else "NOT READY: fix the errors above."))
        return "\n".join(lines)


def validate(ws: Workshop) -> ValidationReport:
    """Check a workshop's data; problems are findings, not exceptions (a config error still raises)."""
    mapped = ws.mapped
    report = ValidationReport(source=mapped.label, unit=ws.unit)
    events = mapped.table
    from .sources import SKIPPED_ROWS

    if mapped.label in SKIPPED_ROWS:
        report.warn(SKIPPED_ROWS[mapped.label])
    counted = _basic_counts(report, events, mapped.times, mapped, _broken_quote_counts)
    if report.rows == 0:
        report.error(f"{mapped.label} has no rows. Export a period with activity, or check the path / filter.")
        return report
    report.events = event_counts(events)
    if mapped.links is not None:
        summary = summarize_identity(mapped.unstitched(), events, mapped.links)
        report.identity = summary.sentence(mapped.identity or "")
    elif _vendor_merged(ws):
        report.identity = f"identity: {_vendor_merged(ws)} (the id read as the user id: {mapped.sources['user_id']!r})"
    report.duplicate_rows = report.rows - int(events.distinct().count().to_pyarrow().as_py())
    if report.bad_timestamps:
        share = report.bad_timestamps / report.rows
        message = (
            f"{report.bad_timestamps:,} rows ({share:.1%}) have a time that does not parse (column "
            f"{mapped.sources['timestamp']!r}, e.g. {', '.join(repr(x) for x in report.bad_timestamp_examples)}). "
            "Fix: export ISO 8601 times or epoch numbers, or set `data.time_unit` if epoch numbers are misread "
            "(times before 1900 or from 2200 on, such as 9999-12-31, count as unreadable: no event happened then)."
        )
        if share > BAD_TIME_SHARE:
            report.error(message)
        else:
            report.warn(message + " Those rows are left out of every time-based measure.")
    if report.rows >= 100 and report.users >= 0.95 * report.rows:  # a warning: a bounce-heavy site can look so
        report.warn(
            f"{report.users:,} users for {report.rows:,} events: nearly every event has a user of its own, so the "
            f"column read as the user id ({mapped.sources['user_id']!r}) looks like an event or message id. If so, "
            "map the user's id in `data.columns.user_id` (a users table keyed differently takes its own mapping: "
            "`data.users: {path: FILE, columns: {user_id: COLUMN}}`)."
        )
    if report.null_user_ids or report.blank_user_ids:
        placeholders = (
            f" ({report.blank_user_ids:,} of them blank or a placeholder such as 'NULL', 'None', 'NaN')"
            if report.blank_user_ids
            else ""
        )
        report.warn(
            f"{report.null_user_ids + report.blank_user_ids:,} events have no user id{placeholders} (column "
            f"{mapped.sources['user_id']!r}); they are left out of every count. If anonymous events carry another id, say "
            "which is which: `data.identity: {known: user_id, anonymous: anonymous_id}` (a person's anonymous "
            "events then join the id they log in as)."
        )
    unstitched = _unstitched_anonymous_column(ws)
    if unstitched:
        report.warn(
            f"the events carry an anonymous id ({unstitched!r}) next to the user id "
            f"({mapped.sources['user_id']!r}), but no identity rule joins them: a person who browses before "
            "logging in is counted twice (once per id), with a start date moved to the login. Fix: "
            f"`data.identity: {{known: {mapped.sources['user_id']}, anonymous: {unstitched}}}` "
            "(or `data.identity: false` to keep the ids apart on purpose)."
        )
    _check_broken_quotes(ws, report, counted)
    if report.duplicate_rows:
        report.warn(
            f"{report.duplicate_rows:,} rows are exact duplicates of another row (double-sent events?). "
            "Success flags are unaffected; event counts include them."
        )
    report.nested = nested_paths(mapped.raw, mapped.json_columns)
    units = report.accounts if ws.unit == "account" and report.accounts else report.users
    report.traits = trait_profile(ws, units)
    for row in report.traits.itertuples():
        if row.verdict.startswith("id-like"):
            report.warn(f"trait column {row.column!r} looks like an id ({row.values:,} values): not a segment.")
        elif row.verdict.startswith("epoch-like"):
            report.warn(
                f"trait column {row.column!r} looks like a time stored as a number "
                f"({row.verdict[row.verdict.index('(') + 1 : row.verdict.index(')')]}): not a segment, and never "
                "binned. To split units by when they started, use a first-seen cohort: "
                "`{name: signup_month, cohort: month}`."
            )
    preset = PRESETS.get(ws.config.data.preset or "")
    if preset is not None and preset.no_traits and not any(map(traitrules.fit, report.traits.verdict)):
        report.warn(preset.no_traits)
    _check_success(ws, report)
    for problem in segment_problems(ws, ws.config.segments):  # what the session would refuse, said now
        report.error(problem)
    return report


def _odd_quotes(value: ir.StringValue) -> ir.BooleanValue:
    """A value holding an odd number of double quotes: what a CSV row with a broken quote leaves in a field."""
    count = value.length() - value.replace('"', "").length()
    return value.notnull() & (count % 2 == 1)


QUOTED_FIELDS = {"event": "an event name", "user_id": "a user id"}


def _broken_quote_counts(events: ir.Table) -> dict[str, ir.Value]:
    """Per field of :data:`QUOTED_FIELDS`, the rows holding an unbalanced quote and the first such value, as
    aggregates for the basic counts' one pass over the events."""
    aggs: dict[str, ir.Value] = {}
    for name in QUOTED_FIELDS:
        value = events[name].cast("string")
        odd = _odd_quotes(value)
        aggs[f"n_{name}"], aggs[f"e_{name}"] = odd.ifelse(1, 0).sum(), value.min(where=odd)
    return aggs


def _check_broken_quotes(ws: Workshop, report: ValidationReport, row: Any) -> None:
    """A warning when event names or user ids hold an unbalanced quote (``"visit``): the file has a broken quote
    and its rows were read with the quote inside a value, so that row's event (or user) is a different one.
    ``row``: the basic counts, with :func:`_broken_quote_counts`' aggregates."""
    for name, what in QUOTED_FIELDS.items():
        n = int(row[f"n_{name}"] or 0)
        if not n:
            continue
        example = str(row[f"e_{name}"])
        column = ws.mapped.sources.get(name, name)
        report.warn(
            f"{n:,} row(s) have {what} with an unbalanced quote in column {column!r} (e.g. {example!r}"
            f"{_first_line_holding(ws, example)}): the file has a broken quote, so those rows are read with the "
            "quote inside the value, as an event (or user) of their own. Fix: repair the quote in the export "
            '(every quoted field opens and closes with ", and a " inside a quoted field is doubled as "").'
        )


def _first_line_holding(ws: Workshop, value: str) -> str:
    """ ", first on line N of FILE" for a single local CSV file holding ``value`` (read until found), else ""."""
    spec = ws.config.data.events
    path = spec.get("path") if isinstance(spec, dict) else spec
    if not isinstance(path, (str, Path)):
        return ""
    file = resolve_path(path, ws.config.base_dir)
    if file.suffix.lower() not in (".csv", ".tsv", ".txt") or not file.is_file():
        return ""
    try:
        with file.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if value in line:
                    return f", first on line {number:,} of {file}"
    except OSError:
        return ""
    return ""


ANONYMOUS_NAMES = ("anonymous_id", "anonymousid", "anon_id", "device_id", "$device_id", "user_pseudo_id")


def _vendor_merged(ws: Workshop) -> str:
    """The preset's note that the vendor merged the ids itself, when its merged id is the one in use."""
    data = ws.config.data
    preset = PRESETS.get(data.preset or "")
    if preset is None or not preset.merged or "user_id" in data.columns:
        return ""
    merged_id = preset.merged.split(" ", 1)[0]  # the note starts with the merged id's column
    return preset.merged if ws.mapped.sources.get("user_id", "").casefold() == merged_id.casefold() else ""


def _unstitched_anonymous_column(ws: Workshop) -> str | None:
    """An anonymous-id column that no identity rule uses while the user id is a different column."""
    mapped = ws.mapped
    if mapped.links is not None or ws.config.data.identity is False or _vendor_merged(ws):
        return None
    user_source = mapped.sources.get("user_id", "")
    for column in mapped.raw.columns:
        name = column.casefold()
        if name in ANONYMOUS_NAMES and column != user_source and f"{column})" not in user_source:
            return column
    return None


def _basic_counts(
    report: ValidationReport,
    events: ir.Table,
    times: ir.Table | None,
    mapped: Any = None,
    extra: Callable[[ir.Table], dict[str, ir.Value]] | None = None,
) -> Any:
    """Rows, users, time span and missing ids (and the aggregates ``extra`` builds on the table read) in one
    pass over the events; the report is filled in, and the row of every aggregate returned."""
    exported = None
    if mapped is not None and mapped.exported_id is not None:
        # the id as exported rides along, so that a missing id is told apart: null, or text that says "no id"
        # (blank, NBSP, ZWSP, NULL, None, NaN: sources.NO_ID), which the mapping has already made null
        events = mapped.with_columns({"_sw_exported_id": mapped.exported_id.cast("string")})
        exported = events._sw_exported_id
    uid = events.user_id
    blank = uid.isnull() & exported.notnull() if exported is not None else uid.notnull() & (uid.strip() == "")
    null = uid.isnull() & exported.isnull() if exported is not None else uid.isnull()
    aggs: dict[str, ir.Value] = {
        "rows": events.count(),
        "users": uid.nunique(),
        "first": events.timestamp.min(),
        "last": events.timestamp.max(),
        "null_ids": null.ifelse(1, 0).sum(),
        "blank_ids": blank.ifelse(1, 0).sum(),
        "null_events": events.event.isnull().ifelse(1, 0).sum(),
    }
    if "account_id" in events.columns:
        aggs["accounts"] = events.account_id.nunique()
    if extra is not None:
        aggs.update(extra(events))
    row = events.aggregate(**aggs).to_pandas().iloc[0]
    report.rows = int(row["rows"])
    report.users = int(row["users"])
    report.accounts = int(row["accounts"]) if "accounts" in row else None
    report.first = None if pd.isna(row["first"]) else pd.Timestamp(row["first"])
    report.last = None if pd.isna(row["last"]) else pd.Timestamp(row["last"])
    report.null_user_ids = int(row["null_ids"] or 0)
    report.blank_user_ids = int(row["blank_ids"] or 0)
    report.null_events = int(row["null_events"] or 0)
    if times is None:
        return row
    unparsed = times.raw.notnull() & times.parsed.isnull()
    timed = (
        times.aggregate(missing=times.raw.isnull().ifelse(1, 0).sum(), bad=unparsed.ifelse(1, 0).sum())
        .to_pandas()
        .iloc[0]
    )
    report.missing_timestamps = int(timed["missing"] or 0)
    report.bad_timestamps = int(timed["bad"] or 0)
    if report.bad_timestamps:
        bad = times.filter(unparsed).select(raw=times.raw.cast("string")).distinct().order_by("raw").limit(5)
        report.bad_timestamp_examples = [str(x) for x in bad.to_pandas()["raw"]]
    return row


def _check_success(ws: Workshop, report: ValidationReport) -> None:
    definition = ws.config.success
    known = set(report.events["event"].dropna())
    steps = list(definition.steps) + ([definition.start] if definition.start else [])
    missing = [s.event for s in steps if s.event not in known]
    for name in dict.fromkeys(missing):
        report.error(
            f"the success definition uses event {name!r}, which never occurs in {report.source}."
            f"{did_you_mean(name, known)} The most common events are: "
            f"{listing(report.events['event'].head(10))}. Fix `success:` in workshop.yaml."
        )
    if missing:
        return
    try:
        baseline = ws.baseline()
    except SegworkshopError as exc:
        report.error(str(exc))
        return
    except Exception as exc:  # an engine error while building the unit table: say it plainly
        raise DataError(f"could not compute success on {report.source}: {redact(first_line(exc))}") from None
    report.baseline = {**baseline, "definition": definition.describe()}
    if baseline["units"] == 0 and baseline.get("too_recent"):
        report.error(
            f"all {baseline['too_recent']:,} {ws.unit}s started less than {definition.within_days:g} days before "
            "the data end: no success window has closed yet, so nothing can be judged. Use a shorter "
            "`success.within_days`, or data (or `data.observed_until`) that reaches further."
        )
    elif baseline["units"] == 0:
        report.error(
            f"no {ws.unit} ever reaches the start event {definition.start.event!r}; nothing can be measured."
            if definition.start
            else f"no {ws.unit}s in the data."
        )
    elif baseline["successes"] == 0:
        report.error(
            f"no {ws.unit} succeeds under `{definition.describe()}`: the events occur, but never as defined "
            "(order, window or filters). Widen `within_days`, check the step order and `where:` filters."
        )
    if definition.within_days is None and baseline["units"]:
        from .population import propose_window

        report.warn(
            "success has no window (`success.within_days`): a unit that started yesterday has had less time to "
            "succeed than one from months ago, so compare, trend, hypotheses and discover refuse to compare "
            f"groups. Add `within_days: {propose_window(ws)}` under `success:` (proposed from this data)."
        )
    if baseline["units"] and baseline["successes"] == baseline["units"]:
        report.warn(f"every {ws.unit} succeeds: there is nothing to compare. Is the success event too broad?")
