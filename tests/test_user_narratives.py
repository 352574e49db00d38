"""The user's own narrative files: loading beside the shipped ones, `lint`, `new-article`, and `check`/`claims`
with a broken file (reported on stderr with file:line, the rest evaluated, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA
from tui.cli import main
from tui.core.config import load_settings, user_config_path
from tui.core.narratives.claims import lint_files, load_narratives

NOW = "2026-01-26T06:00:00Z"

def check_claim(claim_id: str, theme: str, expr: str, value: float, unit: str, summary: str, extra: str = "",
                as_of: str = "2026-01-20") -> str:
    """A [[claims]] table of kind check, laid out as a person would write it."""
    return (f'[[claims]]\nid = "{claim_id}"\ntheme = "{theme}"\nas_of = {as_of}\nkind = "check"\n{extra}'
            f'summary = "{summary}"\n[claims.rule]\nexpr = "{expr}"\nop = ">"\nvalue = {value:g}\nunit = "{unit}"\n'
            "tolerance_pct = 0\n")


def article(article_id: str, outlet: str, title: str, published: str, extra: str = "") -> str:
    return f'[article]\nid = "{article_id}"\noutlet = "{outlet}"\ntitle = "{title}"\npublished = {published}\n{extra}'


VALID = (article("my-desk-note", "My desk", "比特币与特斯拉", "2026-01-20", 'url = "https://example.com/note"\n')
         + '\n[[themes]]\nid = "my_desk"\ntitle = "My desk"\nwatch = ["equity:0700.HK:last"]\n\n'
         + check_claim("desk-btc-above-60k", "my_desk", "last(crypto:BTC/USD:last)", 60000, "USD",
                       "Bitcoin trades above USD 60,000.").replace("[claims.rule]", 'quote = "比特币价格高于6万美元。"\n'
                                                                                   "[claims.rule]")
         + "\n" + check_claim("desk-btc-above-90k-draft", "btc_macro", "last(crypto:BTC/USD:last)", 90000, "USD",
                              "Bitcoin trades above USD 90,000 (a proposed rule).", "draft = true\n")
         + '\n[[claims]]\nid = "desk-context"\ntheme = "my_desk"\nas_of = 2026-01-20\nkind = "context"\n'
           'summary = "The desk thinks this is a context line."\n')

BROKEN = (article("broken-note", "Elsewhere", "Broken", "2026-01-21") + "\n"
          + check_claim("broken-bad-rule", "btc_macro", "last(crypto:BTC/USD:last) *", 1, "USD",
                        "A rule that does not parse.", as_of="2026-01-21"))


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The line number of the nth line of `text` that holds `needle`."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if needle in line][nth - 1]


def user_dir() -> Path:
    return user_config_path().parent / "narratives"


def write(name: str, text: str) -> Path:
    path = user_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_default_dir_is_narratives_in_the_user_config_dir() -> None:
    assert load_settings().narrative_dirs == (user_dirs := user_dir(),) and user_dirs.is_absolute()


def test_a_valid_user_file_loads_beside_the_shipped_ones_with_its_own_theme() -> None:
    shipped = load_narratives()
    write("desk.toml", VALID)
    narratives = load_narratives(user_dirs=load_settings().narrative_dirs)
    assert narratives.problems == ()
    assert len(narratives.claims) == len(shipped.claims) + 3
    assert narratives.themes[-1].id == "my_desk" and narratives.themes[-1].watch == ("equity:0700.HK:last",)
    claim = narratives.claim("desk-btc-above-60k")
    assert claim.user and not claim.draft and claim.file == str(user_dir() / "desk.toml")
    assert claim.line == line_of(VALID, "[[claims]]")
    assert claim.summary_zh == claim.summary  # optional in a user file
    assert narratives.claim("desk-btc-above-90k-draft").draft
    article = narratives.articles["my-desk-note"]
    assert article.user and article.url == "https://example.com/note" and article.title_en == article.title


def test_a_broken_user_file_is_named_with_its_line_and_the_rest_loads() -> None:
    write("desk.toml", VALID)
    path = write("zz-broken.toml", BROKEN)
    narratives = load_narratives(user_dirs=load_settings().narrative_dirs)
    assert narratives.problems == (f"{path}:{line_of(BROKEN, 'expr =')}: claim broken-bad-rule: rule: expected a number, a series or a "
                                   "function call, found 'the end' (column 28)",)
    assert "desk-btc-above-60k" in {c.id for c in narratives.claims}
    assert "broken-bad-rule" not in {c.id for c in narratives.claims}


def test_check_and_claims_report_a_broken_file_evaluate_the_rest_and_exit_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    write("desk.toml", VALID)
    path = write("zz-broken.toml", BROKEN)
    code, out, err = run(capsys, "check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", NOW, "--json")
    assert code == 2
    assert f"tapecheck: {path}:{line_of(BROKEN, 'expr =')}: claim broken-bad-rule: rule:" in err
    verdicts = {v["id"]: v for v in json.loads(out)["verdicts"]}
    assert verdicts["desk-btc-above-60k"]["status"] == "holds"  # BTC is at 71,200 USD in the snapshot
    assert verdicts["desk-btc-above-90k-draft"]["status"] == "diverged"
    assert "bb-tesla-btc-11509-over-1bn" in verdicts and "broken-bad-rule" not in verdicts
    code, out, err = run(capsys, "claims", "--json")
    assert code == 2 and f"{path}:{line_of(BROKEN, 'expr =')}:" in err
    claims = {c["id"]: c for c in json.loads(out)}
    assert claims["desk-btc-above-90k-draft"]["draft"] is True and claims["desk-context"]["user"] is True


def test_a_draft_that_diverged_does_not_fail_check(capsys: pytest.CaptureFixture[str]) -> None:
    """Without the draft, check's status is the shipped claims' alone; the diverged draft leaves it as it was."""
    code_before, _, _ = run(capsys, "check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", NOW)
    write("desk.toml", VALID)
    code, out, _ = run(capsys, "check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", NOW)
    assert code == code_before
    assert "desk-btc-above-90k-draft  (draft: a rule not yet confirmed, not counted)" in out


def test_lint_a_clean_file_says_so_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    path = write("desk.toml", VALID)
    code, out, _ = run(capsys, "lint", str(path))
    assert (code, out) == (0, "1 file clean: 3 claims\n")


@pytest.mark.parametrize(("text", "expected"), [
    (VALID.replace('id = "desk-context"', 'id = "bb-tesla-btc-11509-over-1bn"'),
     ":42: claim bb-tesla-btc-11509-over-1bn is also in 000_baobian_moore_threads.toml:"),
    (VALID.replace('expr = "last(crypto:BTC/USD:last)"\nop = ">"\nvalue = 60000',
                   'expr = "last(crypto:BTC/USD:last) +* 2"\nop = ">"\nvalue = 60000'),
     ":21: claim desk-btc-above-60k: rule: expected a number, a series or a function call, found '*' (column 28)"),
    (VALID.replace('unit = "USD"\ntolerance_pct = 0\n\n[[claims]]\nid = "desk-btc-above-90k-draft"',
                   'unit = "bananas"\ntolerance_pct = 0\n\n[[claims]]\nid = "desk-btc-above-90k-draft"'),
     ":24: claim desk-btc-above-60k: rule: unknown unit 'bananas'"),
    (VALID.replace('published = 2026-01-20', 'published = = 2026-01-20'), ":5: not valid TOML"),
    (VALID.replace('theme = "btc_macro"', 'theme = "no_such_theme"'), ":29: claim desk-btc-above-90k-draft: theme 'no_such_theme' is not one of"),
    (VALID.replace('last(crypto:BTC/USD:last)"\nop = ">"\nvalue = 60000', 'last(network:litecoin:hashrate)"\n'
                   'op = ">"\nvalue = 60000'), "no source carries network 'litecoin'"),
    (VALID.replace('outlet = "My desk"\n', ''), ":1: article: needs outlet"),
])
def test_lint_names_each_error_with_its_line_and_exits_2(capsys: pytest.CaptureFixture[str], text: str,
                                                         expected: str) -> None:
    path = write("desk.toml", text)
    code, out, _ = run(capsys, "lint", str(path))
    assert code == 2
    assert any(line.startswith(str(path) + ":") and expected in line for line in out.splitlines()), out


def test_lint_counts_ids_in_the_users_other_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write("desk.toml", VALID)
    other = tmp_path / "other.toml"
    other.write_text(VALID.replace('id = "my-desk-note"', 'id = "another-note"'), encoding="utf-8")
    problems, _ = lint_files([other], load_settings().narrative_dirs)
    line = line_of(VALID, "[[claims]]")  # the first claim: its duplicate's id is on the line below
    assert f"{other}:{line + 1}: claim desk-btc-above-60k is also in {user_dir() / 'desk.toml'}:{line}" in problems


def test_new_article_writes_a_file_that_passes_lint_and_never_overwrites(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "new-article", "--id", "my-first")
    path = Path(out.strip())
    assert code == 0 and path == user_dir() / "my-first.toml" and path.is_file()
    text = path.read_text(encoding="utf-8")
    assert run(capsys, "lint", str(path))[:2] == (0, "1 file clean: 2 claims\n")
    code, _, err = run(capsys, "new-article", "--id", "my-first")
    assert code == 2 and "exists already" in err and path.read_text(encoding="utf-8") == text
    code, out, _ = run(capsys, "new-article")  # a dated id of its own
    second = Path(out.strip())
    assert code == 0 and second != path and run(capsys, "lint", str(second))[0] == 0
    narratives = load_narratives(user_dirs=load_settings().narrative_dirs)
    assert narratives.problems == () and {"my-first-btc-above-50k", "my-first-context"} <= {
        c.id for c in narratives.claims}
