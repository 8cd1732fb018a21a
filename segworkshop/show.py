"""Showing results in a notebook: escaped HTML tables, charts drawn offline, privacy applied.

Everything here is display only: it formats what the analyses returned. Tables are built with
``DataFrame.to_html(escape=True)`` so that text participants typed shows as text. Groups under the privacy
threshold are hidden by the one rule of :mod:`segworkshop.privacy`. Charts are drawn with the default
renderer in an interactive session, and as inline SVG (vl-convert, no JavaScript, no network) when a notebook
runs headless for a report.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown, display

PERCENT = (
    "rate", "ci_low", "ci_high", "rest_rate", "rate_a", "rate_b", "missing", "share", "share_unsuccessful",
    "share_successful", "before", "now",
)  # fmt: skip
SIGNED_PERCENT = (
    "lift", "diff", "diff_ci_low", "diff_ci_high", "lift_ci_low", "lift_ci_high", "mde_relative", "expected_lift",
    "share_unsuccessful_diff",
)  # fmt: skip
WHOLE = ("weekly_units", "per_group", "weeks_to_result", "votes", "units_a", "units_b")
ONE_DECIMAL = ("impact_per_week", "judgement")
PVALUE = ("p_value", "q_value")

STYLE = """<style>
.sw-table {border-collapse: collapse; font: 14px system-ui, sans-serif; margin: 0.5em 0 1em}
.sw-table th {text-align: left; border-bottom: 2px solid #999; padding: 4px 10px}
.sw-table td {border-bottom: 1px solid #e3e3e3; padding: 4px 10px; vertical-align: top}
.sw-note {color: #555; font: 13px system-ui, sans-serif}
.sw-warn {color: #8a4b00; font: 14px system-ui, sans-serif}
</style>"""


def _fmt(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if column in PERCENT:
        return f"{value:.1%}"
    if column in SIGNED_PERCENT:
        return f"{value:+.1%}" if abs(value) != float("inf") else "∞"
    if column in WHOLE:
        return f"{value:,.0f}"
    if column in ONE_DECIMAL:
        return f"{value:,.1f}"
    if column in PVALUE:
        return f"{value:.2g}" if value >= 1e-4 else "< 0.0001"
    if isinstance(value, float) and float(value).is_integer() and column in ("units", "successes"):
        return f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def table_html(df: pd.DataFrame, columns: Mapping[str, str] | None = None) -> str:
    """An escaped HTML table; ``columns`` maps the columns to show onto their headers."""
    columns = dict(columns) if columns else {c: c for c in df.columns}
    shown = df[[c for c in columns if c in df.columns]].copy()
    for c in shown.columns:
        shown[c] = [_fmt(c, v) for v in shown[c]]
    shown = shown.rename(columns=columns)
    return STYLE + shown.to_html(index=False, escape=True, classes="sw-table", border=0)


def table(df: pd.DataFrame, columns: Mapping[str, str] | None = None) -> None:
    display(HTML(table_html(df, columns)))


def text(message: str, kind: str = "note") -> None:
    """A line of text (escaped)."""
    display(HTML(f'{STYLE}<p class="sw-{kind}">{html.escape(message)}</p>'))


def markdown(source: str) -> None:
    """Fixed wording with Markdown emphasis. Never for data (a title, an event name, what someone typed):
    Markdown passes HTML through; :func:`heading` and :func:`text` escape."""
    display(Markdown(source))


def heading(title: str, detail: str = "") -> None:
    """A bold title and a detail line, both escaped (a workshop title or an event name is data)."""
    extra = f" · {html.escape(detail)}" if detail else ""
    display(HTML(f'{STYLE}<p class="sw-heading"><b>{html.escape(title)}</b>{extra}</p>'))


LAB_VEGALITE = "5.21"  # JupyterLab 4 draws Vega 5 itself (its own bundled renderer, offline); altair 6 emits VL 6


def chart_bundle(c: Any) -> dict[str, Any]:
    """The chart as JupyterLab draws it with no network: compiled (by vl-convert, offline) to a Vega 5 spec,
    which JupyterLab's own bundled Vega renderer shows, tooltips included. altair's default HTML renderer loads
    vega from a CDN, and JupyterLab's Vega-Lite renderer stops at version 5, so neither draws offline."""
    import vl_convert as vlc

    vega = vlc.vegalite_to_vega(c.to_dict(), vl_version=LAB_VEGALITE)
    title = c.to_dict().get("title")
    title = title.get("text") if isinstance(title, dict) else title
    return {"application/vnd.vega.v5+json": vega, "text/plain": f"<chart: {title or 'untitled'}>"}


def chart(c: Any, interactive: bool) -> None:
    """An altair chart: in JupyterLab drawn by its own Vega renderer (offline, tooltips); in a headless run
    inline SVG (drawn offline, no scripts). Neither loads anything from a CDN."""
    if interactive:
        display(chart_bundle(c), raw=True)
        return
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(c.to_dict())
    # inline markup (not an <img> of base64): a third smaller, and the page's text stays searchable
    display(HTML(f'<div class="sw-chart">{svg}</div>'))


# --------------------------------------------------------------------------- composite views

COMPARE_COLUMNS = {
    "segment": "segment",
    "value": "value",
    "units": "units",
    "successes": "successes",
    "rate": "rate",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "lift": "lift vs rest",
    "q_value": "q (BH)",
    "note": "note",
    "strata": "within other segments",
}


BEHAVIOUR_COLUMNS = {
    "segment": "behaviour",
    "value": "value",
    "units": "units compared",
    "successes": "succeeded later",
    "rate": "rate after the window",
    "lift": "lift vs the others",
    "q_value": "q (BH)",
    "compares": "what this row compares",
    "note": "note",
    "strata": "within other segments",
}


def comparison(result: Any, interactive: bool, title: str = "Success rate by segment") -> None:
    """compare()'s rows (small groups hidden), its chart, and the hygiene notes.

    Trait rows and behaviour rows are shown apart: a behaviour row's rate is success *after* its window among
    the units not yet successful by then (the landmark), not the overall rate, so it never shares a chart or a
    baseline line with the traits.
    """
    from .charts import rate_chart

    shared = result.shareable()
    b = result.baseline
    family = result.family_note or f"q-values: Benjamini–Hochberg over all {result.comparisons} rows of this table."
    text(
        f"Baseline: {b['successes']:,} of {b['units']:,} {result.unit}s succeed ({b['rate']:.1%}). Success: {result.success}."
    )
    text(family)
    notes = result.left_out_notes()
    if notes["too_recent_note"]:
        text(notes["too_recent_note"])
    traits, behaviour = shared[shared.block != "behaviour"], shared[shared.block == "behaviour"]
    if len(traits):
        visible = traits[~traits["hidden"]]
        if len(visible):
            chart(rate_chart(visible, baseline=b["rate"], title=title), interactive)
        table(traits, COMPARE_COLUMNS)
    if len(behaviour):
        markdown("**Behaviour** — measured in each unit's first days, compared on success *after* that window")
        text(
            "Each behaviour is measured over the same first days for everyone; the rate is success after those "
            "days among the units that had not succeeded yet (a landmark comparison), so it is not the overall "
            "rate. Units that succeeded inside the window are not compared on that behaviour:"
        )
        for info in notes["succeeded_in_window"].values():
            text(info["note"])
        table(behaviour, BEHAVIOUR_COLUMNS)
    for note in result.hygiene:
        text(note, "warn")


def hypotheses(df: pd.DataFrame, min_units: int | None = None) -> None:
    """check_hypotheses()'s rows as a shared report shows them (see :func:`segworkshop.hypotheses.shareable`):
    group sizes, the interval matched to each decision, and no numbers for groups under the privacy threshold."""
    from .hypotheses import SHOWN, family_text, level_text, shareable

    if df.empty:
        text("No hypotheses entered yet.")
        return
    shown = shareable(df, min_units)
    shown["ci_level"] = [level_text(v) if pd.notna(v) else None for v in shown["ci_level"]]
    a = df.attrs
    if a:
        text(f"{family_text(a)}; groups under {shown.attrs['privacy_min_units']} units are hidden.")
    table(shown, SHOWN)


def validation(report: Any) -> None:
    """The data-check report: summary, findings, events, traits."""
    span = f"{report.first:%Y-%m-%d} → {report.last:%Y-%m-%d}" if report.first is not None else "—"
    accounts = f" in {report.accounts:,} accounts" if report.accounts is not None else ""
    text(f"{report.rows:,} events from {report.users:,} users{accounts}, {span} (UTC).")
    text(
        f"Null user ids: {report.null_user_ids:,} · blank ids: {report.blank_user_ids:,} · times that do not parse: "
        f"{report.bad_timestamps:,} · duplicate rows: {report.duplicate_rows:,}"
    )
    if report.baseline:
        b = report.baseline
        text(f"Success ({b['definition']}): {b['successes']:,} of {b['units']:,} {report.unit}s ({b['rate']:.1%}).")
    for finding in report.findings:
        text(f"{finding.level}: {finding.message}", "warn")
    markdown("**Events**")
    table(report.events, {"event": "event", "rows": "rows", "users": "users"})
    markdown("**Traits** — what can be segmented")
    table(
        report.traits,
        {
            "column": "trait",
            "source": "from",
            "type": "type",
            "values": "values",
            "missing": "missing",
            "verdict": "can segment?",
        },
    )


def entries(items: list[Any], columns: Mapping[str, str]) -> None:
    """Journal entries as a table (author, then the chosen data fields)."""
    if not items:
        text("Nothing entered yet.")
        return
    rows = [{"author": e.author, **e.data} for e in items]
    table(pd.DataFrame(rows), {"author": "who", **columns})
