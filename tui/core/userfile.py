"""Reading a file a user gave (config, narratives, tapes, articles to draft from) within a bound, whatever it is.

A path may name a FIFO (opening it would wait for a writer forever), a device, a folder, a symlink loop, or a
file of gigabytes. `read_bounded` opens only regular files (without blocking), reads at most `limit` bytes
and says in one line what is wrong otherwise. `parse_failure` words any exception a parser may raise on
hostile content (a value nested 50,000 deep, a number of 5,000 digits) for a person, never with Python's own
advice in it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tui.core.model import TapecheckError
from tui.core.oserrors import why

MB = 1024 * 1024


def size_words(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{size:,} bytes"


def open_regular(path: Path) -> int:
    """A read-only descriptor of the regular file at `path` (never blocking on a FIFO), or TapecheckError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise TapecheckError(f"{path}: cannot read: a loop of symbolic links") from None
        raise TapecheckError(f"{path}: cannot read: {why(path, error)}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device")
        raise TapecheckError(f"{path}: cannot read: it is {kind}, not a file")
    os.set_blocking(fd, True)
    return fd


def read_bounded(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file at `path`, or TapecheckError when it is not one or holds over `limit`."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise TapecheckError(f"{path}: too large ({size_words(size)}; a {what} may hold {size_words(limit)})")
        chunks, held = [], 0
        while chunk := os.read(fd, min(MB, limit + 1 - held)):  # it may grow while read: never past the bound
            chunks.append(chunk)
            held += len(chunk)
            if held > limit:
                raise TapecheckError(f"{path}: too large (it grew past the {size_words(limit)} a {what} may hold)")
        return b"".join(chunks)
    except OSError as error:
        raise TapecheckError(f"{path}: cannot read: {why(path, error)}") from None
    finally:
        os.close(fd)


def parse_failure(error: BaseException) -> str:
    """What a parser's unexpected exception means, in words (no traceback, no Python advice)."""
    if isinstance(error, RecursionError):
        return "values nested too deep"
    if isinstance(error, MemoryError):
        return "too large to hold in memory"
    if isinstance(error, ValueError) and "digits" in str(error):
        return "a number with too many digits"
    if isinstance(error, OverflowError):
        return "a number too large"
    if isinstance(error, UnicodeError):
        return "text that is not valid Unicode"
    text = str(error).split("\n", 1)[0][:120]
    if isinstance(error, ValueError) and text:  # a parser's own words (e.g. "NaN is not a number")
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
