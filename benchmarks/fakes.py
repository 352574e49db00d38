"""The local fakes of every source (tests/fakes), and a config file that points tapecheck at them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo

EXCHANGES = ("binance", "coinbase", "kraken", "okx")


@dataclass
class Fakes:
    exchange: FakeExchange
    mempool: FakeMempool
    yahoo: FakeYahoo

    def delay(self, seconds: float) -> None:
        """Every fake answers every request after `seconds` (0: at once)."""
        for fake in (self.exchange, self.mempool, self.yahoo):
            if seconds:
                fake.set_scenario("*", "delay", delay_s=seconds)
            else:
                fake.reset()

    def config(self, path: Path, crypto_s: float = 10, equities_s: float = 60, hashrate_s: float = 300,
               store: Path | None = None) -> Path:
        """A config file naming the fakes for every source, with these poll intervals (the defaults: as shipped).

        The timeouts are three times the shipped ones: the fakes answer at once, but on a loaded 2-core machine
        the first poll, which imports ccxt and then yfinance in a thread, can outlast the shipped ones."""
        urls = "\n".join(f'{name} = "{self.exchange.url}"' for name in EXCHANGES)
        store_line = f'path = "{store}"' if store else ""
        path.write_text(f"""
[sources.crypto]
exchanges = {list(EXCHANGES)!r}
interval_s = {crypto_s}
timeout_s = 30

[sources.crypto.urls]
{urls}

[sources.equities]
base_url = "{self.yahoo.url}"
interval_s = {equities_s}
timeout_s = 90

[sources.hashrate]
base_url = "{self.mempool.url}"
fallback_url = "{self.mempool.url}"
interval_s = {hashrate_s}
timeout_s = 45

[store]
{store_line}
""".replace("'", '"'))
        return path


@contextlib.contextmanager
def running_fakes() -> Iterator[Fakes]:
    with FakeExchange() as exchange, FakeMempool() as mempool, FakeYahoo() as yahoo:
        for fake in (exchange, mempool, yahoo):
            # an app stopped mid-request resets its connections: nothing to print over the results
            fake._server.handle_error = lambda request, address: None  # type: ignore[union-attr,method-assign]
        yield Fakes(exchange, mempool, yahoo)
