"""The one signal installer (tui.core.process): what the dashboard, the collector and record all use."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from tui.core.process import on_signals, release_signals

ROOT = Path(__file__).parent.parent


async def test_a_signal_reaches_the_loop_and_is_given_back() -> None:
    heard: list[signal.Signals] = []
    on_signals([signal.SIGUSR1], heard.append)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(6000):  # a condition, not a time: a loaded machine is slow
            if heard:
                break
            await asyncio.sleep(0.01)
        assert heard == [signal.SIGUSR1]
    finally:
        release_signals([signal.SIGUSR1])
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_no_module_installs_signals_its_own_way() -> None:
    others = [str(path.relative_to(ROOT)) for folder in ("tui", "widgets") for path in (ROOT / folder).rglob("*.py")
              if path.name != "process.py" and ("add_signal_handler" in path.read_text()
                                                or "signal.signal(" in path.read_text())]
    assert others == [], f"signals installed outside tui/core/process.py: {others}"
