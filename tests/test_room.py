"""The room's app through its HTTP API (Starlette's test client: no browser, no socket): tokens, names, who may
change what, the shared timer, the reveal, entries in the journal under the right authors, text kept as text,
and a dozen participants writing at once with nothing lost."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.testclient import TestClient

from segworkshop.journal import Journal
from segworkshop.room.app import RoomServer, create_app
from segworkshop.room.board import STEPS, Room, RoomError, Timer
from segworkshop.session import Session

XSS = [
    "<script>window.pwned=1</script>",
    '<img src=x onerror="window.pwned=1">',
    '"><svg onload=window.pwned=1>',
    "javascript:window.pwned=1",
    "<iframe srcdoc='<script>parent.pwned=1</script>'>",
]


@pytest.fixture
def served(small_workshop):
    server = RoomServer(small_workshop.parent)
    return server, TestClient(create_app(server))


def call(client, path, token, body=None, name=None, key=None):
    headers = {"X-Room-Token": token or ""}
    if name is not None:
        headers["X-Name"] = _quote(name)  # as the page sends it (encodeURIComponent)
        headers["X-Key"] = key or ""
    if body is None:
        return client.get(path, headers=headers)
    return client.post(path, headers=headers, content=json.dumps(body))


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def joined(client, server, name):
    got = call(client, "/api/join", server.tokens.participant, {"name": name})
    assert got.status_code == 200, got.text
    return got.json()["key"]


def test_wrong_or_missing_token_is_refused(served):
    server, client = served
    for token in (None, "", "nope", server.tokens.participant[:-1] + "x"):
        assert call(client, "/api/state", token).status_code == 403
    assert call(client, "/api/state", server.tokens.participant).status_code == 200
    assert call(client, "/api/state", server.tokens.facilitator).status_code == 200


def test_a_name_is_held_by_one_browser_and_kept_across_reloads(served):
    server, client = served
    key = joined(client, server, "Ana")
    again = call(client, "/api/join", server.tokens.participant, {"name": "Ana", "key": key})
    assert again.status_code == 200 and again.json()["key"] == key  # a reload keeps the name
    other = call(client, "/api/join", server.tokens.participant, {"name": "Ana"})
    assert other.status_code == 403 and "already taken" in other.json()["error"]
    assert call(client, "/api/join", server.tokens.participant, {"name": "  "}).status_code == 400
    assert call(client, "/api/join", server.tokens.participant, {"name": "facilitator"}).status_code == 400


def test_participants_enter_hypotheses_under_their_own_names(served):
    server, client = served
    ana, bo = joined(client, server, "Ana"), joined(client, server, "Bo")
    values = server.room.segment_values
    body = {"segment": "channel", "value": values["channel"][0], "direction": "more", "text": "email works"}
    assert call(client, "/api/hypotheses", server.tokens.participant, body, "Ana", ana).status_code == 200
    body2 = {**body, "value": values["channel"][1], "text": "paid does not"}
    assert call(client, "/api/hypotheses", server.tokens.participant, body2, "Bo", bo).status_code == 200
    entries = {e.author: e.data for e in Journal(server.folder).entries("hypotheses")}
    assert entries["Ana"]["text"] == "email works" and entries["Bo"]["text"] == "paid does not"
    # the notebooks and `segworkshop run` read the same entries
    assert sorted(h.author for h in Session(server.folder).hypotheses()) == ["Ana", "Bo"]
    # a key that is not Bo's cannot write as Bo
    forged = call(client, "/api/hypotheses", server.tokens.participant, body, "Bo", ana)
    assert forged.status_code == 403


def test_hypotheses_are_checked_against_the_segments_and_capped_at_three(served):
    server, client = served
    key = joined(client, server, "Ana")
    values = server.room.segment_values["channel"]
    bad = call(client, "/api/hypotheses", server.tokens.participant, {"segment": "nope", "value": "x"}, "Ana", key)
    assert bad.status_code == 400 and "channel" in bad.json()["error"]
    bad = call(client, "/api/hypotheses", server.tokens.participant, {"segment": "channel", "value": "x"}, "Ana", key)
    assert bad.status_code == 400 and values[0] in bad.json()["error"]
    for value in values[:3]:
        ok = call(
            client, "/api/hypotheses", server.tokens.participant, {"segment": "channel", "value": value}, "Ana", key
        )
        assert ok.status_code == 200
    more = call(
        client, "/api/hypotheses", server.tokens.participant, {"segment": "platform", "value": "ios"}, "Ana", key
    )
    assert more.status_code == 400 and "top 3" in more.json()["error"]


def test_only_your_own_entries_can_be_removed(served):
    server, client = served
    ana, bo = joined(client, server, "Ana"), joined(client, server, "Bo")
    made = call(
        client, "/api/findings", server.tokens.participant, {"text": "a finding", "tag": "learning"}, "Ana", ana
    )
    entry = made.json()["id"]
    refused = call(client, "/api/remove", server.tokens.participant, {"kind": "findings", "id": entry}, "Bo", bo)
    assert refused.status_code == 403
    assert len(Journal(server.folder).entries("findings")) == 1
    done = call(client, "/api/remove", server.tokens.participant, {"kind": "findings", "id": entry}, "Ana", ana)
    assert done.status_code == 200 and Journal(server.folder).entries("findings") == []


def test_only_the_facilitator_changes_the_step_timer_and_reveal(served):
    server, client = served
    key = joined(client, server, "Ana")
    for action in ({"action": "step", "value": 2}, {"action": "start", "value": 20}, {"action": "reveal", "value": 1}):
        assert call(client, "/api/control", server.tokens.participant, action, "Ana", key).status_code == 403
        assert call(client, "/api/control", server.tokens.facilitator, action).status_code == 200
    state = call(client, "/api/state", server.tokens.participant, name="Ana", key=key).json()
    assert state["step"] == 2 and state["steps"] == list(STEPS) and state["revealed"] is True
    assert state["timer"]["running"] and 1190 < state["timer"]["left"] <= 1200
    # the success definition is the facilitator's: no endpoint writes it, and a participant's link opens no board
    assert Journal(server.folder).entries("success") == []
    assert call(client, "/api/link", server.tokens.participant).status_code == 403


def test_one_countdown_on_the_server_clock(small_workshop):
    room = Room(small_workshop.parent)
    room.start_timer(20, now=1000.0)
    assert room.timer().left(1000.0 + 90) == pytest.approx(1200 - 90)
    room.pause_timer(now=1100.0)
    assert room.timer().left(5000.0) == pytest.approx(1100)  # paused: time stands still
    room.add_minutes(5, now=5000.0)
    assert room.timer().left(6000.0) == pytest.approx(1400)
    room.start_timer(now=6000.0)
    assert room.timer().left(6100.0) == pytest.approx(1300)
    room.add_minutes(5, now=6100.0)
    assert room.timer().left(6100.0) == pytest.approx(1600)
    assert Timer().left(0) == 0
    with pytest.raises(RoomError):
        room.start_timer(-3)


def test_entries_stay_private_until_the_reveal(served):
    server, client = served
    ana, bo = joined(client, server, "Ana"), joined(client, server, "Bo")
    call(client, "/api/findings", server.tokens.participant, {"text": "mine", "tag": "question"}, "Ana", ana)
    seen = call(client, "/api/state", server.tokens.participant, name="Bo", key=bo).json()
    assert seen["findings"] == []
    board = call(client, "/api/state", server.tokens.facilitator).json()
    assert [f["author"] for f in board["findings"]] == ["Ana"]
    call(client, "/api/control", server.tokens.facilitator, {"action": "reveal", "value": True})
    seen = call(client, "/api/state", server.tokens.participant, name="Bo", key=bo).json()
    assert [(f["author"], f["mine"]) for f in seen["findings"]] == [("Ana", False)]


def test_names_and_entries_with_html_stay_text(served):
    server, client = served
    for i, payload in enumerate(XSS):
        key = joined(client, server, f"{payload} {i}")
        made = call(
            client,
            "/api/findings",
            server.tokens.participant,
            {"text": payload, "tag": "learning"},
            f"{payload} {i}",
            key,
        )
        assert made.status_code == 200
    board = call(client, "/api/state", server.tokens.facilitator).json()
    assert [f["text"] for f in board["findings"]] == XSS  # stored and returned exactly as typed
    for path in ("/", "/board"):
        page = client.get(path)
        assert "innerHTML" not in page.text and "insertAdjacentHTML" not in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'nonce-" in policy and "unsafe-inline" not in policy and "connect-src 'self'" in policy


def test_votes_are_bounded_and_counted(served):
    server, client = served
    Journal(server.folder).add("scores", "facilitator", {"name": "Email nudge", "segment": None, "scores": {}})
    key = joined(client, server, "Ana")
    too_many = call(client, "/api/votes", server.tokens.participant, {"ballot": {"Email nudge": 4}}, "Ana", key)
    assert too_many.status_code == 400
    unknown = call(client, "/api/votes", server.tokens.participant, {"ballot": {"Nope": 1}}, "Ana", key)
    assert unknown.status_code == 400
    for dots in (2, 3):  # the latest ballot counts
        assert call(client, "/api/votes", server.tokens.participant, {"ballot": {"Email nudge": dots}}, "Ana", key)
    board = call(client, "/api/state", server.tokens.facilitator).json()
    assert board["votes"]["tally"] == {"Email nudge": 3} and Session(server.folder).ballots() == [{"Email nudge": 3}]


def test_twelve_participants_writing_at_once_lose_nothing(small_workshop):
    """12 participants join and each saves 3 findings and a hypothesis at the same moment: all 48 are in the
    journal under the right names (bounded: loopback-free in-process transport, a few seconds)."""
    server = RoomServer(small_workshop.parent)
    app = create_app(server)
    value = server.room.segment_values["channel"][0]

    async def one(i: int) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://room") as client:
            name = f"Participant {i}"
            got = await client.post(
                "/api/join", headers={"X-Room-Token": server.tokens.participant}, json={"name": name}
            )
            headers = {"X-Room-Token": server.tokens.participant, "X-Name": _quote(name), "X-Key": got.json()["key"]}
            posts = [client.post("/api/findings", headers=headers, json={"text": f"{name} #{k}"}) for k in range(3)]
            posts.append(client.post("/api/hypotheses", headers=headers, json={"segment": "channel", "value": value}))
            answers = await asyncio.gather(*posts)
            assert all(a.status_code == 200 for a in answers), [a.text for a in answers]

    async def everyone() -> None:
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(12))), timeout=60)

    asyncio.run(everyone())
    journal = Journal(small_workshop.parent)
    findings = journal.entries("findings")
    assert len(findings) == 36 and len(journal.entries("hypotheses")) == 12
    assert all(f.data["text"].startswith(f.author + " #") for f in findings)


def test_verdicts_after_the_reveal_as_the_report_shows_them(served):
    from segworkshop.hypotheses import shareable

    server, client = served
    key = joined(client, server, "Ana")
    value = server.room.segment_values["channel"][0]
    call(client, "/api/hypotheses", server.tokens.participant, {"segment": "channel", "value": value}, "Ana", key)
    early = call(client, "/api/verdicts", server.tokens.participant, name="Ana", key=key)
    assert early.status_code == 400 and "reveal" in early.json()["error"]
    call(client, "/api/control", server.tokens.facilitator, {"action": "reveal", "value": True})
    rows = call(client, "/api/verdicts", server.tokens.participant, name="Ana", key=key).json()["rows"]
    expected = shareable(Session(server.folder).check_hypotheses())
    assert [(r["author"], r["verdict"]) for r in rows] == list(zip(expected.author, expected.verdict, strict=True))


def test_the_explorer_answers_and_a_finding_keeps_the_comparison(served):
    from segworkshop.explore import Exploration, exploration_of, explore

    server, client = served
    key = joined(client, server, "Ana")
    options = call(client, "/api/options", server.tokens.participant, name="Ana", key=key).json()
    assert [o["label"] for o in options["explore"]][:2] == ["channel", "platform"]
    within = next(w for w in options["within"] if w["segment"] == "channel")
    asked = {"segment": "platform", "within": within}
    got = call(client, "/api/explore", server.tokens.participant, asked, "Ana", key)
    assert got.status_code == 200, got.text
    answer = got.json()
    session = Session(server.folder)
    expected = explore(session.workshop, Exploration.from_dict(asked), ledger=session.ledger()).rows
    assert [(r["value"], r["units"], r["successes"]) for r in answer["rows"]] == list(
        zip(expected.value, expected.units, expected.successes, strict=True)
    )
    assert [r["q_value"] for r in answer["rows"]] == pytest.approx(list(expected.q_value))
    saved = call(
        client,
        "/api/findings",
        server.tokens.participant,
        {"text": "ios differs", "tag": "learning", "exploration": answer["exploration"]},
        "Ana",
        key,
    )
    assert saved.status_code == 200
    (finding,) = Journal(server.folder).entries("findings")
    assert exploration_of(finding.data) == Exploration.from_dict(asked)  # the report can redraw it
    bad = call(client, "/api/explore", server.tokens.participant, {"segment": "nope"}, "Ana", key)
    assert bad.status_code == 400 and "nope" in bad.json()["error"]


def test_a_slow_question_gets_an_answer_and_the_room_goes_on(small_workshop):
    server = RoomServer(small_workshop.parent, analysis_seconds=0.5)
    client = TestClient(create_app(server))
    key = joined(client, server, "Ana")
    slow = server.room.explore

    def sleepy(*args):
        import time

        time.sleep(2)
        return slow(*args)

    server.room.explore = sleepy
    got = call(client, "/api/explore", server.tokens.participant, {"segment": "platform"}, "Ana", key)
    assert got.status_code == 400 and "longer than" in got.json()["error"]
    assert call(client, "/api/state", server.tokens.participant, name="Ana", key=key).status_code == 200


def test_twelve_explorers_and_writers_at_once_all_get_answers(small_workshop):
    """Questions wait their turn in the one worker (the engine's connection takes one query at a time) while
    entries keep flowing: 12 explorations and 12 hypotheses at once, every one answered."""
    server = RoomServer(small_workshop.parent)
    app = create_app(server)
    value = server.room.segment_values["channel"][0]

    async def one(i: int) -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://room") as client:
            name = f"P{i}"
            got = await client.post(
                "/api/join", headers={"X-Room-Token": server.tokens.participant}, json={"name": name}
            )
            headers = {"X-Room-Token": server.tokens.participant, "X-Name": name, "X-Key": got.json()["key"]}
            answers = await asyncio.gather(
                client.post("/api/explore", headers=headers, json={"segment": ["platform", "channel"][i % 2]}),
                client.post("/api/hypotheses", headers=headers, json={"segment": "channel", "value": value}),
            )
            return [a.status_code for a in answers]

    async def everyone() -> list[list[int]]:
        return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(12))), timeout=120)

    assert asyncio.run(everyone()) == [[200, 200]] * 12


def test_candidates_and_grouping(served):
    from segworkshop.prioritize import evaluate

    server, client = served
    key = joined(client, server, "Ana")
    value = server.room.segment_values["channel"][0]
    body = {"name": "Email nudge", "segment": "channel", "value": value, "expected_lift": 0.1, "share": 0.5}
    assert call(client, "/api/candidates", server.tokens.participant, body, "Ana", key).status_code == 200
    again = call(client, "/api/candidates", server.tokens.participant, body, "Ana", key)
    assert again.status_code == 400 and "already" in again.json()["error"]
    (candidate,) = Session(server.folder).candidates()  # what page 07 evaluates and ranks
    assert (candidate.name, candidate.segment, candidate.value, candidate.author) == (
        "Email nudge",
        "channel",
        value,
        "Ana",
    )
    assert evaluate(Session(server.folder).workshop, candidate).weekly_units > 0
    made = call(client, "/api/findings", server.tokens.participant, {"text": "emails", "tag": "learning"}, "Ana", key)
    fid = made.json()["id"]
    grouping = {"action": "group", "value": {"id": fid, "group": "Email"}}
    assert call(client, "/api/control", server.tokens.participant, grouping, "Ana", key).status_code == 403
    assert call(client, "/api/control", server.tokens.facilitator, grouping).status_code == 200
    (finding,) = Journal(server.folder).entries("findings")
    assert finding.author == "Ana" and finding.data["group"] == "Email" and finding.data["text"] == "emails"
