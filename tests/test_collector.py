"""One collector, many dashboards: `tapecheck collect` against the local fakes, viewers in pseudo-terminals.

The screens are read through a terminal emulator (pyte), as a person would read them. Waits are for
conditions, with generous bounds: the suite runs on loaded machines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyte

from tests.conftest import obs
from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tests.pilot import shown, until
from tests.test_terminal import Terminal, stop_collectors
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store
from tui.ui.app import live_app

ROOT = Path(__file__).parent.parent
PATIENT_S = 90  # a bound on waits, not a speed: a loaded 2-core machine is slow


def config(tmp_path: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> Path:
    """Binance only (it lists no BTC/USD, so the test's own BTC/USD values are the only ones), polled often."""
    exchange, yahoo, mempool = fakes
    path = tmp_path / "config.toml"
    path.write_text(f"""
[sources.crypto]
exchanges = ["binance"]
interval_s = 1
timeout_s = 30
[sources.crypto.urls]
binance = "{exchange.url}"
[sources.equities]
base_url = "{yahoo.url}"
interval_s = 5
timeout_s = 60
[sources.hashrate]
base_url = "{mempool.url}"
fallback_url = "{mempool.url}"
interval_s = 5
timeout_s = 30
[collector]
linger_s = 600
""")
    return path


def environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def collector(tmp_path: Path, cfg: Path, store: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tui", "--config", str(cfg), "collect", "--store", str(store)],
                            cwd=ROOT, env=environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def running(store: Path) -> bool:
    """Whether a collector holds the store (False while the store is still being made)."""
    try:
        return store.exists() and Store(store, read_only=True).collector_running()
    except Exception:
        return False


def drew_since(screen: Screen, size: int) -> bool:
    """Whether the viewer has written to its terminal since it had written `size` bytes."""
    screen.text()
    return len(screen.terminal.output) > size


def wait(condition: Callable[[], object], what: str) -> None:
    end = time.monotonic() + PATIENT_S
    while not condition():
        assert time.monotonic() < end, f"waited in vain for {what}"
        time.sleep(0.1)


class Screen:
    """A viewer in a pty, its output fed to a terminal emulator: `text()` is what a person sees."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.fed = 0

    def text(self) -> str:
        self.terminal.read(0.2)
        self.stream.feed(self.terminal.output[self.fed:])
        self.fed = len(self.terminal.output)
        return "\n".join(self.screen.display)

    def header(self) -> str:
        return self.text().splitlines()[0]

    def wait_for(self, needle: str, what: str) -> None:
        end = time.monotonic() + PATIENT_S
        while needle not in self.text():
            assert self.terminal.process.poll() is None, f"the viewer exited: {self.text()}"
            assert time.monotonic() < end, f"waited in vain for {what}; the screen:\n{self.text()}"


def collectors_of(store: Path) -> list[int]:
    """The pids of every `tapecheck collect` process writing `store`."""
    found = subprocess.run(["pgrep", "-f", f"collect --store {store}"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_second_collector_names_the_first_and_exits_2(tmp_path: Path,
                                                       fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    cfg, store = config(tmp_path, fakes), tmp_path / "s.sqlite"
    first = collector(tmp_path, cfg, store)
    try:
        wait(lambda: running(store), "the first collector")
        second = subprocess.run([sys.executable, "-m", "tui", "--config", str(cfg), "collect", "--store", str(store)],
                                cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True, timeout=PATIENT_S)
        assert second.returncode == 2
        assert f"a collector already runs on this store: pid {first.pid} on " in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=PATIENT_S)
    assert first.returncode == 0, err  # SIGTERM: the commit in flight finished, the clients closed, exit 0
    assert "stopped after" in err and "Traceback" not in err
    assert not Store(store).collector_running()  # the lock went with it


def test_one_collector_three_viewers_a_kill_and_a_recovery(tmp_path: Path,
                                                          fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    exchange, yahoo, mempool = fakes
    cfg, store = config(tmp_path, fakes), tmp_path / "s.sqlite"
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    first = collector(tmp_path, cfg, store)
    screens: list[Screen] = []
    writer: Store | None = None
    try:
        wait(lambda: running(store), "the collector")
        screens = [Screen(Terminal(tmp_path, ["--config", str(cfg), "--store", str(store)], env)) for _ in range(3)]
        for screen in screens:
            screen.wait_for("AI capital loop", "the viewer's panels")
            os.write(screen.terminal.master, b"2")  # the Bitcoin mining panel, where BTC/USD is
            screen.wait_for("BTC/USDT", "the mining panel")
        assert collectors_of(store) == [first.pid]  # three dashboards, one collector

        writer = Store(store)  # the test writes a value as a collector would: every viewer shows it
        writer.append([obs("crypto:BTC/USD:last", 77_777, datetime.now(UTC), "kraken")])
        for screen in screens:
            screen.wait_for("77,777", "the new value on every viewer")

        first.kill()  # kill -9: every viewer says so
        first.wait()
        for screen in screens:
            screen.wait_for("collector down since", "the collector's death on every viewer")

        # With no collector, three open dashboards send nothing upstream: they only read the store.
        before = (len(exchange.requests), len(yahoo.requests), len(mempool.requests))
        drawn = [len(screen.terminal.output) for screen in screens]
        for screen, size in zip(screens, drawn, strict=True):  # each viewer draws again (its clock): it is alive
            wait(lambda s=screen, n=size: drew_since(s, n), "the viewer to draw again")  # type: ignore[misc]
        assert (len(exchange.requests), len(yahoo.requests), len(mempool.requests)) == before

        # A collector is started again (by an open viewer, which restarts a dead one, or by a new dashboard,
        # whichever comes first): one runs, never two, and every viewer sees it come back.
        fourth = Screen(Terminal(tmp_path, ["--config", str(cfg), "--store", str(store)], env))
        screens.append(fourth)
        fourth.wait_for("AI capital loop", "the new dashboard's panels")
        os.write(fourth.terminal.master, b"2")
        wait(lambda: len(collectors_of(store)) == 1 and collectors_of(store) != [first.pid], "one new collector")
        wait(lambda: all("collector down" not in s.header() for s in screens), "every viewer to recover")
        writer.append([obs("crypto:BTC/USD:last", 88_888, datetime.now(UTC), "kraken")])
        for screen in screens:
            screen.wait_for("88,888", "a value written after the recovery")
    finally:
        if writer is not None:
            writer.close()
        for screen in screens:
            screen.terminal.close()
        if first.poll() is None:
            first.kill()
        stop_collectors(store)
        first.communicate()


async def test_a_viewer_says_when_its_collector_goes_and_comes_back(tmp_path: Path) -> None:
    running = Store(tmp_path / "s.sqlite")
    assert running.try_lock_collector()
    app = live_app(load_settings(), load_narratives(), Store(running.path, read_only=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, app)
        header = app.screen.query_one("HeaderStatus")
        assert header.alarm == ""  # type: ignore[attr-defined]
        running.close()  # the collector is gone (it kept no summary: no "since" is made up)
        await until(pilot, lambda: header.alarm == "collector down",  # type: ignore[attr-defined]
                    "the alarm")
        again = Store(running.path)
        assert again.try_lock_collector()  # a new one
        await until(pilot, lambda: header.alarm == "", "the recovery")  # type: ignore[attr-defined]
        again.close()


def test_the_dashboard_never_imports_a_network_library(tmp_path: Path) -> None:
    """The viewer's process, up to its first state on screen: ccxt, yfinance and httpx never load."""
    script = f"""
import asyncio, sys
from tui.core.narratives.claims import load_narratives
from tui.core.config import load_settings
from tui.core.store.sqlite import Store
from tui.ui.app import live_app
from tests.pilot import shown

store = Store(__import__("pathlib").Path({str(tmp_path / "s.sqlite")!r}))
store.close()
app = live_app(load_settings(), load_narratives(), Store(store.path, read_only=True))

async def main():
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, app)
        await pilot.press("s", "escape", "r", "p")
        await pilot.pause()

asyncio.run(main())
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("ccxt", "yfinance", "httpx", "curl_cffi"))
print("LOADED", loaded)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment(tmp_path), capture_output=True,
                          text=True, timeout=PATIENT_S)
    assert "LOADED []" in done.stdout, done.stdout + done.stderr


def test_importing_the_data_layer_loads_no_textual(tmp_path: Path) -> None:
    script = """
import pkgutil, importlib, sys
import tui.core
for module in pkgutil.walk_packages(tui.core.__path__, "tui.core."):
    importlib.import_module(module.name)
print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "ccxt", "yfinance", "httpx")))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment(tmp_path), capture_output=True,
                          text=True, timeout=PATIENT_S)
    assert "LOADED []" in done.stdout, done.stdout + done.stderr


class TickingSource:
    """A live source (kraken) that answers every poll with a new value of `series` (BTC/USD: `base` plus the
    polls so far), counting its polls."""

    name = "kraken"
    kind = "crypto"

    def __init__(self, series: str = "crypto:BTC/USD:last", base: float = 70_000) -> None:
        self.series, self.base = series, base
        self.calls = 0

    async def fetch(self) -> object:
        from tui.collect.sources.base import FetchResult

        self.calls += 1
        return FetchResult((obs(self.series, self.base + self.calls, datetime.now(UTC), "kraken"),))

    async def close(self) -> None:
        pass


async def until_true(check: Callable[[], bool], what: str) -> None:
    """Wait, on the event loop, until `check()` is true; fail saying what was awaited after PATIENT_S."""
    import asyncio

    for _ in range(int(PATIENT_S / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited in vain for {what}")


def planned(source: TickingSource, interval_s: float = 0.05) -> object:
    from tui.collect.poller import Schedule
    from tui.collect.sources.registry import Planned

    return Planned([source], {source.name: Schedule(interval_s, 5)})  # type: ignore[list-item]


async def test_the_collector_answers_pause_resume_and_refresh_from_the_store(tmp_path: Path) -> None:
    import asyncio

    from tui.collect.collector import Collector

    store = Store(tmp_path / "s.sqlite")
    source = TickingSource()
    lines: list[str] = []
    stop = asyncio.Event()
    job = Collector(load_settings(), load_narratives(), store, planned(source), lines.append)  # type: ignore[arg-type]
    running = asyncio.create_task(job.run(stop))
    viewer = Store(store.path, read_only=True)
    await until_true(lambda: source.calls >= 2, "polls")
    assert viewer.collector_running() and viewer.collector() is not None
    viewer.post_request("pause")
    await until_true(lambda: bool(viewer.collector() and viewer.collector().paused), "the pause")  # type: ignore[union-attr]
    paused_at = source.calls
    await asyncio.sleep(0.5)
    assert source.calls <= paused_at + 1  # at most the poll that was under way
    viewer.post_request("resume")
    await until_true(lambda: source.calls > paused_at + 2, "polling again")
    assert not viewer.collector().paused  # type: ignore[union-attr]
    stop.set()
    await running
    assert store.count() >= source.calls - 1  # every answered poll reached the store
    store.close()  # as `tapecheck collect` does on its way out
    assert not viewer.collector_running()  # the lock went with the collector


async def test_a_collector_a_dashboard_started_stops_once_no_dashboard_is_left(tmp_path: Path) -> None:
    import asyncio

    from tui.collect.collector import Collector

    store = Store(tmp_path / "s.sqlite")
    viewer = Store(store.path, read_only=True)
    viewer.attach_viewer()
    source = TickingSource()
    lines: list[str] = []
    job = Collector(load_settings(), load_narratives(), store, planned(source, 1), lines.append,  # type: ignore[arg-type]
                    linger_s=0.2)
    running = asyncio.create_task(job.run(asyncio.Event()))
    await asyncio.sleep(0.6)  # three times the linger
    assert not running.done()  # a dashboard is attached: it stays
    viewer.close()  # the last dashboard leaves
    await asyncio.wait_for(running, PATIENT_S)
    assert any("no dashboard for 0.2 s: stopping" in line for line in lines)


async def test_a_failing_then_save_does_not_stop_the_collector(tmp_path: Path) -> None:
    import asyncio

    from tui.collect.collector import Collector
    from tui.core.model import TapecheckError

    store = Store(tmp_path / "s.sqlite")

    def full(rows: object) -> None:
        raise TapecheckError("database or disk is full")

    store.save_then_verdicts = full  # type: ignore[method-assign]
    source = TickingSource()
    stop = asyncio.Event()
    job = Collector(load_settings(), load_narratives(), store, planned(source), lambda line: None)  # type: ignore[arg-type]
    running = asyncio.create_task(job.run(stop))
    for _ in range(20):
        job.judge_then_later()
        await asyncio.sleep(0.05)
    calls = source.calls
    await asyncio.sleep(0.3)
    assert not running.done() and source.calls > calls  # still polling
    stop.set()
    await running
