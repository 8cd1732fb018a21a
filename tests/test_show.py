"""Display helpers: tables are escaped and formatted; charts become inline SVG in headless runs."""

from __future__ import annotations

import pandas as pd

from segworkshop import show


def test_table_escapes_and_formats():
    df = pd.DataFrame(
        {
            "text": ["<script>alert(1)</script>", "plain"],
            "rate": [0.1234, None],
            "lift": [0.5, -0.25],
            "q_value": [0.00001, 0.2],
            "units": [1234, 5],
            "over_represented": [True, False],
        }
    )
    html = show.table_html(
        df, {"text": "what", "rate": "rate", "lift": "lift", "q_value": "q", "units": "n", "over_represented": "over?"}
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    for shown in ["12.3%", "—", "+50.0%", "-25.0%", "&lt; 0.0001", "0.2", "1,234", "yes", "no"]:
        assert shown in html, shown
    assert "<th>what</th>" in html


def test_headless_chart_is_inline_svg(monkeypatch):
    import altair as alt

    shown = []
    monkeypatch.setattr(show, "display", lambda obj, **kw: shown.append(obj))
    chart = alt.Chart(pd.DataFrame({"x": ["a", "b"], "y": [1, 2]})).mark_bar().encode(x="x", y="y")
    show.chart(chart, interactive=False)
    html = shown[0].data
    assert html.startswith('<div class="sw-chart"><svg') and 'class="marks"' in html
    assert "<script" not in html
    show.chart(chart, interactive=True)  # the lab: a Vega 5 spec for JupyterLab's own renderer (tests/test_lab.py)
    assert shown[1]["application/vnd.vega.v5+json"]["$schema"].endswith("/vega/v5.json")


def test_behaviour_rows_have_their_own_block_and_say_what_they_compare(monkeypatch, small_workshop):
    """A behaviour row's rate is success after its window among units not yet successful: never drawn or
    tabled with the traits (whose rate is the overall one); the left-out units are named."""
    from segworkshop import Workshop
    from segworkshop.compare import compare

    shown = []
    monkeypatch.setattr(show, "display", lambda obj: shown.append(getattr(obj, "data", obj)))
    result = compare(Workshop.load(small_workshop))
    show.comparison(result, interactive=False)
    html = [h for h in shown if isinstance(h, str)]
    tables = [h for h in html if "<table" in h]
    assert len(tables) == 2  # traits, then behaviour
    traits, behaviour = tables
    assert "searched" not in traits and "visit_days" not in traits
    assert "searched" in behaviour and "what this row compares" in behaviour
    assert "among users who had not succeeded by day 7: did search in the first 7 days" in behaviour
    notes = " ".join(html)
    assert "succeeded before day 7: not compared on searched" in notes
    assert sum('class="sw-chart"' in h for h in html) == 1  # one chart, of the traits, with the overall baseline


def test_a_title_or_event_name_with_html_is_shown_as_text(monkeypatch):
    """The readout's heading is data (a workshop title, the success event's name from the export): escaped,
    never passed through Markdown, which would keep raw HTML (a stored XSS in a shared report)."""
    shown = []
    monkeypatch.setattr(show, "display", lambda obj: shown.append(obj.data))
    payload = '<img src=x onerror="alert(1)">'
    show.heading(payload, f"success: {payload} within 14 days")
    (page,) = shown
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
