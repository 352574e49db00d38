"""What one answer may cost: a cap on its size, counted after decompression, and a total deadline.

Every client reads bodies through these: ccxt (aiohttp) through `capped_response_class`, httpx through
`read_capped`, yfinance (curl_cffi) through `CappedWriter`. A body past the cap is cut off there and the
request fails with BodyTooLarge; a gzip bomb is inflated in bounded steps, so it costs no more than the cap.
Reading yields to the event loop after every chunk, so a body that never ends cannot keep the loop (and
the deadline's timer) from running.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from tui.collect.sources.base import SourceError

# No answer tapecheck reads comes near this: the largest, binance's exchangeInfo, is some megabytes.
MAX_BODY_BYTES = 64 * 2**20
# Inflated in steps of at most this much, so a bomb is caught within one step of the cap.
_INFLATE_STEP = 2**20


def mib(size: int) -> str:
    return f"{size / 2**20:g} MB"


class BodyTooLarge(SourceError):
    """An answer past the size cap: cut off, nothing of it used."""

    def __init__(self, upstream: str, cap: int) -> None:
        super().__init__(f"answer from {upstream} larger than {mib(cap)}, cut off")
        self.cap = cap


class BodyBudget:
    """Counts one body's bytes against the cap and the clock against the deadline."""

    def __init__(self, upstream: str, cap: int = MAX_BODY_BYTES, deadline_s: float | None = None) -> None:
        self.upstream = upstream
        self.cap = cap
        self.size = 0
        self.deadline_s = deadline_s
        self._ends = None if deadline_s is None else time.monotonic() + deadline_s

    def take(self, count: int) -> None:
        """Count `count` more bytes; BodyTooLarge past the cap, SourceError past the deadline."""
        self.size += count
        if self.size > self.cap:
            raise BodyTooLarge(self.upstream, self.cap)
        if self._ends is not None and time.monotonic() > self._ends:
            raise SourceError(f"timed out after {self.deadline_s:g} s")


class Inflater:
    """Content-Encoding gzip or deflate undone in bounded steps (identity passes through); others refused."""

    def __init__(self, encoding: str | None, budget: BodyBudget) -> None:
        coding = (encoding or "identity").strip().lower()
        if coding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise SourceError(f"unexpected response: content encoding {coding[:20]!r}")
        # 47: a gzip or zlib header, detected; a raw deflate stream is tried when that fails
        self._inflate = None if coding == "identity" else zlib.decompressobj(47)
        self._raw_tried = False
        self.budget = budget

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The inflated bytes of `data`, in steps of at most _INFLATE_STEP (the caller yields between them)."""
        if self._inflate is None:
            self.budget.take(len(data))
            yield data
            return
        pending = data
        while pending:
            try:
                piece = self._inflate.decompress(pending, _INFLATE_STEP)
            except zlib.error:
                if self._raw_tried or self.budget.size:
                    raise SourceError("unexpected response: the compressed body is corrupt") from None
                self._raw_tried = True
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self.budget.take(len(piece))
            yield piece
            pending = self._inflate.unconsumed_tail
            if self._inflate.eof:
                break


async def read_capped(chunks: AsyncIterator[bytes], encoding: str | None, budget: BodyBudget) -> bytes:
    """A whole body from raw (still compressed) chunks, inflated, within the budget."""
    inflater = Inflater(encoding, budget)
    parts: list[bytes] = []
    async for chunk in chunks:
        for piece in inflater.feed(chunk):
            parts.append(piece)
            await asyncio.sleep(0)  # a body always ready (or a bomb) must still let timers and other sources run
    return b"".join(parts)


def capped_response_class(upstream: str, cap: int = MAX_BODY_BYTES) -> Any:
    """An aiohttp ClientResponse class whose body is read in chunks within `cap` (aiohttp has inflated them,
    in bounded steps), yielding to the loop after each, so that aiohttp's total timeout can fire."""
    import aiohttp

    class CappedResponse(aiohttp.ClientResponse):
        async def read(self) -> bytes:
            if self._body is None:
                budget = BodyBudget(upstream, cap)
                parts: list[bytes] = []
                try:
                    async for chunk in self.content.iter_any():
                        budget.take(len(chunk))
                        parts.append(chunk)
                        await asyncio.sleep(0)
                except BaseException:
                    self.close()
                    raise
                self._body = b"".join(parts)
            return await super().read()

    return CappedResponse


# What a curl write callback returns to abort the transfer (curl_cffi.curl.CURL_WRITEFUNC_ERROR): curl_cffi
# passes only this (or "pause") through to curl, any other short count it merely warns about.
CURL_WRITEFUNC_ERROR = 0xFFFFFFFF


class CappedWriter:
    """A curl write callback (curl_cffi's `content_callback`) that keeps the body within the budget: past the
    cap or the deadline it answers CURL_WRITEFUNC_ERROR, which makes curl abort the transfer (curl error 23)."""

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.parts: list[bytes] = []
        self.error: SourceError | None = None

    def __call__(self, chunk: bytes) -> int:
        try:
            self.budget.take(len(chunk))
        except SourceError as error:
            self.error = error
            self.parts.clear()
            return CURL_WRITEFUNC_ERROR
        self.parts.append(chunk)
        return len(chunk)

    def body(self) -> bytes:
        return b"".join(self.parts)
