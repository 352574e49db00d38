"""Whose reading a rule is: `reading = "article" | "ours"` with `reading_note`. A rule of our reading that fails
on its own date reads `not met (our reading)`, never WRONG, and is never counted as the article's error;
errors are counted per sentence of the article; the diverged count keeps ours apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA
from tui.cli import main
from tui.core.config import load_settings, user_config_path
from tui.core.judge.status import summary_of
from tui.core.judge.then import fingerprint, judge_then
from tui.core.model import Cached, Status
from tui.core.narratives.claims import lint_files, load_narratives
from tui.core.snapshot import read_observations
from tui.core.tape import MemoryTape
from tui.core.words import NOT_MET, then_label

NOW = "2026-01-26T06:00:00Z"
SENTENCE = "比特币收于20万美元上方。"


def check(claim_id: str, value: float, extra: str = "", quote: str = SENTENCE, op: str = ">") -> str:
    """A check claim on BTC/USD at the close of 2026-01-20 (about 90,000 USD in the snapshot's history)."""
    return (f'\n[[claims]]\nid = "{claim_id}"\ntheme = "btc_macro"\nas_of = 2026-01-20\nkind = "check"\n'
            f'summary = "Bitcoin closed above USD {value:g}."\nquote = "{quote}"\n{extra}'
            f'[claims.rule]\nexpr = "last(crypto:BTC/USD:last)"\nop = "{op}"\nvalue = {value:g}\nunit = "USD"\n'
            "tolerance_pct = 0\n")


ARTICLE = '[article]\nid = "desk-reading"\noutlet = "My desk"\ntitle = "比特币"\npublished = 2026-01-20\n'
OURS = 'reading = "ours"\nreading_note = "we read \\"above\\" as above the 20 Jan close, not intraday"\n'
FILE = (ARTICLE
        + check("desk-btc-above-200k", 200_000)  # the article's figure, wrong on its date
        + check("desk-btc-above-200k-again", 199_000)  # the same sentence again: one error, not two
        + check("desk-btc-above-150k-ours", 150_000, OURS, quote="比特币远高于15万美元。"))  # ours, fails


def write(text: str) -> Path:
    path = user_config_path().parent / "narratives" / "reading.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rule_of_our_reading_failing_on_its_date_is_not_met_and_not_the_articles_error() -> None:
    path = write(FILE)
    narratives = load_narratives(user_dirs=(path.parent,))
    claims = {c.id: c for c in narratives.claims if c.article == "desk-reading"}
    ours = claims["desk-btc-above-150k-ours"]
    assert ours.ours and ours.reading_note and ours.reading_note.startswith("we read")
    assert not claims["desk-btc-above-200k"].ours and claims["desk-btc-above-200k"].reading == "article"
    tape = MemoryTape(read_observations(DATA / "snapshot.jsonl"))
    then = judge_then(claims.values(), tape, load_settings())
    assert {then[c].status for c in claims} == {Status.DIVERGED}  # all three fail on 20 Jan
    assert then_label(then[ours.id], ours.ours) == NOT_MET == "not met (our reading)"
    assert then_label(then["desk-btc-above-200k"], False) == "WRONG"
    stored = {c: Cached(fingerprint(claims[c]), v.status, v.live_value, v.deviation_pct, v.explanation)
              for c, v in then.items()}
    summary = summary_of(narratives, [], stored, fingerprint)
    assert summary["wrong_then"] == 1  # two claims quote one wrong sentence; ours is not the article's error


def test_check_says_not_met_and_counts_per_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    write(FILE)
    main(["check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", NOW, "--json"])
    verdicts = {v["id"]: v for v in json.loads(capsys.readouterr().out)["verdicts"]}
    mine = verdicts["desk-btc-above-150k-ours"]
    assert (mine["reading"], mine["then_status"], mine["then_word"]) == ("ours", "diverged", "not met (our reading)")
    assert verdicts["desk-btc-above-200k"]["then_word"] == "WRONG"
    main(["check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", NOW])
    out = capsys.readouterr().out
    assert "desk-btc-above-150k-ours  (our reading)" in out and "our reading: we read" in out
    assert "not met (our reading)" in out and "our reading, not the article's error" in out
    # the shipped claims wrong then (2 sentences) and this file's one sentence; ours is not among them
    assert "; 3 wrong then (" in out.splitlines()[0]
    # the three claims diverge now too, the ours one counted apart (the shipped claims have 4 of ours)
    assert "12 DIVERGED (5 ours)" in out.splitlines()[0]


def test_old_files_keep_working_a_derived_claim_is_our_reading() -> None:
    path = write(ARTICLE + check("desk-still-above", 200_000, 'origin = "derived"\n'))
    claim = next(c for c in load_narratives(user_dirs=(path.parent,)).claims if c.id == "desk-still-above")
    assert claim.derived and claim.ours and claim.reading == "ours"


@pytest.mark.parametrize(("extra", "key", "message"), [
    ('reading = "maybe"\n', "reading", "reading 'maybe' must be \"article\""),
    ('origin = "derived"\nreading = "article"\n', "reading", "a claim we derived"),
    ('reading = "ours"\nreading_note = ""\n', "reading_note", "reading_note must say what we assumed"),
])
def test_a_bad_reading_is_named_with_its_file_and_line(extra: str, key: str, message: str) -> None:
    text = ARTICLE + check("desk-bad-reading", 1, extra)
    path = write(text)
    problems, _ = lint_files([path])
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if row.startswith(f"{key} ="))
    assert any(p.startswith(f"{path}:{line}: ") and message in p for p in problems), problems


def test_a_context_claim_has_no_reading() -> None:
    text = ARTICLE + ('\n[[claims]]\nid = "desk-context"\ntheme = "btc_macro"\nas_of = 2026-01-20\n'
                      'kind = "context"\nsummary = "Context."\nreading = "ours"\n')
    path = write(text)
    problems, _ = lint_files([path])
    line = text.splitlines().index('reading = "ours"') + 1
    assert any(p.startswith(f"{path}:{line}: ") and "a context claim has no rule" in p for p in problems), problems
