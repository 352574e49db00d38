"""Writing a draft as a narrative file in the shipped format: one [article] table, one [[claims]] per figure.

Summaries are ours, generated from the figure, and say so; quotes are the article's sentences verbatim.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from tui.core.format import quantity
from tui.core.model import slug
from tui.core.narratives.draft.propose import DraftClaim, coefficient_op, literal

OP_WORDS = {">=": ("at least", "不低于"), ">": ("above", "高于"), "<": ("below", "低于"), "<=": ("at most", "不高于"),
            "~": ("about", "约")}
_METRICS = ((re.compile(r"corr\("), "correlation", "相关性"),
            (re.compile(r"^\(?at\(.*:market_cap.* - at\("), "market value change", "市值变化"),
            (re.compile(r":market_cap"), "market value", "市值"),
            (re.compile(r"^change\("), "move", "涨跌幅"),
            (re.compile(r"^pct\(at\(.*:high"), "intraday move", "盘中涨幅"),
            (re.compile(r"^pct\(at\(.*:low"), "intraday move", "盘中跌幅"),
            (re.compile(r"fx\("), "currency conversion", "汇率换算"),
            (re.compile(r"^\S+ \* last\("), "holding worth", "持仓价值"),
            (re.compile(r":high"), "day's high", "当日最高价"),
            (re.compile(r":low"), "day's low", "当日最低价"),
            (re.compile(r"hashrate"), "network hashrate", "全网算力"),
            (re.compile(r"^last\("), "price", "价格"))


HOW_INFERRED = {"id": "from the file name", "outlet": "a 来源/Source line, else unknown",
                "published": "the latest date the text names", "title": "its first short line"}


@dataclass(frozen=True, slots=True)
class ArticleMeta:
    """The [article] table; `inferred` names the fields we guessed rather than were given."""

    id: str
    seed: str
    outlet: str
    title: str
    title_en: str
    published: date
    inferred: tuple[str, ...] = ()


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are all valid TOML."""
    return json.dumps(text, ensure_ascii=False)


def claim_id(article_id: str, number: int, claim: DraftClaim) -> str:
    if claim.rule is None:
        return f"{article_id}-{number:02d}-context"
    subject = claim.entity.entity.symbol.split("/")[0] if claim.entity else ""
    return f"{article_id}-{number:02d}-{slug(subject + ' ' + _metric(claim)[0])}"


def _metric(claim: DraftClaim) -> tuple[str, str]:
    expr = claim.rule.expr if claim.rule else ""
    return next(((en, zh) for pattern, en, zh in _METRICS if pattern.search(expr)), ("figure", "数字"))


def summaries(claim: DraftClaim) -> tuple[str, str]:
    """Our English and Chinese summary of a drafted claim, labelled as drafts."""
    name = ""
    if claim.entity:
        symbol = claim.entity.entity.symbol
        name = claim.entity.name if claim.entity.name == symbol else f"{claim.entity.name} ({symbol})"
    figure = claim.figure.text + (f" / {claim.partner.text}" if claim.partner else "")
    if claim.rule is None:
        shown = quantity(claim.figure.value, claim.figure.unit) if claim.figure.kind != "limit" else "limit move"
        return (f"Draft context (ours): {name + ' ' if name else ''}{shown}, as the article writes "
                f"{figure}; no series lines up with it.",
                f"草稿(背景,自动生成):{name}{figure},无可对照的行情序列。")
    if claim.other is not None and claim.entity is not None:  # a correlation between two assets
        other = claim.other
        pair = f"{name} and {other.name} ({other.entity.symbol})"
        words = OP_WORDS[coefficient_op(claim.figure)]
        held = " on more than half of the days" if claim.rule.expr.startswith("share(") else ""
        return (f"Draft (ours): the correlation of {pair} {words[0]} {claim.figure.text}{held}, as the article "
                f"writes {figure}.",
                f"草稿(自动生成):{name}与{other.name}的相关性{'在多数交易日' if held else ''}{words[1]}"
                f"{claim.figure.text}(原文:{figure})。")
    en, zh = _metric(claim)
    words = OP_WORDS[claim.rule.op]
    shown = quantity(claim.rule.value, claim.rule.unit)
    subject = f"{name} {en}" if name else en
    return (f"Draft (ours): {subject} {words[0]} {shown}, as the article writes {figure}.",
            f"草稿(自动生成):{name}{zh}{words[1]}{shown}(原文:{figure})。")


def themes_for(claims: list[DraftClaim], series_themes: dict[str, str], default: str) -> list[str]:
    """A theme per claim: the theme of the shipped claims on the same symbol, else the draft's most common."""
    by_symbol = {s.split(":")[1]: t for s, t in series_themes.items()}
    found = [by_symbol.get(c.entity.entity.symbol) if c.entity else
             series_themes.get("network:bitcoin:hashrate") if c.figure.kind == "hashrate" else None
             for c in claims]
    common = Counter(t for t in found if t).most_common(1)
    fallback = common[0][0] if common else default
    return [t or fallback for t in found]


def emit(meta: ArticleMeta, claims: list[DraftClaim], themes: list[str]) -> str:
    """The narrative file's text."""
    lines = [f"# Drafted by `tapecheck draft` from {meta.seed}: one claim per figure.",
             "# Every quote is the article's sentence, verbatim. Summaries are ours, generated from the figure:",
             "# reword them. A claim with draft = true carries a proposed rule: check its series, op, value and",
             "# dates, then delete the draft line. Context claims keep figures no series lines up with."]
    if meta.inferred:
        lines.append("# Inferred, not given (check them):")
        lines += [f"#   {key}: {HOW_INFERRED[key]}" for key in meta.inferred]
    if meta.title_en == meta.title and not meta.title.isascii():
        lines.append("# title_en repeats the title: put the English title there.")
    lines += ["", "[article]", f"id = {toml_string(meta.id)}", f"seed = {toml_string(meta.seed)}",
              f"outlet = {toml_string(meta.outlet)}", f"title = {toml_string(meta.title)}",
              f"title_en = {toml_string(meta.title_en)}"]
    if "title" in meta.inferred:
        lines.append("title_inferred = true")
    lines.append(f"published = {meta.published.isoformat()}")
    if "published" in meta.inferred:
        lines.append("published_inferred = true")
    if meta.inferred:
        lines.append(f"inferred = [{', '.join(toml_string(k) for k in meta.inferred)}]")
    for number, (claim, theme) in enumerate(zip(claims, themes, strict=True), start=1):
        summary, summary_zh = summaries(claim)
        lines += ["", "[[claims]]", f"id = {toml_string(claim_id(meta.id, number, claim))}",
                  f"theme = {toml_string(theme)}", f"as_of = {claim.as_of.isoformat()}"]
        if claim.as_of_inferred:
            lines.append("as_of_inferred = true")
        lines.append(f"kind = {toml_string('check' if claim.rule else 'context')}")
        if claim.rule:
            lines.append("draft = true")
        lines += [f"summary = {toml_string(summary)}", f"summary_zh = {toml_string(summary_zh)}",
                  f"quote = {toml_string(claim.quote)}", f"paragraph = {claim.paragraph}", 'origin = "article"',
                  f"figure = {toml_string(claim.figure.text)}"]
        if claim.note:
            lines.append(f"note = {toml_string(claim.note)}")
        if claim.rule is None:
            if claim.figure.kind != "limit":
                lines += [f"value = {literal(claim.figure.value)}", f"unit = {toml_string(claim.figure.unit)}"]
            continue
        rule = claim.rule
        if rule.reading_note:
            lines += ['reading = "ours"', f"reading_note = {toml_string(rule.reading_note)}"]
        else:
            lines.append('reading = "article"  # or "ours" where the threshold, window or period is our choice; '
                         'then say which in reading_note = "..."')
        lines += ["[claims.rule]", f"expr = {toml_string(rule.expr)}", f"op = {toml_string(rule.op)}",
                  f"value = {literal(rule.value)}", f"unit = {toml_string(rule.unit)}",
                  f"tolerance_pct = {literal(rule.tolerance_pct)}"]
    return "\n".join(lines) + "\n"
