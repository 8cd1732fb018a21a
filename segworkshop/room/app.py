"""The room's web app (Starlette, served by uvicorn): two pages and a small JSON API over :class:`Room`.

Every API call carries the room token (``X-Room-Token``: the join link's or the facilitator's); a participant's
writes also carry their name and key (``X-Name``, ``X-Key``). Wrong or missing tokens get 403. Analyses (the
explorer, the verdicts) run one at a time in a worker thread with a time limit, so one participant's question
cannot stall the room: past the limit the page gets a clear message and the room goes on. The pages carry a
Content-Security-Policy that allows only their own nonce'd script and same-origin requests.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import SegworkshopError
from .board import Room, RoomError
from .pages import board_page, participant_page
from .tokens import FACILITATOR, PARTICIPANT, Members, RoomTokens, clean_name, members, room_tokens

ANALYSIS_SECONDS = 20.0  # an explorer question or the verdicts: past this the page is told, the room goes on
MAX_BODY = 64_000


@dataclass
class RoomServer:
    """What the app serves: the room of one workshop folder, its tokens, and the address it is reached at."""

    folder: Path
    base_url: str = "http://127.0.0.1:8866"
    analysis_seconds: float = ANALYSIS_SECONDS
    room: Room = field(init=False)
    tokens: RoomTokens = field(init=False)
    members: Members = field(init=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self.room = Room(self.folder)
        self.tokens = room_tokens(self.folder)
        self.members = members(self.folder)
        # one worker: the workshop's engine connection takes one query at a time (DuckDB refuses concurrent calls
        # on one connection), so every query of the room runs in it, including the pickers' values below
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="room-analysis")
        self._pool.submit(lambda: self.room.segment_values).result()
        self._busy = asyncio.Semaphore(1)  # one analysis in the worker at a time; the others wait their turn

    @property
    def join_link(self) -> str:
        return f"{self.base_url}/?t={self.tokens.participant}"

    @property
    def board_link(self) -> str:
        return f"{self.base_url}/board?t={self.tokens.facilitator}"

    def warm(self) -> None:
        """Compute what every later question reuses (the session's ledger), in the worker."""
        self._pool.submit(self.room.session.ledger).result()

    async def analyse(self, fn: Any, *args: Any) -> Any:
        """Run an analysis in the worker, one at a time, bounded in time: waiting for one's turn and running
        together take at most ``analysis_seconds`` (then the asker is told, and the room goes on)."""
        loop = asyncio.get_running_loop()

        async def turn() -> Any:
            async with self._busy:
                return await loop.run_in_executor(self._pool, fn, *args)

        try:
            return await asyncio.wait_for(turn(), self.analysis_seconds)
        except asyncio.TimeoutError:
            raise RoomError(
                f"that question took longer than {self.analysis_seconds:.0f} s (the room's questions run one at a "
                "time); the room goes on. Try again in a moment, or a simpler split (fewer values, no subgroup)."
            ) from None


def create_app(server: RoomServer) -> Starlette:
    """The ASGI app of a room."""
    title = server.room.session.config.title

    def page(html_of: Any) -> Response:
        nonce = secrets.token_urlsafe(12)
        headers = {
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
        return HTMLResponse(html_of(title, nonce), headers=headers)

    async def participant(request: Request) -> Response:
        return page(participant_page)

    async def board(request: Request) -> Response:
        return page(board_page)

    def role(request: Request) -> str:
        found = server.tokens.role(request.headers.get("x-room-token"))
        if found is None:
            raise PermissionError("this link's token is wrong or missing: ask the facilitator for the room's link.")
        return found

    def person(request: Request) -> str:
        """The participant making a request (their name, proven by their key), or the facilitator."""
        if role(request) == FACILITATOR:
            return FACILITATOR
        name = unquote(request.headers.get("x-name", ""))
        if not server.members.check(name, request.headers.get("x-key")):
            raise PermissionError("join the room with your name first (reload the page).")
        return name

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise RoomError("that is too much text for one entry.")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise RoomError("the page sent something that is not JSON.") from None
        if not isinstance(data, dict):
            raise RoomError("the page sent something that is not an object.")
        return data

    def endpoint(fn: Any) -> Any:
        async def handle(request: Request) -> Response:
            try:
                return JSONResponse(await fn(request))
            except PermissionError as exc:
                return JSONResponse({"error": str(exc)}, status_code=403)
            except (RoomError, ValueError, SegworkshopError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return handle

    @endpoint
    async def state(request: Request) -> dict[str, Any]:
        who = role(request)
        if who == FACILITATOR:
            return server.room.state(None, facilitator=True)
        name = unquote(request.headers.get("x-name", ""))
        known = server.members.check(name, request.headers.get("x-key"))
        return server.room.state(name if known else None)

    @endpoint
    async def join(request: Request) -> dict[str, Any]:
        if role(request) != PARTICIPANT:
            raise PermissionError("the facilitator's link is for the board; open the join link to take part.")
        data = await body(request)
        name = clean_name(data.get("name"))
        return {"name": name, "key": server.members.join(name, data.get("key"))}

    @endpoint
    async def options(request: Request) -> dict[str, Any]:
        role(request)
        return await server.analyse(server.room.options)

    @endpoint
    async def hypotheses(request: Request) -> dict[str, Any]:
        who = person(request)
        return {"id": server.room.add_hypothesis(who, await body(request)).id}

    @endpoint
    async def findings(request: Request) -> dict[str, Any]:
        who = person(request)
        return {"id": server.room.add_finding(who, await body(request)).id}

    @endpoint
    async def votes(request: Request) -> dict[str, Any]:
        who = person(request)
        return {"id": server.room.vote(who, (await body(request)).get("ballot") or {}).id}

    @endpoint
    async def remove(request: Request) -> dict[str, Any]:
        who = person(request)
        data = await body(request)
        server.room.remove(who, str(data.get("kind")), str(data.get("id")))
        return {"removed": True}

    @endpoint
    async def explore(request: Request) -> dict[str, Any]:
        person(request)
        # the engine stops the query a little before the room's own limit answers the page
        return await server.analyse(server.room.explore, await body(request), server.analysis_seconds * 0.9)

    @endpoint
    async def verdicts(request: Request) -> dict[str, Any]:
        who = role(request)
        if who != FACILITATOR and not server.room.revealed():
            raise RoomError("the verdicts are shown once the facilitator reveals them.")
        return {"rows": await server.analyse(server.room.verdicts)}

    @endpoint
    async def candidates(request: Request) -> dict[str, Any]:
        who = person(request)
        return {"id": server.room.add_candidate(who, await body(request)).id}

    @endpoint
    async def control(request: Request) -> dict[str, Any]:
        if role(request) != FACILITATOR:
            raise PermissionError("only the facilitator changes the step, the timer and the reveal.")
        data = await body(request)
        action, value = data.get("action"), data.get("value")
        room = server.room
        actions = {
            "step": lambda: room.set_step(value),
            "reveal": lambda: room.reveal(bool(value)),
            "start": lambda: room.start_timer(value),
            "resume": lambda: room.start_timer(),
            "pause": lambda: room.pause_timer(),
            "add": lambda: room.add_minutes(value),
            "group": lambda: room.group(str((value or {}).get("id")), str((value or {}).get("group", ""))),
        }
        if action not in actions:
            raise RoomError(f"unknown action {action!r}; actions: {', '.join(actions)}.")
        actions[action]()
        return {"done": action}

    @endpoint
    async def link(request: Request) -> dict[str, Any]:
        if role(request) != FACILITATOR:
            raise PermissionError("only the board shows the join link.")
        return {"join": server.join_link, "qr": qr_data_uri(server.join_link)}

    routes = [
        Route("/", participant),
        Route("/board", board),
        Route("/api/state", state),
        Route("/api/options", options),
        Route("/api/link", link),
        Route("/api/verdicts", verdicts),
        Route("/api/join", join, methods=["POST"]),
        Route("/api/hypotheses", hypotheses, methods=["POST"]),
        Route("/api/findings", findings, methods=["POST"]),
        Route("/api/votes", votes, methods=["POST"]),
        Route("/api/candidates", candidates, methods=["POST"]),
        Route("/api/remove", remove, methods=["POST"]),
        Route("/api/explore", explore, methods=["POST"]),
        Route("/api/control", control, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` as an SVG data URI (segno: pure Python, no image library)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=6, border=2)


def qr_terminal(text: str) -> str:
    """A QR code of ``text`` drawn in text, for the terminal."""
    import io

    import segno

    out = io.StringIO()
    segno.make(text, error="m").terminal(out, compact=True, border=2)
    return out.getvalue()


def serve(folder: Path, host: str = "127.0.0.1", port: int = 8866, announce: Any = print) -> None:
    """Serve the room until interrupted; ``announce`` gets the links once the server is about to listen."""
    import uvicorn

    shown = host if host not in ("0.0.0.0", "::") else _this_host()
    server = RoomServer(folder, base_url=f"http://{shown}:{port}")
    server.warm()  # the session's ledger (every page's comparisons) before anyone asks: seconds, once
    announce(server)
    uvicorn.run(create_app(server), host=host, port=port, log_level="warning")


def _this_host() -> str:
    """This machine's address on the room's network (for links when listening on every interface)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            return s.getsockname()[0]
    except OSError:
        return socket.gethostname()
