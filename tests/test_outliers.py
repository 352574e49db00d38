"""Outliers are caught on every path: a snapshot, tape or replay is held to what the collector holds its sources
to. A refused value stops the read at its line; a value many times off the other sources of its asset is
disputed, named with its line and never used; a claim left with only disagreeing sources reads `disputed`."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import DATA
from tui.cli import main
from tui.core.config import load_settings
from tui.core.model import Observation, Status, TapecheckError
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.evaluate import Context, DisputedData, last
from tui.core.narratives.rules.verdict import judge
from tui.core.replay import Replay
from tui.core.snapshot import load_tape
from tui.core.tape import MemoryTape
from tui.core.words import now_label

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
SETTINGS = load_settings()
TESLA = next(c for c in load_narratives().claims if c.id == "bb-tesla-btc-11509-over-1bn")  # 11,509 × BTC > 1B


def line(series: str, value: float, source: str, ts: str = "2026-01-26T05:59:30Z") -> str:
    unit = series.split("/")[1].split(":")[0] if series.startswith("crypto:") else "H/s"
    return json.dumps({"series": series, "value": value, "unit": unit, "ts": ts, "source": source})


def write(path: Path, lines: list[str]) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    else:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_exchange_at_100x_in_a_snapshot_leaves_teslas_claim_disputed(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """80,000 on one exchange, 8,000,000 on the other: which is right cannot be told, so neither is used."""
    snapshot = write(tmp_path / "snap.jsonl", [line("crypto:BTC/USD:last", 80_000, "coinbase"),
                                               line("crypto:BTC/USD:last", 8_000_000, "kraken")])
    read = load_tape(snapshot)
    assert read.observations == [] and len(read.disputed) == 2
    assert [w.split(": ")[0] for w in read.warnings] == [f"{snapshot}:1", f"{snapshot}:2"]
    assert all("disputed, not used as a value" in w and "100x" in w for w in read.warnings)
    verdict = judge(TESLA, Context(MemoryTape(read.observations, read.disputed), NOW, SETTINGS.staleness.max_age_s))
    assert verdict.status is Status.DISPUTED and now_label(verdict.status) == "disputed"
    assert "80,000.00 USD (coinbase), 8.00M USD (kraken); none is used" in verdict.explanation
    main(["check", "--snapshot", str(snapshot), "--now", NOW.isoformat(), "--json"])
    captured = capsys.readouterr()
    verdicts = {v["id"]: v for v in json.loads(captured.out)["verdicts"]}
    assert verdicts[TESLA.id]["status"] == "disputed" and verdicts[TESLA.id]["live_value"] is None
    assert f"{snapshot}:2: disputed, not used as a value: crypto:BTC/USD:last: 8e+06 is 100x above" in captured.err


def test_with_two_of_four_sources_at_100x_no_price_none_of_them_quoted_is_used(tmp_path: Path) -> None:
    quotes = [("crypto:BTC/USD:last", 70_000, "coinbase"), ("crypto:BTC/USDT:last", 70_010, "binance"),
              ("crypto:BTC/USD:last", 7_000_000, "kraken"), ("crypto:BTC/USDT:last", 7_001_000, "okx")]
    read = load_tape(write(tmp_path / "four.jsonl", [line(*q) for q in quotes]))
    assert read.observations == [] and len(read.disputed) == 4  # each disagrees with most of the others
    ctx = Context(MemoryTape(read.observations, read.disputed), NOW, SETTINGS.staleness.max_age_s)
    assert judge(TESLA, ctx).status is Status.DISPUTED
    # even unsifted (a store's values), the median of the split middle pair is never taken as a price
    raw = [Observation(s, v, s.split("/")[1].split(":")[0], NOW - timedelta(seconds=30), src) for s, v, src in quotes
           if s.endswith("USD:last")]
    with pytest.raises(DisputedData, match="split"):
        last(Context(MemoryTape(raw), NOW, SETTINGS.staleness.max_age_s), "crypto:BTC/USD:last")


def test_one_outlier_among_agreeing_sources_is_set_aside_and_the_rest_are_used(tmp_path: Path) -> None:
    snapshot = write(tmp_path / "three.jsonl", [line("crypto:BTC/USD:last", 71_150, "coinbase"),
                                                line("crypto:BTC/USD:last", 7_125_000, "kraken"),
                                                line("crypto:BTC/USDT:last", 71_230, "binance")])
    read = load_tape(snapshot)
    assert [o.source for o in read.disputed] == ["kraken"] and read.warnings[0].startswith(f"{snapshot}:2: ")
    verdict = judge(TESLA, Context(MemoryTape(read.observations, read.disputed), NOW, SETTINGS.staleness.max_age_s))
    assert verdict.status is Status.DIVERGED and verdict.live_value == pytest.approx(11_509 * 71_150)


def test_an_outlier_in_a_replay_tape_is_never_played(tmp_path: Path) -> None:
    """A gzip tape: coinbase and binance tick together; at 06:00:20 coinbase prints 100x. The replay never shows
    it: binance's own past vouches for its price, coinbase's does not for 7,120,000."""
    start = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
    lines = []
    for second in range(0, 60, 10):
        ts = (start + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")
        lines.append(line("crypto:BTC/USD:last", 7_120_000 if second == 20 else 71_200 + second, "coinbase", ts))
        lines.append(line("crypto:BTC/USDT:last", 71_210 + second, "binance", ts))
    tape = write(tmp_path / "tape.jsonl.gz", lines)
    read = load_tape(tape)
    assert len(read.disputed) == 1 and read.warnings[0].startswith(f"{tape}:5: disputed")
    replay = Replay(read.observations, 0, None, read.disputed)
    while replay.now < start + timedelta(seconds=20):
        replay.step()
    value = last(Context(replay.tape, replay.clock(), SETTINGS.staleness.max_age_s), "crypto:BTC/USD:last")
    assert value.value == 71_210  # coinbase's last good print, 10 s old; never 7,120,000 nor a median with it


@pytest.mark.parametrize(("text", "why"), [
    (line("crypto:BTC/USD:last", 0, "coinbase"), "value 0.0 is not positive"),
    (line("crypto:BTC/USD:last", -71_200, "coinbase"), "value -71200.0 is not positive"),
    (line("crypto:BTC/USD:last", 1e300, "coinbase"), "implausibly large"),
    (line("network:bitcoin:hashrate", 1e-9, "mempool.space"), "outside the plausible range"),
    (line("crypto:BTC/USD:last", 71_200, "demo"), "source 'demo' is synthetic"),
])
def test_a_value_the_collector_refuses_stops_the_read_at_its_line(tmp_path: Path, text: str, why: str) -> None:
    snapshot = write(tmp_path / "bad.jsonl", [line("crypto:BTC/USD:last", 71_150, "coinbase"), text])
    with pytest.raises(TapecheckError, match="refused") as caught:
        load_tape(snapshot)
    assert str(caught.value).startswith(f"{snapshot}:2: refused, as the collector refuses it: ")
    assert why in str(caught.value)


def test_the_shipped_snapshot_has_nothing_to_dispute() -> None:
    read = load_tape(DATA / "snapshot.jsonl")
    assert read.disputed == [] and read.warnings == []


def test_live_a_claim_whose_fresh_values_are_all_disputed_reads_disputed_in_status(tmp_path: Path) -> None:
    """The store keeps disputed values apart; when they are all a series has that is fresh, the claims that read
    it are disputed (not stale on an old price), in the viewer's verdicts and in `status`."""
    from tui.core.judge.status import store_status
    from tui.core.judge.view import make_context
    from tui.core.store.sqlite import Store

    store = Store(tmp_path / "s.sqlite")
    old = NOW - timedelta(hours=3)
    store.append([Observation("crypto:BTC/USD:last", 71_150, "USD", old, "coinbase")])
    store.add_disputed([(Observation("crypto:BTC/USD:last", 7_115_000, "USD", NOW - timedelta(seconds=20), "coinbase"),
                         "crypto:BTC/USD:last: 7.115e+06 is 100x above its own last value")])
    verdict = judge(TESLA, make_context(store, NOW, SETTINGS))
    assert verdict.status is Status.DISPUTED and "7.12M USD (coinbase)" in verdict.explanation
    status = store_status(store, load_narratives, SETTINGS, NOW)
    assert status.counts.get("disputed", 0) >= 1 and " disputed" in status.line
