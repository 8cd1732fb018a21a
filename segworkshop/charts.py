"""Altair chart builders with one theme: rates with their intervals, counts visible, few lines.

Charts take the DataFrames that the analyses return and only draw them; they compute nothing a test could not
reach elsewhere. Rates on few units are drawn faded (``unreliable``), groups under the privacy threshold are
left out of shared charts by the caller (use ``Comparison.shareable()``).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

PALETTE = ["#3b6fb6", "#e07b39", "#4a9d5b", "#b8443d", "#7e5ca8", "#8c6d31", "#d16ba5", "#5f6b7a"]
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


@alt.theme.register("segworkshop", enable=True)
def theme() -> alt.theme.ThemeConfig:
    """Readable defaults: large type for a projector, a calm palette, no chart junk."""
    return {
        "config": {
            "font": FONT,
            "view": {"stroke": None, "continuousWidth": 520, "continuousHeight": 280},
            "axis": {"labelFontSize": 13, "titleFontSize": 13, "gridColor": "#e6e6e6", "domainColor": "#999"},
            "legend": {"labelFontSize": 13, "titleFontSize": 13},
            "title": {"fontSize": 16, "anchor": "start", "fontWeight": 600},
            "range": {"category": PALETTE},
            "bar": {"color": PALETTE[0]},
            "line": {"strokeWidth": 2.5},
        }
    }


def rate_chart(rows: pd.DataFrame, baseline: float | None = None, title: str = "") -> alt.Chart:
    """Success rate per segment value with its 95% interval, the baseline as a rule, units as labels.

    ``rows``: compare's rows (segment, value, units, rate, ci_low, ci_high, [unreliable], [q_value]).
    """
    df = rows.dropna(subset=["rate"]).copy()
    df["label"] = df["value"].astype(str)
    df["units_text"] = df["units"].map(lambda n: f"n = {int(n):,}")
    df["reliability"] = df.get("unreliable", False)
    df["reliability"] = df["reliability"].map({True: "few units", False: "ok"})
    order = list(dict.fromkeys(df["label"]))
    y = alt.Y("label:N", sort=order, title=None)
    base = alt.Chart(df)
    bars = base.mark_bar(height={"band": 0.6}).encode(
        y=y,
        x=alt.X("rate:Q", title="success rate", axis=alt.Axis(format="%")),
        opacity=alt.Opacity(
            "reliability:N", scale=alt.Scale(domain=["ok", "few units"], range=[0.85, 0.35]), legend=None
        ),
        tooltip=[
            alt.Tooltip("segment:N"),
            alt.Tooltip("label:N", title="value"),
            alt.Tooltip("units:Q", format=","),
            alt.Tooltip("rate:Q", format=".1%"),
            alt.Tooltip("ci_low:Q", format=".1%", title="95% CI low"),
            alt.Tooltip("ci_high:Q", format=".1%", title="95% CI high"),
        ],
    )
    whiskers = base.mark_rule(color="#333").encode(y=y, x="ci_low:Q", x2="ci_high:Q")
    counts = base.mark_text(align="left", dx=4, color="#555", fontSize=11).encode(y=y, x="ci_high:Q", text="units_text")
    layers = [bars, whiskers, counts]
    if baseline is not None:  # same data as the other layers, so that the layered chart can be faceted
        layers.append(base.mark_rule(strokeDash=[4, 4], color="#b8443d").encode(x=alt.datum(baseline)))
    chart = alt.layer(*layers).properties(width=480)
    if "segment" in df.columns and df["segment"].nunique() > 1:
        segments = list(dict.fromkeys(df["segment"]))
        row = alt.Row("segment:N", title=None, sort=segments, header=alt.Header(labelFontSize=14))
        chart = chart.facet(row=row).resolve_scale(y="independent")
    return chart.properties(title=title) if title else chart


def trend_chart(df: pd.DataFrame, title: str = "") -> alt.LayerChart:
    """Weekly (or monthly) success rate per value with interval bands; periods still open drawn hollow.

    ``df``: trend()'s output (period, [value], units, rate, ci_low, ci_high, complete). At most 8 lines: group
    values first with :func:`segworkshop.compare.top_values`.
    """
    data = df.copy()
    if "value" not in data.columns:
        data["value"] = "all"
    data["window"] = data["complete"].map({True: "complete", False: "still open"})
    color = alt.Color("value:N", title=None, scale=alt.Scale(range=PALETTE))
    x = alt.X("period:O", title="first seen", axis=alt.Axis(labelAngle=-40))
    base = alt.Chart(data)
    band = base.mark_area(opacity=0.15).encode(
        x=x, y="ci_low:Q", y2="ci_high:Q", color=alt.Color("value:N", legend=None, scale=alt.Scale(range=PALETTE))
    )
    line = base.mark_line().encode(x=x, y=alt.Y("rate:Q", title="success rate", axis=alt.Axis(format="%")), color=color)
    points = base.mark_point(size=50, filled=True).encode(
        x=x,
        y="rate:Q",
        color=color,
        fill=alt.condition(alt.datum.window == "complete", color, alt.value("white")),
        tooltip=[
            "period:O",
            "value:N",
            alt.Tooltip("units:Q", format=","),
            alt.Tooltip("rate:Q", format=".1%"),
            alt.Tooltip("ci_low:Q", format=".1%"),
            alt.Tooltip("ci_high:Q", format=".1%"),
            "window:N",
        ],
    )
    chart = alt.layer(band, line, points).properties(width=560, height=260)
    return chart.properties(title=title) if title else chart


def tipping_chart(buckets: pd.DataFrame, cut: object | None = None, title: str = "") -> alt.LayerChart:
    """Success rate per ordered bucket with intervals, and the tipping point's cut as a rule."""
    data = buckets.copy()
    data["bucket"] = data["value"].astype(str)
    order = list(data["bucket"])
    x = alt.X("bucket:O", sort=order, title=None)
    base = alt.Chart(data)
    bars = base.mark_bar(width={"band": 0.7}).encode(
        x=x,
        y=alt.Y("rate:Q", title="success rate", axis=alt.Axis(format="%")),
        tooltip=["bucket:O", alt.Tooltip("units:Q", format=","), alt.Tooltip("rate:Q", format=".1%")],
    )
    whiskers = base.mark_rule(color="#333").encode(x=x, y="ci_low:Q", y2="ci_high:Q")
    layers = [bars, whiskers]
    if cut is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"bucket": [str(cut)]}))
            .mark_rule(color="#b8443d", strokeDash=[4, 4], strokeWidth=2)
            .encode(x=alt.X("bucket:O", sort=order, bandPosition=0))
        )
    chart = alt.layer(*layers).properties(width=max(240, 48 * len(order)), height=240)
    return chart.properties(title=title) if title else chart
