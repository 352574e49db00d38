"""The headless commands end to end: `claims` and `check`, their JSON, tables, exit codes and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.narratives.claims import load_narratives

NOW = "2026-01-26T06:00:00Z"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_claims_json_lists_every_claim(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "claims", "--json")
    assert code == 0
    claims = json.loads(out)
    assert len(claims) == len(load_narratives().claims)
    for claim in claims:
        for key in ("id", "theme", "article", "as_of", "summary", "kind", "series", "op", "value", "unit"):
            assert key in claim
        assert claim["citation"]
    tesla = next(c for c in claims if c["id"] == "bb-tesla-btc-11509-over-1bn")
    assert tesla["kind"] == "check" and tesla["series"] == ["crypto:BTC/USD:last"]
    assert tesla["op"] == ">" and tesla["value"] == 1e9 and tesla["unit"] == "USD"


def test_claims_table_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--lang", "zh", "claims")
    assert code == 0
    assert "== 比特币挖矿" in out and "特斯拉" in out


@pytest.fixture
def verdicts(capsys: pytest.CaptureFixture[str], snapshot_path: Path) -> dict[str, dict[str, object]]:
    code, out, err = run(capsys, "check", "--snapshot", str(snapshot_path), "--now", NOW, "--json")
    assert code == 1, err  # several claims diverge on this tape
    doc = json.loads(out)
    assert doc["now"] == "2026-01-26T06:00:00+00:00"
    return {v["id"]: v for v in doc["verdicts"]}


# What tests/data/make_snapshot.py's stated values imply, worked out by hand.
EXPECTED = {
    "bb-tesla-btc-11509-over-1bn": ("diverged", 11509 * 71_200),  # median of coinbase and kraken
    "wu-btc-above-miner-cash-cost": ("diverged", 71_200),
    "wu-btc-below-miner-allin-cost": ("holds", 71_200),
    "wu-mara-50k-btc-value": ("holds", 50_000 * 71_200),
    "wu-hashrate-above-1zh": ("holds", 1.05e21),
    "bb-moore-threads-cap-383bn": ("diverged", 290e9),
    "loop-openai-500bn-in-cny": ("diverged", 500e9 * 6.95),
    "lim-wealth-cny-conversion": ("holds", 4.9e9 * 6.95),
    "tmt-junda-20cm-limit-up-0123": ("diverged", (91.16 / 82.87 - 1) * 100),
    "tmt-junda-still-up-250pct": ("diverged", (85.00 / 28.00 - 1) * 100),
    "tmt-junda-high-9944-0123": ("holds", 99.44),
    "tmt-junda-holds-above-9944": ("diverged", 85.00),
    "loop-nvidia-cap-over-5t": ("stale", 4.5e12),  # Thursday's close: Friday's session is missing
    "ft-nvidia-cap-4-42t": ("stale", 4.5e12),
}


@pytest.mark.parametrize(("claim_id", "expected"), EXPECTED.items())
def test_check_gives_the_expected_verdicts(verdicts: dict[str, dict[str, object]], claim_id: str,
                                           expected: tuple[str, float]) -> None:
    status, live = expected
    verdict = verdicts[claim_id]
    assert verdict["status"] == status, verdict["explanation"]
    assert verdict["live_value"] == pytest.approx(live)
    claimed = verdict["claim_value"]
    assert isinstance(claimed, float)
    assert verdict["deviation_pct"] == pytest.approx((live - claimed) / abs(claimed) * 100, abs=1e-3)


def test_check_market_closed_is_not_stale(verdicts: dict[str, dict[str, object]]) -> None:
    tesla = verdicts["bb-tesla-btc-11509-over-1bn"]
    assert tesla["market_closed"] is False
    stale = verdicts["loop-nvidia-cap-over-5t"]
    assert stale["market_closed"] is False and "stale: equity:NVDA:market_cap is 3d 9h old" in str(stale["explanation"])


def test_check_no_data_for_missing_series(verdicts: dict[str, dict[str, object]]) -> None:
    mag7 = verdicts["ft-mag7-added-14t-since-chatgpt"]
    assert mag7["status"] == "no_data" and mag7["live_value"] is None
    assert "no observations of equity:AAPL:market_cap" in str(mag7["explanation"])


def test_check_correlation_share_needs_2025_history(verdicts: dict[str, dict[str, object]]) -> None:
    """The claim is about most of 2025 (share of 30-day windows); the snapshot's 45 days from mid-December hold
    no full window in 2025. tests/test_article_claims.py judges it over a constructed year."""
    corr = verdicts["fw-btc-nasdaq-corr-above-half"]
    assert corr["status"] == "no_data"
    assert "the window starts on 2025-01-01, before the history of crypto:BTC/USD:last does (2025-12-12)" \
        in str(corr["explanation"])


def test_every_verdict_has_the_contract_fields(verdicts: dict[str, dict[str, object]]) -> None:
    assert len(verdicts) == len(load_narratives().claims)
    for verdict in verdicts.values():
        assert verdict["status"] in ("holds", "diverged", "stale", "no_data", "context")
        for key in ("id", "theme", "claim_value", "live_value", "unit", "deviation_pct", "series", "explanation",
                    "then_status", "then_value", "then_date", "evidence", "then_evidence"):
            assert key in verdict


def test_check_json_gives_the_verdict_then_and_now(verdicts: dict[str, dict[str, object]]) -> None:
    limit_up = verdicts["tmt-junda-20cm-limit-up-0123"]  # +10% on its own date: the record contradicts it
    assert (limit_up["then_status"], limit_up["then_date"]) == ("diverged", "2026-01-23")
    assert limit_up["then_value"] == pytest.approx((91.16 / 82.87 - 1) * 100)
    still = verdicts["tmt-junda-holds-above-9944"]  # closed at 91.16 that day, 85 now
    assert (still["then_status"], still["then_value"], still["status"], still["live_value"]) == \
        ("diverged", 91.16, "diverged", 85.0)
    high = verdicts["tmt-junda-high-9944-0123"]
    assert (high["then_status"], high["then_value"]) == ("holds", 99.44)
    assert verdicts["loop-oracle-one-day-36pct"]["then_status"] == "no_data"
    context = next(v for v in verdicts.values() if v["status"] == "context")
    assert (context["then_status"], context["then_date"]) == (None, None)


def test_check_at_a_past_date(capsys: pytest.CaptureFixture[str], snapshot_path: Path) -> None:
    code, out, err = run(capsys, "check", "--snapshot", str(snapshot_path), "--at", "2026-01-23", "--json")
    doc = json.loads(out)
    assert doc["at"] == "2026-01-23" and doc["now"].startswith("2026-01-23T23:59:59")
    by_id = {v["id"]: v for v in doc["verdicts"]}
    assert (by_id["tmt-junda-holds-above-9944"]["status"], by_id["tmt-junda-holds-above-9944"]["live_value"]) == \
        ("diverged", 91.16)  # that day's close, not the later 85
    assert by_id["wu-hashrate-above-1zh"]["status"] == "no_data"  # the hashrate was first recorded on the 26th
    assert code == 1, err
    code, out, _ = run(capsys, "check", "--snapshot", str(snapshot_path), "--at", "2026-01-23")
    assert out.startswith("tapecheck at the close of 2026-01-23:") and " wrong then (" in out


def test_check_on_a_tape_sees_the_state_at_now(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A tape holds a series' whole run; --now picks the moment: later lines are not seen."""
    tape = tmp_path / "tape.jsonl"
    rows = [("2026-01-26T05:00:00Z", 1.05e21), ("2026-01-26T05:30:00Z", 0.95e21), ("2026-01-26T06:30:00Z", 1.2e21)]
    tape.write_text("".join(json.dumps({"series": "network:bitcoin:hashrate", "value": v, "unit": "H/s", "ts": ts,
                                        "source": "mempool"}) + "\n" for ts, v in rows))
    statuses = {}
    for now in ("2026-01-26T05:10:00Z", "2026-01-26T06:00:00Z", "2026-01-26T06:40:00Z"):
        _, out, _ = run(capsys, "check", "--snapshot", str(tape), "--now", now, "--json")
        hashrate = next(v for v in json.loads(out)["verdicts"] if v["id"] == "wu-hashrate-above-1zh")
        statuses[now[11:16]] = (hashrate["status"], hashrate["live_value"])
    assert statuses == {"05:10": ("holds", 1.05e21), "06:00": ("diverged", 0.95e21), "06:40": ("holds", 1.2e21)}


def test_check_table_puts_diverged_first(capsys: pytest.CaptureFixture[str], snapshot_path: Path) -> None:
    code, out, _ = run(capsys, "check", "--snapshot", str(snapshot_path), "--now", NOW)
    assert code == 1
    mining = out.split("== Bitcoin mining ==")[1].split("==")[0]
    assert mining.index("DIVERGED") < mining.index("holds")
    assert "11,509 × 71,200.00 USD = 819M USD < 1.00B USD claimed" in out


def test_check_exits_0_when_nothing_diverged(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tape = tmp_path / "ok.jsonl"
    tape.write_text(json.dumps({"series": "network:bitcoin:hashrate", "value": 1.1e21, "unit": "H/s",
                                "ts": "2026-01-26T05:59:00Z", "source": "mempool"}) + "\n")
    code, out, _ = run(capsys, "check", "--snapshot", str(tape), "--now", NOW)
    assert code == 0
    assert "holds     wu-hashrate-above-1zh" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--snapshot", "{bad}", "--now", NOW], "{bad}:2: crypto:BTC/USD:last is in USD, but the line says 'EUR'"),
        (["check", "--snapshot", "{missing}"], "{missing}: cannot read"),
        (["check", "--snapshot", "{good}", "--now", "noon"], "--now: 'noon' is not an ISO-8601 time"),
        (["check", "--store", "{missing}"], "no store at {missing} yet: run `tapecheck collect --store {missing}` first, or pass --snapshot FILE"),
        (["--config", "{missing}", "claims"], "{missing}: cannot read"),
        (["check", "--snapshot", "{good}", "--at", "23 Jan"], "--at: '23 Jan' is not a date such as 2026-01-23"),
        (["check", "--snapshot", "{good}", "--at", "2099-01-01"], "--at: 2099-01-01 has not closed yet; give a past day"),
        (["check", "--snapshot", "{good}", "--at", "2026-01-23", "--now", NOW], "--at DATE and --now: give one"),
        (["replay", "{good}", "--speed", "-2"], "--speed must be from 0 to 1e+07, not -2"),
        (["replay", "{good}", "--from", "2030-01-01T00:00:00Z"], "the tape has nothing at or after 2030-01-01"),
        (["replay", "{bad}"], "{bad}:2: crypto:BTC/USD:last is in USD"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                snapshot_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(snapshot_path.read_text().splitlines()[0] + "\n" + json.dumps(
        {"series": "crypto:BTC/USD:last", "value": 1, "unit": "EUR", "ts": NOW, "source": "x"}) + "\n")
    paths = {"bad": str(bad), "missing": str(tmp_path / "missing.jsonl"), "good": str(snapshot_path)}
    code, out, err = run(capsys, *[a.format(**paths) for a in args])
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"tapecheck: {message.format(**paths)}"] or (
        len(err.splitlines()) == 1 and err.startswith(f"tapecheck: {message.format(**paths)}"))


OUT_OF_MODE = [
    (["--now", NOW], "--now does not apply to the live dashboard"),
    (["--now", NOW, "--no-collector"], "--now does not apply to the live dashboard"),
    (["--demo", "--snapshot", "{good}"], "--demo and --snapshot: give one"),
    (["--demo", "--now", NOW], "--now does not apply to the demo (--demo)"),
    (["--demo", "--store", "{missing}"], "--store does not apply to the demo (--demo)"),
    (["--demo", "--no-collector"], "--no-collector does not apply to the demo (--demo)"),
    (["--demo", "--refetch-history"], "--refetch-history does not apply to the demo (--demo)"),
    (["--snapshot", "{good}", "--store", "{missing}"], "--store does not apply to a snapshot's dashboard"),
    (["--snapshot", "{good}", "--no-collector"], "--no-collector does not apply to a snapshot's dashboard"),
    (["--refetch-history"], "--refetch-history does not apply to the live dashboard; it is for collect and record"),
    (["--demo", "replay", "{good}"], "--demo does not apply to `replay`"),
    (["--snapshot", "{good}", "replay", "{good}"], "--snapshot does not apply to `replay`"),
    (["--now", NOW, "replay", "{good}"], "--now does not apply to `replay`"),
    (["--store", "{missing}", "replay", "{good}"], "--store does not apply to `replay`"),
    (["--now", NOW, "status"], "--now does not apply to `status`"),
    (["--snapshot", "{good}", "status"], "--snapshot does not apply to `status`"),
    (["--lang", "zh", "status"], "--lang does not apply to `status`"),
    (["--no-collector", "check", "--snapshot", "{good}"], "--no-collector does not apply to `check`"),
    (["--demo", "check", "--snapshot", "{good}"], "--demo does not apply to `check`"),
    (["--store", "{missing}", "claims"], "--store does not apply to `claims`"),
    (["--now", NOW, "claims"], "--now does not apply to `claims`"),
    (["--snapshot", "{good}", "collect"], "--snapshot does not apply to `collect`"),
    (["--lang", "en", "collect"], "--lang does not apply to `collect`"),
    (["--now", NOW, "record", "--once"], "--now does not apply to `record`"),
    (["--demo", "record", "--once"], "--demo does not apply to `record`"),
    (["--refetch-history", "check", "--snapshot", "{good}"], "--refetch-history does not apply to `check`"),
    (["--store", "{missing}", "store", "copy", "--from", "a", "--to", "b"], "--store does not apply to `store copy`"),
    (["--config", "{missing}", "config-path"], "--config does not apply to `config-path`"),
    (["check", "--snapshot", "{good}", "--store", "{missing}"], "check: --snapshot FILE and --store: give one"),
    (["articles", "--snapshot", "{good}", "--store", "{missing}"], "articles: --snapshot FILE and --store: give one"),
    (["record", "--once", "--append"], "record: --append is for --out FILE, which was not given"),
    (["record", "--once", "--force"], "record: --force is for --out FILE, which was not given"),
    (["record", "--once", "--no-store", "--out", "{missing}", "--store", "{missing}"],
     "record: --no-store and --store: give one"),
]


@pytest.mark.parametrize(("args", "message"), OUT_OF_MODE)
def test_a_flag_that_does_not_apply_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               snapshot_path: Path, args: list[str], message: str) -> None:
    """Never silently ignored: one line naming the flag and the mode, exit 2, and nothing run (no store made)."""
    paths = {"missing": str(tmp_path / "missing.sqlite"), "good": str(snapshot_path)}
    code, out, err = run(capsys, *[a.format(**paths) for a in args])
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"tapecheck: {message.format(**paths)}"), err
    assert not (tmp_path / "missing.sqlite").exists()


def test_every_top_level_flag_has_its_modes() -> None:
    """A flag added to the parser without saying where it applies would slip through unchecked."""
    from tui.cli import build_parser
    from tui.modes import APPLIES

    flags = {o for a in build_parser()._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
    assert flags == set(APPLIES)


def test_console_entry_points_run(snapshot_path: Path) -> None:
    """`python -m tui` works, and a broken pipe is not a traceback."""
    done = subprocess.run([sys.executable, "-m", "tui", "check", "--snapshot", str(snapshot_path), "--now", NOW],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    piped = subprocess.run(f"{sys.executable} -m tui claims | head -1", shell=True, capture_output=True, text=True,
                           timeout=60)
    assert "Traceback" not in piped.stderr
    assert piped.stdout.startswith(f"{len(load_narratives().claims)} claims")
