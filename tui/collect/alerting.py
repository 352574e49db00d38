"""The collector's alerts: judged after every write and every few seconds (staleness moves with the clock alone),
kept in the store for every dashboard and `tapecheck alerts`, and delivered: to `[alerts] command` (the alert as
JSON on stdin, never through a shell, killed after `command_timeout_s`) and, with `[alerts] desktop`, as a
desktop notification.

Delivery runs in one task of its own, one alert after another, so a slow or hanging command never holds the
collector's loop, its polls or its writes; what it says (ok, or why it failed) is kept with the alert and in
the health record "alert command", which the sources screen shows. A command that cannot keep up loses
nothing from the store: alerts past QUEUE_MAX are kept there and marked as not delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

from tui.core.alerts import Alert, AlertJudge
from tui.core.claims import Narratives
from tui.core.config import Settings
from tui.core.model import TapecheckError, Verdict
from tui.core.printable import printable
from tui.core.rules.evaluate import PastDays
from tui.core.rules.verdict import judge_all
from tui.core.status import SUMMARY_EVERY_S, summary_of
from tui.core.store import HealthRecord, Store
from tui.core.then import fingerprint
from tui.core.view import make_context

logger = logging.getLogger(__name__)

JUDGE_EVERY_S = 5.0  # alerts are judged at least this often, data or not: values age into stale
JUDGE_GAP_S = 1.0  # and at most once a second, however many sources answer meanwhile
QUEUE_MAX = 1000  # alerts waiting for the command; past this they are kept, marked not delivered
COMMAND = "alert command"  # its health record's name


class OneAtATime:
    """Runs an async job on request, one run at a time: a request while it runs asks for one more run after
    it (at least `gap_s` after it), however many requests came. A failed run is logged and never raised: the
    next request tries again."""

    def __init__(self, job: Callable[[], Awaitable[object]], what: str, gap_s: float = 0.0) -> None:
        self.job = job
        self.what = what
        self.gap_s = gap_s
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._ended = float("-inf")  # when the last run ended

    def request(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            await asyncio.sleep(max(0.0, self._ended + self.gap_s - time.monotonic()))
            try:
                await self.job()
            except Exception as error:  # a store that cannot be read or written now: the next request tries again
                logger.warning("%s: %s", self.what, error)
            self._ended = time.monotonic()
            if not self._again:
                return

    async def finish(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task


def desktop_argv(title: str, text: str) -> list[str] | None:
    """The platform's own notifier, when it has one: notify-send (Linux), osascript (macOS)."""
    if sys.platform == "darwin" and shutil.which("osascript"):
        return ["osascript", "-e", f"display notification {json.dumps(text)} with title {json.dumps(title)}"]
    found = shutil.which("notify-send")
    return [found, "--app-name=tapecheck", title, text] if found else None


async def run_command(argv: list[str], stdin: bytes, timeout_s: float) -> str:
    """Run `argv` (no shell) with `stdin`; "ok", or why not in one line. Killed, with anything it started, at
    the timeout."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
    except OSError as error:
        return f"failed: cannot run {argv[0]}: {error.strerror or error}"
    try:
        _, err = await asyncio.wait_for(process.communicate(stdin), timeout_s)
    except (TimeoutError, asyncio.CancelledError) as stopped:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # its session: a script's own children go too
        if isinstance(stopped, asyncio.CancelledError):  # the collector stops: no command outlives it
            raise
        await process.wait()
        return f"failed: still running after {timeout_s:g} s, killed"
    if process.returncode == 0:
        return "ok"
    said = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    why = f": {printable(said[-1].strip())[:200]}" if said else ""
    return f"failed: exit status {process.returncode}{why}"


class Alerting:
    """Judges, keeps and delivers the collector's alerts."""

    def __init__(self, settings: Settings, narratives: Narratives, store: Store) -> None:
        self.settings = settings
        self.narratives = narratives
        self.store = store
        self.judge: AlertJudge | None = None
        self.past_days: PastDays = {}  # conditions' answers on past days, kept from one judgement to the next
        self._summary: dict[str, object] | None = None  # the last summary kept for `tapecheck status`
        self._summary_at = float("-inf")
        self.judging = OneAtATime(self._judge, "judging alerts", JUDGE_GAP_S)
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(QUEUE_MAX)
        self.health = HealthRecord(COMMAND, "alerts", None, None, None, None, 0, None, "waiting")
        self._delivering: asyncio.Task[None] | None = None
        self._desktop_said = "ok"  # the desktop notifier's last outcome

    @property
    def delivers(self) -> bool:
        return bool(self.settings.alerts.command) or self.settings.alerts.desktop

    def start(self) -> None:
        if self.delivers:
            self._delivering = asyncio.create_task(self._deliver_all())

    async def stop(self) -> None:
        await self.judging.finish()
        if self._delivering is not None:
            self._delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivering
        if self.queue.qsize():
            logger.warning("%d alerts not delivered before the collector stopped (kept in the store)",
                           self.queue.qsize())

    async def _judge(self) -> None:
        for alert in await asyncio.to_thread(self.judge_now, datetime.now(UTC)):
            logger.info("alert %d: %s", alert.id, alert.line)
            if not self.delivers:
                continue
            try:
                self.queue.put_nowait(alert)
            except asyncio.QueueFull:
                await self._record(alert, "failed: not delivered, the command could not keep up")

    def use(self, narratives: Narratives) -> None:
        """Judge these claims from now on (the user's files changed): a new claim's first verdict is a starting
        point, as at start-up, and every claim's last alert in the store its baseline."""
        self.narratives = narratives
        self.judge = None

    def _keep_summary(self, verdicts: list[Verdict], now: datetime) -> None:
        """Keep what `tapecheck status` shows in the store, when it changed or SUMMARY_EVERY_S after the last
        time (status trusts a summary as long as it is fresh): status then judges nothing itself."""
        summary = summary_of(self.narratives, verdicts, self.store.then_verdicts(), fingerprint)
        if summary == self._summary and time.monotonic() - self._summary_at < SUMMARY_EVERY_S:
            return
        try:
            self.store.save_summary({**summary, "at": now.isoformat()})
        except TapecheckError as error:  # a full disk: status judges for itself meanwhile
            logger.error("cannot keep the status summary in the store: %s", error)
            return
        self._summary, self._summary_at = summary, time.monotonic()

    def judge_now(self, now: datetime) -> list[Alert]:
        """Judge every claim and rule on the store at `now`; keep what fires; return it (blocking: a thread)."""
        if self.judge is None:  # the baselines: what the store's last alerts said
            rules = {c.id: c.rule for c in self.narratives.claims if c.rule is not None}
            self.judge = AlertJudge(self.settings.alerts, rules, self.store.last_alerts())
        ctx = make_context(self.store, now, self.settings, self.past_days)
        verdicts = judge_all(self.narratives.claims, ctx)
        self._keep_summary(verdicts, now)
        drafts = {c.id for c in self.narratives.claims if c.draft}  # a draft is never alerted on
        fired = self.judge.judge([v for v in verdicts if v.claim_id not in drafts], ctx)
        if not fired:
            return []
        try:
            return self.store.add_alerts(fired)
        except TapecheckError as error:  # a full disk: delivered all the same, and said
            logger.error("cannot keep %d alerts in the store: %s", len(fired), error)
            return fired

    async def _deliver_all(self) -> None:
        while True:
            alert = await self.queue.get()
            outcome = await self.deliver(alert)
            await self._record(alert, outcome)

    async def deliver(self, alert: Alert) -> str:
        """Run the command (and the desktop notifier) for one alert; the command's outcome."""
        config = self.settings.alerts
        outcome = ""
        if config.command:
            payload = json.dumps(alert.json(), ensure_ascii=False).encode() + b"\n"
            outcome = await run_command(list(config.command), payload, config.command_timeout_s)
            if outcome != "ok":
                logger.warning("alert %d: %s: %s", alert.id, COMMAND, outcome)
        if config.desktop:
            argv = desktop_argv(f"tapecheck: {alert.title}", alert.line)
            said = await run_command(argv, b"", config.command_timeout_s) if argv else \
                "no notifier found (notify-send on Linux, osascript on macOS)"
            if said != "ok" and said != self._desktop_said:  # said once, not with every alert
                logger.warning("alert %d: desktop notification: %s", alert.id, said)
            self._desktop_said = said
        return outcome

    async def _record(self, alert: Alert, outcome: str) -> None:
        """Keep the outcome with the alert and in the command's health record."""
        if not outcome:
            return
        now = datetime.now(UTC)
        if outcome == "ok":
            self.health = replace(self.health, state="ok", last_success=now, failures=0)
        else:
            self.health = replace(self.health, state="failing", last_error=outcome.removeprefix("failed: "),
                                  last_error_at=now, failures=self.health.failures + 1)
        try:
            if alert.id:
                await asyncio.to_thread(self.store.set_alert_delivery, alert.id, outcome)
            await asyncio.to_thread(self.store.save_health, self.health)
        except TapecheckError as error:
            logger.warning("keeping alert %d's delivery: %s", alert.id, error)
