"""The analyst's JupyterLab: who is typing is a widget, not Python; charts draw with no network.

Names: the name box uses the room's rule, is remembered for the folder (a restarted kernel starts with it), and
forms listing "your entries" follow it. Charts: every chart a notebook draws compiles (offline, vl-convert) to a
Vega 5 spec that JupyterLab's own bundled renderer draws; the spec is checked by drawing it with Vega itself, and
it names no URL to load anything from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from segworkshop import show, steps
from segworkshop.charts import rate_chart, tipping_chart, trend_chart
from segworkshop.journal import FACILITATOR
from segworkshop.session import NAME_FILE, Session, clean_participant
from segworkshop.widgets import FindingsLog, NameBox, Voting


def test_the_name_box_sets_who_entries_belong_to_and_is_remembered(small_workshop: Path):
    s = Session(small_workshop, "", interactive=True)
    assert s.participant == FACILITATOR
    box = NameBox(s)
    log = FindingsLog(s)
    log.text.value = "mine"
    log.save.click()  # as the facilitator
    box.name.value = "  Ana   María "
    box.save.click()
    assert s.participant == "Ana María" and "Ana María" in box.status.value
    assert log.listing.children == ()  # the list follows the name: the facilitator's entry is not Ana's
    log.text.value = "hers"
    log.save.click()
    assert [(e.author, e.data["text"]) for e in s.journal.entries("findings")] == [
        (FACILITATOR, "mine"),
        ("Ana María", "hers"),
    ]
    # a new kernel (or a reload after a restart) starts with the name; headless runs never take it
    assert Session(small_workshop, "", interactive=True).participant == "Ana María"
    assert Session(small_workshop, "", interactive=False).participant == FACILITATOR
    assert NameBox(Session(small_workshop, "", interactive=True)).name.value == "Ana María"
    # blank goes back to the facilitator; the facilitator's own name is refused, input kept
    box.name.value = "Facilitator"
    box.save.click()
    assert s.participant == "Ana María" and box.name.value == "Facilitator" and "facilitator" in box.status.value
    box.name.value = ""
    box.save.click()
    assert s.participant == FACILITATOR
    assert (small_workshop.parent / NAME_FILE).read_text(encoding="utf-8") == ""


def test_votes_follow_the_name(small_workshop: Path):
    s = Session(small_workshop, "Ana", interactive=True)
    votes = Voting(s, ["a", "b"], dots=3)
    votes.sliders["a"].value = 2
    votes.save.click()
    NameBox(s)
    s.set_participant("Bo")
    assert votes.sliders["a"].value == 0  # Bo's (empty) ballot, not Ana's
    s.set_participant("Ana")
    assert votes.sliders["a"].value == 2


@pytest.mark.parametrize("bad", ["", "   ", "x" * 61, "facilitator", None, 3])
def test_names_follow_one_rule(bad):
    with pytest.raises(ValueError):
        clean_participant(bad)


def _charts(small_workshop: Path):
    from segworkshop.compare import compare

    s = Session(small_workshop)
    rows = compare(s.workshop).shareable()
    yield "rates", rate_chart(rows[~rows["hidden"]], baseline=0.2, title="rates")
    yield "weekly", trend_chart(steps.weekly_trend(s), title="weekly")
    for name, weekly in steps.segment_trends(s).items():
        yield f"trend {name}", trend_chart(weekly, title=name)
    for point in steps.tipping_points(s):
        yield f"tipping {point.segment}", tipping_chart(point.buckets, point.cut, title=point.segment)


def test_every_chart_draws_in_jupyterlab_with_no_network(small_workshop: Path):
    import vl_convert as vlc

    drawn = 0
    for name, c in _charts(small_workshop):
        bundle = show.chart_bundle(c)
        vega = bundle["application/vnd.vega.v5+json"]
        assert vega["$schema"] == "https://vega.github.io/schema/vega/v5.json", name
        text = json.dumps({k: v for k, v in vega.items() if k != "$schema"})
        assert "http" not in text and '"url"' not in text, name  # data inline; nothing to fetch
        svg = vlc.vega_to_svg(vega)  # Vega itself draws the spec
        assert "<path" in svg or "<rect" in svg, name
        drawn += 1
    assert drawn >= 3


@pytest.mark.e2e
def test_the_notebooks_in_the_lab_draw_offline_and_ask_for_a_name(small_workshop: Path, tmp_path: Path):
    """The notebooks as JupyterLab runs them (``interactive = True``): a name box where entries are made, every
    chart a Vega 5 spec for JupyterLab's own renderer, and no address of a CDN (or any host) in any output."""
    import papermill as pm

    from segworkshop.report import step_notebooks

    drawn = 0
    for book in step_notebooks(["03", "05"]):
        out = tmp_path / book.name
        pm.execute_notebook(
            str(book),
            str(out),
            parameters={"workshop": str(small_workshop), "participant": "", "interactive": True},
            progress_bar=False,
            cwd=str(book.parent),
        )
        outputs = [o for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])]
        bundles = [o.get("data", {}) for o in outputs]
        charts = [b for b in bundles if "application/vnd.vega.v5+json" in b]
        drawn += len(charts)
        assert not any(k.startswith("application/vnd.vegalite") or "javascript" in k for b in bundles for k in b)
        assert not re.search(r"https?://(?!vega\.github\.io/schema/)", json.dumps(outputs)), book.name
        widgets = [b for b in bundles if "application/vnd.jupyter.widget-view+json" in b]
        assert widgets, book.name  # the name box and the forms
    assert drawn >= 2
