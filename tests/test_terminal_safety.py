"""What reaches the terminal: text from outside with its control characters shown escaped, never obeyed; the
terminal restored on SIGTERM and SIGHUP; a crash as one line and exit 1, its traceback in the log only."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import DATA, obs
from tests.pilot import shown, sources_page, until
from tests.test_terminal import ROOT, Terminal
from tui.cli import main
from tui.core.config import load_settings
from tui.core.model import Health
from tui.core.narratives.claims import load_narratives
from tui.core.printable import is_printable, printable
from tui.core.store.sqlite import Store
from tui.ui.app import live_app, snapshot_app
from tui.ui.screens.series import SeriesScreen

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
TITLE = "\x1b]0;owned\x07"  # sets the terminal's title
CLEAR = "\x1b[2J\x1b[H"  # clears the screen
HOSTILE = [TITLE, CLEAR, "\x9b31m", "a\u202eb", "\x00\x08\x7f", "z\u200bw", "\ud800"]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_printable_shows_control_characters_as_escapes(text: str) -> None:
    shown = printable(f"left {text} right")
    assert is_printable(shown) and shown.startswith("left ") and shown.endswith(" right")
    assert "\\x" in shown or "\\u" in shown
    shown.encode("utf-8")  # a lone surrogate would not encode


def test_printable_keeps_ordinary_text() -> None:
    assert printable("BTC/USD 71,200 · 比特币 ✓") == "BTC/USD 71,200 · 比特币 ✓"
    assert printable("a\nb", keep_newlines=True) == "a\nb" and printable("a\nb") == "a\\x0ab"


def test_a_hostile_file_name_reaches_stderr_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"tape{TITLE}{CLEAR}.jsonl"
    assert main(["check", "--snapshot", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\\x1b]0;owned\\x07" in err


async def test_a_tapes_source_field_reaches_the_series_screen_escaped(tmp_path: Path) -> None:
    tape = tmp_path / "tape.jsonl"
    tape.write_text("".join(json.dumps({"series": "crypto:BTC/USD:last", "value": v, "unit": "USD",
                                        "ts": "2026-01-26T05:59:00Z", "source": s}) + "\n"
                            for v, s in ((71_000, TITLE), (71_100, CLEAR), (71_200, "kraken"))))
    tapecheck = snapshot_app(load_settings(), load_narratives(), tape, NOW)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_series("crypto:BTC/USD:last")
        await until(pilot, lambda: isinstance(tapecheck.screen, SeriesScreen) and tapecheck.screen.latest,
                    "the series page with its sources")
        screen = tapecheck.screen
        assert isinstance(screen, SeriesScreen)
        text = screen.describe(NOW).plain
        assert "\x1b" not in text and "\x07" not in text
        assert "\\x1b]0;owned\\x07" in text and "kraken" in text


async def test_an_api_error_reaches_the_sources_screen_escaped(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    now = datetime.now(UTC)
    store.append([obs("crypto:BTC/USD:last", 71_000, now - timedelta(seconds=600), "binance")])
    store.save_health(Health("binance", "crypto", None, f"HTTP 503 {TITLE}{CLEAR}", now, None, 1,
                                   now + timedelta(seconds=10), "failing"))  # as the collector stores it
    tapecheck = live_app(load_settings(), load_narratives(), Store(store.path, read_only=True))
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        screen = await sources_page(pilot, tapecheck)
        screen.redraw()
        shown_cells = [str(cell) for cell in screen.query_one("#sources").get_row_at(0)]  # type: ignore[attr-defined]
        detail = str(screen.query_one("#source-detail").render())
        for text in (*shown_cells, detail):
            assert "\x1b" not in text and "\x07" not in text
        assert any("HTTP 503 \\x1b]0;owned" in text for text in shown_cells)


def test_an_unexpected_error_is_one_line_and_exit_1_with_the_traceback_in_the_log(
        private_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr("tui.cli.run_check", broken)  # a stand-in for any bug in a command
    assert main(["check", "--snapshot", str(DATA / "snapshot.jsonl")]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("tapecheck: unexpected error: RuntimeError: a bug")
    assert "Traceback" not in err
    log = (private_home / "state" / "tapecheck" / "log" / "tapecheck.log").read_text()
    assert "Traceback" in log and "RuntimeError: a bug" in log


ALT_ON, ALT_OFF, MOUSE_OFF = b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[?1000l"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_restore_the_terminal_and_exit(tmp_path: Path, sig: signal.Signals) -> None:
    term = Terminal(tmp_path, ["--snapshot", str(DATA / "snapshot.jsonl"), "--now", "2026-01-26T06:00:00Z"], {})
    try:
        term.wait_for(b"diverged", seconds=120)
        assert ALT_ON in term.output
        os.kill(term.process.pid, sig)
        status = term.wait_exit(seconds=120)
        output = term.read(0.3)
    finally:
        term.close()
    assert status == 128 + sig
    tail = output[output.rindex(ALT_ON):]
    assert ALT_OFF in tail and MOUSE_OFF in tail, tail[-400:]
    assert b"Traceback" not in output


CRASHING = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from datetime import UTC, datetime
from pathlib import Path
from tui.cli import say
from tui.core.narratives.claims import load_narratives
from tui.core.config import load_settings
from tui.core.logs import setup_logging
from tui.ui.app import TapecheckApp, snapshot_app

class Crashing(TapecheckApp):
    def on_panels_shown(self, message):
        raise RuntimeError("a bug in the dashboard")

setup_logging()
app = snapshot_app(load_settings(), load_narratives(), Path({str(DATA / 'snapshot.jsonl')!r}),
                   datetime(2026, 1, 26, 6, tzinfo=UTC))
app.__class__ = Crashing
app.run()
sys.exit(app.return_code if app.crashed else 99)
"""


def test_a_dashboard_crash_leaves_its_traceback_in_the_log_only(tmp_path: Path) -> None:
    term = Terminal(tmp_path, [], {}, argv=[sys.executable, "-c", CRASHING])
    try:
        status = term.wait_exit(seconds=120)
        output = term.read(0.3)
    finally:
        term.close()
    assert status == 1, output[-1000:]
    assert b"Traceback" not in output and b"a bug in the dashboard" not in output
    log = (tmp_path / "state" / "tapecheck" / "log" / "tapecheck.log").read_text()  # Terminal's state dir
    assert "Traceback" in log and "RuntimeError: a bug in the dashboard" in log
