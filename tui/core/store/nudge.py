"""A hint that a SQLite store's files were written: what lets a viewer's watch sleep between commits.

A viewer learns of a collector's commit from SQLite's PRAGMA data_version, which must be asked. Asked every 0.2 s,
it wakes an idle viewer five times a second. On Linux, inotify tells when the database or its WAL file is
written (a commit writes the WAL), so the watch blocks until then and asks only after a write. A write is a hint,
never the answer: the commit is visible a moment after its frames are written (the WAL index is updated in shared
memory, which no event reports), so after a write the watch asks again for a little while: soon, then less and
less often (the commit is seen at the first asking, but for a large one). It asks at least every FALLBACK_S all
the same. Where inotify is missing it polls as before, every POLL_S.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import sys
import time
from pathlib import Path

POLL_S = 0.2  # without inotify: how often data_version is asked
FALLBACK_S = 1.0  # with inotify: how often it is asked all the same (an event missed is late by this, at most)
AFTER_WRITE_S = 0.3  # after a write, data_version is asked again for this long: AFTER_WRITE_FIRST_S after it,
AFTER_WRITE_FIRST_S = 0.002  # then each time after as long again as since the write (2, 4, 8 ... 256 ms)

_IN_MODIFY, _IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE = 0x2, 0x8, 0x80, 0x100
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then len bytes of name)


class Nudge:
    """Waits for a write to `path` or its WAL (`wait`); without inotify, `wait` sleeps POLL_S."""

    def __init__(self, path: Path) -> None:
        self.names = {path.name.encode(), f"{path.name}-wal".encode()}
        self.fd = -1
        self.written_at = float("-inf")  # (monotonic) the last write seen
        if sys.platform.startswith("linux") and str(path) != ":memory:":
            self.fd = _watch(path.parent)

    @property
    def watching(self) -> bool:
        return self.fd >= 0

    def wait(self, timeout_s: float) -> None:
        """Return after at most `timeout_s`: at once after a write, soon after a recent one, else at the
        fallback interval (or, without inotify, the poll interval)."""
        if not self.watching:
            time.sleep(min(POLL_S, timeout_s))
            return
        since = time.monotonic() - self.written_at
        if since < AFTER_WRITE_S:
            time.sleep(min(max(AFTER_WRITE_FIRST_S, since), timeout_s))
            self._drain()
            return
        try:
            ready, _, _ = select.select([self.fd], [], [], min(FALLBACK_S, timeout_s))
        except (OSError, ValueError):  # closed meanwhile
            time.sleep(min(POLL_S, timeout_s))
            return
        if ready:
            self._drain()

    def _drain(self) -> None:
        """Read the events waiting; note a write to the store's files."""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except (BlockingIOError, OSError):
                return
            offset = 0
            while offset + _EVENT.size <= len(data):
                _, _, _, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size:offset + _EVENT.size + length].rstrip(b"\0")
                offset += _EVENT.size + length
                if name in self.names:
                    self.written_at = time.monotonic()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _watch(directory: Path) -> int:
    """An inotify descriptor watching `directory` for written, created or moved-in files; -1 when unavailable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
    except (OSError, AttributeError):
        return -1
    if fd < 0:
        return -1
    mask = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
    if int(libc.inotify_add_watch(fd, os.fsencode(directory), mask)) < 0:
        os.close(fd)
        return -1
    return fd
