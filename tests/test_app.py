"""Pilot tests: the dashboard driven by keys over a snapshot, and as a viewer of a store that the test writes
as a collector would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.command import CommandList
from textual.widgets import DataTable

from tests.conftest import DATA, obs
from tests.pilot import shown, until
from tui.core.config import load_settings
from tui.core.judge.engine import Engine
from tui.core.model import Health, Status
from tui.core.narratives.claims import load_narratives
from tui.core.store.base import SqlStore
from tui.core.store.sqlite import Store
from tui.core.tape import MemoryTape
from tui.ui.app import TapecheckApp, live_app, snapshot_app
from tui.ui.feed import Feed
from tui.ui.screens.claim import ClaimScreen
from tui.ui.screens.dashboard import DashboardScreen, ThemePanel
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.series import SeriesScreen
from tui.ui.screens.sources import SourcesScreen
from widgets.header_line import HeaderClock, HeaderStatus

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def app() -> TapecheckApp:
    return snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)


def claims_table(dashboard: DashboardScreen, theme: str) -> DataTable:  # type: ignore[type-arg]
    return dashboard.query_one(f"#claims-{theme}", DataTable)


async def test_main_screen_shows_every_theme_and_the_header() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.screen
        assert isinstance(dashboard, DashboardScreen)
        panels = list(dashboard.query(ThemePanel))
        assert [p.view.theme_id for p in panels][:2] == ["ai_capital_loop", "btc_mining"]
        assert len(panels) == 9
        header = dashboard.query_one(HeaderStatus)
        assert header.mode == "SNAPSHOT" and dashboard.query_one(HeaderClock).time == "2026-01-26 06:00:00 UTC"
        state = tapecheck.state
        assert state is not None
        diverged = sum(1 for v in state.verdicts.values() if v.status is Status.DIVERGED)
        wrong = [v.claim_id for v in state.then.values() if v.status is Status.DIVERGED]
        articles_wrong = [c for c in wrong if not tapecheck.narratives.claim(c).derived]
        assert (diverged, len(wrong), len(articles_wrong)) == (9, 4, 2)  # two are our own "still above" claims
        assert state.wrong_then == 2
        assert header.flagged == "9 diverged (4 ours) · 2 wrong then"
        mining = claims_table(dashboard, "btc_mining")
        first = mining.get_row_at(0)
        assert str(first[1]) == "DIVERGED" and str(first[0]) == "held"  # diverged first; it held on its date


async def test_jump_move_and_drill_into_a_claim_and_back() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("8")
        table = tapecheck.focused
        assert isinstance(table, DataTable) and table.id == "claims-tycoons_and_coins"
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("k", "enter")
        assert isinstance(tapecheck.screen, ClaimScreen)
        assert tapecheck.screen.claim.id == "bb-tesla-btc-11509-over-1bn"  # diverged: first in Musk's panel
        await pilot.press("escape")
        assert isinstance(tapecheck.screen, DashboardScreen)


async def test_claim_screen_shows_then_now_and_the_move_between() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 60)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_claim("wu-btc-above-miner-cash-cost")  # held on 2025-12-31, diverged now
        await shown(pilot, tapecheck)
        screen = tapecheck.screen
        assert isinstance(screen, ClaimScreen)
        assert tapecheck.state is not None
        then = tapecheck.state.then["wu-btc-above-miner-cash-cost"]
        assert then.live_value is not None
        text = screen.describe().plain
        assert f"Then (2025-12-31) held  value {then.live_value:,.2f} USD" in text  # a crypto price, to the cent
        assert "Now DIVERGED  value 71,200.00 USD  off -4.6%" in text
        assert f"Move since then {(71_200 / then.live_value - 1) * 100:+.1f}%" in text
        assert "It held on its date; the market has moved away from it since." in text
        await pilot.press("escape")
        tapecheck.open_claim("tmt-junda-20cm-limit-up-0123")
        await shown(pilot, tapecheck)
        text = tapecheck.screen.describe().plain  # type: ignore[attr-defined]
        assert "Then (2026-01-23) WRONG  value +10.0%  off -10.0 pp" in text  # percentage points, not -50%
        assert "The article's error: WRONG on its own date, the record does not support its figure." in text


async def test_drill_into_a_series_and_change_range() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("2", "shift+tab")
        table = tapecheck.focused
        assert isinstance(table, DataTable) and table.id == "series-btc_mining"
        await pilot.press("j", "j", "enter")
        screen = tapecheck.screen
        assert isinstance(screen, SeriesScreen) and screen.series == "crypto:BTC/USD:last"
        await until(pilot, lambda: screen.latest, "the series' latest values")
        assert {o.source for o in screen.latest} == {"coinbase", "kraken", "bitstamp"}
        await pilot.press("4")
        assert screen.range == "4"
        await until(pilot, lambda: screen.latest, "the series' latest values")
        await pilot.press("escape")
        assert isinstance(tapecheck.screen, DashboardScreen)


async def test_filter_and_diverged_only() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("slash")
        await pilot.press(*"hashrate")
        await pilot.press("enter")
        await shown(pilot, tapecheck)
        dashboard = tapecheck.screen
        assert isinstance(dashboard, DashboardScreen)
        mining = claims_table(dashboard, "btc_mining")
        ids = [str(k.value) for k in mining.rows]
        assert "wu-hashrate-above-1zh" in ids and "wu-btc-above-miner-cash-cost" not in ids
        await pilot.press("escape")
        await pilot.press("d")
        await shown(pilot, tapecheck)
        for panel in dashboard.query(ThemePanel):
            rows = [str(k.value) for k in claims_table(dashboard, panel.view.theme_id).rows]
            assert all(tapecheck.state.verdicts[r].status is Status.DIVERGED for r in rows)  # type: ignore[union-attr]
        assert "wu-btc-above-miner-cash-cost" in [str(k.value) for k in claims_table(dashboard, "btc_mining").rows]


async def test_language_toggle_and_help_and_sources() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.screen
        panel = next(iter(dashboard.query(ThemePanel)))
        assert "AI capital loop" in str(panel.border_title)
        await pilot.press("L")
        await shown(pilot, tapecheck)
        assert "AI资本循环" in str(panel.border_title)
        await pilot.press("question_mark")
        assert isinstance(tapecheck.screen, HelpScreen)
        assert ("d", "Diverged only") in tapecheck.screen.keys
        assert ("r", "Refresh") in tapecheck.screen.keys
        assert not any(what.startswith("Scroll") for _, what in tapecheck.screen.keys)  # not a table's own keys
        described = [what for _, what in tapecheck.screen.keys]
        assert len(described) == len(set(described))  # each once: ^p and the palette are one line, q and ^q one
        keys = dict((what, key) for key, what in tapecheck.screen.keys)
        assert keys["Next panel"].split() == ["tab", "l"] and "q" in keys["Quit"].split()
        await pilot.press("escape", "s")
        assert isinstance(tapecheck.screen, SourcesScreen)
        await pilot.press("escape", "p")  # nothing polls in SNAPSHOT mode: says so
        await shown(pilot, tapecheck)
        assert any("nothing is polled" in n.message for n in tapecheck._notifications)


async def test_a_verdict_flip_notifies() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        assert tapecheck.state is not None
        assert tapecheck.state.verdicts["bb-tesla-btc-11509-over-1bn"].status is Status.DIVERGED
        later = NOW + timedelta(minutes=1)
        tapecheck.engine.tape = MemoryTape([obs("crypto:BTC/USD:last", 95_000, later - timedelta(seconds=5),
                                                "coinbase")])
        tapecheck.engine.clock = lambda: later
        tapecheck.build_state()
        await until(pilot, lambda: tapecheck.state.verdicts["bb-tesla-btc-11509-over-1bn"].status  # type: ignore[union-attr]
                    is Status.HOLDS, "the flip")
        messages = [n.message for n in tapecheck._notifications]
        assert any(m.startswith("bb-tesla-btc-11509-over-1bn: diverged → holds") for m in messages)
        assert tapecheck.state.flips["bb-tesla-btc-11509-over-1bn"]


def viewer(path: Path) -> TapecheckApp:
    """A LIVE dashboard over the store at `path`, read-only, that never starts a collector."""
    return live_app(load_settings(), load_narratives(), Store(path, read_only=True))


def failing(source: str, error: str) -> Health:
    now = datetime.now(UTC)
    return Health(source, "crypto", None, error, now, None, 3, now + timedelta(seconds=30), "failing")


async def test_a_failing_source_is_shown_failing_and_last_values_stay(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    now = datetime.now(UTC)
    store.append([obs("crypto:BTC/USD:last", 71_000, now - timedelta(seconds=600), "binance")])
    store.save_health(failing("binance", "HTTP 503 from binance"))
    tapecheck = viewer(store.path)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        header = dashboard.query_one(HeaderStatus)
        assert [(p.name, p.state) for p in header.pills] == [("binance", "failing")]
        assert header.alarm == "collector down"  # nothing writes this store, and none ever did: no "since"
        state = tapecheck.state
        assert state is not None
        row = next(r for r in next(iter(v for v in state.views if v.theme_id == "btc_mining")).series
                   if r.series == "crypto:BTC/USD:last")
        assert row.value == 71_000 and row.state == "stale"
        table = dashboard.query_one("#series-btc_mining", DataTable)
        cells = [str(c) for c in table.get_row("crypto:BTC/USD:last")]
        assert "71,000.00 USD" in cells and any(c.startswith("stale 10m") for c in cells)
        await pilot.press("s")
        assert isinstance(tapecheck.screen, SourcesScreen)
        await until(pilot, lambda: tapecheck.screen.health, "the health records")  # type: ignore[attr-defined]
        assert tapecheck.screen.health[0].last_error == "HTTP 503 from binance"


async def test_keys_are_remappable_from_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[keys]\nsources = "o"\n')
    tapecheck = snapshot_app(load_settings(path), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("s")
        assert not isinstance(tapecheck.screen, SourcesScreen)
        await pilot.press("o")
        assert isinstance(tapecheck.screen, SourcesScreen)


async def test_command_palette_opens_a_claim() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("ctrl+p")
        await shown(pilot, tapecheck)
        await pilot.press(*"tesla-btc-11509")

        def top_hit() -> bool:  # the palette's search has put the claim first and highlighted it
            found = tapecheck.screen.query(CommandList)
            return bool(found) and found.first().highlighted == 0 and \
                "11509" in str(found.first().get_option_at_index(0).prompt)

        await until(pilot, top_hit, "the claim as the palette's first hit")
        await pilot.press("enter")
        await shown(pilot, tapecheck)
        assert isinstance(tapecheck.screen, ClaimScreen)
        assert tapecheck.screen.claim.id == "bb-tesla-btc-11509-over-1bn"


async def test_command_palette_jumps_to_a_theme_from_a_claim_page() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_claim("bb-tesla-btc-11509-over-1bn")
        await pilot.press("ctrl+p")
        await pilot.press(*"Theme 8")

        def top_hit() -> bool:
            found = tapecheck.screen.query(CommandList)
            return bool(found) and found.first().highlighted == 0 and \
                "Theme 8" in str(found.first().get_option_at_index(0).prompt)

        await until(pilot, top_hit, "the theme as the palette's first hit")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(tapecheck.screen, DashboardScreen), "back on the dashboard")
        await until(pilot, lambda: getattr(tapecheck.focused, "id", None) == "claims-tycoons_and_coins",
                    "the eighth panel's claims focused")


async def test_a_tiny_terminal_gets_a_message_not_a_crash() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(40, 10)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        assert dashboard.query_one("#too-small").display is True
        assert dashboard.query_one("#panels").display is False
        await pilot.resize_terminal(120, 40)
        await shown(pilot, tapecheck)
        assert dashboard.query_one("#too-small").display is False
        assert dashboard.query_one("#panels").display is True
        for width, height in ((30, 5), (80, 24), (200, 60), (55, 13), (160, 50)):  # a resize storm
            await pilot.resize_terminal(width, height)
        await shown(pilot, tapecheck)
        assert dashboard.query_one("#panels").has_class("wide")


async def test_columns_widen_when_values_arrive() -> None:
    from tui.core.snapshot import read_observations

    settings, narratives = load_settings(), load_narratives()
    engine = Engine(narratives, settings, MemoryTape([]), lambda: NOW)
    tapecheck = TapecheckApp(settings, narratives, Feed("SNAPSHOT", engine))
    async with tapecheck.run_test(size=(160, 50)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        table = dashboard.query_one("#series-btc_mining", DataTable)
        assert str(table.get_row("crypto:BTC/USD:last")[1]) == "—"
        engine.tape = MemoryTape(read_observations(DATA / "snapshot.jsonl"))
        tapecheck.build_state()
        await until(pilot, lambda: str(table.get_row("crypto:BTC/USD:last")[1]) == "71,200.00 USD", "the new value")
        last_column = list(table.columns.values())[1]
        assert last_column.content_width >= len("71,230 USDT")


async def test_a_source_whose_values_are_refused_is_yellow_not_green(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    now = datetime.now(UTC)
    store.save_health(Health("kraken", "crypto", now, None, None, 200, 0, None, "ok",
                                   ("refused crypto:DOGE/USD:last: value nan is not finite",)))
    store.save_health(Health("binance", "crypto", now, None, None, 200, 0, None, "ok",
                                   ("BTC/USD: not listed on binance",)))  # asked of every exchange: not a fault
    store.save_health(Health("yahoo", "equities", now, None, None, 200, 0, None, "ok",
                                   ("NVDAA: Yahoo did not quote it (no quote in its answer)",)))  # a typo unquoted
    tapecheck = viewer(store.path)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        header = tapecheck.screen.query_one(HeaderStatus)
        assert [(p.name, p.state) for p in header.pills] == [("binance", "ok"), ("kraken", "partial"),
                                                             ("yahoo", "partial")]


async def test_r_and_p_are_requests_to_the_collector_asked_first_and_signed(tmp_path: Path) -> None:
    """r and p act for the whole desk: each asks first (n and Escape send nothing), and the request names who sent
    it; the pause shows in every dashboard's header with that name and the time."""
    from dataclasses import replace

    from tui.core.store.sqlite import requester, this_collector
    from tui.ui.screens.confirm import ConfirmScreen

    store = Store(tmp_path / "s.sqlite")
    assert store.try_lock_collector()  # this test is the collector
    tapecheck = viewer(store.path)
    async with tapecheck.run_test(size=(160, 40)) as pilot:
        await shown(pilot, tapecheck)
        assert tapecheck.screen.query_one(HeaderStatus).alarm == ""  # a collector runs
        await pilot.press("p")
        await until(pilot, lambda: isinstance(tapecheck.screen, ConfirmScreen), "the question")
        await pilot.press("n")  # a stray p: nothing is sent
        await pilot.press("r", "escape")
        assert store.take_requests(0) == [] and not isinstance(tapecheck.screen, ConfirmScreen)
        await pilot.press("r", "y", "p", "y")
        await until(pilot, lambda: len(store.take_requests(0)) == 2, "two requests in the store")
        who = requester()
        assert [kind for _, kind in store.take_requests(0)] == [f"refresh:{who}", f"pause:{who}"]
        store.save_collector(replace(this_collector(), paused=True))  # as the collector does on the request
        header = tapecheck.screen.query_one(HeaderStatus)
        await until(pilot, lambda: f"(paused by {who} at " in header.mode, "the pause, signed, in the header")
    store.close()


async def test_an_empty_store_with_every_source_failing_says_so(tmp_path: Path) -> None:
    store = Store(tmp_path / "empty.sqlite")
    store.save_health(failing("binance", "HTTP 503 from binance"))
    tapecheck = viewer(store.path)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: tapecheck.told_nothing_answers, "the notice")
        notes = [n for n in tapecheck._notifications if n.title == "Nothing to show yet"]
        assert len(notes) == 1 and "Press s to see why" in notes[0].message


async def test_a_viewer_shows_each_commit_and_rereads_only_what_changed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    now = datetime.now(UTC)
    store.append([obs("crypto:BTC/USD:last", 70_000, now - timedelta(seconds=5), "coinbase"),
                  obs("crypto:DOGE/USD:last", 0.1, now - timedelta(seconds=5), "coinbase")])
    tapecheck = viewer(store.path)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        read_only = tapecheck.store
        assert isinstance(read_only, SqlStore)
        assert {"crypto:BTC/USD:last", "crypto:DOGE/USD:last"} <= set(read_only._cache.newest)
        kept = read_only._cache.newest["crypto:DOGE/USD:last"]
        store.append([obs("crypto:BTC/USD:last", 72_000, datetime.now(UTC), "coinbase")])

        def btc() -> float | None:
            state = tapecheck.state
            rows = [r for v in state.views for r in v.series if r.series == "crypto:BTC/USD:last"] if state else []
            return rows[0].value if rows else None

        await until(pilot, lambda: btc() == 72_000, "the committed value on screen")
        assert read_only._cache.newest["crypto:DOGE/USD:last"] is kept  # not read again: it did not change


async def test_a_claim_page_follows_the_store_and_its_age_ticks(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    now = datetime.now(UTC)
    store.append([obs("crypto:BTC/USD:last", 70_000, now - timedelta(seconds=30), "coinbase")])
    tapecheck = viewer(store.path)
    async with tapecheck.run_test(size=(120, 60)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_claim("bb-tesla-btc-11509-over-1bn")
        await until(pilot, lambda: isinstance(tapecheck.screen, ClaimScreen) and tapecheck.screen.verdict,
                    "the claim page")
        page = tapecheck.screen
        assert isinstance(page, ClaimScreen)
        assert page.header() is not None
        text = page.query_one("#claim-text").render()
        assert "value 806M USD" in str(text)  # 11,509 × 70,000
        first_age = page.verdict.age_s if page.verdict else None
        assert first_age is not None
        page.tick(datetime.now(UTC) + timedelta(seconds=90))  # the clock moves on: the age with it
        assert "data age 2m" in str(page.query_one("#claim-text").render())
        store.append([obs("crypto:BTC/USD:last", 95_000, datetime.now(UTC), "coinbase")])
        await until(pilot, lambda: page.verdict is not None and page.verdict.live_value == 11_509 * 95_000,
                    "the new value on the claim page")
        assert "value 1.09B USD" in str(page.query_one("#claim-text").render())


async def test_d_on_a_claim_page_leaves_the_dashboard_alone() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        tapecheck.open_claim("bb-tesla-btc-11509-over-1bn")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert dashboard.diverged_only is False
        await pilot.press("escape", "d")
        assert dashboard.diverged_only is True


async def test_a_failing_worker_and_a_failing_store_are_said_and_the_dashboard_runs_on(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    tapecheck = viewer(store.path)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)

        def broken() -> None:
            raise OSError("disk I/O error")

        tapecheck.engine.build = broken  # type: ignore[assignment,method-assign]
        store.append([obs("crypto:BTC/USD:last", 70_000, datetime.now(UTC), "coinbase")])  # wake the viewer
        await until(pilot, lambda: any(n.title == "Cannot read the store" for n in tapecheck._notifications),
                    "the store's error")
        assert tapecheck.is_running
        held = tapecheck.store
        assert held is not None
        held.post_request = lambda kind: (_ for _ in ()).throw(RuntimeError("no room"))  # type: ignore[method-assign]
        tapecheck.feed.ask_collector("refresh", "asked")  # a worker that raises: said, and nothing ends
        await until(pilot, lambda: any("no room" in n.message for n in tapecheck._notifications), "the failure")
        assert tapecheck.is_running
        await pilot.press("s")
        assert isinstance(tapecheck.screen, SourcesScreen)


async def test_j_and_k_scroll_a_claim_page() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(80, 24)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_claim("wu-btc-above-miner-cash-cost")
        await until(pilot, lambda: isinstance(tapecheck.screen, ClaimScreen) and tapecheck.screen.verdict,
                    "the claim page")
        await pilot.pause()
        from tui.ui.screens.page import Page

        page = tapecheck.screen.query_one(Page)
        assert page.scroll_y == 0 and page.max_scroll_y > 0
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert page.scroll_y > 0
        await pilot.press("k", "k", "k")
        await pilot.pause()
        assert page.scroll_y == 0


async def test_a_narrow_header_keeps_the_counts_and_gives_up_the_name_first() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(60, 15)) as pilot:
        await shown(pilot, tapecheck)
        status = tapecheck.screen.query_one(HeaderStatus)
        shown_text = status.render().plain
        # the counts are never what is cut (their detail in parentheses may be); the name goes first
        assert "9 diverged" in shown_text and "· 2 wrong then" in shown_text
        assert "tapecheck" not in shown_text and shown_text.startswith(" SNAPSHOT ")
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert status.render().plain.startswith(" tapecheck  SNAPSHOT ")
