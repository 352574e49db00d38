"""The collector's windows: plain Python over short histories and single windows, polars over years of windows,
the same answers either way; and a collector judging a short history never imports polars."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from tui.collect.windows import COLLECTOR_WINDOWS, CollectorWindows
from tui.core.narratives.rules.columnar import POLARS_WINDOWS
from tui.core.narratives.rules.windows import PURE_WINDOWS

ROOT = Path(__file__).parent.parent


def closes(n: int, weekdays: bool, seed: float) -> list[tuple[date, float]]:
    start = date(2016, 1, 4)
    days = [start + timedelta(days=i) for i in range(n)]
    return [(d, 100 + 10 * math.sin(i * seed) + i * 0.01) for i, d in enumerate(days) if not weekdays or d.weekday() < 5]


def same(a: list[float | None], b: list[float | None]) -> bool:
    return len(a) == len(b) and all((x is None and y is None) or (x is not None and y is not None and
                                                                  math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12))
                                    for x, y in zip(a, b, strict=True))


def test_short_and_long_histories_give_the_answers_of_both_implementations() -> None:
    small = CollectorWindows(long_history=100, many_windows=5)  # thresholds low enough to take both paths here
    for n in (60, 400):
        a, b = closes(n, False, 0.3), closes(n, True, 0.7)
        days, columns = small.common([a, b])
        assert (days, columns) == PURE_WINDOWS.common([a, b]) == POLARS_WINDOWS.common([a, b])
        for kind in ("corr", "beta"):
            xs, ys = columns
            one = small.rolling(xs[-31:], ys[-31:], 30, kind)  # one window: plain Python
            assert same(one, PURE_WINDOWS.rolling(xs[-31:], ys[-31:], 30, kind))
            assert same(one, POLARS_WINDOWS.rolling(xs[-31:], ys[-31:], 30, kind))
            every = small.rolling(xs, ys, 30, kind)  # a window a day: polars
            assert same(every, PURE_WINDOWS.rolling(xs, ys, 30, kind))
            assert same(every, POLARS_WINDOWS.rolling(xs, ys, 30, kind))


def test_a_collector_judging_a_year_of_closes_never_imports_polars(tmp_path: Path) -> None:
    script = f"""
import sys
from pathlib import Path
from datetime import UTC, datetime, timedelta
from tests.conftest import obs
from tui.collect.alerting import Alerting
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store

store = Store(Path({str(tmp_path / "s.sqlite")!r}))
now = datetime.now(UTC).replace(hour=12)
store.append([obs(s, 100 + i % 7 + (i % 3) * 0.5, now - timedelta(days=i), "yahoo")
              for s in ("crypto:BTC/USD:last", "equity:NVDA:last", "index:^IXIC:last", "equity:MARA:last")
              for i in range(365)])
alerting = Alerting(load_settings(), load_narratives(), store)
alerting.judge_now(now)
corr = alerting.verdicts["fw-btc-ai-stocks-link-tight"]
print("JUDGED", corr.live_value is not None, "polars" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "JUDGED True False" in done.stdout, done.stdout + done.stderr  # a corr() judged, polars never loaded
    assert COLLECTOR_WINDOWS.long_history > 365 * 3  # three years of daily closes stay in plain Python
