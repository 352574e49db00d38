"""The collector's worker threads: daemons, waited for a bounded grace when it stops, then left behind.

`asyncio.to_thread` runs on the loop's default executor, which `asyncio.run` joins as it ends, for as long as it
takes; so does the interpreter, at exit, for every ThreadPoolExecutor. One call stuck in a blocking library call
(a request whose other end went silent, a database that stopped answering) would then hold a stopped collector or
`record` forever. `collect` and `record` give their loop a DaemonExecutor instead: its threads are daemons, and
its shutdown waits for the calls under way (a store write finishing) at most `grace_s`, after which the process
exits without them. What such a call had not committed is not in the store: a transaction left open is rolled
back, so nothing false is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

GRACE_S = 5.0  # how long a stopping collector waits for the calls under way in its threads
MAX_WORKERS = 8

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonExecutor(ThreadPoolExecutor):
    """A thread pool of daemon threads (made as needed, up to `max_workers`, kept while idle) whose
    `shutdown(wait=True)` waits at most `grace_s`. A ThreadPoolExecutor only by name (asyncio takes no other as
    the default executor): none of its threads, which the interpreter joins at exit, is ever started."""

    _names = itertools.count(1)

    def __init__(self, max_workers: int = MAX_WORKERS, grace_s: float = GRACE_S, name: str = "collector") -> None:
        super().__init__(max_workers, thread_name_prefix=name)
        self.max_workers = max_workers
        self.grace_s = grace_s
        self.name = name
        self._daemon_work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._daemon_threads: list[threading.Thread] = []
        self._daemon_idle = threading.Semaphore(0)
        self._daemon_lock = threading.Lock()
        self._daemon_closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._daemon_lock:
            if self._daemon_closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._daemon_work.put((future, fn, args, kwargs))
            if not self._daemon_idle.acquire(blocking=False) and len(self._daemon_threads) < self.max_workers:
                thread = threading.Thread(target=self._daemon_run, name=f"{self.name} worker {next(self._names)}",
                                          daemon=True)
                thread.start()
                self._daemon_threads.append(thread)
        return future

    def _daemon_run(self) -> None:
        while True:
            work = self._daemon_work.get()
            if work is None:
                return
            future, fn, args, kwargs = work
            del work
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as error:  # handed to whoever awaits the future
                    future.set_exception(error)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs
            self._daemon_idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new work; with `wait`, wait for the work under way at most `grace_s`, then leave it running."""
        with self._daemon_lock:
            self._daemon_closed = True
            threads = list(self._daemon_threads)
        if cancel_futures:
            while True:
                try:
                    work = self._daemon_work.get_nowait()
                except queue.Empty:
                    break
                if work is not None:
                    work[0].cancel()
        for _ in threads:
            self._daemon_work.put(None)
        if wait:
            ends = time.monotonic() + self.grace_s
            for thread in threads:
                thread.join(max(0.0, ends - time.monotonic()))

    def busy(self) -> list[str]:
        """The names of the threads still running (after a shutdown: those left behind)."""
        return [t.name for t in self._daemon_threads if t.is_alive()]


def use_daemon_threads(grace_s: float | None = None) -> DaemonExecutor:
    """Make a DaemonExecutor the running loop's default executor (what `asyncio.to_thread` uses)."""
    executor = DaemonExecutor(grace_s=GRACE_S if grace_s is None else grace_s)
    asyncio.get_running_loop().set_default_executor(executor)
    return executor
