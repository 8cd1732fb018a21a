"""The room in real browsers: Playwright for Python driving Debian's chromium (never a downloaded browser),
against the app served by uvicorn on a free loopback port that stops with the test.

The board and two participants at once: both join, enter hypotheses and findings at the same moment, see them on
the board within seconds, and find them in the journal under their names; a reload keeps the name; every screen
shows the same time left; a wrong token is refused; names and entries with HTML/JS execute nothing.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from segworkshop.journal import Journal

pytestmark = pytest.mark.e2e

XSS = [
    '<img src=x onerror="window.pwned=1">',
    "<script>window.pwned=1</script>",
    '"><svg onload=window.pwned=1>',
]
# the README's screenshots: `SEGWORKSHOP_SCREENSHOTS=workshop pytest -m e2e tests/test_room_browser.py` rewrites them
SCREENSHOTS = os.environ.get("SEGWORKSHOP_SCREENSHOTS")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: tests/run.sh installs Debian's chromium for this test")
        pytest.skip("needs Debian's chromium (tests/run.sh installs it)")
    return found


@pytest.fixture
def room(small_workshop):
    """A served room on a free loopback port; stopped (and its thread joined) when the test ends."""
    import uvicorn
    from parity import free_port

    from segworkshop.room.app import RoomServer, create_app

    port = free_port()
    server = RoomServer(small_workshop.parent, base_url=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(create_app(server), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        if time.monotonic() > deadline:
            pytest.fail("the room's server did not start")
        time.sleep(0.05)
    yield server
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    pw = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    with pw.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


def _join(page, link: str, name: str) -> None:
    page.goto(link)
    page.fill("#name", name)
    page.click("#join-button")
    page.wait_for_selector("#room:not(.hidden)")


def test_two_participants_and_the_board(room, browser, tmp_path):
    """(The contexts bypass the pages' CSP, so that the script-free rendering itself is what the XSS corpus
    tests, and so that Playwright can evaluate its checks.)"""
    dialogs = []
    board = browser.new_context(bypass_csp=True).new_page()
    ana_ctx, bo_ctx = browser.new_context(bypass_csp=True), browser.new_context(bypass_csp=True)
    ana, bo = ana_ctx.new_page(), bo_ctx.new_page()
    for page in (board, ana, bo):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    board.goto(room.board_link)
    board.wait_for_selector("#qr[src^='data:image/svg+xml']")
    _join(ana, room.join_link, "Ana")
    _join(bo, room.join_link, XSS[0])  # a name is data: shown as text everywhere
    for page, why in ((ana, "email works"), (bo, XSS[1])):
        page.select_option("#h-segment", "channel")
        page.fill("#h-text", why)
    values = room.room.segment_values["channel"]
    ana.select_option("#h-value", values[0])
    bo.select_option("#h-value", values[1])
    ana.click("#h-save")
    bo.click("#h-save")  # at the same moment
    ana.fill("#f-text", XSS[2])
    ana.click("#f-save")
    board.wait_for_function("document.querySelectorAll('#hypotheses tr').length === 3", timeout=10_000)
    board.wait_for_function(f"document.body.textContent.includes({XSS[2]!r})", timeout=10_000)
    authors = {e.author: e.data["text"] for e in Journal(room.folder).entries("hypotheses")}
    assert authors == {"Ana": "email works", XSS[0]: XSS[1]}
    assert board.locator("#hypotheses").inner_text().count(XSS[0]) == 1  # the name, as text
    # the explorer: a comparison on screen, saved as a finding that keeps it
    ana.click("#x-run")
    ana.wait_for_function("document.querySelectorAll('#x-table tr').length > 2", timeout=30_000)
    ana.fill("#x-text", "email converts")
    ana.click("#x-keep")
    board.wait_for_function("document.body.textContent.includes('email converts')", timeout=10_000)
    kept = [f.data for f in Journal(room.folder).entries("findings") if f.data["text"] == "email converts"]
    assert kept and kept[0]["exploration"]["segment"] == "channel"
    # a reload keeps the name
    bo.reload()
    bo.wait_for_selector("#room:not(.hidden)")
    bo.wait_for_function("document.querySelector('#who').textContent.startsWith('You are')", timeout=10_000)
    assert bo.inner_text("#who") == f"You are {XSS[0]}"
    # one countdown: the same time left on every screen
    board.fill("#minutes", "20")
    board.click("#start")
    for page in (ana, bo):
        page.wait_for_function(
            "document.querySelector('#timer').textContent.startsWith('19:') || "
            "document.querySelector('#timer').textContent.startsWith('20:')",
            timeout=10_000,
        )
    lefts = [
        float(p.evaluate("() => Math.max(0, timerLeft - (timerRunning ? (performance.now() - timerAt) / 1000 : 0))"))
        for p in (board, ana, bo)
    ]
    assert max(lefts) - min(lefts) <= 1.0, lefts  # each counts down from the server's time left at its last poll
    # nothing a page was given ran as script
    for page in (board, ana, bo):
        assert page.evaluate("() => window.pwned === undefined")
    assert dialogs == []
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    ana.evaluate("() => window.scrollTo(0, 0)")
    board.screenshot(path=str(shots / "room-board.png"), full_page=False)
    ana.screenshot(path=str(shots / "room-participant.png"), full_page=False)
    assert (shots / "room-board.png").stat().st_size > 10_000


def test_a_wrong_token_is_refused_in_the_page(room, browser):
    page = browser.new_context(bypass_csp=True).new_page()
    page.goto(room.join_link.replace(room.tokens.participant, "not-the-token"))
    page.fill("#name", "Eve")
    page.click("#join-button")
    page.wait_for_function("document.querySelector('#join-status').textContent.includes('token')", timeout=10_000)
    assert Journal(room.folder).entries("hypotheses") == []
