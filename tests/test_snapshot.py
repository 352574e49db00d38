"""The JSON Lines observation reader: good lines, every kind of bad line, and fuzzing."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.model import Observation, TapecheckError
from tui.core.snapshot import parse_observation, parse_time, read_observations, write_observations

GOOD = {"series": "crypto:BTC/USD:last", "value": 71200.5, "unit": "USD", "ts": "2026-01-26T05:59:30Z",
        "source": "coinbase"}


def line(**changes: object) -> str:
    return json.dumps({**GOOD, **changes})


def test_reads_a_good_line() -> None:
    obs = parse_observation(line())
    assert obs == Observation("crypto:BTC/USD:last", 71200.5, "USD", datetime(2026, 1, 26, 5, 59, 30, tzinfo=UTC),
                              "coinbase")


def test_times_are_normalised_to_utc() -> None:
    assert parse_time("2026-01-26T14:00:00+08:00") == datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
    assert parse_time("2026-01-26T06:00:00") == datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
    with pytest.raises(TapecheckError, match="not an ISO-8601 time"):
        parse_time("yesterday")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"series": "crypto:BTC/USD:last"}), "missing field"),
        (line(value="71200"), "value must be a number"),
        (line(value=True), "value must be a number"),
        (line(value=None), "value must be a number"),
        (line().replace("71200.5", "NaN"), "NaN is not a number"),
        (line().replace("71200.5", "Infinity"), "Infinity is not a number"),
        (line().replace("71200.5", "1e999"), "not finite"),
        (line().replace("71200.5", "9" * 400), "too large"),
        (line(series="stock:NVDA:last", unit="USD"), "unknown kind"),
        (line(series="crypto:BTC/USD:volume"), "fields"),
        (line(unit="CNY"), "is in USD, but the line says 'CNY'"),
        (line(ts="soon"), "not an ISO-8601 time"),
        (line(source=""), "source must be a non-empty string"),
        (line(ts=5), "ts must be a non-empty string"),
    ],
)
def test_rejects_bad_lines(text: str, message: str) -> None:
    with pytest.raises(TapecheckError, match=message):
        parse_observation(text)


def test_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "tape.jsonl"
    path.write_text(line() + "\n\n" + line(unit="EUR") + "\n", encoding="utf-8")
    with pytest.raises(TapecheckError, match=rf"^{path}:3: crypto:BTC/USD:last is in USD"):
        read_observations(path)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(TapecheckError, match="cannot read"):
        read_observations(tmp_path / "nope.jsonl")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TapecheckError, match="not UTF-8"):
        read_observations(binary)


def test_round_trip(tmp_path: Path) -> None:
    original = [parse_observation(line()), parse_observation(line(series="fx:USDCNY:last", unit="CNY/USD",
                                                                  value=6.95, source="yahoo"))]
    buffer = io.StringIO()
    assert write_observations(original, buffer) == 2
    path = tmp_path / "round.jsonl"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    assert read_observations(path) == original


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=200))
def test_random_text_lines_give_only_clean_errors(text: str) -> None:
    with contextlib.suppress(TapecheckError):
        parse_observation(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=2000, deadline=None)
@given(st.fixed_dictionaries({}, optional={k: json_values for k in GOOD}) | st.dictionaries(st.sampled_from(list(GOOD)), json_values))
def test_random_objects_give_only_clean_errors(obj: dict[str, object]) -> None:
    with contextlib.suppress(TapecheckError):
        parse_observation(json.dumps(obj))
