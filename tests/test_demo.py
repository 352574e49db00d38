"""The demo tape: deterministic, up to date with its generator, complete, and scripted to flip three claims."""

from __future__ import annotations

import gzip
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.data import make_demo as demo
from tui.core.config import load_settings
from tui.core.demotape import DEMO_END, DEMO_SOURCE, DEMO_START, DEMO_TAPE
from tui.core.judge.view import make_context
from tui.core.model import Observation, SeriesId, Status
from tui.core.narratives.claims import Narratives, load_narratives
from tui.core.narratives.rules.evaluate import Context
from tui.core.narratives.rules.verdict import judge
from tui.core.snapshot import format_observation, parse_observation
from tui.core.tape import MemoryTape, end_of_day

FLIPS = ("bb-tesla-btc-11509-over-1bn", "wu-hashrate-above-1zh", "tmt-junda-holds-above-9944")

# Claims dated inside the daily history whose figures the generator anchors: they hold on their own date.
ANCHORED = (
    "bb-moore-threads-cap-383bn", "bb-moore-threads-6x-issue-price", "bb-tesla-btc-11509-over-1bn",
    "bb-nvidia-cap-over-5t", "loop-nvidia-cap-over-5t", "ft-nvidia-cap-4-42t", "loop-amd-up-40pct-on-openai",
    "loop-amd-warrants-over-30bn", "loop-amd-warrants-10pct", "loop-nvidia-coreweave-7pct-3bn",
    "loop-openai-500bn-in-cny", "lim-wealth-cny-conversion",
    "wu-btc-above-miner-cash-cost", "wu-btc-below-miner-allin-cost", "wu-hashrate-above-1zh",
    "cbh-aikesaibo-up-7pct-0108", "cbh-anfu-up-3pct-0108", "cbh-clou-up-3pct-0108", "cbh-taijia-limit-up-0108",
    "cfund-dke-up-20pct-week", "cfund-loongson-up-20pct-week", "cfund-qixiang-up-20pct-week",
    "tmt-junda-20cm-limit-up-0123", "tmt-junda-high-9944-0123", "tmt-junda-holds-above-9944",
    "tmt-junda-up-250pct-since-nov24", "tmt-maiwei-20cm-limit-up-0123", "tmt-maiwei-high-32436-0123",
    "tmt-maiwei-holds-above-32436", "tmt-maiwei-tripled-in-two-months", "tmt-autowell-20cm-limit-up-0123",
    "tmt-autowell-up-230pct-since-nov24", "tmt-risen-20cm-limit-up-0123", "tmt-risen-up-190pct-since-nov24",
    "tmt-lianseng-up-150pct-since-nov24", "tmt-gaoce-20cm-limit-up-0123", "tmt-huamin-20cm-limit-up-0123",
    "tmt-jinko-20cm-limit-up-0123", "tmt-jsg-20cm-limit-up-0123", "tmt-laplace-20cm-limit-up-0123",
    "tmt-sc-new-energy-20cm-limit-up-0123",
)


@pytest.fixture(scope="module")
def observations() -> list[Observation]:
    return demo.generate()


@pytest.fixture(scope="module")
def tape(observations: list[Observation]) -> MemoryTape:
    return MemoryTape(observations)


@pytest.fixture(scope="module")
def narratives() -> Narratives:
    return load_narratives()


def lines(observations: list[Observation]) -> str:
    return "".join(format_observation(o) + "\n" for o in observations)


def test_generate_is_deterministic_per_seed(observations: list[Observation]) -> None:
    assert demo.generate() == observations
    assert demo.generate(demo.DEMO_SEED + 1) != observations


def test_shipped_tape_is_up_to_date(observations: list[Observation]) -> None:
    with gzip.open(DEMO_TAPE, "rt", encoding="utf-8") as handle:
        shipped = handle.read()
    assert shipped == lines(observations), "run `python tests/data/make_demo.py` to regenerate tui/core/data/demo.jsonl.gz"
    assert DEMO_TAPE.stat().st_size < 400_000


def test_write_is_byte_deterministic(tmp_path: Path, observations: list[Observation]) -> None:
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    demo.write(first, observations[:500])
    demo.write(second, observations[:500])
    assert first.read_bytes() == second.read_bytes()
    assert gzip.decompress(first.read_bytes()).decode() == lines(observations[:500])


def test_every_line_parses_and_is_demo_data(observations: list[Observation]) -> None:
    parsed = [parse_observation(line) for line in lines(observations).splitlines()]
    assert parsed == observations
    assert {o.source for o in parsed} == {DEMO_SOURCE}
    assert all(o.unit == SeriesId.parse(o.series).unit for o in parsed)
    assert [(o.ts, o.series) for o in parsed] == sorted((o.ts, o.series) for o in parsed)


def test_every_series_is_in_history_and_live(observations: list[Observation], narratives: Narratives) -> None:
    wanted = {s for c in narratives.claims for s in c.series} | {s for t in narratives.themes for s in t.watch}
    history = {o.series for o in observations if o.ts < DEMO_START}
    live = {o.series for o in observations if DEMO_START <= o.ts <= DEMO_END}
    assert wanted <= history
    assert wanted <= live
    assert max(o.ts for o in observations) <= DEMO_END


def test_highs_and_lows_bracket_the_last_price(observations: list[Observation]) -> None:
    last = {(o.series, o.ts): o.value for o in observations if o.series.endswith(":last")}
    for obs in observations:
        kind, symbol, field = obs.series.split(":")
        if field in ("high", "low"):
            close = last[(f"{kind}:{symbol}:last", obs.ts)]
            assert (obs.value >= close) if field == "high" else (obs.value <= close), obs


@pytest.mark.parametrize("claim_id", FLIPS)
def test_scripted_claims_flip_during_the_live_part(claim_id: str, tape: MemoryTape, narratives: Narratives) -> None:
    settings = load_settings(None)
    claim = narratives.claim(claim_id)
    early = judge(claim, make_context(tape, DEMO_START + timedelta(hours=1), settings))
    late = judge(claim, make_context(tape, DEMO_END, settings))
    assert early.status is Status.HOLDS, early.explanation
    assert late.status is Status.DIVERGED, late.explanation


def test_a_window_older_than_the_demo_history_is_no_data(tape: MemoryTape, narratives: Narratives) -> None:
    """The share of 2025's BTC-Nasdaq windows: the demo's history starts on 2025-10-01, so it cannot say."""
    claim = narratives.claim("fw-btc-nasdaq-corr-above-half")
    ctx = Context(tape, end_of_day(claim.as_of) - timedelta(milliseconds=1), lambda s: 4 * 86400.0, 4,
                  closed_since=lambda s, t: None)
    verdict = judge(claim, ctx)
    assert verdict.status is Status.NO_DATA and "before the history of" in verdict.explanation


@pytest.mark.parametrize("claim_id", ANCHORED)
def test_anchored_claims_hold_on_their_own_date(claim_id: str, tape: MemoryTape, narratives: Narratives) -> None:
    claim = narratives.claim(claim_id)
    assert demo.HISTORY_START <= claim.as_of < DEMO_START.date()
    ctx = Context(tape, end_of_day(claim.as_of) - timedelta(milliseconds=1), lambda s: 4 * 86400.0, 4,
                  closed_since=lambda s, t: None)
    verdict = judge(claim, ctx)
    assert verdict.status is Status.HOLDS, verdict.explanation


DATE_IN_RULE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.mark.parametrize("moment", [DEMO_START + timedelta(hours=1), DEMO_END], ids=["first-hour", "end"])
def test_every_claim_has_the_days_it_reads(moment: datetime, tape: MemoryTape, narratives: Narratives) -> None:
    """The history is long enough for every window of every claim (MARA's beta over 90 daily returns was one
    day short): the only claims with no data are those whose rule names a day before the demo's history."""
    ctx = make_context(tape, moment, load_settings(None))
    short = []
    for claim in narratives.claims:
        if claim.rule is None:
            continue
        verdict = judge(claim, ctx)
        named = [date.fromisoformat(d) for d in DATE_IN_RULE.findall(claim.rule.expr)]
        if verdict.status is Status.NO_DATA and not any(d < demo.HISTORY_START for d in named):
            short.append(f"{claim.id}: {verdict.explanation}")
    assert not short, "\n".join(short)
