"""The draft measured against hand-written narratives: on a made-up article (always), and on the five seed
articles against the shipped narratives (when /work/shared/seeds is there; the figure is in docs/claims.md)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.draft_files import ARTICLES, load_drafts
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.draft.build import DraftRequest, draft_file
from tui.core.narratives.draft.measure import SEEDS, main, measure
from tui.core.narratives.draft.segment import read_article

HAND_WRITTEN = """
[article]
id = "made-up"
seed = "zh_hans.txt"
outlet = "示例财经"
title = "芯片股再度走强"
title_en = "Chip stocks strong again"
published = 2025-11-05

[[claims]]
id = "made-up-nvidia-5t"
theme = "ai_capital_loop"
as_of = 2025-11-03
kind = "check"
summary = "Nvidia's market value passed USD 5 trillion."
summary_zh = "英伟达市值突破5万亿美元。"
[claims.rule]
expr = "last(equity:NVDA:market_cap)"
op = ">="
value = 5e12
unit = "USD"
tolerance_pct = 0

[[claims]]
id = "made-up-tesla-holding"
theme = "tycoons_and_coins"
as_of = 2025-11-05
kind = "check"
summary = "Tesla's 11,509 bitcoin are worth more than USD 1 billion."
summary_zh = "特斯拉持有的11509枚比特币价值超过10亿美元。"
[claims.rule]
expr = "11509 * last(crypto:BTC/USD:last)"
op = ">"
value = 1e9
unit = "USD"
tolerance_pct = 0

[[claims]]
id = "made-up-moore-threads-close"
theme = "china_ai_chips"
as_of = 2025-11-04
kind = "check"
summary = "Moore Threads closed above CNY 700."
summary_zh = "摩尔线程收盘高于700元。"
[claims.rule]
expr = "last(equity:688795.SS:last)"
op = ">"
value = 700
unit = "CNY"
tolerance_pct = 0
"""


def test_measure_counts_the_hand_written_claims_a_draft_finds(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(ARTICLES / "zh_hans.txt", seeds / "zh_hans.txt")
    result = measure(seeds, load_drafts(tmp_path, HAND_WRITTEN))
    assert [c.id for c in result.found] == ["made-up-nvidia-5t", "made-up-tesla-holding"]
    assert [c.id for c in result.missed] == ["made-up-moore-threads-close"]  # the article never says it
    assert result.share == pytest.approx(2 / 3)
    assert result.ruled == 8 and result.ruled_right == 2


needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the seed articles are not at {SEEDS}")


@needs_seeds
def test_on_the_seed_articles_the_draft_finds_most_checks_whose_level_the_article_states(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A draft needs a figure in the sentence: of the checks whose level the article states, it finds most; the
    levels and windows of our reading (relations with no number) it cannot, and the share of all is printed."""
    assert main([]) == 0
    out = capsys.readouterr().out
    result = measure(SEEDS, load_narratives())
    total = len(result.found) + len(result.missed)
    found, stated = result.stated
    assert f"found {len(result.found)} of {total} shipped check claims" in out
    assert f"found {found} of the {stated} whose level the article states" in out
    assert stated >= 30 and found / stated >= 0.6
    assert result.ruled_right / result.ruled >= 0.7  # most proposed rules are ones a person wrote too


@needs_seeds
def test_every_seed_article_drafts_a_file_the_loader_accepts(tmp_path: Path) -> None:
    shipped = load_narratives()
    texts = [draft_file(DraftRequest(read_article(seed), seed.name, today=date(2026, 11, 29)), shipped)
             for seed in sorted(SEEDS.glob("*.txt"))]
    drafted = load_drafts(tmp_path, *texts)
    assert len(drafted.articles) == 5 and sum(1 for c in drafted.claims if c.draft) >= 34


def test_measure_without_seeds_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "no seed articles" in capsys.readouterr().err
