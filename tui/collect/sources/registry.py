"""Building the live sources from the settings and the claims: what to poll, where, and how often.

Every source kind gets a live poll and, where it has one, a daily-history job; both go to the poller as
sources with their own schedule. Constructing sources is cheap: ccxt and yfinance load on first fetch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from tui.collect.poller import Schedule
from tui.collect.sources.base import FetchResult, Source, SourceError, Unreachable
from tui.collect.sources.wanted import Wanted
from tui.core.config import Settings
from tui.core.model import Observation
from tui.core.store.protocol import Store

if TYPE_CHECKING:
    from tui.collect.sources.crypto import CryptoSource
    from tui.collect.sources.equities import EquitiesSource

# Daily history reaches back at least this far, and further where a claim reads an older date.
MIN_HISTORY = timedelta(days=400)
HISTORY_OVERLAP = timedelta(days=7)


class HistoryJob:
    """A source's daily-history fetch, polled on its own (slow) schedule and with its own health record.

    History is fetched once: the first fetch reaches back to `start`; after it, each fetch asks only for the
    days since the last one (and a week before, for late corrections). `covered` is the span fetched; the
    owner loads it from the store at start and saves it after each fetch. A symbol that failed (not listed on
    an exchange, no history at Yahoo) is not asked for its whole history again: `--refetch-history` does that.
    """

    kind = "history"

    def __init__(self, source: Source, fetch: Callable[[date], Awaitable[FetchResult | list[Observation]]],
                 start: date) -> None:
        self.name = f"{source.name} history"
        self.source = source
        self.start = start
        self.covered: tuple[date, date] | None = None
        self._fetch = fetch

    def since(self) -> date:
        """The first day the next fetch asks for."""
        if self.covered is None or self.covered[0] > self.start:
            return self.start
        return max(self.start, self.covered[1] - HISTORY_OVERLAP)

    async def fetch(self) -> FetchResult:
        since = self.since()
        answer = await self._fetch(since)
        result = answer if isinstance(answer, FetchResult) else FetchResult(tuple(answer))
        first = since if self.covered is None else min(since, self.covered[0])
        self.covered = (first, datetime.now(UTC).date())
        return result

    async def prepare(self) -> None:
        """What the live source does before its polls' timeouts start (importing its client library)."""
        prepare = getattr(self.source, "prepare", None)
        if prepare is not None:
            await prepare()

    async def close(self) -> None:
        """The live source owns the connection and closes it."""


@dataclass(frozen=True, slots=True)
class Planned:
    """The sources to run, with their schedules keyed by source name."""

    sources: list[Source]
    schedules: dict[str, Schedule]


def history_start(wanted: Wanted, today: date) -> date:
    floor = today - MIN_HISTORY
    return min(floor, wanted.history_start - timedelta(days=10)) if wanted.history_start else floor


async def crypto_history(source: CryptoSource, symbols: tuple[str, ...], start: date) -> FetchResult:
    """Daily OHLCV of every wanted coin on one exchange; a coin that fails is reported, the rest kept. Once the
    exchange cannot be reached, the coins not yet asked for fail with that reason, unasked."""
    since = datetime.combine(start, datetime.min.time(), UTC)
    observations: list[Observation] = []
    failures: dict[str, str] = {}
    unreachable: Unreachable | None = None
    for symbol in symbols:
        if unreachable is not None:
            failures[symbol] = str(unreachable)
            continue
        try:
            observations += await source.history(symbol, since)
        except Unreachable as error:
            failures[symbol] = str(error)
            unreachable = error
        except SourceError as error:
            failures[symbol] = str(error)
    if failures and not observations:
        raise SourceError("; ".join(f"{k}: {v}" for k, v in failures.items()))
    return FetchResult(tuple(observations), failures)


async def equities_history(source: EquitiesSource, start: date) -> FetchResult:
    observations = await source.history(start)
    return FetchResult(tuple(observations), dict(source.last_history_failures),
                       tuple(source.last_history_rejected))


def build_sources(settings: Settings, wanted: Wanted, today: date | None = None) -> Planned:
    """Every live source and history job the claims need, with their schedules."""
    from tui.collect.sources.crypto import CryptoSource
    from tui.collect.sources.equities import EquitiesSource
    from tui.collect.sources.hashrate import HashrateSource

    today = today or datetime.now(UTC).date()
    start = history_start(wanted, today)
    sources: list[Source] = []
    schedules: dict[str, Schedule] = {}

    def add(source: Source, interval: float, timeout: float) -> None:
        sources.append(source)
        schedules[source.name] = Schedule(interval, timeout, after_live=isinstance(source, HistoryJob))

    history_timeout = 20 * max(settings.crypto.timeout_s, settings.equities.timeout_s)
    if wanted.crypto_symbols:
        for exchange in settings.crypto.exchanges:
            crypto = CryptoSource(exchange, wanted.crypto_symbols, settings.crypto)
            # The first poll also loads the exchange's markets: up to three requests behind its rate limit.
            add(crypto, settings.crypto.interval_s, settings.crypto.timeout_s * 3)
            add(HistoryJob(crypto, partial(crypto_history, crypto, wanted.crypto_symbols), start),
                settings.crypto.history_interval_s, history_timeout)
    if wanted.yahoo_symbols:
        equities = EquitiesSource(wanted.yahoo_symbols, settings.equities)
        add(equities, settings.equities.interval_s, settings.equities.timeout_s)
        add(HistoryJob(equities, partial(equities_history, equities), start), settings.equities.history_interval_s,
            history_timeout)
    if wanted.network:
        hashrate = HashrateSource(settings.hashrate)
        add(hashrate, settings.hashrate.interval_s, settings.hashrate.timeout_s * 2 + 5)  # primary, then fallback
        add(HistoryJob(hashrate, hashrate.history, start), settings.crypto.history_interval_s,
            settings.hashrate.timeout_s * 4)
    return Planned(sources, schedules)


def resume_history(plan: Planned, store: Store, refetch: bool = False) -> None:
    """Give each history job what the store says was fetched; with `refetch`, forget it and start over."""
    if refetch:
        store.forget_history()
    for source in plan.sources:
        if isinstance(source, HistoryJob):
            source.covered = store.history_coverage(source.name)


def coverage_of(source: Source, result: FetchResult | None) -> tuple[str, date, date] | None:
    """After a history fetch, what to record in the store so that the next run does not fetch it again."""
    if result is not None and isinstance(source, HistoryJob) and source.covered is not None:
        return (source.name, *source.covered)
    return None
