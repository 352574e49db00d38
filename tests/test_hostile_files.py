"""Hostile user files: a value nested 50,000 deep, files past the size bound, 10,000 broken claims, more claims
than a desk holds, escape sequences in every field, loops of symbolic links and FIFOs. Each is one line naming
the file, the rest loads, and a running collector goes on writing; reading 10,000 broken claims again costs the
collector's own process under a second of CPU (the reading runs in a child process)."""

from __future__ import annotations

import asyncio
import os
import resource
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tests.test_collector import config
from tests.test_user_narratives import VALID, article, check_claim, run, user_dir, write
from tui.collect.collector import Collector
from tui.collect.sources.registry import build_sources
from tui.collect.sources.wanted import wanted
from tui.core.config import load_settings
from tui.core.narratives.claims import lint_files, load_narratives
from tui.core.store.sqlite import Store
from tui.core.tomlfile import MAX_BYTES

PATIENCE = 6000  # pauses of 0.05 s: a bound, not a speed
DEEP = article("deep", "Desk", "Deep", "2026-01-20") + "x = " + "[" * 50_000 + "]" * 50_000 + "\n"
HUGE = article("huge", "Desk", "Huge", "2026-01-20") + "# " + "x" * MAX_BYTES + "\n"
DIGITS = article("digits", "Desk", "Digits", "2026-01-20") + f"x = {'9' * 5000}\n"


def broken_claims(count: int) -> str:
    """`count` claims, each with two problems (an unknown theme, a bare series in its rule)."""
    return article("broken", "Desk", "Broken", "2026-01-20") + "\n".join(
        check_claim(f"broken-{i}", "no_such_theme", "crypto:BTC/USD:last", 1, "USD", "Broken.") for i in range(count))


def cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def hostile_dir() -> dict[str, Path]:
    """A narratives folder holding one good file and one of each hostile kind."""
    files = {"valid": write("valid.toml", VALID), "deep": write("deep.toml", DEEP), "huge": write("huge.toml", HUGE),
             "digits": write("digits.toml", DIGITS)}
    loop = user_dir() / "loop.toml"
    loop.symlink_to(loop)
    fifo = user_dir() / "fifo.toml"
    os.mkfifo(fifo)
    return {**files, "loop": loop, "fifo": fifo}


def test_each_hostile_file_is_one_line_and_the_rest_loads() -> None:
    files = hostile_dir()
    narratives = load_narratives(user_dirs=(user_dir(),))
    assert "desk-btc-above-60k" in {c.id for c in narratives.claims}
    for name in ("deep", "huge", "digits", "loop", "fifo"):
        said = [line for line in narratives.problems if line.startswith(str(files[name]))]
        assert len(said) == 1, (name, narratives.problems)
    text = "\n".join(narratives.problems)
    assert "too large" in text and "a loop of symbolic links" in text and "FIFO" in text
    assert "nested too deep" in text or "nested" in text
    assert "too many digits" in text and "set_int_max_str_digits" not in text
    assert "Traceback" not in text


def test_lint_says_one_line_for_each(capsys: pytest.CaptureFixture[str]) -> None:
    files = hostile_dir()
    code, out, err = run(capsys, "lint", *(str(files[n]) for n in ("deep", "huge", "digits", "loop", "fifo")))
    assert code == 2 and not err
    assert len(out.splitlines()) == 5, out
    for name in ("deep", "huge", "digits", "loop", "fifo"):
        assert sum(line.startswith(str(files[name])) for line in out.splitlines()) == 1


@pytest.mark.parametrize("command", [["check"], ["claims"], ["status"]])
def test_commands_keep_going_with_a_deep_file_in_place(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        command: list[str]) -> None:
    deep = write("deep.toml", DEEP)
    write("valid.toml", VALID)
    store = tmp_path / "s.sqlite"
    Store(store).close()
    extra = [] if command == ["claims"] else ["--store", str(store)]
    code, _, err = run(capsys, *command, *extra)
    assert "unexpected error" not in err and "Traceback" not in err, (code, err)  # never a crash
    assert code != 2 or command != ["claims"] or "deep.toml" in err
    if command != ["status"]:  # status reads the narratives only when it must judge
        assert sum(str(deep) in line for line in err.splitlines()) == 1, err


def test_escapes_in_every_field_are_refused_by_lint() -> None:
    """OSC, CSI and bidi characters in a note, a figure, a title: lint is not clean, one line per field."""
    osc, bidi = "\\u001b]0;pwned\\u0007", "\u202e"  # as TOML writes them: its escapes, a raw bidi override
    in_article = write("escapes.toml", article("escapes", "Desk", "Esc", "2026-01-20",
                                               f'note = "n{osc}"\nauthor = "a{bidi}"\n'))
    in_claims = write("escapes2.toml", article("escapes2", "Desk", "Esc", "2026-01-20") + "\n" + check_claim(
        "esc-claim", "btc_macro", "last(crypto:BTC/USD:last)", 1, "USD", "Fine.",
        extra=f'figure = "f{osc}"\nnote = "x{bidi}"\nquote = "q\\u001b[2J"\n'))
    problems, claims = lint_files([in_article, in_claims])
    assert claims == 0
    fields = [line for line in problems if "control or invisible characters" in line]
    assert len(fields) == len(problems) == 5, problems
    assert {"note", "author", "figure", "quote"} <= {w for line in fields for w in line.replace(":", " ").split()}
    assert all("\x1b" not in line and bidi not in line for line in problems)


def test_many_claims_are_capped_per_desk_and_said_once(tmp_path: Path) -> None:
    text = article("many", "Desk", "Many", "2026-01-20") + "\n".join(
        check_claim(f"many-{i}", "btc_macro", "last(crypto:BTC/USD:last)", i + 1, "USD", "Many.") for i in range(60))
    write("many.toml", text)
    narratives = load_narratives(user_dirs=(user_dir(),), max_claims=50)
    assert sum(c.user for c in narratives.claims) == 50
    assert [line for line in narratives.problems if "left out" in line] == list(narratives.problems)
    assert len(narratives.problems) == 1 and "10 of your claims" in narratives.problems[0]


def test_many_errors_are_each_said_with_their_line() -> None:
    path = write("broken.toml", broken_claims(2000))
    problems, claims = lint_files([path])
    assert claims == 0 and len(problems) == 4000
    assert problems[-1].startswith(f"{path}:") and "broken-1999" in problems[-1]


async def test_reading_10000_broken_claims_again_costs_the_collector_under_a_second_of_cpu(
        tmp_path: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    settings = load_settings(config(tmp_path, fakes))
    narratives = load_narratives(user_dirs=settings.narrative_dirs)
    store = Store(tmp_path / "s.sqlite")
    lines: list[str] = []
    collector = Collector(settings, narratives, store, build_sources(settings, wanted(narratives)), lines.append)
    write("broken.toml", broken_claims(10_000))
    before = cpu_s()
    await collector.reload_narratives()
    used = cpu_s() - before
    store.close()
    assert any("broken.toml" in line and "broken-0" in line for line in lines)
    assert any("more problems" in line for line in lines)  # 20,000 problems: the first few, then a count
    assert len(lines) < 40
    assert used < 1.0, f"the collector's own process used {used:.2f} s of CPU"


async def waiting(done: object, what: str) -> None:
    for _ in range(PATIENCE):
        if callable(done) and done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited in vain for {what}")


async def test_a_collector_keeps_writing_through_hostile_files_and_stops_at_once_mid_reading(
        tmp_path: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    settings = load_settings(config(tmp_path, fakes))
    write("valid.toml", VALID)
    narratives = load_narratives(user_dirs=settings.narrative_dirs)
    store = Store(tmp_path / "s.sqlite")
    lines: list[str] = []
    collector = Collector(settings, narratives, store, build_sources(settings, wanted(narratives)), lines.append)
    stop = asyncio.Event()
    running = asyncio.create_task(collector.run(stop))
    try:
        await waiting(lambda: store.count() > 0, "the first observations")
        hostile_dir()
        await waiting(lambda: any("fifo.toml" in line for line in lines), "the hostile files' lines")
        for name in ("deep.toml", "huge.toml", "digits.toml", "loop.toml", "fifo.toml"):
            assert sum(name in line for line in lines) == 1, (name, lines)
        written = store.count()
        await waiting(lambda: store.count() > written, "observations written after the hostile files")
        write("broken.toml", broken_claims(10_000))  # a long reading: stopped in the middle of it
        await waiting(lambda: collector.reader._child is not None and collector.reader._child.poll() is None
                      and "broken" not in "".join(lines), "a reading under way")
        child = collector.reader._child
    finally:
        stop.set()
        await running  # returns: the reading is ended, not waited for
        store.close()
        await waiting(lambda: not [t for t in threading.enumerate() if t.name.startswith("yahoo")],
                      "the Yahoo threads to end")
    assert child is not None and child.poll() is not None
    assert not running.exception()
    assert datetime.now(UTC)  # (the run ended; nothing else to wait for)


def test_lint_refuses_arithmetic_on_a_date_and_a_change_running_backwards() -> None:
    times = check_claim("date-times", "btc_macro", "first_date(last(crypto:BTC/USD:last) > 1, since=2025-01-01) * 1000",
                        1, "date", "Dated.")
    backwards = check_claim("backwards", "btc_macro",
                            "change(crypto:BTC/USD:last, since=2025-02-01, until=2025-01-01)", 1, "%", "Back.")
    path = write("rules.toml", article("rules", "Desk", "Rules", "2026-01-20") + times + backwards)
    problems, claims = lint_files([path])
    assert claims == 0
    assert any("takes no arithmetic" in line for line in problems)
    assert any("since=2025-02-01 is after until=2025-01-01" in line for line in problems)
