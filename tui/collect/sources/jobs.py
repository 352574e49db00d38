"""Blocking library calls (yfinance over curl_cffi) in daemon threads, each call a job within a deadline.

A thread cannot be stopped, so two things keep one from holding anything up:
- it is a daemon thread, not the loop's executor: nothing joins it (`asyncio.run` joins its executor at the end,
  so a request stuck there would hold a stopped collector or `record`); what it returns once nobody waits is
  dropped;
- the job it runs carries a deadline, which every request of the job reads (`Job.request_timeout`): no request
  outlives it, none starts after it, and after the first failure to reach the upstream (refused, unresolvable,
  timed out) the job's later requests fail at once with that reason rather than each waiting its own time-out.
  Offline, a job of many requests (cookie, crumb, quote; a share count per symbol) costs one failure, not many.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tui.collect.sources.base import Unreachable

T = TypeVar("T")

_local = threading.local()


@dataclass
class Job:
    """One blocking call's budget: it ends by `deadline` (time.monotonic()); `failure`, once set, ends it at once."""

    timeout_s: float
    deadline: float
    failure: Unreachable | None = None

    def request_timeout(self, asked: Any, ceiling: float) -> float:
        """The time-out of the job's next request: what was asked (none, or none finite: `ceiling`), within
        the ceiling and what is left of the job. SourceError when the job failed or its time is up."""
        left = self.deadline - time.monotonic()
        if self.failure is None and left <= 0:
            self.failure = Unreachable(f"timed out after {self.timeout_s:g} s")
        if self.failure is not None:
            raise Unreachable(str(self.failure))
        return min(bounded_timeout(asked, ceiling), left)

    def failed(self, reason: Unreachable) -> None:
        """The upstream could not be reached: the job's later requests fail at once, with this reason."""
        if self.failure is None:
            self.failure = reason


def bounded_timeout(asked: Any, ceiling: float) -> float:
    """A finite time-out no longer than `ceiling` from whatever a library passes (None, 0 and a (connect, read)
    pair included: curl_cffi reads None and 0 as "wait forever")."""
    if isinstance(asked, tuple):
        asked = sum(v for v in asked if isinstance(v, int | float))
    if isinstance(asked, bool) or not isinstance(asked, int | float) or not math.isfinite(asked) or asked <= 0:
        return ceiling
    return min(float(asked), ceiling)


def current_job() -> Job | None:
    """The job the calling thread runs, if any (threads a library starts on its own run none)."""
    job: Job | None = getattr(_local, "job", None)
    return job


def in_daemon_thread(name: str, timeout_s: float, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """`func(*args)` as a job of `timeout_s` in a daemon thread of its own, as a future of the running loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    job = Job(timeout_s, time.monotonic() + timeout_s)

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def run() -> None:
        _local.job = job
        try:
            result = func(*args)
        except BaseException as exc:  # handed to the awaiting coroutine, which maps it to a SourceError
            error = exc
            call = lambda: settle(lambda: future.set_exception(error))  # noqa: E731
        else:
            call = lambda: settle(lambda: future.set_result(result))  # noqa: E731
        finally:
            _local.job = None
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits for this any more
            loop.call_soon_threadsafe(call)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
