"""The collector gives the C allocator's free memory back now and then (glibc's malloc_trim), where there is one."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.test_collector import TickingSource, planned, until_true
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.core.process import release_free_memory
from tui.core.store.sqlite import Store


def glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False


def test_free_memory_is_given_back_on_glibc_and_nothing_happens_elsewhere() -> None:
    assert release_free_memory() is glibc()


@pytest.mark.skipif(not glibc(), reason="glibc's malloc_trim only")
async def test_the_collector_gives_free_memory_back_after_its_polls(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.collect import collector as module

    monkeypatch.setattr(module, "TRIM_EVERY_POLLS", 3)
    monkeypatch.setattr(module, "TRIM_EVERY_S", 0.0)
    store = Store(tmp_path / "s.sqlite")
    source = TickingSource()
    job = module.Collector(load_settings(), load_narratives(), store, planned(source), lambda _line: None)  # type: ignore[arg-type]
    stop = asyncio.Event()
    running = asyncio.create_task(job.run(stop))
    await until_true(lambda: job.trims >= 2, "two trims")
    assert source.calls >= 6  # one after every three polls, never more often
    stop.set()
    await running
    assert job.trims <= source.calls // 3
    store.close()
