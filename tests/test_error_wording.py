"""Bad input anywhere (snapshots, tapes, config, claim files, stores) is one line that names the file (and the
line, where there is one) in plain words: never `Not a directory`, `File exists` or a parser's `line 2 column 1`."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.conftest import DATA
from tui.cli import main
from tui.core.model import TapecheckError
from tui.core.narratives.claims import load_narratives

GOOD = DATA / "snapshot.jsonl"


def one_line(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert "Errno" not in err and "Traceback" not in err
    return err.removeprefix("tapecheck: ").rstrip("\n")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "blank.jsonl.gz").write_bytes(gzip.compress(b"\n\n"))
    first = GOOD.read_text().splitlines()[:4]
    (tmp_path / "bad.jsonl").write_text("\n".join(first) + '\n{"series": "crypto:BTC/USD:last",\n "value": 1}\n')
    (tmp_path / "nan.jsonl").write_text('{"series": "crypto:BTC/USD:last", "value": NaN}\n')
    (tmp_path / "bad.toml").write_text("[display]\nlang = = 'zh'\n")
    return {"t": str(tmp_path), "good": str(GOOD)}


CASES = [
    (["replay", "{t}/empty.jsonl"], "{t}/empty.jsonl: holds no observations"),
    (["replay", "{t}/blank.jsonl.gz"], "{t}/blank.jsonl.gz: holds no observations"),
    (["--snapshot", "{t}/empty.jsonl"], "{t}/empty.jsonl: holds no observations"),
    (["check", "--snapshot", "{t}/empty.jsonl"], "{t}/empty.jsonl: holds no observations"),
    (["articles", "--snapshot", "{t}/empty.jsonl"], "{t}/empty.jsonl: holds no observations"),
    (["check", "--snapshot", "{t}/bad.jsonl"],
     "{t}/bad.jsonl:5: not valid JSON (expecting property name enclosed in double quotes, at column 34)"),
    (["replay", "{t}/bad.jsonl"], "{t}/bad.jsonl:5: not valid JSON (expecting property name"),
    (["check", "--snapshot", "{t}/nan.jsonl"], "{t}/nan.jsonl:1: not valid JSON (NaN is not a number)"),
    (["check", "--snapshot", "{t}"], "{t}: cannot read: it is a folder, not a file"),
    (["check", "--snapshot", "{t}/afile/s.jsonl"], "{t}/afile/s.jsonl: cannot read: {t}/afile is a file, not a folder"),
    (["check", "--snapshot", "{t}/none.jsonl"], "{t}/none.jsonl: cannot read: no such file"),
    (["replay", "{t}/afile/s.jsonl"], "{t}/afile/s.jsonl: cannot read: {t}/afile is a file, not a folder"),
    (["--config", "{t}/bad.toml", "claims"], "{t}/bad.toml:2: not valid TOML (invalid value, at column 8)"),
    (["--config", "{t}/afile/c.toml", "claims"], "{t}/afile/c.toml: cannot read: {t}/afile is a file, not a folder"),
    (["--config", "{t}", "claims"], "{t}: cannot read: it is a folder, not a file"),
    (["status", "--store", "{t}/afile/s.sqlite"], "{t}/afile/s.sqlite: no store can be there: {t}/afile is a file"),
    (["check", "--store", "{t}/afile/s.sqlite"], "{t}/afile/s.sqlite: no store can be there: {t}/afile is a file"),
    (["articles", "--store", "{t}/afile/s.sqlite"], "{t}/afile/s.sqlite: no store can be there"),
    (["store", "check", "--store", "{t}/afile/s.sqlite"], "{t}/afile/s.sqlite: no store can be there"),
    (["store", "copy", "--from", "{t}/afile/s.sqlite", "--to", "{t}/x.sqlite"],
     "--from: {t}/afile/s.sqlite: no store can be there: {t}/afile is a file, not a folder"),
    (["status", "--store", "{t}"], "{t}: is a folder; give the store's file, e.g. {t}/tapecheck.sqlite"),
    (["collect", "--store", "{t}/afile/deeper/s.sqlite"],
     "{t}/afile/deeper/s.sqlite: cannot open the store: {t}/afile is a file, not a folder"),
    (["--no-collector", "--store", "{t}/afile/s.sqlite"],
     "{t}/afile/s.sqlite: cannot open the store: {t}/afile is a file, not a folder"),
    (["record", "--once", "--no-store", "--out", "{t}/afile/t.jsonl"],
     "{t}/afile/t.jsonl: cannot write: {t}/afile is a file, not a folder"),
]


@pytest.mark.parametrize(("args", "message"), CASES)
def test_bad_input_names_the_file_in_plain_words(capsys: pytest.CaptureFixture[str], files: dict[str, str],
                                                 args: list[str], message: str) -> None:
    said = one_line(capsys, [a.format(**files) for a in args])
    assert said.startswith(message.format(**files)), said
    assert "File exists" not in said and "Not a directory" not in said and "line 2 column" not in said


def test_a_claim_file_that_is_not_toml_names_its_line(tmp_path: Path) -> None:
    shipped = Path(load_narratives.__defaults__[0])  # type: ignore[index]
    for source in shipped.glob("*.toml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    broken = sorted(p for p in tmp_path.glob("*.toml") if p.name != "themes.toml")[0]
    lines = broken.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "this is not toml")
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TapecheckError) as caught:
        load_narratives(tmp_path)
    assert f"{broken}:4: not valid TOML (expected '=' after a key in a key/value pair, at column 6)" in str(caught.value)
