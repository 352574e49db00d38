"""A child process on a pseudo-terminal of a fixed size, and what it has drawn, as text without escapes.

The UI figures are read from here: the time at which a marker text first reached the terminal, and keys
sent to the program as a user would type them. Linux and macOS only (pty, termios).
"""

from __future__ import annotations

import atexit
import bisect
import codecs
import fcntl
import os
import re
import shutil
import struct
import subprocess
import tempfile
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path

# CSI sequences, OSC strings, and the two-character escapes (charset selection, keypad modes, ...).
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]"
                     rb"|\x1b[=>78cDEHMNOZ]")
ROOT = Path(__file__).resolve().parent.parent
_HOME = tempfile.mkdtemp(prefix="tapecheck-bench-home-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of every program a benchmark starts: its config, data, state (the log file) and cache
    directories in a temporary directory, never the user's."""
    dirs = {f"XDG_{kind}_HOME": os.path.join(_HOME, kind.lower()) for kind in ("CONFIG", "DATA", "STATE", "CACHE")}
    env = {**os.environ, **dirs, **extra}
    env.pop("TAPECHECK_CONFIG", None)
    env.pop("TEXTUAL", None)  # no devtools
    return env


class Terminal:
    """Runs `argv` on a pty of `cols` x `rows`; a reader thread keeps every byte with the time it came."""

    def __init__(self, argv: Sequence[str], *, cols: int = 120, rows: int = 40,
                 env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.cols, self.rows = cols, rows
        self.env = child_env(TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows), **(env or {}))
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._text = ""  # everything drawn so far, escapes removed
        self._times: list[tuple[int, float]] = []  # (offset in _text where a chunk's text starts, its arrival)
        self._ended = False
        self.raw_bytes = 0  # every byte the program wrote to the terminal, escapes included
        self.started = 0.0
        self.process: subprocess.Popen[bytes] | None = None
        self._master = -1

    def start(self) -> Terminal:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave, env=self.env,
                                        cwd=ROOT, start_new_session=True, close_fds=True)
        os.close(slave)
        self._master = master
        threading.Thread(target=self._read, name="pty reader", daemon=True).start()
        return self

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = b""  # an escape sequence cut by the end of a read
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                data = b""
            arrived = time.perf_counter()
            raw = pending + data
            cut = raw.rfind(b"\x1b")
            if data and cut >= 0 and len(raw) - cut < 64 and not ESCAPES.match(raw, cut):
                raw, pending = raw[:cut], raw[cut:]
            else:
                pending = b""
            text = decoder.decode(ESCAPES.sub(b"", raw), final=not data)
            with self._changed:
                self.raw_bytes += len(data)
                self._times.append((len(self._text), arrived))
                self._text += text
                self._ended = not data
                self._changed.notify_all()
            if not data:
                return

    def wait_for(self, marker: str, timeout: float = 30.0, since: int = 0) -> float:
        """Seconds from start until `marker` first showed (after text offset `since`); raises TimeoutError."""
        deadline = time.perf_counter() + timeout
        with self._changed:
            while True:
                found = self._text.find(marker, since)
                if found >= 0:
                    return self._arrival(found + len(marker) - 1) - self.started
                if self._ended:
                    raise RuntimeError(f"{self.argv[0]} exited before showing {marker!r}:\n{self.tail()}")
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"{marker!r} did not show within {timeout:g} s:\n{self.tail()}")
                self._changed.wait(min(left, 0.05))

    def _arrival(self, offset: int) -> float:
        """When the chunk holding text offset `offset` arrived."""
        index = bisect.bisect_right(self._times, (offset, float("inf"))) - 1
        return self._times[max(index, 0)][1]

    @property
    def offset(self) -> int:
        """How much text has come so far: pass as `since` to wait for what comes after now."""
        with self._lock:
            return len(self._text)

    def tail(self, chars: int = 2000) -> str:
        return self._text[-chars:]

    def send(self, keys: str) -> float:
        """Type `keys`; returns the moment they were written (perf_counter)."""
        os.write(self._master, keys.encode())
        return time.perf_counter()

    def cpu_seconds(self) -> float:
        """User + system CPU time the child has used so far (Linux /proc)."""
        assert self.process is not None
        return cpu_seconds(self.process.pid)

    def rss_mb(self) -> float:
        assert self.process is not None
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._master >= 0:
            os.close(self._master)
            self._master = -1

    def __enter__(self) -> Terminal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` has used so far, in seconds (Linux /proc; 10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
