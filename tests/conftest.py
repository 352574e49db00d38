"""Shared helpers: building observations, tapes and evaluation contexts by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui.core.config import Staleness
from tui.core.model import Observation, SeriesId
from tui.core.rules.evaluate import Context
from tui.core.tape import MemoryTape

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
STALENESS = Staleness(crypto=120, equity=900, index=900, fx=900, commodity=900, network=3600, history_days=4)


def obs(series: str, value: float, ts: datetime | str = NOW, source: str = "test") -> Observation:
    moment = datetime.fromisoformat(ts).replace(tzinfo=UTC) if isinstance(ts, str) else ts
    return Observation(series, value, SeriesId.parse(series).unit, moment, source)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def context(*observations: Observation, now: datetime = NOW) -> Context:
    return Context(MemoryTape(observations), now, STALENESS.max_age_s, STALENESS.history_days)


@pytest.fixture
def snapshot_path() -> Path:
    return DATA / "snapshot.jsonl"
