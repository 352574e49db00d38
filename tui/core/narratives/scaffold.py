"""`tapecheck new-article`: a new narrative file in the user's dir, ready to fill in, that passes `lint` as it is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tui.core.model import TapecheckError, is_slug

TEMPLATE = '''\
# Your own article: tapecheck holds its figures against the market tape.
# Fill in the article, then one [[claims]] table per figure. Check it with:  tapecheck lint {path}
# The dashboard and the collector pick up every change within a few seconds.

[article]
id = "{id}"                        # a lower-case slug, unique across every article (shipped and yours)
outlet = "Example Daily"           # who published it
title = "The article's title, in its own language"
published = {today}                # YYYY-MM-DD
# title_en = "The title in English"
# author = "A. Writer"
# url = "https://example.com/the-article"

# A theme of your own (a dashboard panel), or use a shipped one: ai_capital_loop, btc_mining,
# btc_treasuries, btc_macro, china_ai_chips, space_solar, metals_materials, tycoons_and_coins, energy_power.
# [[themes]]
# id = "my_theme"
# title = "My theme"
# watch = ["equity:AAPL:last"]     # series the panel shows even where no claim reads them

# A check claim: a rule over market series that tapecheck judges now and on the claim's own date.
[[claims]]
id = "{id}-btc-above-50k"          # unique across every claim
theme = "btc_macro"
as_of = {today}                    # the date the figure is about
kind = "check"
summary = "Bitcoin trades above USD 50,000."     # your paraphrase, labelled as ours on screen
# quote = "The article's own sentence, verbatim."
# draft = true                     # an unconfirmed rule: shown as a draft, never counted as diverged
[claims.rule]
expr = "last(crypto:BTC/USD:last)"  # series: crypto:BASE/QUOTE:last, equity:SYMBOL:last (Yahoo symbols,
                                    # e.g. 688795.SS), index:^IXIC:last, fx:USDCNY:last, commodity:GC=F:last
op = ">"                           # one of >= > <= < ~ (~: within tolerance_pct)
value = 50000
unit = "USD"                       # the expression's unit: USD, CNY, %, pts, H/s, ratio...
tolerance_pct = 0

# A context claim: a statement no market series can check; it is shown beside the checked ones.
[[claims]]
id = "{id}-context"
theme = "btc_macro"
as_of = {today}
kind = "context"
summary = "A statement of the article that no market series can check."
# quote = "The article's own sentence, verbatim."
'''


def new_article(directory: Path, article_id: str | None, today: date, taken: frozenset[str] = frozenset()) -> Path:
    """Write a new article file into `directory` and return its path; an existing file is never replaced, and
    an id in `taken` (the articles loaded already) is never given."""
    if article_id is not None and not is_slug(article_id):
        raise TapecheckError(f"--id {article_id!r}: an article id is a lower-case slug, e.g. my-article")
    if article_id in taken:
        raise TapecheckError(f"--id {article_id}: an article with that id exists already; give another")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TapecheckError(f"{directory}: cannot make the folder: {error.strerror or error}") from None
    candidates = [article_id] if article_id else [f"article-{today:%Y%m%d}"] + [
        f"article-{today:%Y%m%d}-{n}" for n in range(2, 100)]
    for name in (c for c in candidates if c not in taken):
        path = directory / f"{name}.toml"
        try:
            with path.open("x", encoding="utf-8") as out:
                out.write(TEMPLATE.format(id=name, today=today.isoformat(), path=path))
            return path
        except FileExistsError:
            continue
        except OSError as error:
            raise TapecheckError(f"{path}: cannot write: {error.strerror or error}") from None
    raise TapecheckError(f"{directory / (candidates[-1] + '.toml')} exists already; give another --id")
