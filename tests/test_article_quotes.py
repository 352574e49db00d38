"""Every shipped claim quotes its article verbatim, says where, and says whether it is the article's or ours;
the fields stay optional in the format (a user's own file need not have them) and are validated when given."""

from __future__ import annotations

import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest

from tests.test_claims_files import write
from tui.core.narratives.claims import NARRATIVES_DIR, THEMES_FILE, NarrativeError, load_narratives
from tui.core.narratives.names import NAMES_FILE

# ../shared/seeds beside the checkout (a worktree one level deeper finds it a level up)
SEEDS = next((p / "shared" / "seeds" for p in Path(__file__).resolve().parents[1:4] if (p / "shared" / "seeds").is_dir()),
             Path(__file__).resolve().parents[1].parent / "shared" / "seeds")
SHIPPED = sorted(p for p in NARRATIVES_DIR.glob("*.toml") if p.name not in (THEMES_FILE, NAMES_FILE))


GAP = "……"  # a quote of two sentences of one paragraph: each part verbatim, in the article's order


def parts_in_order(text: str, whole: str) -> int | None:
    """Where the first of `text`'s parts (split at GAP) starts in `whole`, each part found after the one before;
    None when a part is missing or out of order."""
    start, first = 0, None
    for part in (p for p in text.split(GAP) if p.strip()):
        found = whole.find(part, start)
        if found < 0:
            return None
        first = found if first is None else first
        start = found + len(part)
    return first


def paragraphs(seed: str) -> list[str]:
    """The seed's paragraphs: its non-blank lines, numbered from 1 by `paragraph`."""
    return [line for line in (SEEDS / seed).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_claim_has_quote_paragraph_and_origin(path: Path) -> None:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for claim in raw["claims"]:
        missing = {"quote", "paragraph", "origin"} - set(claim)
        assert not missing, f"{path.name}: claim {claim['id']} lacks {', '.join(sorted(missing))}"
        assert claim["origin"] in ("article", "derived")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed articles (../shared/seeds) are not beside the checkout")
def test_every_shipped_quote_is_verbatim_in_its_paragraph() -> None:
    narratives = load_narratives()
    for claim in narratives.claims:
        article = narratives.articles[claim.article]
        assert claim.quote and claim.paragraph
        pars = paragraphs(article.seed)
        assert claim.paragraph <= len(pars), f"{claim.id}: paragraph {claim.paragraph} is past the end"
        assert parts_in_order(claim.quote, pars[claim.paragraph - 1]) is not None, \
            f"{claim.id}: quote not found verbatim in paragraph {claim.paragraph} of {article.seed}"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed articles (../shared/seeds) are not beside the checkout")
def test_every_figure_is_inside_its_quote() -> None:
    """A claim's figure is the article's own words, found in its quote (parts split at GAP, in order)."""
    missing = [c.id for c in load_narratives().claims
               if c.figure and c.quote and parts_in_order(c.figure, c.quote) is None]
    assert not missing, f"figure not found inside the quote: {missing}"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed articles (../shared/seeds) are not beside the checkout")
def test_claims_are_in_article_order() -> None:
    narratives = load_narratives()
    for article in narratives.articles.values():
        pars = paragraphs(article.seed)
        claims = [c for c in narratives.claims if c.article == article.id]
        places = [(c.paragraph or 0, parts_in_order(c.quote or "", pars[(c.paragraph or 1) - 1])) for c in claims]
        assert places == sorted(places), f"{article.id}: claims are not in the order the article makes them"


def test_seed_000_quotes_keep_traditional_characters() -> None:
    claims = [c for c in load_narratives().claims if c.article == "baobian-moore-threads"]
    assert all(c.quote for c in claims)
    assert any("摩爾線程" in (c.quote or "") for c in claims)
    assert not any("摩尔线程" in (c.quote or "") for c in claims)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copy(NARRATIVES_DIR / THEMES_FILE, tmp_path / THEMES_FILE)
    return tmp_path


def test_quote_paragraph_and_origin_are_optional_in_the_format(tree: Path) -> None:
    write(tree, {})
    claim = load_narratives(tree).claims[0]
    assert claim.quote is None and claim.paragraph is None and claim.error is None
    assert claim.origin == "article" and not claim.derived


def test_quote_paragraph_origin_and_error_are_read(tree: Path) -> None:
    path = write(tree, {})
    path.write_text(path.read_text().replace(
        'summary_zh = "特斯拉持有的比特币超10亿美元。"\n',
        'summary_zh = "特斯拉持有的比特币超10亿美元。"\nquote = "價值超10億美元。"\nparagraph = 15\n'
        'origin = "derived"\nerror = "It says 12,000; the filing says 11,509."\n'))
    claim = load_narratives(tree).claims[0]
    assert (claim.quote, claim.paragraph, claim.origin, claim.derived) == ("價值超10億美元。", 15, "derived", True)
    assert claim.error == "It says 12,000; the filing says 11,509."


@pytest.mark.parametrize(("extra", "message"), [
    ('origin = "ours"', "origin 'ours' must be \"article\" or \"derived\""),
    ("paragraph = 0", "paragraph must be a whole number from 1"),
    ('paragraph = "3"', "paragraph must be a whole number from 1"),
    ('quote = ""', "quote must be the article's sentence(s)"),
    ('error = " "', "error must say what the article got wrong"),
])
def test_bad_quote_fields_are_refused_with_the_line(tree: Path, extra: str, message: str) -> None:
    path = write(tree, {})
    path.write_text(path.read_text().replace('kind = "check"\n', f'kind = "check"\n{extra}\n'))
    with pytest.raises(NarrativeError) as caught:
        load_narratives(tree)
    assert any(f"a.toml:15: claim ok: {message}" in p for p in caught.value.problems), caught.value.problems


DATE_RULE = 'expr = "first_date(last(network:bitcoin:hashrate) >= 1e21, since=2025-01-01)"'


def test_a_date_rule_takes_a_toml_date(tree: Path) -> None:
    path = write(tree, {})
    text = path.read_text().replace('expr = "11509 * last(crypto:BTC/USD:last)"', DATE_RULE)
    path.write_text(text.replace('op = ">"', 'op = ">="').replace("value = 1e9", "value = 2025-12-01")
                    .replace('unit = "USD"', 'unit = "date"'))
    rule = load_narratives(tree).claims[0].rule
    assert rule is not None and rule.value == date(2025, 12, 1).toordinal() and rule.unit == "date"


@pytest.mark.parametrize(("value", "tolerance", "message"), [
    ("1e9", "0", "a rule in unit date needs a date value"),
    ("2025-12-01", "5", "a rule in unit date needs tolerance_pct = 0"),
])
def test_a_date_rule_is_checked(tree: Path, value: str, tolerance: str, message: str) -> None:
    path = write(tree, {})
    text = path.read_text().replace('expr = "11509 * last(crypto:BTC/USD:last)"', DATE_RULE)
    path.write_text(text.replace("value = 1e9", f"value = {value}").replace('unit = "USD"', 'unit = "date"')
                    .replace("tolerance_pct = 0", f"tolerance_pct = {tolerance}"))
    with pytest.raises(NarrativeError) as caught:
        load_narratives(tree)
    assert any(message in p for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_rule_says_whose_reading_it_is(path: Path) -> None:
    """Each check claim names its reading, article or ours, and says what was assumed; a derived claim is ours."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for claim in (c for c in raw["claims"] if c["kind"] == "check"):
        assert claim.get("reading") in ("article", "ours"), f"{claim['id']}: no reading"
        assert claim.get("reading_note"), f"{claim['id']}: no reading_note"
        assert claim["origin"] != "derived" or claim["reading"] == "ours", claim["id"]


@pytest.mark.parametrize(("extra", "message"), [
    ('reading = "mine"', "reading 'mine' must be \"article\""),
    ('reading_note = ""', "reading_note must say what we assumed"),
])
def test_bad_reading_fields_are_refused_with_the_line(tree: Path, extra: str, message: str) -> None:
    path = write(tree, {})
    path.write_text(path.read_text().replace('kind = "check"\n', f'kind = "check"\n{extra}\n'))
    with pytest.raises(NarrativeError) as caught:
        load_narratives(tree)
    assert any(f"a.toml:15: claim ok: {message}" in p for p in caught.value.problems), caught.value.problems


def test_reading_is_read_and_defaults_to_the_article(tree: Path) -> None:
    path = write(tree, {})
    assert load_narratives(tree).claims[0].reading == "article"
    path.write_text(path.read_text().replace('kind = "check"\n',
                                             'kind = "check"\nreading = "ours"\nreading_note = "Our window."\n'))
    claim = load_narratives(tree).claims[0]
    assert (claim.reading, claim.reading_note) == ("ours", "Our window.")
