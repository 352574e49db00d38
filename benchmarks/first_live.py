"""First live value: process start until the first live BTC/USD price replaces the stored one on screen.

The fakes answer at once, with a BTC/USD price (77,777.7 on every exchange that lists the pair) that the
store does not hold; the store holds the benchmark tape, whose BTC/USD prices are ten minutes old. The goal
is the time a fresh interpreter takes to import ccxt (measured here, the same way) plus 0.5 s.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure, median
from benchmarks.first_frame import PANELS_SHOWN, tapecheck_argv
from benchmarks.tape import store_copy
from benchmarks.terminal import Terminal
from tui.core import format as fmt

LIVE_PRICE = 77777.7
BTC_USD_MARKETS = ("XXBTZUSD", "BTC-USD")  # kraken's and coinbase's ids for BTC/USD in the fake exchange


def ccxt_import_s() -> float:
    """Seconds from starting a fresh interpreter until it has imported ccxt.async_support (as tapecheck does)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import ccxt.async_support"], check=True)
    return time.perf_counter() - started


def run(quick: bool) -> list[Figure]:
    runs = 1 if quick else 3
    marker = fmt.quantity(LIVE_PRICE, "USD")
    live, imports, frames = [], [], []
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        for market in BTC_USD_MARKETS:
            fakes.exchange.edit_ticker(market, last=str(LIVE_PRICE))
        config = fakes.config(Path(tmp) / "config.toml")
        for _ in range(runs):
            imports.append(ccxt_import_s())
            with Terminal(tapecheck_argv(config, store_copy(quick, "first-live"))) as term:
                frames.append(term.wait_for(PANELS_SHOWN, timeout=60))
                live.append(term.wait_for(marker, timeout=60))
    value, ccxt = median(live), median(imports)
    budget = ccxt + 0.5
    return [Figure(f"first live value (median of {runs})", value, "s", budget, "= ccxt import + 0.5 s",
                   "≤ ccxt import + 0.5 s", value <= budget,
                   f"ccxt import {', '.join(f'{t:.2f}' for t in imports)} s; first live value "
                   f"{', '.join(f'{t:.2f}' for t in live)} s; first frame in these runs "
                   f"{', '.join(f'{t:.2f}' for t in frames)} s")]
