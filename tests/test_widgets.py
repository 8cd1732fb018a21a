"""Widgets driven as a participant would: set values, click, and check what the journal holds."""

from __future__ import annotations

from pathlib import Path

from segworkshop.session import Session
from segworkshop.widgets import (
    CandidateForm,
    FindingsLog,
    HypothesisForm,
    NotesForm,
    SegmentPicker,
    SuccessPicker,
    Timer,
    Voting,
)


def test_success_picker_saves_the_definition(small_workshop: Path):
    s = Session(small_workshop, "Ana", interactive=True)
    picker = SuccessPicker(s, [("purchase", 90), ("cart", 90), ("visit", 600)])
    assert picker.events.value == ("purchase",) and picker.within_days.value == 14
    picker.kind.value = "sequence"
    picker.events.value = ("cart", "purchase")
    picker.within_days.value = 7
    picker.save.click()
    assert "Saved" in picker.status.value
    saved = s.journal.latest("success")
    assert saved.data == {"definition": {"sequence": ["cart", "purchase"], "within_days": 7}}
    assert saved.author == "Ana"
    # every later step now uses it
    assert Session(small_workshop).config.success.kind == "sequence"


def test_success_picker_keeps_input_on_error(small_workshop: Path):
    s = Session(small_workshop, "Ana", interactive=True)
    picker = SuccessPicker(s, [("purchase", 90)])
    picker.events.value = ()
    picker.save.click()
    assert "pick at least one event" in picker.status.value
    assert s.journal.latest("success") is None
    assert picker.kind.value == "event"  # nothing the participant set was reset


def test_segment_picker(small_workshop: Path):
    s = Session(small_workshop, "facilitator", interactive=True)
    picker = SegmentPicker(s, [("Used search", {"name": "did_search", "did": "search"}), ("Platform", "platform")])
    assert picker.checks["channel"].value and not picker.checks["did_search"].value
    picker.checks["did_search"].value = True
    picker.checks["visit_days"].value = False
    picker.save.click()
    names = [x if isinstance(x, str) else x["name"] for x in s.journal.latest("segments").data["segments"]]
    assert names == ["did_search", "platform", "channel", "searched"]
    assert [seg.name for seg in s.segments()] == names


def test_hypothesis_form_add_and_remove(small_workshop: Path):
    s = Session(small_workshop, "Bo <b>", interactive=True)
    form = HypothesisForm(s, s.segment_values())
    form.segment.value = "channel"
    assert list(form.value.options) == ["email", "organic", "paid"]
    form.value.value = "email"
    form.text.value = "<script>alert(1)</script> email people buy more"
    form.save.click()
    (entry,) = s.journal.entries("hypotheses")
    assert entry.author == "Bo <b>"
    assert entry.data == {
        "segment": "channel",
        "value": "email",
        "versus": None,
        "direction": "more",
        "expected_lift": None,
        "text": "<script>alert(1)</script> email people buy more",
    }
    assert form.text.value == ""  # cleared only after the save
    assert "&lt;script&gt;" in form.listing.children[0].children[1].value  # shown escaped
    hypotheses = s.hypotheses()
    assert hypotheses[0].value == "email" and hypotheses[0].author == "Bo <b>"
    form.listing.children[0].children[0].click()  # Remove
    assert s.journal.entries("hypotheses") == []


def test_hypothesis_versus_itself_is_refused(small_workshop: Path):
    s = Session(small_workshop, "Cy", interactive=True)
    form = HypothesisForm(s, s.segment_values())
    form.segment.value = "platform"
    form.value.value = "ios"
    form.versus.value = "ios"
    form.save.click()
    assert "not with itself" in form.status.value
    assert s.journal.entries("hypotheses") == []


def test_findings_notes_candidates_and_votes(small_workshop: Path):
    s = Session(small_workshop, "Di", interactive=True)
    log = FindingsLog(s)
    log.text.value = "Android users stall at checkout"
    log.tag.value = "candidate test"
    log.segment.value = "platform = android"
    log.save.click()
    assert s.journal.entries("findings")[0].data == {
        "text": "Android users stall at checkout",
        "tag": "candidate test",
        "about": "platform = android",
    }
    notes = NotesForm(s, "Trends observed")
    notes.text.value = "email is steady week to week"
    notes.save.click()
    assert s.journal.entries("notes")[0].data["topic"] == "Trends observed"

    form = CandidateForm(s, s.segment_values())
    form.name.value = "Checkout fix for android"
    form.segment.value = "platform"
    form.value.value = "android"
    form.lift.value = 0.2
    form.save.click()
    (candidate,) = s.candidates()
    assert candidate.segment == "platform" and candidate.value == "android" and candidate.expected_lift == 0.2

    voting = Voting(s, ["Checkout fix for android", "Email nurture"], dots=3)
    voting.sliders["Checkout fix for android"].value = 3
    voting.sliders["Email nurture"].value = 1
    voting.save.click()
    assert "4 dots used; you have 3" in voting.status.value
    assert s.ballots() == []
    voting.sliders["Email nurture"].value = 0
    voting.save.click()
    assert s.ballots() == [{"Checkout fix for android": 3}]
    # voting again replaces the ballot, it does not add a second one
    voting.sliders["Checkout fix for android"].value = 2
    voting.save.click()
    assert s.ballots() == [{"Checkout fix for android": 2}]
    # a re-opened widget shows the saved ballot
    assert Voting(s, ["Checkout fix for android"], dots=3).sliders["Checkout fix for android"].value == 2


def test_timer_counts_down_and_adjusts():
    now = [1000.0]
    timer = Timer(20, clock=lambda: now[0])
    assert "20:00" in timer.display.value
    timer._ends = now[0] + timer._left  # start without the background thread
    now[0] += 65
    timer.render()
    assert "18:55" in timer.display.value
    timer.pause()
    now[0] += 500
    assert round(timer.remaining()) == 1135
    timer.minutes.value = 5  # adjusting resets to the new length
    assert "05:00" in timer.display.value
    timer._ends = now[0] + 300
    now[0] += 301
    timer.render()
    assert "Time is up" in timer.display.value
