"""Pilot tests: the dashboard driven by keys over a snapshot and over a scripted live source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.widgets import DataTable

from tests.conftest import DATA, obs
from tui.collect.poller import Schedule
from tui.collect.sources.base import FetchResult, SourceError
from tui.collect.sources.registry import Planned
from tui.core.claims import load_narratives
from tui.core.config import load_settings
from tui.core.model import Status
from tui.core.store import Store
from tui.core.tape import MemoryTape
from tui.ui.app import TapecheckApp, snapshot_app
from tui.ui.screens.dashboard import DashboardScreen, ThemePanel
from tui.ui.screens.detail import ClaimScreen, HelpScreen, SeriesScreen, SourcesScreen
from widgets.header_line import HeaderLine

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def app() -> TapecheckApp:
    return snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)


def claims_table(dashboard: DashboardScreen, theme: str) -> DataTable:  # type: ignore[type-arg]
    return dashboard.query_one(f"#claims-{theme}", DataTable)


async def test_main_screen_shows_every_theme_and_the_header() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        dashboard = tapecheck.screen
        assert isinstance(dashboard, DashboardScreen)
        panels = list(dashboard.query(ThemePanel))
        assert [p.view.theme_id for p in panels][:2] == ["ai_capital_loop", "btc_mining"]
        assert len(panels) == 8
        header = dashboard.query_one(HeaderLine)
        assert header.mode == "SNAPSHOT" and header.clock == "06:00:00 UTC"
        diverged = sum(1 for v in tapecheck.verdicts.values() if v.status is Status.DIVERGED)
        wrong = sum(1 for v in tapecheck.then.values() if v.status is Status.DIVERGED)
        assert (diverged, wrong) == (8, 4)
        assert header.flagged == "8 diverged · 4 wrong then"
        mining = claims_table(dashboard, "btc_mining")
        first = mining.get_row_at(0)
        assert str(first[1]) == "DIVERGED" and str(first[0]) == "held"  # diverged first; it held on its date


async def test_jump_move_and_drill_into_a_claim_and_back() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        table = tapecheck.focused
        assert isinstance(table, DataTable) and table.id == "claims-btc_treasuries"
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("k", "enter")
        assert isinstance(tapecheck.screen, ClaimScreen)
        assert tapecheck.screen.claim.id == "bb-tesla-btc-11509-over-1bn"
        await pilot.press("escape")
        assert isinstance(tapecheck.screen, DashboardScreen)


async def test_claim_screen_shows_then_now_and_the_move_between() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        tapecheck.open_claim("wu-btc-above-miner-cash-cost")  # held on 2025-12-31, diverged now
        await pilot.pause()
        screen = tapecheck.screen
        assert isinstance(screen, ClaimScreen)
        then = tapecheck.then["wu-btc-above-miner-cash-cost"]
        text = screen.describe().plain
        assert f"Then (2025-12-31) HOLDS  value {then.live_value:,.0f} USD" in text
        assert "Now DIVERGED  value 71,200 USD  off -4.6%" in text
        assert f"Move since then {(71_200 / then.live_value - 1) * 100:+.1f}%" in text
        assert "It held on its date; the market has moved away from it since." in text
        await pilot.press("escape")
        tapecheck.open_claim("tmt-junda-20cm-limit-up-0123")
        await pilot.pause()
        text = tapecheck.screen.describe().plain  # type: ignore[attr-defined]
        assert "Then (2026-01-23) DIVERGED  value +10.0%" in text
        assert "Wrong on its own date: the record does not support the article's figure." in text


async def test_drill_into_a_series_and_change_range() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("2", "shift+tab")
        table = tapecheck.focused
        assert isinstance(table, DataTable) and table.id == "series-btc_mining"
        await pilot.press("j", "j", "enter")
        screen = tapecheck.screen
        assert isinstance(screen, SeriesScreen) and screen.series == "crypto:BTC/USD:last"
        assert {o.source for o in screen.latest} == {"coinbase", "kraken", "bitstamp"}
        await pilot.press("4")
        assert screen.range == "4"
        await pilot.press("escape")
        assert isinstance(tapecheck.screen, DashboardScreen)


async def test_filter_and_diverged_only() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        await pilot.press(*"hashrate")
        await pilot.press("enter")
        await pilot.pause()
        dashboard = tapecheck.screen
        assert isinstance(dashboard, DashboardScreen)
        mining = claims_table(dashboard, "btc_mining")
        ids = [str(k.value) for k in mining.rows]
        assert "wu-hashrate-above-1zh" in ids and "wu-btc-above-miner-cash-cost" not in ids
        await pilot.press("escape")
        await pilot.press("d")
        await pilot.pause()
        for panel in dashboard.query(ThemePanel):
            rows = [str(k.value) for k in claims_table(dashboard, panel.view.theme_id).rows]
            assert all(tapecheck.verdicts[r].status is Status.DIVERGED for r in rows)
        assert "wu-btc-above-miner-cash-cost" in [str(k.value) for k in claims_table(dashboard, "btc_mining").rows]


async def test_language_toggle_and_help_and_sources() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        dashboard = tapecheck.screen
        panel = next(iter(dashboard.query(ThemePanel)))
        assert "AI capital loop" in str(panel.border_title)
        await pilot.press("L")
        await pilot.pause()
        assert "AI资本循环" in str(panel.border_title)
        await pilot.press("question_mark")
        assert isinstance(tapecheck.screen, HelpScreen)
        assert ("d", "Diverged only") in tapecheck.screen.keys
        await pilot.press("escape", "s")
        assert isinstance(tapecheck.screen, SourcesScreen)
        await pilot.press("escape", "p")  # nothing polls in SNAPSHOT mode: says so
        await pilot.pause()
        assert any("nothing is polled" in n.message for n in tapecheck._notifications)


async def test_a_verdict_flip_notifies() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert tapecheck.verdicts["bb-tesla-btc-11509-over-1bn"].status is Status.DIVERGED
        later = NOW + timedelta(minutes=1)
        tapecheck.tape = MemoryTape([obs("crypto:BTC/USD:last", 95_000, later - timedelta(seconds=5), "coinbase")])
        tapecheck.clock = lambda: later
        tapecheck.rebuild()
        await pilot.pause()
        assert tapecheck.verdicts["bb-tesla-btc-11509-over-1bn"].status is Status.HOLDS
        messages = [n.message for n in tapecheck._notifications]
        assert any(m.startswith("bb-tesla-btc-11509-over-1bn: diverged → holds") for m in messages)
        assert tapecheck.flips["bb-tesla-btc-11509-over-1bn"]


class FailingSource:
    name = "binance"
    kind = "crypto"

    async def fetch(self) -> FetchResult:
        raise SourceError("HTTP 503 from binance")

    async def close(self) -> None:
        pass


async def test_a_failing_source_is_shown_failing_and_last_values_stay(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    now = datetime.now(UTC)
    store.append([obs("crypto:BTC/USD:last", 71_000, now - timedelta(seconds=600), "binance")])
    plan = Planned([FailingSource()], {"binance": Schedule(10, 5)})
    tapecheck = TapecheckApp(load_settings(), load_narratives(), mode="LIVE", tape=store, store=store, planned=plan)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        for _ in range(6000):  # polling starts after the first frame; bounded at 5 min, for a loaded machine
            await pilot.pause(0.05)
            if tapecheck.health.get("binance") and tapecheck.health["binance"].state == "failing":
                break
        await pilot.pause()
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        header = dashboard.query_one(HeaderLine)
        assert [(p.name, p.state) for p in header.pills] == [("binance", "failing")]
        row = next(r for r in next(iter(v for v in tapecheck.views if v.theme_id == "btc_mining")).series
                   if r.series == "crypto:BTC/USD:last")
        assert row.value == 71_000 and row.state == "stale"
        table = dashboard.query_one("#series-btc_mining", DataTable)
        cells = [str(c) for c in table.get_row("crypto:BTC/USD:last")]
        assert "71,000 USD" in cells and any(c.startswith("stale 10m") for c in cells)
        await pilot.press("s")
        assert isinstance(tapecheck.screen, SourcesScreen)
        assert tapecheck.screen.health[0].last_error == "HTTP 503 from binance"


async def test_keys_are_remappable_from_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[keys]\nsources = "o"\n')
    tapecheck = snapshot_app(load_settings(path), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("s")
        assert not isinstance(tapecheck.screen, SourcesScreen)
        await pilot.press("o")
        assert isinstance(tapecheck.screen, SourcesScreen)


async def test_command_palette_opens_a_claim() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"tesla-btc-11509")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(tapecheck.screen, ClaimScreen)
        assert tapecheck.screen.claim.id == "bb-tesla-btc-11509-over-1bn"


async def test_a_tiny_terminal_gets_a_message_not_a_crash() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        assert dashboard.query_one("#too-small").display is True
        assert dashboard.query_one("#panels").display is False
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert dashboard.query_one("#too-small").display is False
        assert dashboard.query_one("#panels").display is True
        for width, height in ((30, 5), (80, 24), (200, 60), (55, 13), (160, 50)):  # a resize storm
            await pilot.resize_terminal(width, height)
        await pilot.pause()
        assert dashboard.query_one("#panels").has_class("wide")


async def test_columns_widen_when_values_arrive() -> None:
    from tui.core.snapshot import read_observations

    tapecheck = TapecheckApp(load_settings(), load_narratives(), mode="SNAPSHOT", tape=MemoryTape([]),
                             clock=lambda: NOW)
    async with tapecheck.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        table = dashboard.query_one("#series-btc_mining", DataTable)
        assert str(table.get_row("crypto:BTC/USD:last")[1]) == "—"
        tapecheck.tape = MemoryTape(read_observations(DATA / "snapshot.jsonl"))
        tapecheck.rebuild()
        await pilot.pause()
        last_column = list(table.columns.values())[1]
        assert str(table.get_row("crypto:BTC/USD:last")[1]) == "71,200 USD"
        assert last_column.content_width >= len("71,230 USDT")


class CountingSource:
    name = "coinbase"
    kind = "crypto"

    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self) -> FetchResult:
        self.calls += 1
        return FetchResult((obs("crypto:BTC/USD:last", 71_000 + self.calls, datetime.now(UTC), "coinbase"),))

    async def close(self) -> None:
        pass


async def test_a_source_whose_values_are_refused_is_yellow_not_green() -> None:
    from tui.collect.poller import Health

    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tapecheck.health = {
            "kraken": Health("kraken", "crypto", "ok", NOW, None, None, 0.2, 0, None, 3,
                             ("refused crypto:DOGE/USD:last: value nan is not finite",)),
            "binance": Health("binance", "crypto", "ok", NOW, None, None, 0.2, 0, None, 5,
                              ("BTC/USD: not listed on binance",)),  # asked of every exchange: not a fault
        }
        tapecheck.tick()
        header = tapecheck.screen.query_one(HeaderLine)
        assert [(p.name, p.state) for p in header.pills] == [("kraken", "partial"), ("binance", "ok")]


async def test_pause_stops_polling_and_resume_restarts_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    source = CountingSource()
    plan = Planned([source], {"coinbase": Schedule(0.05, 1)})
    tapecheck = TapecheckApp(load_settings(), load_narratives(), mode="LIVE", tape=store, store=store, planned=plan)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        for _ in range(6000):  # polling starts once the first frame is drawn (at most 5 min: a loaded machine)
            await pilot.pause(0.05)
            if source.calls >= 2:
                break
        await pilot.press("p")
        for _ in range(2000):  # the last poll's observation on its way to the store
            await pilot.pause(0.05)
            if store.count() == source.calls:
                break
        assert source.calls >= 2
        assert store.count() == source.calls  # every poll's observation reached the store
        paused_at = source.calls
        await pilot.pause(0.3)
        assert source.calls <= paused_at + 1  # at most the poll already under way
        dashboard = tapecheck.dashboard
        assert dashboard is not None and dashboard.query_one(HeaderLine).mode == "LIVE (paused)"
        await pilot.press("p")
        for _ in range(6000):
            await pilot.pause(0.05)
            if source.calls > paused_at + 1:
                break
        assert source.calls > paused_at + 1


async def test_an_empty_store_with_every_source_failing_says_so(tmp_path: Path) -> None:
    store = Store(tmp_path / "empty.sqlite")
    plan = Planned([FailingSource()], {"binance": Schedule(10, 5)})
    tapecheck = TapecheckApp(load_settings(), load_narratives(), mode="LIVE", tape=store, store=store, planned=plan)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        for _ in range(6000):
            await pilot.pause(0.05)
            if tapecheck.told_nothing_answers:
                break
        notes = [n for n in tapecheck._notifications if n.title == "Nothing to show yet"]
        assert len(notes) == 1 and "Press s to see why" in notes[0].message


async def test_a_burst_of_poll_results_is_evaluated_once(tmp_path: Path) -> None:
    from tui.collect.poller import Health

    store = Store(tmp_path / "s.sqlite")
    tapecheck = TapecheckApp(load_settings(), load_narratives(), mode="LIVE", tape=store, store=store)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        rebuilds = 0
        original = tapecheck.rebuild

        def counting() -> None:
            nonlocal rebuilds
            rebuilds += 1
            original()

        tapecheck.rebuild = counting  # type: ignore[method-assign]
        for i in range(6):
            observation = obs("crypto:BTC/USD:last", 70_000 + i, datetime.now(UTC), f"ex{i}")
            await tapecheck.on_poll(FailingSource(), FetchResult((observation,)), Health(f"ex{i}", "crypto", "ok"))
        await pilot.pause(0.5)
        assert rebuilds == 1
        assert store.count() == 6  # every result was stored, only the redraw was shared


async def test_j_and_k_scroll_a_claim_page() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tapecheck.open_claim("wu-btc-above-miner-cash-cost")
        await pilot.pause()
        from tui.ui.screens.detail import Page

        page = tapecheck.screen.query_one(Page)
        assert page.scroll_y == 0 and page.max_scroll_y > 0
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert page.scroll_y > 0
        await pilot.press("k", "k", "k")
        await pilot.pause()
        assert page.scroll_y == 0
