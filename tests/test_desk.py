"""A desk on several hosts, as its users run it: one collector and two dashboards in pseudo-terminals on one
PostgreSQL store, and the server restarted under them. The collector is `tapecheck collect`; the dashboards
only read the store (`--no-collector`: they never start one of their own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tests.pgserver import PgServer
from tests.test_terminal import ROOT, Terminal, resize
from tui.core.store.location import open_store


def desk_config(tmp_path: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> Path:
    exchange, yahoo, mempool = fakes
    path = tmp_path / "config.toml"
    path.write_text(f"""
[sources.crypto]
exchanges = ["binance"]
interval_s = 1
[sources.crypto.urls]
binance = "{exchange.url}"
[sources.equities]
base_url = "{yahoo.url}"
[sources.hashrate]
base_url = "{mempool.url}"
fallback_url = "{mempool.url}"
""")
    return path


def stored(url: str) -> int:
    store = open_store(url)
    try:
        return store.count()
    finally:
        store.close()


def wait_until(condition: object, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, f"{what}: not within {seconds:.0f} s"
        time.sleep(0.3)


def test_one_collector_two_dashboards_and_a_server_restart(tmp_path: Path, pg_server: PgServer,
                                                           fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    url = pg_server.new_database()
    cfg = desk_config(tmp_path, fakes)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with (tmp_path / "collector.err").open("w") as err:
        collector = subprocess.Popen([sys.executable, "-m", "tui", "--config", str(cfg), "collect", "--store", url],
                                     stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, env=env)
    viewers = [Terminal(tmp_path / f"v{i}", ["--config", str(cfg), "--store", url, "--no-collector"], {})
               for i in (1, 2)]
    try:
        for viewer in viewers:
            resize(viewer.master, viewer.process.pid, 160, 40)
            viewer.wait_for(b"binance", 120)  # the collector's health record of binance, read from the store
        wait_until(lambda: stored(url) > 0, 180, "the collector stored nothing")
        committed = stored(url)
        pg_server.stop()
        try:
            for viewer in viewers:
                viewer.wait_for(b"store unreachable", 180)  # the header says so; the app runs on
            before = len(viewers[0].output)
            log = tmp_path / "state" / "tapecheck" / "log" / "tapecheck.log"  # the collector's (XDG_STATE_HOME)
            wait_until(lambda: log.exists() and "unreachable" in log.read_text(), 180,
                       "the collector never met the stopped server")  # it tried to write, failed and said so
            assert collector.poll() is None, "the collector stopped with the server"
        finally:
            pg_server.start()
        during = stored(url)
        assert during >= committed  # nothing committed was lost
        wait_until(lambda: stored(url) > during, 180, "nothing was written after the restart")
        for viewer in viewers:
            viewer.read(2)
            assert viewer.process.poll() is None
        assert len(viewers[0].output) > before  # still drawing
        for viewer in viewers:
            os.write(viewer.master, b"q")
            assert viewer.wait_exit() == 0
    finally:
        for viewer in viewers:
            viewer.close()
        if collector.poll() is None:
            collector.send_signal(signal.SIGINT)
            try:
                collector.wait(timeout=30)
            except subprocess.TimeoutExpired:
                collector.kill()
                collector.wait()
    errors = (tmp_path / "collector.err").read_text()
    assert "Traceback" not in errors
    assert all(b"Traceback" not in viewer.output for viewer in viewers)
