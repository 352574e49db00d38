"""The demo tape `tapecheck --demo` replays: made-up observations for every series the claims read, over three
days from DEMO_START. tests/data/make_demo.py generates it (every number there is a stated assumption) and
tests/test_demo.py holds the shipped file equal to what the generator makes. Demo data never enters the store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

DEMO_START = datetime(2026, 2, 2, tzinfo=UTC)  # a Monday
DEMO_END = DEMO_START + timedelta(days=3)
DEMO_SOURCE = "demo"
DEMO_TAPE = Path(__file__).parent / "data" / "demo.jsonl.gz"
