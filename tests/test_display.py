"""What a newcomer saw: signals that read without colour, j/k on every table, the sources page using the width it
has, 'off' with its unit in the notifications and in `check`, and the ages kept on a small terminal."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from tests.conftest import DATA, obs
from tests.pilot import shown, sources_page, until
from tests.test_cli import NOW as CHECK_NOW
from tests.test_cli import run
from tests.test_snapshots import LONG_ERROR, NOW, app, sources_app
from tui.core import format as fmt
from tui.core.config import load_settings
from tui.core.model import TapecheckError
from tui.core.narratives.claims import load_narratives
from tui.core.tape import MemoryTape
from tui.ui.app import snapshot_app
from tui.ui.screens.articles import ArticlesScreen
from tui.ui.screens.dashboard import PanelTable
from tui.ui.screens.sources import SourcesScreen
from widgets.header_line import PILL_MARKS, HeaderLine, HeaderStatus, Pill, pill_text
from widgets.table import KeyTable


def test_every_source_state_has_its_own_mark_and_a_word_unless_ok() -> None:
    marks = {state: pill_text(Pill("src", state)) for state in PILL_MARKS}
    assert marks["ok"] == ("●", "src")
    assert marks["failing"] == ("✕", "src FAIL")
    assert pill_text(Pill("yahoo", "rate_limited", "3m")) == ("◐", "yahoo 429 3m")
    assert all(words != "src" for state, (_, words) in marks.items() if state != "ok")
    assert pill_text(Pill("x", "something new"))[1] == "x something new"  # an unknown state still says itself


def test_changes_carry_an_arrow_as_well_as_a_sign() -> None:
    assert fmt.change(1.234) == "▲ +1.23%"
    assert fmt.change(-14.92) == "▼ -14.92%"
    assert fmt.change(0.001) == "= +0.00%"  # rounds to nothing: no arrow that the number does not bear out
    assert fmt.change(None) == "—"


async def test_no_color_keeps_every_signal_in_words_and_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    tapecheck = app()
    async with tapecheck.run_test(size=(60, 15)) as pilot:
        await shown(pilot, tapecheck)
        assert tapecheck.no_color
        mining = tapecheck.screen.query_one("#claims-btc_mining", PanelTable)
        now = mining.get_row_at(0)[1]
        assert isinstance(now, Text) and now.plain == "DIVERGED" and "reverse" in str(now.style)
        series = tapecheck.screen.query_one("#series-btc_mining", PanelTable)
        cells = [str(c) for c in series.get_row("crypto:BTC/USD:last")]
        assert cells[:4] == ["BTC/USD", "71,200.00 USD", "30s", "▼ -14.92%"]  # the age beside the value
        header = tapecheck.screen.query_one(HeaderStatus)
        assert "9 diverged" in header.render().plain  # the count survives 60 columns


async def test_at_sixty_columns_the_ages_and_the_claimed_values_show_and_the_claim_text_gives_way() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(60, 15)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("2")
        await pilot.pause()
        series = tapecheck.screen.query_one("#series-btc_mining", PanelTable)
        claims = tapecheck.screen.query_one("#claims-btc_mining", PanelTable)
        columns = list(series.columns.values())
        age_ends = sum(c.get_render_width(series) for c in columns[:3])
        assert age_ends <= series.scrollable_content_region.width  # the age column is on screen whole
        widths = [c.get_render_width(claims) for c in claims.columns.values()]
        assert sum(widths[:5]) <= claims.size.width  # then, now, off, live, claimed: whole
        assert sum(widths) > claims.size.width  # the claim's text is what is cut


async def test_j_and_k_move_the_cursor_on_the_sources_page_as_the_ages_tick(tmp_path: Path) -> None:
    tapecheck, store = sources_app(tmp_path / "s.sqlite")
    async with tapecheck.run_test(size=(120, 30)) as pilot:
        await shown(pilot, tapecheck)
        screen = await sources_page(pilot, tapecheck)
        table = screen.query_one("#sources", KeyTable)
        assert table.cursor_row == 1  # it opens on the first source in trouble, its whole error below
        assert LONG_ERROR in str(screen.query_one("#source-detail").render())
        await pilot.press("k")
        assert table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        screen.redraw()  # a tick: the same rows, refilled in place
        await pilot.press("k")
        assert table.cursor_row == 1
        header = [str(c.label) for c in table.columns.values()]
        assert header == list(SourcesScreen.COLUMNS)
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= 120  # nothing cut at 120
        assert str(table.get_row("mempool")[-1]).endswith("…")  # too long for 120: clipped, shown whole below
    store.close()


async def test_at_two_hundred_columns_the_last_error_fills_the_width(tmp_path: Path) -> None:
    tapecheck, store = sources_app(tmp_path / "s.sqlite")
    async with tapecheck.run_test(size=(200, 40)) as pilot:
        await shown(pilot, tapecheck)
        await sources_page(pilot, tapecheck)
        table = tapecheck.screen.query_one("#sources", KeyTable)
        shown_error = str(table.get_row("mempool")[-1])
        assert len(shown_error) > 100 and LONG_ERROR.startswith(shown_error.rstrip("…"))
    store.close()


async def test_j_and_k_move_the_cursor_on_the_articles_page() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(100, 30)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(tapecheck.screen, ArticlesScreen), "the articles page")
        table = tapecheck.screen.query_one(KeyTable)
        await until(pilot, lambda: table.row_count > 3, "the scorecards")
        await pilot.press("j", "j", "j")
        assert table.cursor_row == 3
        await pilot.press("k")
        assert table.cursor_row == 2


async def test_a_flip_notice_says_how_far_off_with_scaled_amounts() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        later = NOW + timedelta(minutes=1)
        tapecheck.engine.tape = MemoryTape([obs("crypto:BTC/USD:last", 95_000, later - timedelta(seconds=5),
                                                "coinbase")])
        tapecheck.engine.clock = lambda: later
        tapecheck.build_state()
        await until(pilot, lambda: any("diverged → holds" in n.message for n in tapecheck._notifications), "the flip")
        message = next(n.message for n in tapecheck._notifications if "bb-tesla-btc-11509-over-1bn" in n.message)
        assert "off +9.3%: 11,509 × 95,000.00 USD = 1.09B USD > 1.00B USD claimed" in message


def test_check_says_off_in_percentage_points_for_a_percentage(capsys: pytest.CaptureFixture[str],
                                                               snapshot_path: Path) -> None:
    _, out, _ = run(capsys, "check", "--snapshot", str(snapshot_path), "--now", CHECK_NOW)
    block = "\n".join(out.split("tmt-junda-20cm-limit-up-0123", 1)[1].splitlines()[:6])  # its lines in `check`
    assert "claimed >= +20.0% · live +10.0% · off -10.0 pp" in block
    assert "then (2026-01-23): WRONG · +10.0% · off -10.0 pp" in block
    assert "1,000M" not in out and "off -50.0%" not in out


def test_check_json_says_off_as_the_table_does(capsys: pytest.CaptureFixture[str], snapshot_path: Path) -> None:
    _, out, _ = run(capsys, "check", "--snapshot", str(snapshot_path), "--now", CHECK_NOW, "--json")
    verdicts = {v["id"]: v for v in json.loads(out)["verdicts"]}
    junda = verdicts["tmt-junda-20cm-limit-up-0123"]
    assert (junda["off"], junda["then_off"], round(junda["deviation_pct"])) == ("-10.0 pp", "-10.0 pp", -50)
    assert verdicts["bb-tesla-btc-11509-over-1bn"]["off"] == "-18.1%"


class HeaderOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield HeaderLine()


async def test_on_a_narrow_live_header_the_counts_outlast_the_alarm() -> None:
    header_app = HeaderOnly()
    async with header_app.run_test(size=(60, 3)) as pilot:
        header = header_app.query_one(HeaderLine)
        header.show(mode="LIVE", flagged="8 diverged · 2 wrong then", pills=(Pill("binance", "failing"),),
                    alarm="collector down since 14:02")
        header.tick("14:02:03 UTC")
        await pilot.pause()
        plain = header_app.query_one(HeaderStatus).render().plain
        assert "8 diverged · 2 wrong then" in plain and " collector… " in plain
    header_app = HeaderOnly()
    async with header_app.run_test(size=(120, 3)) as pilot:
        header = header_app.query_one(HeaderLine)
        header.show(mode="LIVE", flagged="8 diverged", pills=(Pill("binance", "failing"),),
                    alarm="collector down since 14:02")
        await pilot.pause()
        plain = header_app.query_one(HeaderStatus).render().plain
        assert "collector down since 14:02   8 diverged  ✕ binance FAIL" in plain


async def test_the_theme_comes_from_the_config_and_an_unknown_one_is_said(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[display]\ntheme = "tapecheck-colour-blind"\n')
    settings = load_settings(path)
    tapecheck = snapshot_app(settings, load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(80, 24)) as pilot:
        await shown(pilot, tapecheck)
        assert tapecheck.theme == "tapecheck-colour-blind"
        dark = tapecheck.get_theme("textual-dark")
        assert dark is not None and tapecheck.current_theme.error != dark.error  # orange, not red
    path.write_text('[display]\ntheme = "no-such-theme"\n')
    tapecheck = snapshot_app(load_settings(path), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(80, 24)) as pilot:
        await shown(pilot, tapecheck)
        assert tapecheck.theme == "textual-dark"
        assert any("no theme 'no-such-theme'" in n.message for n in tapecheck._notifications)
    path.write_text('[display]\ntheme = "Bad Theme!"\n')
    with pytest.raises(TapecheckError, match=r"c\.toml.*theme"):
        load_settings(path)
