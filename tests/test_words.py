"""One vocabulary for verdicts (tui/core/words.py) on every surface: the dashboard's table, the claim page, the
articles page, `check`, `status` and the README. The table says WRONG where a claim failed on its own date;
so must the page, never `DIVERGED` for a then-verdict, nor `NO_DATA` or `HOLDS` anywhere a person reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.pilot import shown
from tui.cli import main
from tui.core.config import load_settings
from tui.core.model import Status
from tui.core.narratives.claims import load_narratives
from tui.core.words import NOT_MET, NOW_WORDS, THEN_WORDS, WRONG_THEN
from tui.ui.app import snapshot_app
from tui.ui.screens.articles import ArticlesScreen
from tui.ui.screens.dashboard import DashboardScreen

ROOT = Path(__file__).parent.parent
NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
WRONG_CLAIM = "tmt-junda-20cm-limit-up-0123"  # the article's figure, not supported on its own date
OURS_NOT_MET = "tmt-junda-still-up-250pct"  # a rule of ours that fails on its date
CONTEXT = "bb-moore-threads-beat-99pct"


def test_the_source_spells_no_verdict_by_hand() -> None:
    """A status shown through `.upper()` or `str()` would bypass the words (it gave `NO_DATA`, `HOLDS`)."""
    found = [f"{path}:{n}" for path in sorted((ROOT / "tui").rglob("*.py")) if path.name != "words.py"
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if re.search(r"status\.upper\(\)|\"(HOLDS|NO_DATA|NO DATA)\"", line)]
    assert found == []


def test_the_readme_uses_the_words() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for word in (*NOW_WORDS.values(), *THEN_WORDS.values(), NOT_MET, WRONG_THEN):
        assert f"`{word}`" in readme or f"{word}" in readme, word
    prose = re.sub(r"`[^`]*`", "", readme)  # JSON field values (`no_data`) are code, not words
    assert "NO_DATA" not in prose and "HOLDS" not in prose


def test_check_speaks_the_same_words(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", "2026-01-26T06:00:00Z"])
    out = capsys.readouterr().out
    assert "NO_DATA" not in out and "HOLDS" not in out
    assert re.search(r"^  holds +wu-hashrate-above-1zh$", out, re.M) and re.search(r"^  no data +", out, re.M)
    assert re.search(r"\d+ no data", out.splitlines()[0]) and f" {WRONG_THEN} (" in out.splitlines()[0]
    assert "then (2026-01-23): WRONG · " in out and "· wrong on its own date" in out
    assert f"then (2025-11-24): {NOT_MET} · " in out or f": {NOT_MET} · " in out


async def test_table_page_and_articles_say_the_same() -> None:
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 60)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.screen
        assert isinstance(dashboard, DashboardScreen)
        table = next(t for t in dashboard.query("DataTable.claims") if WRONG_CLAIM in [str(k.value) for k in t.rows])  # type: ignore[attr-defined]
        row = table.get_row(WRONG_CLAIM)  # type: ignore[attr-defined]
        assert (str(row[0]), str(row[1])) == ("WRONG", "DIVERGED")
        tapecheck.open_claim(WRONG_CLAIM)
        await shown(pilot, tapecheck)
        page = tapecheck.screen.describe().plain  # type: ignore[attr-defined]
        assert "Then (2026-01-23) WRONG" in page and "Now DIVERGED" in page
        assert not re.search(r"Then \([^)]*\) DIVERGED", page)
        await pilot.press("escape")
        tapecheck.open_claim(OURS_NOT_MET)
        await shown(pilot, tapecheck)
        page = tapecheck.screen.describe().plain  # type: ignore[attr-defined]
        assert f"Then (2025-11-24) {NOT_MET}" in page or f") {NOT_MET}" in page
        await pilot.press("escape", "a")
        articles = tapecheck.screen
        assert isinstance(articles, ArticlesScreen)
        table = articles.query_one("DataTable")
        row = table.get_row(f"claim:{WRONG_CLAIM}")  # type: ignore[attr-defined]
        assert (str(row[1]), str(row[2])) == ("WRONG", "DIVERGED")
        words = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}  # type: ignore[attr-defined]
        assert words - {""} <= set(NOW_WORDS.values()) | {"—"}


async def test_a_context_claims_note_is_printed_once() -> None:
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    note = tapecheck.narratives.claim(CONTEXT).note
    assert note
    async with tapecheck.run_test(size=(120, 60)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_claim(CONTEXT)
        await shown(pilot, tapecheck)
        page = tapecheck.screen.describe().plain  # type: ignore[attr-defined]
        assert page.count(note) == 1 and "Now context" in page
        assert tapecheck.state is not None and tapecheck.state.verdicts[CONTEXT].status is Status.CONTEXT


def test_one_slug_rule_for_every_id() -> None:
    """Article and claim ids, in claim files, `draft --id`, `new` and the console: one rule (tui.core.model)."""
    from tui.core.model import is_slug, slug

    assert is_slug("bb-tesla-btc-11509") and is_slug("a1")
    for bad in ("Wire Chips", "a--b", "-a", "a-", "a-b\n", "", "é", None, 5):
        assert not is_slug(bad), bad  # "a-b\n" passed the old ^...$ patterns: $ matches before a final newline
    assert slug("NVDA market cap") == "nvda-market-cap" and slug("市值") == ""
