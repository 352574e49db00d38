"""Pilot tests: the Articles screen on `a`, Enter on a claim to its page, and what the claim page says of the
article (its quote, its errors) and of our own derived claims."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from tests.conftest import DATA
from tests.pilot import shown
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.ui.app import TapecheckApp, snapshot_app
from tui.ui.screens.articles import ArticlesScreen
from tui.ui.screens.claim import ClaimScreen
from tui.ui.screens.dashboard import DashboardScreen, ThemePanel
from widgets.header_line import HeaderStatus

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def app() -> TapecheckApp:
    return snapshot_app(load_settings(), load_narratives(), DATA / "article_history.jsonl.gz", NOW)


def row_keys(table: DataTable) -> list[str]:  # type: ignore[type-arg]
    return [str(table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value) for i in range(table.row_count)]


async def test_articles_screen_lists_scorecards_and_opens_a_claim() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(140, 45)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("a")
        await pilot.pause()
        screen = tapecheck.screen
        assert isinstance(screen, ArticlesScreen)
        table = screen.query_one(DataTable)
        keys = row_keys(table)
        articles = [k for k in keys if k.startswith("article:") and not k.endswith(":tally")]
        assert len(articles) == len(tapecheck.narratives.articles)
        assert keys.index("article:ai-capital-inner-loop") < keys.index("claim:loop-oracle-added-250bn")
        assert "error:loop-oracle-added-250bn" in keys  # the article's own error, under its claim
        assert any(k.startswith("outlet:") for k in keys)
        heading = str(table.get_row("article:baobian-moore-threads")[3])
        assert "(our title)" in heading and "(date inferred)" in heading
        target = keys.index("claim:loop-oracle-added-250bn")
        table.move_cursor(row=target)
        assert str(table.get_row_at(target)[1]) == "WRONG"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(tapecheck.screen, ClaimScreen)
        assert tapecheck.screen.claim.id == "loop-oracle-added-250bn"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(tapecheck.screen, ArticlesScreen)
        table.move_cursor(row=keys.index("article:ai-capital-inner-loop"))
        await pilot.press("enter")  # a heading row opens nothing
        await pilot.pause()
        assert isinstance(tapecheck.screen, ArticlesScreen)


async def test_derived_claims_are_marked_ours_and_not_counted_wrong() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(140, 45)) as pilot:
        await shown(pilot, tapecheck)
        claims = {c.id: c for c in tapecheck.narratives.claims}
        assert tapecheck.state is not None
        # the articles' sentences wrong then: a claim of our reading (every derived one) is never among them, and
        # claims quoting one sentence count once
        wrong = len({claims[v.claim_id].sentence for v in tapecheck.state.then.values()
                     if v.status == "diverged" and not claims[v.claim_id].ours})
        header = tapecheck.screen.query_one(HeaderStatus)
        assert header.flagged.endswith(f"{wrong} wrong then")
        await pilot.press("a")
        await pilot.pause()
        table = tapecheck.screen.query_one(DataTable)
        summary = str(table.get_row("claim:tmt-junda-holds-above-9944")[3])
        assert summary.startswith("(ours) ")


async def test_nine_panels_and_key_9_jumps_to_the_ninth() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(140, 45)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.screen
        assert isinstance(dashboard, DashboardScreen)
        panels = list(dashboard.query(ThemePanel))
        assert len(panels) == 9
        await pilot.press("9")
        await pilot.pause()
        focused = tapecheck.focused
        assert focused is not None and focused.id is not None and panels[8].view.theme_id in focused.id


async def test_claim_page_quotes_the_article_and_shows_its_error() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(140, 60)) as pilot:
        await pilot.pause()
        tapecheck.open_claim("wu-hashrate-first-1zh-in-december")
        await pilot.pause()
        text = str(tapecheck.screen.query_one("#claim-text", Static).render())
        assert "The article (paragraph 15) 2025 年 12 月,比特幣全網算力正式突破 1 ZH/s" in text
        assert "In English " in text
        assert "The article's error: WRONG on its own date" in text
        assert "2025-09-19" in text
        await pilot.press("escape")
        tapecheck.open_claim("tmt-junda-holds-above-9944")
        await pilot.pause()
        text = str(tapecheck.screen.query_one("#claim-text", Static).render())
        assert "Ours: a claim we derived" in text
        await pilot.press("escape")
        tapecheck.open_claim("bb-nvidia-doj-sec-accusation")
        await pilot.pause()
        text = str(tapecheck.screen.query_one("#claim-text", Static).render())
        assert "The article's error " in text and "SEC" in text
        assert "(our title)" in text and "(date inferred)" in text
        assert "The article The seed has no headline: the title is ours." in text  # the article's own notes


async def test_articles_screen_shows_notes_and_a_rows_whole_text() -> None:
    """Each article's notes are rows of its scorecard; the highlighted row's whole text (a long note, a quote,
    our reading, an error) shows below the table, where a row cuts it."""
    tapecheck = app()
    async with tapecheck.run_test(size=(80, 24)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("a")
        await pilot.pause()
        screen = tapecheck.screen
        assert isinstance(screen, ArticlesScreen)
        table = screen.query_one(DataTable)
        keys = row_keys(table)
        note = next(k for k in keys if k.startswith("note:tmt-space-solar:") and "Taiwan" in screen.full[k])
        table.move_cursor(row=keys.index(note))
        await pilot.pause()
        detail = str(screen.query_one("#articles-detail", Static).render())
        assert "The article's note:" in detail and "Taiwan" in detail
        table.move_cursor(row=keys.index("claim:loop-nvidia-coreweave-stake-7pct"))
        await pilot.pause()
        detail = str(screen.query_one("#articles-detail", Static).render())
        assert "(our reading)" in detail and "Our reading: The denominator is ours" in detail


async def test_home_and_end_go_to_the_first_and_last_row() -> None:
    """End on the Articles table goes to its last row; it once scrolled far right, past the claims' words."""
    tapecheck = app()
    async with tapecheck.run_test(size=(80, 24)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("a")
        await pilot.pause()
        table = tapecheck.screen.query_one(DataTable)
        assert table.max_scroll_x > 0  # the outlet totals are wider than the terminal
        await pilot.press("end")
        await pilot.pause()
        assert (table.cursor_row, table.scroll_x) == (table.row_count - 1, 0)
        assert table.scroll_y == table.max_scroll_y
        await pilot.press("home")
        await pilot.pause()
        assert (table.cursor_row, table.scroll_x, table.scroll_y) == (0, 0, 0)
