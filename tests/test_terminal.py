"""The dashboard as a user runs it, in a pseudo-terminal: TERM=dumb, NO_COLOR, resize storms down to tiny sizes,
a terminal that goes away; live against the fakes, with the log in the user state dir and no port opened."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo

ROOT = Path(__file__).parent.parent


def config(tmp_path: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> Path:
    exchange, yahoo, mempool = fakes
    path = tmp_path / "config.toml"
    path.write_text(f"""
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
    return path


def resize(fd: int, pid: int, columns: int, lines: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    os.kill(pid, signal.SIGWINCH)


class Terminal:
    """tapecheck on the slave side of a pty; what it draws is read from the master side."""

    def __init__(self, tmp_path: Path, args: list[str], env: dict[str, str], argv: list[str] | None = None) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
                    "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config"), **env}
        self.process = subprocess.Popen(argv or [sys.executable, "-m", "tui", *args], stdin=slave, stdout=slave, stderr=slave,
                                        cwd=ROOT, env=self.env, start_new_session=True)
        os.close(slave)
        self.output = b""

    def read(self, seconds: float) -> bytes:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other side has closed
                    break
                if not chunk:
                    break
                self.output += chunk
        return self.output

    def wait_for(self, text: bytes, seconds: float = 30) -> None:
        end = time.monotonic() + seconds
        while text not in self.output:
            assert time.monotonic() < end, f"{text!r} never appeared; got {self.output[-2000:]!r}"
            assert self.process.poll() is None, f"exited {self.process.returncode}: {self.output[-2000:]!r}"
            self.read(0.2)

    def wait_exit(self, seconds: float = 30) -> int:
        """The exit status, reading what is drawn meanwhile (a full pty would block the app's writer)."""
        end = time.monotonic() + seconds
        while self.process.poll() is None:
            assert time.monotonic() < end, f"did not exit; last output {self.output[-2000:]!r}"
            self.read(0.1)
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


def stop_collectors(store: Path) -> None:
    """SIGTERM the collectors a dashboard started for `store` (they would linger for minutes)."""
    found = subprocess.run(["pgrep", "-f", f"collect --store {store}"], capture_output=True, text=True)
    for pid in found.stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)


def listening_sockets(pid: int) -> set[int]:
    """Inodes of TCP sockets in LISTEN state held by the process."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A":
                    listening.add(int(fields[9]))
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(int(target[8:-1]))
    return held & listening


def test_dumb_terminal_no_colour_resize_storm_and_quit(tmp_path: Path,
                                                        fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    term = Terminal(tmp_path, ["--config", str(config(tmp_path, fakes)), "--store", str(tmp_path / "s.sqlite")],
                    {"TERM": "dumb", "NO_COLOR": "1"})
    try:
        term.wait_for(b"tapecheck")
        term.wait_for(b"binance", 120)  # a source pill: the collector the dashboard started has polled
        assert not listening_sockets(term.process.pid), "tapecheck listens on a network port"
        for columns, lines in ((30, 5), (200, 60), (10, 3), (1, 1), (81, 25), (40, 10), (120, 40)):
            resize(term.master, term.process.pid, columns, lines)
            term.read(0.05)
        term.read(1.0)
        assert term.process.poll() is None, "the resize storm ended the app"
        os.write(term.master, b"q")
        assert term.wait_exit() == 0
        output = term.read(0.5)
    finally:
        term.close()
        stop_collectors(tmp_path / "s.sqlite")
    assert b"Traceback" not in output and b"Error" not in output
    log = tmp_path / "state" / "tapecheck" / "log" / "tapecheck.log"
    assert log.exists() and "tapecheck" in log.read_text()
    assert "Traceback" not in log.read_text()


@pytest.mark.slow
def test_a_terminal_that_goes_away_ends_the_app(tmp_path: Path,
                                                fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    """An SSH link that drops: the terminal hangs up; the app must end, not spin or hang."""
    term = Terminal(tmp_path, ["--config", str(config(tmp_path, fakes)), "--store", str(tmp_path / "s.sqlite")], {})
    try:
        term.wait_for(b"binance", 120)
        os.close(term.master)
        os.killpg(term.process.pid, signal.SIGHUP)
        assert term.process.wait(timeout=30) is not None
    finally:
        term.master = os.open(os.devnull, os.O_RDONLY)
        term.close()
        stop_collectors(tmp_path / "s.sqlite")
    store_ok = subprocess.run([sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1])"
                               ".execute('PRAGMA integrity_check').fetchone()[0])", str(tmp_path / "s.sqlite")],
                              capture_output=True, text=True, timeout=30)
    assert store_ok.stdout.strip() == "ok"


def test_a_terminal_gone_without_a_hangup_ends_the_app(tmp_path: Path) -> None:
    """The terminal's other end closes while it is not the app's controlling terminal, so no SIGHUP comes (a pane
    or a script that started it in a new session): the app ends as on SIGHUP (129), rather than spinning on its
    input's end-of-file."""
    term = Terminal(tmp_path, ["--snapshot", str(ROOT / "tests" / "data" / "snapshot.jsonl"), "--now",
                               "2026-01-26T06:00:00Z"], {})
    try:
        term.wait_for(b"AI capital loop", 120)
        os.close(term.master)  # no signal sent: the session the app leads has no controlling terminal
        assert term.process.wait(timeout=60) == 128 + signal.SIGHUP
    finally:
        term.master = os.open(os.devnull, os.O_RDONLY)
        term.close()
