"""`tapecheck serve`: the dashboard in a browser. Each browser tab (one WebSocket) runs one thin viewer
process, `tapecheck --store S --no-collector`, the terminal dashboard's own code path, driven through
textual-serve's AppService; this process starts or joins the one collector of the store, so no tab starts
its own.

The aiohttp application is ours: textual-serve's Server would log every request line (its access log, the
token in its query string) and its page loads a font from a CDN. From textual-serve (pinned in pyproject)
we take AppService, which runs a command behind the web driver and relays its frames, and the page's
static files (xterm.js bundled as textual.js, its CSS and font). AppService's `_process` is private: it is
read to end a viewer that does not quit when asked, and to notice one that ended by itself.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import shlex
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

import textual_serve
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tui.core.model import TapecheckError
from tui.core.process import on_signals
from tui.serve.token import TokenGuard

if TYPE_CHECKING:
    from tui.core.store.protocol import Store

log = logging.getLogger("tui.serve")

STATIC = Path(textual_serve.__file__).parent / "static"
PAGE = Template((Path(__file__).parent / "page.html").read_text(encoding="utf-8"))
QUIT_S = 5.0  # a viewer asked to quit that is still there after this long is killed
START_WAIT_S = 30.0  # how long a collector just started is waited for, at most, before a viewer opens
RESTART_AFTER_S = 60.0  # a collector this process started is given this long to take the store's lock
HEARTBEAT_S = 15.0  # a tab that vanished without closing its socket is noticed within about twice this
CSP = ("default-src 'self'; connect-src 'self'; script-src 'self' 'unsafe-inline'; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class ServeOptions:
    """What `serve` was asked for: where to listen, the token, the viewers' limit and command line."""

    host: str
    port: int
    token: str
    max_viewers: int
    viewer_argv: tuple[str, ...]
    no_color: bool = False

    def viewer_command(self) -> str:
        """The shell line AppService runs for a tab; `exec`, so that the viewer is the shell's own process."""
        colour = ("env", "NO_COLOR=1") if self.no_color else ()
        return "exec " + shlex.join([*colour, *self.viewer_argv])


class CollectorKeeper:
    """Starts a collector for the store when none runs: at start, and when a tab opens (so that one that
    died comes back, as it does when a terminal dashboard opens). This process stays attached as a viewer,
    so a collector it started lingers while it serves."""

    def __init__(self, store: Store, start_collector: Callable[[], str], say: Callable[[str], None]) -> None:
        self.store = store
        self.start_collector = start_collector
        self.say = say
        self._lock = threading.Lock()
        self._started_at: float | None = None

    def ensure(self) -> None:
        with self._lock:
            if self.store.collector_running():
                return
            if self._started_at is not None and time.monotonic() - self._started_at < RESTART_AFTER_S:
                return  # the one started a moment ago is still loading
            try:
                said = self.start_collector()
            except TapecheckError as error:
                self.say(f"warning: {error}")
                return
            self._started_at = time.monotonic()
            self.say(said)
            # A tab opened before the collector holds the store would say that none runs: wait for it a little.
            while time.monotonic() - self._started_at < START_WAIT_S and not self.store.collector_running():
                time.sleep(0.2)


@dataclass(eq=False)
class Session:
    """One tab: its WebSocket and the viewer process behind it."""

    socket: web.WebSocketResponse
    viewer: AppService


class DashboardServer:
    """The web application: the page, its static files and one viewer per WebSocket, behind the token."""

    def __init__(self, options: ServeOptions, keeper: CollectorKeeper | None) -> None:
        self.options = options
        self.keeper = keeper
        self.guard = TokenGuard(options.token, options.port)
        self.sessions: set[Session] = set()
        self.downloads = DownloadManager()

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard.middleware])
        app.add_routes([
            web.get("/", self.handle_index, name="index"),
            web.get("/ws", self.handle_websocket, name="websocket"),
            web.get("/favicon.ico", no_icon),
            web.static("/static", STATIC, show_index=False, name="static"),
        ])
        return app

    @property
    def full(self) -> bool:
        return len(self.sessions) >= self.options.max_viewers

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.full:
            return self.full_page()
        size = request.query.get("fontsize", "16")
        font_size = min(max(int(size), 6), 64) if size.isdigit() else 16
        text = PAGE.substitute(title=html.escape("tapecheck"), font_size=font_size)
        return web.Response(text=text, content_type="text/html", headers=PAGE_HEADERS)

    def full_page(self) -> web.Response:
        limit = self.options.max_viewers
        text = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>tapecheck: full</title></head>"
                f"<body style='font-family: monospace; background: #0c181f; color: #eee; padding: 2em'>"
                f"<h1>The dashboard is full</h1><p>{limit} viewer{'s are' if limit != 1 else ' is'} open, the most "
                f"this server allows (<code>--max-viewers {limit}</code>). Close one, then reload this "
                f"page.</p></body></html>")
        return web.Response(status=503, text=text, content_type="text/html", headers=PAGE_HEADERS)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        if self.full:
            return self.full_page()
        width, height = cells(request.query.get("width"), 80), cells(request.query.get("height"), 24)
        socket = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=1 << 20)
        await socket.prepare(request)

        async def close() -> None:  # the viewer said it exits
            await socket.close()

        viewer = AppService(self.options.viewer_command(), write_bytes=socket.send_bytes,
                            write_str=socket.send_str, close=close, download_manager=self.downloads)
        session = Session(socket, viewer)
        self.sessions.add(session)
        log.info("a tab opened: %d viewer(s)", len(self.sessions))
        try:
            if self.keeper is not None:
                await asyncio.to_thread(self.keeper.ensure)
            await viewer.start(width, height)
            await self.relay(session)
        except Exception:  # one tab's trouble is logged; the server and the other tabs go on
            log.exception("a viewer failed")
        finally:
            await end_viewer(viewer)
            self.sessions.discard(session)
            if not socket.closed:
                await socket.close()
            log.info("a tab closed: %d viewer(s)", len(self.sessions))
        return socket

    async def relay(self, session: Session) -> None:
        """The browser's keys, sizes and focus to the viewer, until the socket drops or the viewer ends."""
        process = session.viewer._process
        assert process is not None
        reading = asyncio.create_task(read_browser(session))
        ended = asyncio.create_task(process.wait())
        try:
            await asyncio.wait({reading, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reading, ended):
                task.cancel()
            await asyncio.gather(reading, ended, return_exceptions=True)

    async def end_all(self) -> None:
        """Every viewer ended, and every tab told that the server is going (its page says the connection was
        lost)."""
        sessions = list(self.sessions)
        await asyncio.gather(*(s.socket.close(code=WSCloseCode.GOING_AWAY, message=b"the server stopped")
                               for s in sessions), return_exceptions=True)
        await asyncio.gather(*(end_viewer(s.viewer) for s in sessions), return_exceptions=True)


async def no_icon(request: web.Request) -> web.StreamResponse:
    return web.Response(status=204)


async def read_browser(session: Session) -> None:
    socket, viewer = session.socket, session.viewer
    async for message in socket:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            envelope = json.loads(message.data)
        except ValueError:
            continue
        if not isinstance(envelope, list) or not envelope:
            continue
        kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
        if kind == "stdin" and isinstance(data, str):
            await viewer.send_bytes(data.encode("utf-8"))
        elif kind == "resize" and isinstance(data, dict):
            await viewer.set_terminal_size(cells(data.get("width"), 80), cells(data.get("height"), 24))
        elif kind == "ping":
            await socket.send_json(["pong", data])
        elif kind == "blur":
            await viewer.blur()
        elif kind == "focus":
            await viewer.focus()


def cells(value: object, default: int) -> int:
    """A terminal size from the browser, within bounds."""
    try:
        number = int(str(value))
    except ValueError:
        return default
    return min(max(number, 10), 1000)


async def end_viewer(viewer: AppService) -> None:
    """Ask the viewer to quit and wait for its process to end; kill it if it is still there after QUIT_S.

    (AppService.stop() swallows a cancellation, so it is waited on, never timed out.)"""
    process = viewer._process
    began = time.monotonic()
    stopping = asyncio.ensure_future(viewer.stop())
    try:
        await asyncio.wait({stopping}, timeout=QUIT_S)
        if process is not None:
            left = max(QUIT_S - (time.monotonic() - began), 0.1)
            try:
                await asyncio.wait_for(process.wait(), left)
            except TimeoutError:
                log.warning("a viewer still ran %g s after it was asked to quit: killed", QUIT_S)
                kill(viewer)
                await process.wait()
            log.info("a viewer ended %.1f s after it was asked to quit", time.monotonic() - began)
        await stopping  # its output ends with it
    except asyncio.CancelledError:  # the server is going: the viewer does not outlive it
        kill(viewer)
        raise


def kill(viewer: AppService) -> None:
    process = viewer._process
    if process is not None and process.returncode is None:
        process.kill()


async def run_server(server: DashboardServer, announce: Callable[[int], None]) -> None:
    """Listen until SIGINT or SIGTERM, then end every viewer and close every tab."""
    options = server.options
    runner = web.AppRunner(server.make_app(), access_log=None, handle_signals=False, shutdown_timeout=QUIT_S * 2)
    await runner.setup()
    try:
        site = web.TCPSite(runner, options.host, options.port)
        try:
            await site.start()
        except OSError as error:
            raise TapecheckError(f"cannot listen on {options.host}:{options.port}: "
                                 f"{error.strerror or error}") from None
        port = int(runner.addresses[0][1])
        server.guard.cookie_name = f"tapecheck-{port}"
        stop = asyncio.Event()
        on_signals((signal.SIGINT, signal.SIGTERM), lambda _sig: stop.set())
        announce(port)
        await stop.wait()
        await server.end_all()
    finally:
        await runner.cleanup()


def serve(options: ServeOptions, keeper: CollectorKeeper | None, announce: Callable[[int], None]) -> None:
    if keeper is not None:
        keeper.store.attach_viewer()  # a collector lingers while this process serves
        keeper.ensure()
    asyncio.run(run_server(DashboardServer(options, keeper), announce))
