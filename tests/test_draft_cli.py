"""`tapecheck draft ARTICLE.txt [--out FILE]` end to end: stdout, --out, never overwriting, bad input (exit 2,
one line naming the file), and the user's own alias file (from the config, or beside it in the user config dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.draft_files import ARTICLES, load_drafts
from tui.cli import main
from tui.core.config import user_config_path

ARTICLE = ARTICLES / "zh_hans.txt"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_draft_prints_a_narrative_file_that_loads(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "draft", str(ARTICLE), "--published", "2025-11-05", "--outlet", "示例财经")
    assert code == 0 and err == ""
    narratives = load_drafts(tmp_path, out)
    assert narratives.articles["zh-hans"].outlet == "示例财经"
    assert any(c.rule and c.rule.expr == "last(equity:NVDA:market_cap)" for c in narratives.claims)


def test_draft_writes_out_and_never_overwrites_without_force(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    out = tmp_path / "mine.toml"
    code, stdout, err = run(capsys, "draft", str(ARTICLE), "--out", str(out), "--id", "mine")
    assert code == 0 and stdout == "" and f"draft written to {out}: 11 claims, 8 with a proposed rule" in err
    first = out.read_text(encoding="utf-8")
    assert 'id = "mine"' in first and load_drafts(tmp_path, first).articles["mine"]
    out.write_text("# my edits\n", encoding="utf-8")
    code, _, err = run(capsys, "draft", str(ARTICLE), "--out", str(out))
    assert code == 2 and err.count("\n") == 1 and f"{out}: already exists; pass --force" in err
    assert out.read_text(encoding="utf-8") == "# my edits\n"
    code, _, _ = run(capsys, "draft", str(ARTICLE), "--out", str(out), "--force", "--id", "mine")
    assert code == 0 and out.read_text(encoding="utf-8") == first


@pytest.mark.parametrize(("content", "says"), [
    ("Nvidia\n英伟达市值突破5万亿美元。".encode("gbk"), ":2: not UTF-8 text"),
    ("Nvidia rose 5%.\n".encode("utf-16"), ":1: not UTF-8 text"),
    (b"\x00\xff\xfe", ":1: not UTF-8 text"),
])
def test_an_article_not_in_utf8_is_one_line_naming_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            content: bytes, says: str) -> None:
    article = tmp_path / "gbk.txt"
    article.write_bytes(content)
    code, out, err = run(capsys, "draft", str(article))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{article}{says}" in err and "Traceback" not in err


@pytest.mark.parametrize(("args", "says"), [
    (("draft", "/nonexistent/article.txt"), "/nonexistent/article.txt: cannot read"),
    (("draft", str(ARTICLE), "--published", "2025-13-01"), "is not a date"),
    (("draft", str(ARTICLE), "--published", "1900-01-01"), "outside the years"),
    (("draft", str(ARTICLE), "--out", "/nonexistent/dir/out.toml"), "/nonexistent/dir/out.toml: cannot write"),
    (("draft", str(ARTICLE), "--id", "Wire Chips"), "--id 'Wire Chips' must be a lower-case slug"),
    (("draft", str(ARTICLE), "--title", " \x1b "), "--title must not be empty"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                         says: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and says in err


ARTICLE_WITH_NEW_NAME = "小马智行股价上涨12%,報5.5美元。\n"
ALIASES = '[equity]\n"PONY" = ["小马智行", "小馬智行"]\n'


def test_user_aliases_from_the_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    article = tmp_path / "pony.txt"
    article.write_text("Headline\n" + ARTICLE_WITH_NEW_NAME, encoding="utf-8")
    code, out, _ = run(capsys, "draft", str(article), "--published", "2025-11-05")
    assert code == 0 and "PONY" not in out  # not a name tapecheck ships
    aliases = tmp_path / "my_aliases.toml"
    aliases.write_text(ALIASES, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[draft]\naliases = "{aliases}"\n', encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(config), "draft", str(article), "--published", "2025-11-05")
    rules = [c.rule.expr for c in load_drafts(tmp_path, out).claims if c.rule]
    assert code == 0 and rules == ["change(equity:PONY:last, since=2025-11-04, until=2025-11-05)",
                                   "last(equity:PONY:last)"]


def test_user_aliases_beside_the_user_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    article = tmp_path / "pony.txt"
    article.write_text("Headline\n" + ARTICLE_WITH_NEW_NAME, encoding="utf-8")
    beside = user_config_path().parent / "aliases.toml"
    beside.parent.mkdir(parents=True, exist_ok=True)
    beside.write_text(ALIASES, encoding="utf-8")
    code, out, _ = run(capsys, "draft", str(article), "--published", "2025-11-05")
    assert code == 0 and "last(equity:PONY:last)" in out
    beside.write_text('[equity]\n"PONY" = "小马智行"\n', encoding="utf-8")
    code, out, err = run(capsys, "draft", str(article))
    assert code == 2 and out == "" and f"{beside}:2:" in err and err.count("\n") == 1


def test_a_bad_draft_setting_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[draft]\naliases = 5\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", str(config), "draft", str(ARTICLE))
    assert code == 2 and f"{config}:2: draft.aliases = 5 must be a path" in err


def test_a_file_name_with_control_characters_reaches_neither_terminal_nor_draft(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    article = tmp_path / "evil\x1b]0;pwned\x07\nname.txt"
    article.write_text("Headline\n英伟达市值突破5万亿美元。\n", encoding="utf-8")
    code, out, err = run(capsys, "draft", str(article), "--published", "2025-11-03", "--id", "evil")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    narratives = load_drafts(tmp_path, out)
    assert narratives.articles["evil"].seed == "evil]0;pwned name.txt"
    code, _, err = run(capsys, "draft", str(tmp_path / "missing\x1b[2J.txt"))
    assert code == 2 and "\x1b" not in err and "\\x1b[2J" in err


@pytest.mark.parametrize("article", sorted(p.name for p in ARTICLES.glob("*.txt")))
def test_a_draft_passes_lint_as_it_is(capsys: pytest.CaptureFixture[str], tmp_path: Path, article: str) -> None:
    out = tmp_path / f"{Path(article).stem}.toml"
    code, _, err = run(capsys, "draft", str(ARTICLES / article), "--out", str(out))
    assert code == 0, err
    code, stdout, err = run(capsys, "lint", str(out))
    assert (code, err) == (0, ""), err
    assert "1 file clean" in stdout or "files clean" in stdout
