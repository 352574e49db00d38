"""The collector's alerts: judged after every write (the claims and rules that read what was written) and, every
claim and rule, every few seconds (staleness moves with the clock alone) and when a cooldown ends; kept in the
store for every dashboard and `tapecheck alerts`, and delivered: to `[alerts] command` (the alert as JSON on
stdin, never through a shell, killed after `command_timeout_s`) and, with `[alerts] desktop`, as a desktop
notification.

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
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from tui.collect.windows import COLLECTOR_WINDOWS
from tui.core.config import Settings
from tui.core.judge.alerts import AlertJudge
from tui.core.judge.status import SUMMARY_EVERY_S, summary_of
from tui.core.judge.then import fingerprint
from tui.core.judge.view import make_context
from tui.core.model import Alert, Cached, Claim, Health, TapecheckError, Verdict
from tui.core.narratives.claims import Narratives
from tui.core.narratives.rules.evaluate import PastDays
from tui.core.narratives.rules.verdict import judge_all
from tui.core.printable import printable
from tui.core.store.protocol import Store

logger = logging.getLogger(__name__)

# Every claim and rule is judged, data or not, within a quarter of the shortest staleness (values age into stale
# with the clock alone), but no more often than JUDGE_EVERY_S nor less than JUDGE_EVERY_MAX_S; between those
# judgements, a write judges only the claims and rules that read what it wrote.
JUDGE_EVERY_S = 5.0
JUDGE_EVERY_MAX_S = 30.0
JUDGE_GAP_S = 1.0  # and at most once a second, however many sources answer meanwhile
WRITE_SETTLE_S = 1.0  # a write is judged this long after it: the other exchanges of its round answer meanwhile
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
    """The platform's own notifier, when it has one: notify-send (Linux), osascript (macOS). `--` ends the
    options: a rule named `-u critical` is text, never an option."""
    if sys.platform == "darwin" and shutil.which("osascript"):
        return ["osascript", "-e", f"display notification {json.dumps(text)} with title {json.dumps(title)}"]
    found = shutil.which("notify-send")
    return [found, "--app-name=tapecheck", "--", title, text] if found else None


# What a command's environment keeps of ours: where programs are, who and where the user is, the language and
# the time zone, and what a desktop notifier needs to reach the session. Nothing else: no PGPASSWORD, no
# exchange keys, no tokens.
CHILD_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "DISPLAY", "WAYLAND_DISPLAY",
             "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")
MARK = "TAPECHECK_COMMAND"  # set in a command's environment: what it starts carries it, and is found by it
KEEP_BYTES = 64 * 1024  # of a command's stderr, the last this many bytes are kept; the rest is read and dropped
EXIT_POLL_S = 0.02  # how often a running command is looked at for its exit
AFTER_EXIT_S = 2.0  # how long stderr is still read after the command exits (what it wrote last)


def child_env(mark: str) -> dict[str, str]:
    """The allow-listed part of our environment, and the command's mark."""
    kept = {k: v for k, v in os.environ.items() if k in CHILD_ENV or k.startswith("LC_")}
    return {**kept, MARK: mark}


def _marked(mark: str) -> list[int]:
    """The processes (ours to see) whose environment carries `mark`: a command's children and theirs, even
    those that left its session with setsid and were re-parented."""
    needle = f"{MARK}={mark}".encode()
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    if needle in environ.read(1 << 20).split(b"\0"):
                        found.append(int(entry.name))
            except OSError:  # gone, or not ours
                continue
    return found


def kill_all(pid: int, mark: str) -> None:
    """Kill a command's process group and every process carrying its mark (a few passes: one may fork while
    the others are killed)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for _ in range(5):
        left = [p for p in _marked(mark) if p != os.getpid()]
        if not left:
            return
        for other in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(other, signal.SIGKILL)


async def exited(process: asyncio.subprocess.Process) -> int:
    """The exit status, as soon as the process exits: asyncio's own wait() (Python 3.11) also waits for its pipes
    to close, which a child left holding stderr never does."""
    while process.returncode is None:
        await asyncio.sleep(EXIT_POLL_S)
    return process.returncode


async def run_command(argv: list[str], stdin: bytes, timeout_s: float) -> str:
    """Run `argv` (no shell, in a session of its own, with an allow-listed environment) with `stdin`; "ok", or
    why not in one line. Its stderr is read as it comes, the last KEEP_BYTES kept. At the timeout it is killed
    with everything it started; when it exits, what it left running is killed too (a child still holding its
    stderr does not make a command that exited 0 a failure)."""
    mark = secrets.token_hex(8)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True, env=child_env(mark))
    except OSError as error:
        return f"failed: cannot run {argv[0]}: {error.strerror or error}"
    tail = bytearray()

    async def drain() -> None:
        assert process.stderr is not None
        while chunk := await process.stderr.read(KEEP_BYTES):
            tail.extend(chunk)
            del tail[:-KEEP_BYTES]

    async def feed() -> None:
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(stdin)
            await process.stdin.drain()
        process.stdin.close()

    draining = asyncio.create_task(drain())
    try:
        async with asyncio.timeout(timeout_s):
            await feed()
            code = await exited(process)
    except (TimeoutError, asyncio.CancelledError) as stopped:
        await asyncio.to_thread(kill_all, process.pid, mark)  # its session, and what left it: all of it goes
        draining.cancel()
        if isinstance(stopped, asyncio.CancelledError):  # the collector stops: no command outlives it
            raise
        await exited(process)
        return f"failed: still running after {timeout_s:g} s, killed"
    await asyncio.to_thread(kill_all, process.pid, mark)  # what it left running, holding its stderr or not
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(draining, AFTER_EXIT_S)
    if code == 0:
        return "ok"
    said = [line for line in tail.decode("utf-8", "replace").splitlines() if line.strip()]
    why = f": {printable(said[-1].strip())[:200]}" if said else ""
    return f"failed: exit status {code}{why}"


def judge_every_s(settings: Settings) -> float:
    """How often every claim and rule is judged, data or not: a quarter of the shortest staleness, within
    [JUDGE_EVERY_S, JUDGE_EVERY_MAX_S] (crypto stale after 120 s: every 30 s)."""
    kept = settings.staleness
    shortest = min(kept.crypto, kept.equity, kept.index, kept.fx, kept.commodity, kept.network)
    return min(JUDGE_EVERY_MAX_S, max(JUDGE_EVERY_S, shortest / 4))


def asset(series: str) -> str:
    """What a written value touches: its series' `kind:symbol` (a market cap is read from the price and the share
    count too: every field of an asset is one)."""
    return series.rpartition(":")[0]


def assets(series: Iterable[str]) -> frozenset[str]:
    return frozenset(asset(s) for s in series)


class Alerting:
    """Judges, keeps and delivers the collector's alerts.

    `written(series)` after each write asks for a judgement of the claims and rules reading those series' assets;
    `due()`, asked at each of the collector's ticks, asks for one of everything when it is time (judge_every_s, a
    cooldown ending, the claims changed). Verdicts of claims not judged again are kept from their last judgement:
    nothing they read has been written since."""

    def __init__(self, settings: Settings, narratives: Narratives, store: Store) -> None:
        self.settings = settings
        self.narratives = narratives
        self.store = store
        self.judge: AlertJudge | None = None
        self.past_days: PastDays = {}  # conditions' answers on past days, kept from one judgement to the next
        self._summary: dict[str, object] | None = None  # the last summary kept for `tapecheck status`
        self._summary_at = float("-inf")
        self.judging = OneAtATime(self._judge, "judging alerts", JUDGE_GAP_S)
        self.every_s = judge_every_s(settings)
        self.verdicts: dict[str, Verdict] = {}  # each claim's last verdict, for the summary
        self._written: set[str] = set()  # assets written since the last judgement
        self._everything = True  # the next judgement judges every claim and rule
        self._everything_at = float("-inf")  # when every claim and rule was last judged (time.monotonic)
        self._reads: dict[str, frozenset[str]] = {}  # claim id -> the assets its rule reads
        self._then: tuple[int, dict[str, Cached]] | None = None  # the store's then-verdicts, by their change mark
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(QUEUE_MAX)
        self.health = Health(COMMAND, "alerts", None, None, None, None, 0, None, "waiting")
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

    def written(self, series: Iterable[str]) -> None:
        """Values of `series` were written: judge the claims and rules that read them (soon, off the loop)."""
        touched = assets(series)
        if touched:
            self._written |= touched
            self.judging.request()

    def due(self) -> None:
        """Ask for a judgement of every claim and rule when it is time: every `every_s`, and as a cooldown ends
        (a change that lasted is alerted then)."""
        if self._everything or time.monotonic() - self._everything_at >= self.every_s or (
                self.judge is not None and (ends := self.judge.cooldown_ends()) is not None
                and ends <= datetime.now(UTC)):
            self._everything = True
            self.judging.request()

    async def _judge(self) -> None:
        if not self._everything and self._written:  # one judgement for a round of sources answering together
            await asyncio.sleep(WRITE_SETTLE_S)
        everything, written = self._everything, self._written
        if not everything and not written:
            return
        self._everything, self._written = False, set()
        if everything:
            self._everything_at = time.monotonic()
        try:
            fired = await asyncio.to_thread(self.judge_now, datetime.now(UTC), None if everything else written)
        except BaseException:
            self._everything = self._everything or everything  # judged again at the next tick
            self._written |= written
            raise
        for alert in fired:
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
        self._everything = True

    def _keep_summary(self, verdicts: list[Verdict], now: datetime) -> None:
        """Keep what `tapecheck status` shows in the store, when it changed or SUMMARY_EVERY_S after the last
        time (status trusts a summary as long as it is fresh): status then judges nothing itself."""
        summary = summary_of(self.narratives, verdicts, self._then_verdicts(), fingerprint)
        if summary == self._summary and time.monotonic() - self._summary_at < SUMMARY_EVERY_S:
            return
        try:
            self.store.save_summary({**summary, "at": now.isoformat()})
        except TapecheckError as error:  # a full disk: status judges for itself meanwhile
            logger.error("cannot keep the status summary in the store: %s", error)
            return
        self._summary, self._summary_at = summary, time.monotonic()

    def _then_verdicts(self) -> Mapping[str, Cached]:
        """The store's then-verdicts, read again only when they changed."""
        mark = self.store.changes().verdicts
        if self._then is None or self._then[0] != mark:
            self._then = (mark, self.store.then_verdicts())
        return self._then[1]

    def _claims_reading(self, written: frozenset[str] | set[str]) -> list[Claim]:
        return [c for c in self.narratives.claims if self._reads[c.id] & written]

    def judge_now(self, now: datetime, written: set[str] | None = None) -> list[Alert]:
        """Judge the claims and rules on the store at `now` (every one, or with `written`, those that read these
        assets); keep what fires; return it (blocking: a thread)."""
        if self.judge is None:  # the baselines: what the store's last alerts said
            rules = {c.id: c.rule for c in self.narratives.claims if c.rule is not None}
            self.judge = AlertJudge(self.settings.alerts, rules, self.store.last_alerts())
            self._reads = {c.id: assets(c.series) for c in self.narratives.claims}
            self.verdicts = {}
            written = None  # new claims: every one judged
        claims = self.narratives.claims if written is None else self._claims_reading(written)
        alert_rules = self.settings.alerts.rules if written is None else \
            tuple(r for r in self.settings.alerts.rules if assets(r.rule.series) & written)
        if not claims and not alert_rules:
            return []
        ctx = make_context(self.store, now, self.settings, self.past_days, COLLECTOR_WINDOWS)
        verdicts = judge_all(claims, ctx)
        if written is None:
            self.verdicts = {}
        self.verdicts.update((v.claim_id, v) for v in verdicts)
        self._keep_summary([self.verdicts[c.id] for c in self.narratives.claims if c.id in self.verdicts], now)
        drafts = {c.id for c in self.narratives.claims if c.draft}  # a draft is never alerted on
        fired = self.judge.judge([v for v in verdicts if v.claim_id not in drafts], ctx, alert_rules)
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
