"""Company names beside exchange codes (688795.SS → Moore Threads / 摩尔线程), from the narratives' names.toml,
on the dashboard, the series page and the sources page, in the language of --lang (and of `L`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from textual.widgets import DataTable, Static

from tests.conftest import DATA
from tests.pilot import shown, until
from tui.core.config import load_settings
from tui.core.model import Health, SeriesId
from tui.core.narratives.claims import NarrativeError, load_narratives
from tui.core.narratives.names import NAMES_FILE, load_names, with_names
from tui.core.store.sqlite import Store
from tui.ui.app import live_app, snapshot_app
from tui.ui.screens.series import SeriesScreen
from tui.ui.screens.sources import SourcesScreen

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
SHIPPED = Path(load_narratives.__defaults__[0])  # type: ignore[index]
MOORE = "equity:688795.SS:market_cap"


def test_every_chinese_code_the_narratives_read_has_a_name() -> None:
    narratives = load_narratives()
    series = {s for c in narratives.claims for s in c.series} | {s for t in narratives.themes for s in t.watch}
    codes = {SeriesId.parse(s).symbol for s in series if re.search(r"\.(SS|SZ|HK)$", SeriesId.parse(s).symbol)}
    assert codes and codes <= set(narratives.names), sorted(codes - set(narratives.names))
    assert narratives.name("688795.SS", "en") == "Moore Threads" and narratives.name("688795.SS", "zh") == "摩尔线程"
    assert narratives.name("NVDA", "en") == ""  # a code everyone reads is shown alone


def test_a_bad_names_file_names_its_line(tmp_path: Path) -> None:
    for source in SHIPPED.glob("*.toml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / NAMES_FILE).write_text('[[names]]\nsymbol = "1.SS"\nen = "A"\nzh = "甲"\n\n'
                                       '[[names]]\nsymbol = "2.SS"\nen = "B"\n\n'
                                       '[[names]]\nsymbol = "1.SS"\nen = "C"\nzh = "丙"\n', encoding="utf-8")
    _, problems = load_names(tmp_path / NAMES_FILE)
    assert problems == [f"{tmp_path / NAMES_FILE}:6: each [[names]] needs symbol, en and zh, non-empty text, "
                        "and nothing else", f"{tmp_path / NAMES_FILE}:11: 1.SS is named twice"]
    try:
        load_narratives(tmp_path)
    except NarrativeError as error:
        assert f"{tmp_path / NAMES_FILE}:6:" in str(error)
    else:
        raise AssertionError("a bad names file was accepted")


def test_with_names_puts_the_name_after_each_code() -> None:
    names = load_narratives().names
    assert with_names("yahoo: 688795.SS, 688802.SS: no data", names, "en") == \
        "yahoo: 688795.SS (Moore Threads), 688802.SS (MetaX): no data"
    assert with_names("688795.SS", names, "zh") == "688795.SS (摩尔线程)"


async def test_the_dashboard_and_the_series_page_show_the_name_in_the_language_chosen() -> None:
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(140, 50)) as pilot:
        await shown(pilot, tapecheck)
        table = tapecheck.screen.query_one("#series-china_ai_chips", DataTable)
        assert str(table.get_row(MOORE)[0]) == "688795.SS Moore Threads mkt cap"
        await pilot.press("L")
        await until(pilot, lambda: str(table.get_row(MOORE)[0]) == "688795.SS 摩尔线程 mkt cap", "the Chinese name")
        tapecheck.open_series(MOORE)
        await until(pilot, lambda: isinstance(tapecheck.screen, SeriesScreen), "the series page")
        page = tapecheck.screen

        def text() -> str:
            return "".join(str(w.render()) for w in page.query("#series-text").results(Static))
        await until(pilot, lambda: "CNY" in text(), "its values")
        assert f"{MOORE}  摩尔线程 (Moore Threads)" in text()


async def test_the_sources_page_names_the_companies_in_errors(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.save_health(Health("yahoo", "equities", NOW, "688802.SS: no price in the answer", NOW, 120.0, 1,
                                   None, "failing", ("688795.SS: delisted?",)))
    tapecheck = live_app(load_settings(), load_narratives(), Store(store.path, read_only=True))
    async with tapecheck.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: tapecheck.state is not None and not tapecheck.state.pending, "a state")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(tapecheck.screen, SourcesScreen), "the sources page")
        detail = tapecheck.screen.query_one("#source-detail", Static)
        await until(pilot, lambda: "688795.SS (Moore Threads): delisted?" in str(detail.render()), "the detail")
        assert "688802.SS (MetaX): no price" in str(detail.render())
    store.close()
