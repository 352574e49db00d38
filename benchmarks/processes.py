"""The programs the benchmarks start: viewers (`tapecheck --no-collector`), a collector they control, the minimal app.

Viewers never start a collector of their own here: the benchmark starts one (`python -m tui --config CFG collect
--store S`) against the local fakes, so that it knows when it runs, at which intervals, and can stop it.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.fakes import EXCHANGES
from benchmarks.terminal import ROOT, child_env, cpu_seconds, rss_mb
from tui.core.model import Health, TapecheckError
from tui.core.store.sqlite import Store

# The first panel's first series row: on screen once a viewer's dashboard is composed.
PANELS_SHOWN = "NVDA mkt cap"
LIVE_SOURCES = (*EXCHANGES, "yahoo", "mempool")  # the collector's live sources against the fakes


def viewer_argv(config: Path, store: Path, *extra: str) -> list[str]:
    """A viewer of `store` that never starts a collector."""
    return [sys.executable, "-m", "tui", "--config", str(config), "--store", str(store), "--no-collector", *extra]


def minimal_argv() -> list[str]:
    return [sys.executable, "-m", "benchmarks.minimal_app"]


class CollectorProcess:
    """`tapecheck collect` for `store` in the background, its messages kept in `log`; stopped by SIGTERM."""

    def __init__(self, config: Path, store: Path, log: Path) -> None:
        self.argv = [sys.executable, "-m", "tui", "--config", str(config), "collect", "--store", str(store)]
        self.store = store
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.history_errors: dict[str, str] = {}  # history jobs that failed their first try, and why

    def __enter__(self) -> CollectorProcess:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            env=child_env(), cwd=ROOT, start_new_session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def wait_until_polled(self, timeout: float = 180.0, history: bool = False) -> float:
        """Wait until every live source has answered once (and with `history`, every daily-history job has
        been tried once), as the collector's health records in the store say; returns the seconds waited."""
        started = time.monotonic()
        deadline = started + timeout
        live = set(LIVE_SOURCES)
        jobs = {f"{name} history" for name in LIVE_SOURCES} if history else set()
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the collector exited ({self.process.returncode}):\n{self.tail()}")
            records = self.health()
            answered = {h.source for h in records if h.last_success is not None}
            tried = {h.source for h in records if h.last_success is not None or h.failures}
            if live <= answered and jobs <= tried:
                self.history_errors = {h.source: h.last_error or "" for h in records
                                       if h.source in jobs and h.last_success is None}
                return time.monotonic() - started
            if time.monotonic() > deadline:
                states = ", ".join(f"{h.source} {h.state} {h.last_error or ''}" for h in records)
                raise TimeoutError(f"the collector's sources did not all answer in {timeout:g} s: {states}\n"
                                   f"{self.tail()}")
            time.sleep(0.5)

    def wait_until_judged(self, timeout: float = 180.0, settle_s: float = 5.0) -> float:
        """Wait until the collector has judged the claims on their own dates (once the daily history came) and
        kept them: the then-verdicts in the store, unchanged for `settle_s`. Before that, every viewer repaints
        its panels' "then" columns once as they arrive: a transition, not an idle cost. Returns the seconds
        waited (the timeout's, if they never settle)."""
        started = time.monotonic()
        last, since = -1, started
        while time.monotonic() - started < timeout:
            now = self.verdicts_mark()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= settle_s and (now > 0 or time.monotonic() - started >= 4 * settle_s):
                break  # settled (or, after a while, nothing to judge)
            time.sleep(0.5)
        return time.monotonic() - started

    def verdicts_mark(self) -> int:
        """The store's change mark of the then-verdicts (0 while it is still being made)."""
        try:
            store = Store(self.store, read_only=True)
        except TapecheckError:
            return 0
        try:
            return store.changes().verdicts
        except sqlite3.Error:
            return 0
        finally:
            store.close()

    def health(self) -> list[Health]:
        """The sources' health as the collector last saved it ([] while it is still making the store)."""
        try:
            store = Store(self.store, read_only=True)
        except TapecheckError:
            return []
        try:
            return store.health()
        except sqlite3.Error:
            return []
        finally:
            store.close()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
