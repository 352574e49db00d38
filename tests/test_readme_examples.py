"""The README's examples of `check` and `status` are what the commands print: each `$ tapecheck …` line in a
README block is run, and the lines after it are compared with its output (`status`: numbers aside, since it
reads the real clock)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import DATA
from tui.core.model import Alert, Health, Observation
from tui.core.snapshot import read_observations
from tui.core.store.sqlite import Store

ROOT = Path(__file__).parent.parent
SNAPSHOT_NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def examples(command: str) -> list[tuple[list[str], list[str]]]:
    """Each `$ tapecheck COMMAND …` line of the README's code blocks, as arguments, with the lines shown after it."""
    found: list[tuple[list[str], list[str]]] = []
    inside = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
            found.append(([], []))  # a new block: what follows belongs to no example yet
        elif inside and line.startswith("$ "):
            found.append((shlex.split(line)[2:], []) if line.startswith(f"$ tapecheck {command}") else ([], []))
        elif inside and found:
            found[-1][1].append(line)
    found = [(args, shown) for args, shown in found if args]
    assert found, f"no `$ tapecheck {command}` example in the README"
    return found


def tapecheck(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)


def test_the_check_example_is_an_excerpt_of_what_check_prints(tmp_path: Path) -> None:
    (tmp_path / "tests" / "data").mkdir(parents=True)
    (tmp_path / "tests" / "data" / "snapshot.jsonl").write_bytes((DATA / "snapshot.jsonl").read_bytes())
    for args, shown in examples("check"):
        done = tapecheck(tmp_path, args)
        assert done.returncode in (0, 1), done.stderr
        out = done.stdout.splitlines()
        start = out.index(shown[0])
        assert out[start:start + len(shown)] == shown


def shifted(observations: list[Observation], now: datetime) -> list[Observation]:
    """The snapshot's observations moved so that its moment is `now`: status reads the real clock."""
    from dataclasses import replace

    return [replace(o, ts=o.ts + (now - SNAPSHOT_NOW)) for o in observations]


def masked(line: str) -> str:
    return re.sub(r"\d[\d,.]*", "N", line)


def test_the_status_examples_are_what_status_prints(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    desk = Store(tmp_path / "desk.sqlite")
    desk.append(shifted(read_observations(DATA / "snapshot.jsonl"), now))
    desk.add_alerts([Alert(0, now, "claim", f"c{n}", "holds", "diverged", "off") for n in range(2)])
    assert desk.try_lock_collector()  # a collector runs on it
    empty = Store(tmp_path / "empty.sqlite")
    for source in ("kraken", "yahoo"):
        empty.save_health(Health(source, "crypto", None, "timed out after 10 s", now, None, 3, None, "failing"))
    empty.close()
    for args, shown in examples("status"):
        done = tapecheck(tmp_path, args)
        assert [masked(line) for line in done.stdout.splitlines()] == [masked(line) for line in shown], done.stderr
        assert done.returncode == (4 if shown[0].startswith("no data") else 1)
    desk.close()
