"""`tapecheck serve`: the dashboard in a real headless browser (Debian's chromium, driven by Playwright, no
browser download) over a store filled from the test snapshot, with a collector polling the local fakes.

What a tab shows is read from the frames its WebSocket receives, through a terminal emulator (pyte), since
xterm.js draws on a canvas. The token is tried wrong, missing, in a header and on a WebSocket opened directly.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyte
import pytest

from tests.conftest import DATA
from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tui.core.model import TapecheckError
from tui.core.snapshot import read_observations
from tui.core.store.sqlite import Store
from tui.serve.server import ServeOptions
from tui.serve.token import read_token

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium")
NO_CHROMIUM = "no chromium on PATH (.ci/run installs Debian's with apt-get install chromium): the browser test is skipped"
WAIT_S = 120  # generous: the machine is shared


def processes(*words: str) -> list[int]:
    """The pids of the processes whose command line holds every word (as whole arguments)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(word.encode() in argv for word in words):
            found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], object], what: str, poll: Callable[[], None]) -> None:
    end = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < end, f"{what}: not within {WAIT_S} s"
        poll()


class TabScreen:
    """The screen of one tab, rebuilt from the frames of its WebSocket and the sizes the page sent."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.sockets: list[str] = []
        page.on("websocket", self._opened)  # type: ignore[attr-defined]

    def _opened(self, socket: object) -> None:
        url: str = socket.url  # type: ignore[attr-defined]
        self.sockets.append(url)
        query = parse_qs(urlsplit(url).query)
        self.screen.resize(int(query["height"][0]), int(query["width"][0]))
        socket.on("framereceived", self._received)  # type: ignore[attr-defined]
        socket.on("framesent", self._sent)  # type: ignore[attr-defined]

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            self.stream.feed(payload)

    def _sent(self, payload: str | bytes) -> None:
        message = json.loads(payload)
        if message[0] == "resize":
            self.screen.resize(message[1]["height"], message[1]["width"])

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, *words: str, gone: str = "") -> None:
        """Until every word shows (and `gone` no longer does)."""
        wait_until(lambda: all(w in self.text() for w in words) and not (gone and gone in self.text()),
                   f"{words} on the tab{f', without {gone!r}' if gone else ''}; it shows:\n{self.text()}",
                   lambda: self.page.wait_for_timeout(100))  # type: ignore[attr-defined]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def upgrade(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    """The status of a WebSocket handshake opened by hand (101: let in)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                                 "Sec-WebSocket-Version": "13", **(headers or {})})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        print(NO_CHROMIUM, file=sys.stderr)
        pytest.skip(NO_CHROMIUM)
    return CHROMIUM


Served = tuple[subprocess.Popen[str], str, Path]


@contextlib.contextmanager
def serving(tmp_path: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool], *flags: str) -> Iterator[Served]:
    """`tapecheck serve` on a free port over a store filled from the snapshot; yields it, its URL and store."""
    exchange, yahoo, mempool = fakes
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "config.toml"
    config.write_text(f"""
[collector]
linger_s = 1
[sources.crypto]
exchanges = ["binance"]
[sources.crypto.urls]
binance = "{exchange.url}"
[sources.equities]
base_url = "{yahoo.url}"
[sources.hashrate]
base_url = "{mempool.url}"
fallback_url = "{mempool.url}"
""")
    path = tmp_path / "store.sqlite"
    store = Store(path)
    store.append(read_observations(DATA / "snapshot.jsonl"))
    store.close()
    errors = (tmp_path / "serve.err").open("w")
    serve = subprocess.Popen([sys.executable, "-m", "tui", "--config", str(config), "serve", "--store", str(path),
                              "--port", "0", *flags], stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT)
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (tmp_path / "serve.err").read_text()
        yield serve, url, path
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
        errors.close()
        for pid in processes("collect", str(path)):  # it lingers a second; the test does not wait for that
            os.kill(pid, signal.SIGTERM)


@pytest.fixture
def served(tmp_path: Path, private_home: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> Iterator[Served]:
    with serving(tmp_path, fakes, "--max-viewers", "2") as running:
        yield running


@pytest.mark.timeout(600)
def test_the_dashboard_in_a_browser_behind_its_token(chromium: str, served: Served,
                                                     tmp_path: Path, private_home: Path) -> None:
    from playwright.sync_api import sync_playwright

    serve, url, path = served
    token = parse_qs(urlsplit(url).query)["token"][0]
    base = url.split("/?", 1)[0]
    port = int(urlsplit(url).port or 0)

    # Nobody gets in without the token: no token, a wrong one, the right one in a header, a direct WebSocket.
    for tried in ("/", "/?token=wrong", "/ws", "/static/js/textual.js", f"/?token={token[:-1]}"):
        status, body = get(base + tried)
        assert status == 403 and "needs its token" in body, tried
    for header in ({"Authorization": f"Bearer {token}"}, {"Authorization": token}, {"X-Token": token},
                   {"Cookie": f"token={token}"}):
        assert get(base + "/", header)[0] == 403, header
    assert upgrade(port, "/ws") == 403
    assert upgrade(port, "/ws?token=wrong") == 403
    assert upgrade(port, "/ws", {"Authorization": f"Bearer {token}"}) == 403
    assert upgrade(port, f"/ws?token={token}") == 101  # the same handshake with the token is let in
    wait_until(lambda: not processes("--no-collector", str(path)), "the viewer of the hand-made socket ended",
               lambda: time.sleep(0.1))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            refused = browser.new_page()
            answer = refused.goto(base + "/?token=wrong")
            assert answer is not None and answer.status == 403 and "needs its token" in refused.content()
            refused.close()

            context = browser.new_context(viewport={"width": 1400, "height": 850})
            requests: list[str] = []
            context.on("request", lambda r: requests.append(r.url))
            first = context.new_page()
            tab = TabScreen(first)
            answer = first.goto(url)
            assert answer is not None and answer.status == 200
            assert first.url == base + "/"  # the token left the address bar; a cookie stands for it
            tab.wait_for("tapecheck", "LIVE", "AI capital loop")  # the header, a panel's title
            first.wait_for_selector("body.-first-byte", timeout=WAIT_S * 1000)
            first.screenshot(path=str(tmp_path / "serve.png"))
            if os.environ.get("TAPECHECK_SERVE_SCREENSHOT"):  # how docs/serve.png is made
                first.screenshot(path=os.environ["TAPECHECK_SERVE_SCREENSHOT"])

            first.locator("#terminal").click()
            keys = first.keyboard
            keys.press("s")
            tab.wait_for("next attempt", "last error", "binance")  # the sources page, the fake's health record
            assert "AI capital loop" not in tab.text()
            keys.press("Escape")
            tab.wait_for("AI capital loop", gone="next attempt")
            for key, shows in (("a", "Articles: each one's claims"), ("!", "Alerts:"), (":", "Rule console"),
                               ("Control+p", "Search for commands")):
                keys.press(key)
                tab.wait_for(shows)
                keys.press("Escape")  # a key right after Escape would be read as Alt+key: wait for it to act
                tab.wait_for("AI capital loop", gone=shows)
            keys.press("L")  # the language toggle
            tab.wait_for("AI资本循环")
            keys.press("L")
            tab.wait_for("AI capital loop")
            columns = tab.screen.columns
            first.set_viewport_size({"width": 900, "height": 600})  # the browser window resized
            wait_until(lambda: tab.screen.columns < columns and tab.screen.display[0].rstrip().endswith("UTC"),
                       "the dashboard redrawn at the new size", lambda: first.wait_for_timeout(100))
            first.set_viewport_size({"width": 1400, "height": 850})

            collectors = processes("collect", str(path))
            assert len(collectors) == 1
            second = context.new_page()
            other = TabScreen(second)
            second.goto(base + "/")
            other.wait_for("tapecheck", "LIVE", "AI capital loop")
            viewers = processes("--no-collector", str(path))
            assert len(viewers) == 2  # a viewer per tab, and still the one collector of the store
            assert processes("collect", str(path)) == collectors
            store = Store(path, read_only=True)
            try:
                record = store.collector()
                assert record is not None and record.pid == collectors[0]
            finally:
                store.close()

            third = context.new_page()
            answer = third.goto(base + "/")
            assert answer is not None and answer.status == 503 and "The dashboard is full" in third.content()

            second.close()  # its viewer ends; its place is free again
            wait_until(lambda: len(processes("--no-collector", str(path))) == 1, "the closed tab's viewer ended",
                       lambda: first.wait_for_timeout(100))
            answer = third.goto(base + "/")
            assert answer is not None and answer.status == 200
            third.close()

            assert requests and all(r.startswith(base + "/") for r in requests), requests  # nothing from outside
            assert not any("token=" in r for r in requests[1:])  # the first request only carried the token

            serve.send_signal(signal.SIGTERM)
            first.wait_for_selector("text=Connection lost", state="visible", timeout=WAIT_S * 1000)
            assert serve.wait(timeout=WAIT_S) == 0
            assert serve.stdout is not None and token not in serve.stdout.read()  # the URL was printed once
            left = processes("--no-collector", str(path))
            assert left == [], [(Path(f"/proc/{p}/status").read_text()[:400], (tmp_path / "serve.err").read_text()) for p in left]
        finally:
            browser.close()

    said = (tmp_path / "serve.err").read_text()
    logged = "".join(p.read_text() for p in (private_home / "state").rglob("*.log"))
    assert "serving the dashboard of" in said and "a tab opened" in logged
    assert token not in said + logged  # the URL, on stdout, was the one place it was shown


def coloured(screen: pyte.Screen) -> int:
    """How many cells have a colour that is not a grey (NO_COLOR: Textual draws in greys only)."""
    def hue(colour: str) -> bool:
        if len(colour) != 6:
            return colour not in ("default", "black", "white")
        red, green, blue = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
        return max(red, green, blue) - min(red, green, blue) > 8
    return sum(1 for line in screen.buffer.values() for char in line.values() if hue(char.fg) or hue(char.bg))


@pytest.mark.timeout(600)
def test_no_color_reaches_the_viewers(chromium: str, tmp_path: Path,
                                      fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    from playwright.sync_api import sync_playwright

    counts = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            for flags in ((), ("--no-color",)):
                with serving(tmp_path / (flags[0] if flags else "colour"), fakes, *flags) as (_, url, _):
                    page = browser.new_page(viewport={"width": 1200, "height": 700})
                    tab = TabScreen(page)
                    page.goto(url)
                    tab.wait_for("tapecheck", "LIVE", "AI capital loop")
                    counts[flags] = coloured(tab.screen)
                    page.close()
        finally:
            browser.close()
    assert counts[()] > 0 and counts[("--no-color",)] == 0, counts


def test_no_color_and_the_token_file(tmp_path: Path) -> None:
    options = ServeOptions("127.0.0.1", 0, "t" * 20, 8, ("python", "-m", "tui", "--store", "/a b"), no_color=True)
    assert options.viewer_command() == "exec env NO_COLOR=1 python -m tui --store '/a b'"
    assert "NO_COLOR" not in ServeOptions("127.0.0.1", 0, "t" * 20, 8, ("x",)).viewer_command()
    file = tmp_path / "token"
    file.write_text("  a-long-enough-token-1234  \nsecond line\n")
    assert read_token(file) == "a-long-enough-token-1234"
    for text, says in (("", "at least 16"), ("short\n", "at least 16"), ("with space in the token\n", "without")):
        file.write_text(text)
        with pytest.raises(TapecheckError, match=f"{file}:1: .*{says}"):
            read_token(file)
    with pytest.raises(TapecheckError, match="cannot read the token"):
        read_token(tmp_path / "missing")


def test_serve_refuses_another_address_without_public(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tui", "serve", "--host", "0.0.0.0", "--store",
                           str(tmp_path / "s.sqlite")], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and "add --public" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s.sqlite").exists()
