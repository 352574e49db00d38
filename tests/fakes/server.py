"""What every fake upstream shares: an HTTP server on 127.0.0.1, an ephemeral port, a daemon thread.

A fake subclasses LocalServer, answers requests in `_handle` (and POSTs in `_handle_post`), and may wait on
`self._stopping` in slow scenarios so that `stop()` wakes it.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


@dataclass
class Reply:
    """One answer: status, body, content type (None: the server's `json_type`) and extra headers."""

    status: int
    body: bytes
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


# A hostile body's size once inflated: well past any client's cap (tui.collect.sources.limits.MAX_BODY_BYTES).
BOMB_BYTES = 1 << 30
HOSTILE = ("endless", "bomb", "trickle")  # scenario kinds every fake serves through `_send_hostile`


@functools.cache
def gzip_bomb() -> bytes:
    """A gzip body of about 1 MB that inflates to BOMB_BYTES of JSON (whitespace, mostly).

    One MiB of spaces is deflated once and its compressed block repeated: after a full flush deflate starts
    afresh, so every repeat is the same bytes, and the bomb is made in a fraction of a second.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head, block, tail = b'{"data": ', b" " * (1 << 20), b"1}"
    repeats = (BOMB_BYTES - len(head) - len(tail)) >> 20
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    middle = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.compress(tail) + packer.flush()
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + repeats * len(block) + len(tail)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return header + start + middle * repeats + end + trailer


class _QuietServer(ThreadingHTTPServer):
    """A client that drops its kept-alive connection is normal here (timeouts, closed sources): the stdlib
    server would print a traceback to stderr, which the tests hold to "nothing printed"."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class LocalServer:
    """Start with `start()` or `with`; `url` is where clients should point."""

    label = "fake server"
    protocol_version = "HTTP/1.0"
    nodelay = False  # send headers and body without a delayed-ACK stall (keep-alive clients)
    json_type = "application/json"  # the content type of a Reply that names none
    reasons: ClassVar[dict[int, str]] = {}  # status phrases, where the upstream's differ from the stdlib's
    # A connection that sends nothing for this long is closed: a client that left a kept-alive connection
    # half-open (gone without a word) never holds a handler thread forever, reading a request that never comes.
    idle_timeout_s = 30.0

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply, stall_s: float | None = None) -> None:
        """Write a reply; with `stall_s`, only half the body, then wait that long (or until stop())."""
        handler.send_response(reply.status, self.reasons.get(reply.status))
        handler.send_header("Content-Type", reply.content_type or self.json_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.end_headers()
        if stall_s is None:
            handler.wfile.write(reply.body)
            return
        handler.wfile.write(reply.body[: len(reply.body) // 2])
        handler.wfile.flush()
        self._stopping.wait(stall_s)
        handler.close_connection = True

    def _send_hostile(self, handler: BaseHTTPRequestHandler, kind: str) -> None:
        """"endless": a 200 JSON array that never ends, written as fast as the client reads until it hangs up;
        "bomb": a gzip body (Content-Encoding: gzip, whatever the client asked for) that inflates to 1 GiB;
        "trickle": a body that never ends either, 100 bytes every 10 ms (under any size cap, past any deadline)."""
        handler.send_response(200)
        handler.send_header("Content-Type", self.json_type)
        if kind == "bomb":
            body = gzip_bomb()
            handler.send_header("Content-Encoding", "gzip")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        handler.close_connection = True
        handler.end_headers()
        chunk = b'{"symbol":"BTCUSDT","lastPrice":"1"},' * (1700 if kind == "endless" else 3)  # 64 KB or 111 B
        handler.wfile.write(b"[")
        while not self._stopping.is_set():
            handler.wfile.write(chunk)
            if kind == "trickle":
                handler.wfile.flush()
                self._stopping.wait(0.01)

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def _handle_post(self, request: BaseHTTPRequestHandler) -> None:
        request.send_error(405)

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = fake.protocol_version
            disable_nagle_algorithm = fake.nodelay
            timeout = fake.idle_timeout_s

            def do_GET(self) -> None:
                # The client may have given up (a timeout test): then there is nothing to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    fake._handle(self)

            def do_POST(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    fake._handle_post(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = _QuietServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._stopping.clear()
        # A short poll interval: shutdown() waits for the poll, and tests start and stop many servers.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=self.label,
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in "delay" and "stall"
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, f"the {self.label} is not running"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
