"""What each step notebook shows, computed here (and tested, tests/test_steps.py) instead of in the notebook.

Every function takes the notebook's :class:`~segworkshop.session.Session` and returns data — a DataFrame, a
sentence, a small dataclass — and displays nothing: a notebook cell is one call here, then a display
(:mod:`segworkshop.show`). A function reads ``session.workshop`` itself, so it always uses what the room has
decided so far (a success definition or segments saved by a widget a cell earlier).

Two rules are applied here once, for every page:

* **significance**: a row "differs" when its session q-value is at most :data:`segworkshop.stats.ALPHA`;
* **privacy**: a table or chart that leaves out groups under ``privacy.min_units`` does so by the one rule of
  :mod:`segworkshop.privacy`, which also hides further groups of the segment (the next smallest) so that no
  hidden one can be recovered by subtracting the shown ones from a total; the decision depends on the
  segment's counts only, so every page hides the same groups.

The column labels of each table sit next to the step that fills it (``*_COLUMNS``): they are presentation, but
they belong to what the step returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import privacy
from .compare import Comparison
from .stats import ALPHA

if TYPE_CHECKING:
    from .journal import Entry
    from .session import Session
    from .validate import ValidationReport

SCOOP_IDEAS = 12  # page 05: the strongest significant ideas shown
PROFILE_ROWS = 20  # page 06: the segment values shown, most over-represented among the unsuccessful first
CHOSEN = 2  # page 08: "the top one or two go ahead"
FINDING_TAGS = ("learning", "candidate test", "question")  # as the findings log offers them (widgets.FindingsLog)

EVENT_COLUMNS = {"event": "event", "rows": "times", "users": "users"}
CHECKLIST_COLUMNS = {"checklist": "checklist", "item": "item", "found": "in this data", "kind": "kind"}
SCOOP_COLUMNS = {
    "kind": "kind",
    "segment": "segment",
    "value": "value",
    "units": "units",
    "rate": "rate",
    "lift": "lift vs rest",
    "q_value": "q",
}
PROFILE_COLUMNS = {
    "segment": "segment",
    "value": "value",
    "share_unsuccessful": "share of unsuccessful",
    "share_successful": "share of successful",
    "diff": "difference",
    "q_value": "q (session)",
    "over_represented": "over-represented",
}
STOP_COLUMNS = {"last_step": "last step reached", "units": "unsuccessful units", "share": "share", "note": "note"}
RANKING_COLUMNS = {
    "rank": "#",
    "name": "experiment",
    "target": "target group",
    "weekly_units": "units / week",
    "rate": "rate",
    "expected_lift": "expected lift",
    "impact_per_week": "extra successes / week",
    "per_group": "units per group",
    "weeks_to_result": "weeks to result",
    "mde_relative": "detectable lift in 8 weeks",
    "judgement": "team score (1-5)",
    "votes": "dots",
    "note": "note",
}
DIFFER_COLUMNS = {
    "segment": "segment",
    "value": "value",
    "units": "units",
    "rate": "rate",
    "lift": "lift vs rest",
    "q_value": "q (BH)",
    "compares": "what it compares (behaviour)",
    "strata": "caveat",
}
CHOSEN_COLUMNS = {
    "rank": "#",
    "name": "experiment",
    "target": "target group",
    "votes": "dots",
    "impact_per_week": "extra successes / week",
    "weeks_to_result": "weeks to result",
    "note": "note",
}


# --------------------------------------------------------------------------- the two rules


def significant(rows: pd.DataFrame) -> pd.Series:
    """Which rows differ beyond noise: session q-value at most :data:`~segworkshop.stats.ALPHA`."""
    return rows["q_value"] <= ALPHA


def visible(rows: pd.DataFrame, min_units: int, within: str = "segment") -> pd.DataFrame:
    """The rows a shared page may show, unchanged, by the one suppression rule
    (:func:`~segworkshop.compare.suppress_small`): groups under ``min_units`` left out, and a second group of
    the same ``within`` (segment, or period of a trend) when only one would be.

    ``rows`` must hold every group of each ``within`` (the small ones too), with their ``units``.
    """
    keyed = rows if within == "segment" else rows.assign(segment=rows[within].astype(str))
    if "successes" not in keyed.columns and "unsuccessful" in keyed.columns:  # the profile: the same counts
        keyed = keyed.assign(successes=keyed["units"] - keyed["unsuccessful"])
    hidden = privacy.suppress_partition(keyed.reset_index(drop=True), min_units).to_numpy()
    return rows[~hidden]


def hidden_groups(counts: pd.DataFrame, min_units: int) -> set[tuple[str, str]]:
    """The (segment, value) groups the suppression rule hides, from counts of every value of each segment."""
    return privacy.hidden_values(counts.reset_index(drop=True), min_units)


# --------------------------------------------------------------------------- 01 · data check


def data_check(session: Session) -> ValidationReport:
    """The data-check report (page 01), its events table as a shared page shows it (:func:`shared_events`)."""
    from dataclasses import replace

    from .validate import validate

    report = validate(session.workshop)
    try:
        return replace(report, events=shared_events(report.events, session.workshop.config.privacy_min_units))
    except TypeError:  # not a dataclass: set the attribute
        report.events = shared_events(report.events, session.workshop.config.privacy_min_units)
        return report


def shared_events(events: pd.DataFrame, min_units: int) -> pd.DataFrame:
    """An events table (event, rows, users) as a shared page prints it: counts under the threshold read
    "fewer than N", and an event the rows' partition rule hides shows no numbers (:mod:`segworkshop.privacy`)."""
    return privacy.events_table(events, min_units)


# --------------------------------------------------------------------------- 02 · success


def event_counts(session: Session) -> pd.DataFrame:
    """Events with their rows and users, most users first (page 02; the success picker's choices). In a
    headless run (a report) the counts are as a shared page shows them (:func:`shared_events`)."""
    from .validate import event_counts as counts

    df = counts(session.workshop.events)
    if getattr(session, "interactive", True):
        return df
    return shared_events(df, session.workshop.config.privacy_min_units)


def success_summary(session: Session) -> str:
    """Page 02's baseline: the definition, how many units succeed, and the units left out and why."""
    ws = session.workshop
    b = ws.baseline()
    text = (
        f"Success: {ws.config.success.describe()}. "
        f"{b['successes']:,} of {b['units']:,} {ws.unit}s succeed ({b['rate']:.1%})."
    )
    if b["not_started"]:
        text += f" {b['not_started']:,} never reached the start and are left out."
    if b["too_recent"]:
        text += (
            f" {b['too_recent']:,} started too recently to judge (their success window is still open) and are left out."
        )
    return text


def weekly_trend(session: Session) -> pd.DataFrame:
    """Success rate by week of first visit, every unit (page 02's chart): the weeks the privacy rule hides
    (under the threshold, and the next smallest to protect one) left out."""
    from .compare import trend

    return privacy.weekly(trend(session.workshop, every="week"), session.workshop.config.privacy_min_units)


# --------------------------------------------------------------------------- 03 · segments


def segment_ideas(session: Session) -> pd.DataFrame:
    """The worksheet's checklist items this data has (page 03: the table and the segment picker's choices)."""
    from .checklists import suggest

    ideas = suggest(session.workshop)
    return ideas[ideas.found != ""]


def dashboard(session: Session) -> Comparison:
    """The segmented dashboard: every chosen segment compared, with the session's q (pages 03 and 08)."""
    from .compare import compare

    return session.ledger().apply_comparison(compare(session.workshop))


def segment_trends(session: Session) -> dict[str, pd.DataFrame]:
    """Per chosen segment, its weekly success rate per value (at most 8 lines), the points under the privacy
    threshold left out, with more where a value's total (the dashboard) or a week's (the overall trend) would
    give one back (:func:`segworkshop.privacy.linked_trend`; page 03's charts)."""
    from .compare import top_values, trend

    ws = session.workshop
    out = {}
    for segment in session.segments():
        fine = trend(ws, segment.name, every="week")
        drawn = top_values(fine)
        out[segment.name] = drawn[~privacy.linked_trend(fine, drawn, ws.config.privacy_min_units).to_numpy()]
    return out


# --------------------------------------------------------------------------- 04 · hypotheses


@dataclass(frozen=True)
class Tipping:
    """One ordered segment's tipping point: the sentence, its buckets as a shared page shows them, the cut."""

    segment: str
    sentence: str
    buckets: pd.DataFrame
    cut: Any  # the bucket the split starts at; None when no split differs beyond chance


def tipping_points(session: Session) -> list[Tipping]:
    """Every chosen ordered segment (frequency, count, bins; not cohorts) with its tipping point (page 04)."""
    from .compare import compare
    from .hypotheses import tipping_point

    ws = session.workshop
    ordered = [seg for seg in session.segments() if seg.ordered and seg.kind != "cohort"]
    if not ordered:
        return []
    min_units = ws.config.privacy_min_units
    ledger = session.ledger()
    out = []
    for seg in ordered:
        point = tipping_point(ws, seg.name)
        rows = compare(ws, [seg.name], strata=False).shareable()
        said = point.describe(min_units=min_units, withhold=_straddles(rows, point.cut))
        sentence = f"{seg.name}: {said} Session q = {ledger.tipping_q(seg):.2g}."
        cut = point.cut if point.shape != "none" else None
        out.append(Tipping(seg.name, sentence, rows[~rows.hidden], cut))
    return out


# --------------------------------------------------------------------------- 05 · scoop


@dataclass(frozen=True)
class Ideas:
    """Page 05's automatic scan: what was scanned, the significant groups worth a look, the tipping points."""

    summary: str
    rows: pd.DataFrame
    tipping: list[str] = field(default_factory=list)


def ideas_to_check(session: Session) -> Ideas:
    """discover()'s scan with the session's q: the strongest groups that differ beyond noise, at most
    :data:`SCOOP_IDEAS`, none that the suppression rule hides (nor a pair of which one part it hides, nor a pair
    that, taken from a single group the dashboard shows, would leave a small rest)."""
    from .discover import discover

    ws = session.workshop
    min_units = ws.config.privacy_min_units
    found = session.ledger().apply_discovery(discover(ws))
    rows = found.rows
    hidden = hidden_groups(found.counts.singles, min_units)
    shown = pd.Series([not _touches(r, hidden) for r in rows.to_dict("records")], index=rows.index, dtype=bool)
    singles = found.counts.singles
    candidates = rows[shown & significant(rows) & (rows.units >= min_units)]
    picked, pairs = [], []
    for at, row in zip(candidates.index, candidates.to_dict("records"), strict=True):
        if len(picked) == SCOOP_IDEAS:
            break
        pair = row.get("pair")
        if isinstance(pair, (list, tuple)):  # a pair whose rest (the single minus its pairs) would be small: left out
            mine = [*pairs, (*pair, int(row["units"]))]
            if not privacy.pairs_leave_no_small_rest(mine, singles, min_units):
                continue
            pairs = mine
        picked.append(at)
    ideas = candidates.loc[picked]
    tipping = []
    for name, point in found.tipping.items():
        part = singles[singles.segment == name].reset_index(drop=True)
        part = part.assign(hidden=privacy.suppress_partition(part, min_units).to_numpy())
        seg = next((x for x in found.segments if x.name == name), None)
        if seg is not None:  # the buckets in the segment's order, as the tipping point cut them
            part = part.assign(_key=[seg.sort_key(v) for v in part.value]).sort_values("_key")
        tipping.append(f"{name}: {point.describe(min_units=min_units, withhold=_straddles(part, point.cut))}")
    return Ideas(f"{found.evaluated} groups scanned. {found.family_note}", ideas, tipping)


def _straddles(rows: pd.DataFrame, cut: Any) -> bool:
    """Whether the privacy rule hides buckets on both sides of a tipping point's cut (missing values aside):
    the two sides' rates would then give the hidden buckets apart (:meth:`TippingPoint.describe` withholds
    them). ``rows``: every bucket of the segment with ``hidden``, in the segment's order or with labels."""
    from .segments import MISSING

    part = rows[rows["value"].astype(str) != MISSING]
    if not len(part) or not part["hidden"].any():
        return False
    values = [str(v) for v in part["value"]]
    if str(cut) not in values:
        return True  # no cut (or an unknown one): withhold rather than guess
    at = values.index(str(cut))
    hidden = part["hidden"].astype(bool).tolist()
    return any(hidden[:at]) and any(hidden[at:])


def _touches(row: dict[str, Any], hidden: set[tuple[str, str]]) -> bool:
    """Whether a discover row is, or is a pair with, a group the suppression rule hides."""
    pair = row.get("pair")
    if isinstance(pair, (list, tuple)):
        sa, va, sb, vb = pair
        return (str(sa), str(va)) in hidden or (str(sb), str(vb)) in hidden
    return (str(row["segment"]), str(row["value"])) in hidden


def other_traits(session: Session) -> Comparison | None:
    """Every usable trait that is not a chosen segment, compared with the session's q (page 05); None when
    every usable trait is already a chosen segment."""
    from .compare import compare
    from .ledger import usable_other_traits

    ws = session.workshop
    usable = usable_other_traits(ws, session.segments())  # the same traits the session's ledger counted
    if not usable:
        return None
    return session.ledger().apply_comparison(compare(ws, usable, strata=False))


def ungrouped_heading(tag: str) -> str:
    """The heading of the findings of one kind that the facilitator has not grouped (page 05)."""
    return f"{tag.capitalize()}s, not grouped"


def findings_grouped(session: Session, tags: Iterable[str] = FINDING_TAGS) -> dict[str, list[Entry]]:
    """The team's findings as the facilitator grouped them on the board (page 05): each named group in the order
    it was first used, then the findings not grouped yet, by kind (learning, candidate test, question)."""
    out: dict[str, list[Entry]] = {}
    for entry in session.findings():
        group = " ".join(str(entry.data.get("group") or "").split())
        if group:
            out.setdefault(group, []).append(entry)
    for tag in tags:
        out[ungrouped_heading(tag)] = [e for e in session.findings(tag) if not str(e.data.get("group") or "").strip()]
    return out


# --------------------------------------------------------------------------- 06 · unsuccessful


@dataclass(frozen=True)
class Profile:
    """Page 06: what the unsuccessful units have in common, as a shared page may show it."""

    rows: pd.DataFrame  # most over-represented first, at most PROFILE_ROWS, none the suppression rule hides
    note: str  # how the q-values were corrected
    left_out: str  # the units too recent to judge ("" when none are)


def unsuccessful_profile(session: Session) -> Profile:
    """Each value of the chosen segments and of everything discover scans: its share among unsuccessful units
    against its share among successful ones, with the session's q.

    Groups under the privacy threshold are left out by the one suppression rule, so a second value of the
    segment goes too when only one would: with two values, the shown share and the baseline would otherwise
    give the hidden group's units and successes exactly.
    """
    from .discover import Scan
    from .unsuccessful import profile

    ws = session.workshop
    scan = Scan(ws)  # every trait and behaviour, not only the chosen segments: ideas to check
    segments = list({seg.name: seg for seg in [*session.segments(), *scan.segments]}.values())
    ledger = session.ledger()
    rows = ledger.apply_profile(profile(ws, by=segments), segments)  # q: one correction over the whole session
    shown = visible(rows, ws.config.privacy_min_units).head(PROFILE_ROWS)
    return Profile(shown, ledger.note(), too_recent(session))


def stopping_points(session: Session) -> pd.DataFrame | None:
    """For a sequence success: unsuccessful units by the last step reached (page 06); None for other kinds."""
    from .unsuccessful import shared_stops
    from .unsuccessful import stopping_points as stops

    found = stops(session.workshop)
    return None if found is None else shared_stops(found, session.workshop.config.privacy_min_units)


def too_recent(session: Session) -> str:
    """The sentence about the units too recent to judge, left out of every rate ("" when none are)."""
    from .population import population

    return population(session.workshop).describe()


# --------------------------------------------------------------------------- 07 · prioritize


@dataclass(frozen=True)
class Priorities:
    """Page 07: the candidates ranked, and where their traffic and rates come from."""

    ranking: pd.DataFrame
    note: str  # "" when no unit is too recent to judge


def priorities(session: Session) -> Priorities:
    """The experiment candidates scored and ranked (:meth:`Session.ranking`), with the note on traffic."""
    ranking = session.ranking()
    left_out = too_recent(session)  # traffic and rates come from weeks whose users have all been judged
    note = (
        left_out + " Weekly traffic and rates use the last weeks whose users all have a closed success window."
        if left_out
        else ""
    )
    return Priorities(ranking, note)


# --------------------------------------------------------------------------- 08 · readout


@dataclass(frozen=True)
class Headline:
    """The readout's first lines: the workshop's title and its success definition (text, shown escaped: both are
    data), then the baseline."""

    title: str
    baseline: str
    detail: str = ""


def readout_headline(session: Session) -> Headline:
    """The workshop's title and success definition, and how many units succeed (page 08)."""
    ws = session.workshop
    b = ws.baseline()
    title, detail = ws.config.title, f"success: {ws.config.success.describe()}"  # data: shown as text
    baseline = f"{b['successes']:,} of {b['units']:,} {ws.unit}s succeed ({b['rate']:.1%})."
    if b["too_recent"]:
        baseline += f" {b['too_recent']:,} started too recently to judge (success window still open) and are left out."
    return Headline(title, baseline, detail)


@dataclass(frozen=True)
class Differ:
    """The readout's segments that differ: how the q-values were corrected, and the rows."""

    note: str
    rows: pd.DataFrame


def segments_that_differ(session: Session) -> Differ:
    """The dashboard's rows a shared page shows (groups under the privacy threshold hidden) that differ beyond
    noise (page 08)."""
    result = dashboard(session)
    rows = result.shareable()
    return Differ(result.family_note, rows[(~rows.hidden) & significant(rows)])


def chosen_experiments(session: Session) -> pd.DataFrame:
    """The top of the ranking: the experiments that go ahead (page 08)."""
    return session.ranking().head(CHOSEN)


__all__ = [
    "Differ",
    "Headline",
    "Ideas",
    "Priorities",
    "Profile",
    "Tipping",
    "chosen_experiments",
    "dashboard",
    "data_check",
    "event_counts",
    "findings_grouped",
    "hidden_groups",
    "ideas_to_check",
    "other_traits",
    "priorities",
    "readout_headline",
    "segment_ideas",
    "segment_trends",
    "segments_that_differ",
    "shared_events",
    "significant",
    "stopping_points",
    "success_summary",
    "tipping_points",
    "too_recent",
    "ungrouped_heading",
    "unsuccessful_profile",
    "visible",
    "weekly_trend",
]
