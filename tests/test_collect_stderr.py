"""`tapecheck collect` says on stderr why a source fails, once per change of state (`tapecheck: mempool: …`); a
SIGHUP (its tmux pane closed) stops it cleanly, with no traceback anywhere; `record --once` with no source
answering says why for each, tries no daily history after them, and leaves no empty tape behind."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo

ROOT = Path(__file__).parent.parent
PATIENT_S = 120.0


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeExchange, FakeMempool, FakeYahoo]]:
    with FakeExchange() as exchange, FakeMempool() as mempool, FakeYahoo() as yahoo:
        yield exchange, mempool, yahoo


def quick_config(tmp_path: Path, exchange: str, mempool: str, yahoo: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[sources.crypto]
exchanges = ["kraken"]
interval_s = 0.2
[sources.crypto.urls]
kraken = "{exchange}"
[sources.equities]
base_url = "{yahoo}"
[sources.hashrate]
base_url = "{mempool}"
fallback_url = "{mempool}"
interval_s = 0.2
[poller]
backoff_base_s = 0.05
backoff_max_s = 0.2
""")
    return path


def environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_STATE_HOME": str(tmp_path / "state")}


def log_text(tmp_path: Path) -> str:
    path = tmp_path / "state" / "tapecheck" / "log" / "tapecheck.log"
    return path.read_text() if path.exists() else ""


class Lines:
    """What a child writes to a pty, read as it comes."""

    def __init__(self, fd: int) -> None:
        self.fd, self.text = fd, ""

    def until(self, done: str, times: int = 1) -> str:
        deadline = time.monotonic() + PATIENT_S
        while self.text.count(done) < times:
            assert time.monotonic() < deadline, f"waited in vain for {done!r} ×{times}:\n{self.text}"
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    self.text += os.read(self.fd, 65536).decode(errors="replace")
                except OSError:
                    break
        return self.text


def start_collect(tmp_path: Path, cfg: Path) -> tuple[subprocess.Popen[bytes], Lines, int]:
    master, slave = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "tui", "--config", str(cfg), "collect", "--store",
                              str(tmp_path / "s.sqlite")], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                             cwd=ROOT, env=environment(tmp_path), start_new_session=True)
    os.close(slave)
    return child, Lines(master), master


def test_collect_says_each_failure_with_its_reason_once_per_change(
        tmp_path: Path, fakes: tuple[FakeExchange, FakeMempool, FakeYahoo]) -> None:
    exchange, mempool, yahoo = fakes
    mempool.set_scenario("*", "status", status=503)
    child, lines, master = start_collect(tmp_path, quick_config(tmp_path, exchange.url, mempool.url, yahoo.url))
    try:
        failed = "tapecheck: mempool: mempool.space: HTTP 503; blockchain.com: HTTP 503"
        lines.until(failed)
        asked = len(mempool.requests)
        deadline = time.monotonic() + PATIENT_S
        while len(mempool.requests) < asked + 6:  # several more failed polls (backoff at most 0.2 s)
            assert time.monotonic() < deadline, "mempool was not polled again"
            time.sleep(0.05)
        mempool.reset()
        lines.until("tapecheck: mempool: answering again")
        text = lines.text
        assert text.count(failed) == 1, text  # failing again and again is one line, not one per poll
        assert "tries again later" not in text and "Traceback" not in text
    finally:
        mempool.reset()
        child.send_signal(signal.SIGTERM)
        assert child.wait(PATIENT_S) == 0
        os.close(master)


def test_sighup_with_its_terminal_gone_stops_collect_cleanly(
        tmp_path: Path, fakes: tuple[FakeExchange, FakeMempool, FakeYahoo]) -> None:
    exchange, mempool, yahoo = fakes
    child, lines, master = start_collect(tmp_path, quick_config(tmp_path, exchange.url, mempool.url, yahoo.url))
    try:
        lines.until("progress: kraken answered")
    finally:
        os.close(master)  # the tmux pane closed: every write to the terminal now fails (EIO)
        child.send_signal(signal.SIGHUP)
        status = child.wait(PATIENT_S)
    assert status == 0
    log = log_text(tmp_path)
    assert "Traceback" not in log and "unexpected error" not in log, log


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_record_once_with_nothing_answering_says_why_and_leaves_no_tape(tmp_path: Path) -> None:
    nowhere = closed_port()
    cfg = quick_config(tmp_path, nowhere, nowhere, nowhere)
    out = tmp_path / "tape.jsonl"
    done = subprocess.run([sys.executable, "-m", "tui", "--config", str(cfg), "record", "--once", "--out", str(out),
                           "--store", str(tmp_path / "s.sqlite")], capture_output=True, text=True,
                          timeout=PATIENT_S, cwd=ROOT, env=environment(tmp_path))
    assert done.returncode == 3 and "Traceback" not in done.stderr
    for source in ("kraken", "mempool", "yahoo"):
        assert any(line.startswith(f"tapecheck: {source}: ") for line in done.stderr.splitlines()), done.stderr
    assert "daily history jobs not tried" in done.stderr
    assert "history:" not in done.stderr  # not tried, so no failure of theirs is made up
    assert not out.exists() and "nothing was recorded, so no tape was written" in done.stderr
