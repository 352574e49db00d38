"""Snapshot tests of the screens (pytest-textual-snapshot), with a frozen clock and fixed data.

Update the baselines after an intended change with `python3 -m uv run pytest tests/test_snapshots.py
--snapshot-update`, and look at the report before committing them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.pilot import shown, sources_page, until
from tui.core.config import load_settings
from tui.core.judge.engine import Engine
from tui.core.model import Health
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store
from tui.ui.app import TapecheckApp, snapshot_app
from tui.ui.feed import Feed
from tui.ui.screens.claim import ClaimScreen
from tui.ui.screens.series import SeriesScreen

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def app() -> TapecheckApp:
    return snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)


def ready(tapecheck: TapecheckApp) -> Any:
    """Before the picture: the first state is built (in a thread) and on screen."""
    async def run_before(pilot: Any) -> None:
        await shown(pilot, tapecheck)
    return run_before


def test_main_screen_80x24(snap_compare: Any) -> None:
    tapecheck = app()
    assert snap_compare(tapecheck, terminal_size=(80, 24), run_before=ready(tapecheck))


def test_main_screen_160x50(snap_compare: Any) -> None:
    tapecheck = app()
    assert snap_compare(tapecheck, terminal_size=(160, 50), run_before=ready(tapecheck))


def test_claim_screen(snap_compare: Any) -> None:
    tapecheck = app()

    async def run_before(pilot: Any) -> None:  # Tesla's bitcoin, in Musk's panel; its chart is read in a thread
        await shown(pilot, tapecheck)
        await pilot.press("8", "enter")
        await until(pilot, lambda: isinstance(tapecheck.screen, ClaimScreen) and tapecheck.screen.drawn, "the chart")

    assert snap_compare(tapecheck, terminal_size=(100, 40), run_before=run_before)


def sources_app(path: Path) -> tuple[TapecheckApp, Store]:
    """A live dashboard over a store whose three sources are ok, failing (with a long error) and rate-limited."""
    store = Store(path)
    store.save_health(Health("binance", "crypto", NOW - timedelta(seconds=4), None, None, 210, 0,
                                   NOW + timedelta(seconds=6), "ok"))
    store.save_health(Health("mempool", "hashrate", NOW - timedelta(minutes=12), LONG_ERROR,
                                   NOW - timedelta(seconds=30), 15_200, 3, NOW + timedelta(seconds=40), "failing"))
    store.save_health(Health("yahoo", "equities", NOW - timedelta(minutes=3), "rate limited by Yahoo (HTTP 429)",
                                   NOW - timedelta(seconds=50), 1_400, 1, NOW + timedelta(seconds=70), "rate_limited"))
    assert store.try_lock_collector()  # a collector runs: the header has no alarm
    settings, narratives = load_settings(), load_narratives()
    viewer = Store(store.path, read_only=True)
    engine = Engine(narratives, settings, viewer, lambda: NOW, store=viewer)
    return TapecheckApp(settings, narratives, Feed("LIVE", engine)), store


LONG_ERROR = ("mempool.space: HTTP 503 Service Unavailable (upstream timed out); blockchain.com: timed out after 15 s "
              "while reading the response body")


def on_sources(tapecheck: TapecheckApp) -> Any:
    async def run_before(pilot: Any) -> None:
        await shown(pilot, tapecheck)
        await sources_page(pilot, tapecheck)
        await pilot.pause()
    return run_before


def test_sources_screen(snap_compare: Any, tmp_path: Path) -> None:
    tapecheck, store = sources_app(tmp_path / "s.sqlite")
    assert snap_compare(tapecheck, terminal_size=(120, 24), run_before=on_sources(tapecheck))
    store.close()


# A newcomer's terminals: the smallest the panels draw in, the classic, a large one; each also with NO_COLOR, where
# every signal must still read (DIVERGED reversed, ▲/▼, a mark and a word on each source, stale and closed).
SIZES = [(60, 15), (80, 24), (200, 60)]
LOOKS = pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
COLOURS = pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])


def colours(monkeypatch: pytest.MonkeyPatch, no_color: bool) -> None:
    """NO_COLOR is read when the app is made (and taken out of the environment)."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)


@LOOKS
@COLOURS
def test_dashboard_sizes(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int],
                         no_color: bool) -> None:
    colours(monkeypatch, no_color)
    tapecheck = app()

    async def run_before(pilot: Any) -> None:  # as it opens: a stale market cap, a diverged claim, the counts
        await shown(pilot, tapecheck)
        await pilot.pause()

    assert snap_compare(tapecheck, terminal_size=size, run_before=run_before)


@LOOKS
@COLOURS
def test_hashrate_series_sizes(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int],
                               no_color: bool) -> None:
    colours(monkeypatch, no_color)
    tapecheck = app()

    async def run_before(pilot: Any) -> None:  # the mining panel's first series is the network hashrate
        await shown(pilot, tapecheck)
        await pilot.press("2", "shift+tab", "enter")
        await until(pilot, lambda: isinstance(tapecheck.screen, SeriesScreen) and tapecheck.screen.drawn,
                    "the hashrate's page")
        assert isinstance(tapecheck.screen, SeriesScreen) and tapecheck.screen.series == "network:bitcoin:hashrate"
        await pilot.pause()

    assert snap_compare(tapecheck, terminal_size=size, run_before=run_before)


@LOOKS
@COLOURS
def test_sources_sizes(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, size: tuple[int, int],
                       no_color: bool) -> None:
    colours(monkeypatch, no_color)
    tapecheck, store = sources_app(tmp_path / "s.sqlite")
    assert snap_compare(tapecheck, terminal_size=size, run_before=on_sources(tapecheck))
    store.close()


@pytest.mark.parametrize("theme", ["textual-light", "tapecheck-colour-blind"])
def test_dashboard_themes(snap_compare: Any, theme: str) -> None:
    tapecheck = app()

    async def run_before(pilot: Any) -> None:
        tapecheck.theme = theme
        await shown(pilot, tapecheck)
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(tapecheck, terminal_size=(80, 24), run_before=run_before)


def test_alerts_screen(snap_compare: Any, tmp_path: Path) -> None:
    """Newest first, one failed delivery, one acknowledged; the selected alert in full below (NO_COLOR: the
    words say new, failed, and the serious changes are in capitals)."""
    from tui.core.model import Alert
    from tui.ui.screens.alerts import AlertsScreen

    store = Store(tmp_path / "s.sqlite")
    kept = store.add_alerts([
        Alert(0, NOW - timedelta(days=1, hours=2), "claim", "bb-tesla-btc-11509-over-1bn", "holds", "diverged",
              "11,509 × 86,438 USD = 995M USD < 1.00B USD claimed (>)", 995e6, 1e9, "USD"),
        Alert(0, NOW - timedelta(minutes=5), "rule", "BTC under miners' cost", "clear", "met",
              "71,200 USD < 74,600 USD", 71_200, 74_600, "USD"),
        Alert(0, NOW - timedelta(minutes=1), "claim", "wu-hashrate-above-1zh", "diverged", "holds",
              "1.02 ZH/s > 1 ZH/s claimed (>=)", 1.02e21, 1e21, "H/s")])
    store.set_alert_delivery(kept[1].id, "failed: exit status 3: pager refused")
    store.ack_alerts(kept[0].id)
    assert store.try_lock_collector()
    settings, narratives = load_settings(), load_narratives()
    viewer = Store(store.path, read_only=True)
    tapecheck = TapecheckApp(settings, narratives,
                             Feed("LIVE", Engine(narratives, settings, viewer, lambda: NOW, store=viewer)))

    async def run_before(pilot: Any) -> None:
        await shown(pilot, tapecheck)
        await pilot.press("exclamation_mark")
        await until(pilot, lambda: isinstance(tapecheck.screen, AlertsScreen) and tapecheck.screen.alerts,
                    "the alerts page")
        await pilot.press("j")
        await pilot.pause()

    assert snap_compare(tapecheck, terminal_size=(100, 24), run_before=run_before)
    store.close()


HEADER_SIZES = [(60, 15), (80, 24)]


@pytest.mark.parametrize("size", HEADER_SIZES, ids=[f"{w}x{h}" for w, h in HEADER_SIZES])
@COLOURS
def test_header_with_alerts_and_the_collector_down(snap_compare: Any, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, size: tuple[int, int], no_color: bool) -> None:
    """The worst a header holds: the collector down since it stopped, diverged and wrong-then counts, alerts not
    acknowledged. The mode and every count show at 60x15 (short forms) and 80x24, with the panel title and the
    series rows below."""
    import time

    from tui.core.judge.then import judge_then
    from tui.core.model import Alert
    from tui.core.snapshot import read_observations
    from widgets.header_line import HeaderStatus

    colours(monkeypatch, no_color)
    monkeypatch.setenv("TZ", "UTC")  # "down since" is said in local time
    time.tzset()
    store = Store(tmp_path / "s.sqlite")
    store.append(read_observations(DATA / "snapshot.jsonl"))
    store.add_alerts([Alert(0, NOW - timedelta(minutes=n), "claim", f"claim-{n}", "holds", "diverged", "off")
                      for n in range(2)])
    store.save_summary({"counts": {}, "at": (NOW - timedelta(minutes=20)).isoformat(),
                        "stopped_at": (NOW - timedelta(minutes=18)).isoformat()})
    settings, narratives = load_settings(), load_narratives()
    judge_then(narratives.claims, store, settings, store)  # the collector keeps the verdicts on the claims' dates
    viewer = Store(store.path, read_only=True)
    tapecheck = TapecheckApp(settings, narratives,
                             Feed("LIVE", Engine(narratives, settings, viewer, lambda: NOW, store=viewer)))

    async def run_before(pilot: Any) -> None:
        await shown(pilot, tapecheck)
        await pilot.pause()
        header = tapecheck.screen.query_one(HeaderStatus)
        assert header.alarm == "collector down since 05:42" and header.flagged.endswith("2 alerts")
        await until(pilot, lambda: any("No collector" in n.title for n in tapecheck._notifications), "the hint")
        tapecheck.clear_notifications()  # it names the test's temporary store
        # the first panel from its title down, however far the first focus scrolled the page while it loaded
        from textual.containers import ScrollableContainer
        for scroller in tapecheck.screen.query(ScrollableContainer):
            scroller.scroll_home(animate=False, immediate=True)
        await pilot.pause()

    try:
        assert snap_compare(tapecheck, terminal_size=size, run_before=run_before)
    finally:
        store.close()
        monkeypatch.delenv("TZ")
        time.tzset()
