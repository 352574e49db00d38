"""Bad input from files a user edits: claim files with hostile rules, config files, snapshot tapes.

Whatever they hold: a clean error naming the file and line, never code execution, never a hang.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import context, obs
from tui.core.config import load_settings
from tui.core.model import TapecheckError
from tui.core.narratives.claims import NARRATIVES_DIR, load_narratives
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.evaluate import NoData, evaluate
from tui.core.snapshot import read_observations
from tui.core.tape import MemoryTape

ARTICLE = "001_6_nickel_king_lim.toml"
EXPR_LINE = 58
ORIGINAL = 'expr = "4.9e9 USD * fx(USDCNY)"'


@pytest.fixture(scope="module")
def narratives(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("narratives")
    shutil.copy(NARRATIVES_DIR / "themes.toml", folder)
    shutil.copy(NARRATIVES_DIR / ARTICLE, folder)
    assert (folder / ARTICLE).read_text().splitlines()[EXPR_LINE - 1] == ORIGINAL
    yield folder


def with_rule(folder: Path, expr: str) -> Path:
    text = (NARRATIVES_DIR / ARTICLE).read_text().replace(ORIGINAL, f"expr = {json.dumps(expr)}")
    (folder / ARTICLE).write_text(text)
    return folder / ARTICLE


HOSTILE = [
    "__import__('os').system('touch PWNED')",
    "().__class__.__bases__[0].__subclasses__()",
    "last(crypto:BTC/USD:last).__class__",
    "eval('1')",
    "exec",
    "globals()",
    "(" * 500 + "1" + ")" * 500,
    "-" * 500 + "1",
    "1e999999 USD",
    "9" * 1500,
    "1 + " * 600 + "1",
    "x" * 100_000,
    "last(crypto:BTC/USD:last\u0000)",
    "last(crypto:BTC/USD:last) ; import os",
    "{{7*7}}",
    "${jndi:ldap://x}",
]


@pytest.mark.parametrize("expr", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.timeout(60)  # a rule that made the parser run away (seconds, not milliseconds) fails here
def test_hostile_rules_in_a_claim_file_are_clean_errors(narratives: Path, expr: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = with_rule(narratives, expr)
    with pytest.raises(TapecheckError) as caught:
        load_narratives(narratives)
    assert f"{path.name}:" in str(caught.value) and "rule" in str(caught.value)
    assert not (tmp_path / "PWNED").exists()


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("()_.,=:/^+-*/'\"\\ 0123456789eEaxlstUSDBTC[]{}\n\t;#")), max_size=80))
def test_random_rules_in_a_claim_file_load_or_fail_cleanly(narratives: Path, expr: str) -> None:
    with_rule(narratives, expr)
    try:
        load_narratives(narratives)
    except TapecheckError as error:
        assert str(error).strip() and "Traceback" not in str(error)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_random_config_files_load_or_fail_cleanly(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(path)
    except TapecheckError as error:
        assert str(error).startswith(str(path))


@pytest.mark.parametrize("expr", ["1e308 * 1e308", "1e308 * last(crypto:BTC/USD:last)", "1 / 0",
                                  "0 / 0", "last(crypto:BTC/USD:last) / (1e-300 * 1e-300)"])
def test_overflow_in_evaluation_is_no_data_not_a_crash(expr: str) -> None:
    with pytest.raises(NoData):
        evaluate(parse(expr), context(obs("crypto:BTC/USD:last", 70_000)))


def test_unsorted_and_duplicated_tape_lines_have_documented_handling(tmp_path: Path) -> None:
    """Order does not matter; a repeated (series, source, ts) keeps the first line, as the store does."""
    rows = [{"series": "crypto:BTC/USD:last", "value": v, "unit": "USD", "ts": ts, "source": "kraken"}
            for v, ts in ((3.0, "2026-01-26T05:59:00Z"), (1.0, "2026-01-26T05:57:00Z"),
                          (2.0, "2026-01-26T05:58:00Z"), (9.0, "2026-01-26T05:59:00Z"))]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    tape = MemoryTape(read_observations(path))
    assert [o.value for o in tape.observations("crypto:BTC/USD:last")] == [1.0, 2.0, 3.0]
    assert [o.value for o in tape.latest("crypto:BTC/USD:last", datetime(2026, 1, 27, tzinfo=UTC))] == [3.0]


def test_a_huge_tape_line_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"series": "' + "x" * 1_000_000 + '"}\n' + "[" * 100_000 + "\n")
    with pytest.raises(TapecheckError) as caught:
        read_observations(path)
    assert f"{path}:1:" in str(caught.value)
