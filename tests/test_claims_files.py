"""The shipped narratives load and are complete; broken claim files are refused with file, claim and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tui.core.model import ClaimKind, SeriesId
from tui.core.narratives.claims import NARRATIVES_DIR, NarrativeError, load_narratives

THEME_IDS = ["ai_capital_loop", "btc_mining", "btc_treasuries", "btc_macro", "china_ai_chips", "space_solar",
             "metals_materials", "tycoons_and_coins", "energy_power"]
SEEDS = {"000_8e9259f36e4093f9.txt", "001_cf8badce234ab8df.txt", "002_92055ca1eefd094b.txt",
         "003_47e20e8ff25d6c98.txt", "004_f1201c0ffaeb3e13.txt"}


def test_shipped_narratives_load() -> None:
    narratives = load_narratives()
    assert [t.id for t in narratives.themes] == THEME_IDS
    assert {a.seed for a in narratives.articles.values()} == SEEDS
    digest = sorted(a.piece for a in narratives.articles.values() if a.seed.startswith("001_"))
    assert digest == list(range(1, 9))  # the digest's eight pieces are eight articles
    checks = [c for c in narratives.claims if c.kind is ClaimKind.CHECK]
    assert len(checks) >= 50
    for claim in narratives.claims:
        assert claim.article in narratives.articles
        assert claim.summary != claim.summary_zh
    for claim in checks:
        assert claim.rule is not None and claim.rule.series
        for series in claim.rule.series:
            SeriesId.parse(series)
    for theme in narratives.themes:  # a panel tests something: a check claim, or at least a watched series
        assert any(c.theme == theme.id for c in narratives.claims), f"{theme.id} has no claim"
        assert theme.watch or any(c.theme == theme.id for c in checks), f"{theme.id} has nothing to show"
    assert sum(1 for t in narratives.themes if any(c.theme == t.id for c in checks)) >= 8
    for article in narratives.articles.values():
        assert any(c.article == article.id for c in narratives.claims), f"{article.id} has no claims"


def test_every_article_is_cited_with_its_metadata() -> None:
    for article in load_narratives().articles.values():
        assert article.outlet and article.title and article.title_en
        assert article.published.year in (2025, 2026)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copy(NARRATIVES_DIR / "themes.toml", tmp_path / "themes.toml")
    return tmp_path


ARTICLE = """[article]
id = "sample"
seed = "000_x.txt"
piece = 1
outlet = "Outlet"
title = "标题"
title_en = "Title"
published = 2025-12-13

"""

CLAIM = """[[claims]]
id = "{id}"
theme = "btc_treasuries"
as_of = 2025-10-31
kind = "check"
summary = "Tesla holds bitcoin worth over USD 1B."
summary_zh = "特斯拉持有的比特币超10亿美元。"
[claims.rule]
expr = "{expr}"
op = "{op}"
value = 1e9
unit = "{unit}"
tolerance_pct = 0
"""


def write(tree: Path, *claims: dict[str, str], name: str = "a.toml") -> Path:
    body = ARTICLE + "\n".join(CLAIM.format(**{"id": "ok", "expr": "11509 * last(crypto:BTC/USD:last)",
                                                "op": ">", "unit": "USD", **c}) for c in claims)
    path = tree / name
    path.write_text(body, encoding="utf-8")
    return path


def problems(tree: Path) -> list[str]:
    with pytest.raises(NarrativeError) as caught:
        load_narratives(tree)
    return caught.value.problems


def test_a_good_file_loads(tree: Path) -> None:
    write(tree, {})
    narratives = load_narratives(tree)
    assert narratives.claims[0].line == 10
    assert narratives.claims[0].series == ("crypto:BTC/USD:last",)


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        ({"expr": "nope(crypto:BTC/USD:last)"}, "a.toml:18: claim ok: rule: unknown function 'nope'"),
        ({"expr": "last(crypto:BTC/XYZ1:last)"}, "a.toml:18: claim ok: rule: crypto series"),
        ({"expr": "last(equity:688795.SS:market_cap)"},
         "a.toml:18: claim ok: rule: the expression is in CNY but unit says USD"),
        ({"expr": "__import__(1)"}, "a.toml:18: claim ok: rule: unknown function '__import__'"),
        ({"op": "=="}, "a.toml:19: claim ok: rule: op '==' is not one of"),
        ({"unit": "dollars"}, "a.toml:21: claim ok: rule: unknown unit 'dollars'"),
    ],
)
def test_bad_rules_name_file_claim_and_line(tree: Path, claim: dict[str, str], message: str) -> None:
    write(tree, claim)
    found = problems(tree)
    assert len(found) == 1
    assert found[0].startswith(f"{tree}/{message}")


def test_duplicate_ids_across_files(tree: Path) -> None:
    write(tree, {"id": "same"}, name="a.toml")
    other = write(tree, {"id": "same"}, name="b.toml")
    other.write_text(other.read_text().replace('id = "sample"', 'id = "sample-b"'))
    assert any("claim same is also in a.toml:10" in p for p in problems(tree))


def test_missing_fields_and_unknown_keys(tree: Path) -> None:
    path = write(tree, {})
    path.write_text(path.read_text().replace('summary_zh = "特斯拉持有的比特币超10亿美元。"\n', 'colour = "red"\n')
                    .replace('theme = "btc_treasuries"', 'theme = "moon"'))
    found = problems(tree)
    assert any(":16: claim ok: unknown key 'colour'" in p for p in found)
    assert any(":12: claim ok: theme 'moon' is not one of" in p for p in found)
    assert any("claim ok: needs summary_zh" in p for p in found)


def test_context_claim_with_a_rule_is_refused(tree: Path) -> None:
    path = write(tree, {})
    path.write_text(path.read_text().replace('kind = "check"', 'kind = "context"'))
    assert any("a context claim has no rule" in p for p in problems(tree))


def test_approximate_needs_tolerance(tree: Path) -> None:
    write(tree, {"op": "~"})
    assert any(":22: claim ok: rule: op '~' needs a tolerance_pct above 0" in p for p in problems(tree))


def test_invalid_toml_names_the_file_and_line(tree: Path) -> None:
    (tree / "broken.toml").write_text("[article\nid = 1\n")
    assert any(p.startswith(f"{tree}/broken.toml:1: not valid TOML (expected ']'") for p in problems(tree))
