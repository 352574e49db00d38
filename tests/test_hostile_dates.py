"""Dates at the calendar's edges, wherever tapecheck reads one (flags, tapes, rules, claims): refused where they
are parsed with one clear line naming the years it reads, never a traceback later."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA
from tui.cli import main
from tui.core.model import TapecheckError
from tui.core.narratives.claims import NARRATIVES_DIR, load_narratives

ARTICLE = "001_6_nickel_king_lim.toml"
GOOD = str(DATA / "snapshot.jsonl")


def one_line(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z", "0001-01-01",
                                    "1969-12-31T23:59:59Z", "2101-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("flag", ["--now", "--from"])
def test_flag_times_outside_1970_2100_are_one_line(capsys: pytest.CaptureFixture[str], flag: str,
                                                   moment: str) -> None:
    args = ["check", "--snapshot", GOOD, "--now", moment] if flag == "--now" else ["replay", GOOD, "--from", moment]
    assert "outside the years 1970–2100" in one_line(capsys, args)


def test_now_flag_on_the_dashboard_is_bounded_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--now:" in one_line(capsys, ["--snapshot", GOOD, "--now", "9999-12-31T23:59:59Z"])


@pytest.mark.parametrize("day", ["0001-01-01", "1900-01-01"])
def test_check_at_before_1970_is_one_line(capsys: pytest.CaptureFixture[str], day: str) -> None:
    assert one_line(capsys, ["check", "--snapshot", GOOD, "--at", day]).startswith(f"tapecheck: --at: {day} is outside")


@pytest.mark.parametrize("speed", ["inf", "nan", "1e300", "-inf"])
def test_replay_speed_must_be_finite_and_bounded(capsys: pytest.CaptureFixture[str], speed: str) -> None:
    assert "--speed must be from 0 to" in one_line(capsys, ["replay", GOOD, f"--speed={speed}"])


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00"])
def test_tape_timestamps_outside_the_range_name_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                              ts: str) -> None:
    tape = tmp_path / "t.jsonl"
    line = {"series": "crypto:BTC/USD:last", "value": 1.0, "unit": "USD", "ts": ts, "source": "x"}
    tape.write_text(Path(GOOD).read_text().splitlines()[0] + "\n" + json.dumps(line) + "\n")
    for args in (["check", "--snapshot", str(tape), "--now", "2026-01-26T06:00:00Z"], ["replay", str(tape)]):
        assert one_line(capsys, args).startswith(f"tapecheck: {tape}:2: ")


@pytest.fixture
def narratives(tmp_path: Path) -> Path:
    shutil.copy(NARRATIVES_DIR / "themes.toml", tmp_path)
    shutil.copy(NARRATIVES_DIR / ARTICLE, tmp_path)
    return tmp_path


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / ARTICLE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("expr", ["4.9e9 USD * at(fx:USDCNY:last, 0001-01-05)",
                                  "4.9e9 USD * at(fx:USDCNY:last, 9999-12-31)",
                                  "4.9e9 USD * fx(USDCNY) * (1 + change(fx:USDCNY:last, since=1900-01-01) / 100)"])
def test_rule_dates_outside_the_range_are_refused_at_load(narratives: Path, expr: str) -> None:
    edit(narratives, 'expr = "4.9e9 USD * fx(USDCNY)"', f"expr = {json.dumps(expr)}")
    with pytest.raises(TapecheckError) as caught:
        load_narratives(narratives)
    assert f"{ARTICLE}:" in str(caught.value) and "outside the years 1970–2100" in str(caught.value)


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-05", "2025-12-31T10:00:00Z"])
def test_claim_as_of_outside_the_range_is_refused_at_load(narratives: Path, as_of: str) -> None:
    lines = (narratives / ARTICLE).read_text().splitlines()
    as_of_line = lines.index("as_of = 2025-12-31") + 1  # the error names the line of the key at fault
    edit(narratives, "as_of = 2025-12-31", f"as_of = {as_of}")
    with pytest.raises(TapecheckError) as caught:
        load_narratives(narratives)
    assert f"{ARTICLE}:{as_of_line}: claim" in str(caught.value) and "1970–2100" in str(caught.value)


def test_a_claim_summary_with_control_characters_is_refused_at_load(narratives: Path) -> None:
    text = (narratives / ARTICLE).read_text()
    start = text.index('summary = "') + len('summary = "')
    (narratives / ARTICLE).write_text(text[:start] + "\\u001b]0;owned\\u0007" + text[start:])
    with pytest.raises(TapecheckError) as caught:
        load_narratives(narratives)
    assert f"{ARTICLE}:" in str(caught.value) and "control or invisible characters" in str(caught.value)


def test_a_bad_json_line_names_its_column_not_a_second_line(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    tape = tmp_path / "t.jsonl"
    tape.write_text(Path(GOOD).read_text().splitlines()[0] + '\n{"series": "crypto:BTC/USD:last",\n')
    err = one_line(capsys, ["check", "--snapshot", str(tape)])
    assert f"{tape}:2: not valid JSON (expecting property name enclosed in double quotes, at column 34)" in err
    assert "line 2" not in err


def test_an_empty_replay_names_its_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tape = tmp_path / "empty.jsonl"
    tape.write_text("\n\n")
    assert one_line(capsys, ["replay", str(tape)]) == f"tapecheck: {tape}: holds no observations (an empty snapshot or tape); give a file that `tapecheck record --out` wrote\n"
