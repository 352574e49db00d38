"""Hostile alert commands: a flood of stderr, children that leave the session, secrets in the environment.

Each runs the real `run_command` (the collector's delivery path) against a small Python script of the test's.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import pytest

from tui.collect.alerting import KEEP_BYTES, desktop_argv, run_command

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and /proc: Linux")


def script(tmp_path: Path, name: str, body: str) -> list[str]:
    path = tmp_path / name
    path.write_text(body)
    return [sys.executable, str(path)]


def gone(pid: int) -> bool:
    """Whether `pid` no longer runs (a zombie waiting for its reaper runs no more either)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


async def test_a_gigabyte_of_stderr_is_read_within_a_bound_and_its_last_line_said(tmp_path: Path) -> None:
    """1 GB written in a loop (no file): the collector keeps at most KEEP_BYTES of it, and says the last line."""
    argv = script(tmp_path, "flood.py", "import os, sys\nblock = b'x' * 65535 + b'\\n'\n"
                  "for _ in range(16384):\n    os.write(2, block)\n"
                  "os.write(2, b'the last word\\n')\nsys.exit(3)\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    outcome = await run_command(argv, b"{}\n", 600)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert outcome == "failed: exit status 3: the last word"
    assert grown_kib < 200 * 1024  # the gigabyte never held: far below it
    assert KEEP_BYTES == 64 * 1024


async def test_children_started_with_setsid_are_killed_at_the_timeout(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    argv = script(tmp_path, "hang.py", "import subprocess, sys, time\n"
                  "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)'], "
                  "start_new_session=True) for _ in range(2)]\n"
                  f"open({str(pids)!r}, 'w').write(' '.join(str(k.pid) for k in kids))\n"
                  "time.sleep(1000)\n")
    outcome = await run_command(argv, b"{}\n", 3)
    assert outcome == "failed: still running after 3 s, killed"
    children = [int(p) for p in pids.read_text().split()]
    assert len(children) == 2
    wait_until(lambda: all(gone(p) for p in children), "a child that left the session outlived the timeout")


async def test_a_command_that_exits_0_leaving_a_child_on_its_stderr_succeeded(tmp_path: Path) -> None:
    """The child holds stderr open for ever: the command is done when it exits 0, and the child is ended."""
    pid_file = tmp_path / "pid"
    argv = script(tmp_path, "leave.py", "import subprocess, sys\n"
                  "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)'], "
                  "start_new_session=True)\n"
                  f"open({str(pid_file)!r}, 'w').write(str(kid.pid))\nsys.exit(0)\n")
    assert await run_command(argv, b"{}\n", 60) == "ok"
    child = int(pid_file.read_text())
    wait_until(lambda: gone(child), "the child it left was not ended")


async def test_the_command_gets_no_secret_of_the_collectors_environment(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "hunter2")
    monkeypatch.setenv("TAPECHECK_BINANCE_SECRET", "s3cret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws")
    monkeypatch.setenv("LC_TIME", "C")
    seen = tmp_path / "env"
    argv = script(tmp_path, "env.py", f"import os\nopen({str(seen)!r}, 'w').write(repr(dict(os.environ)))\n")
    assert await run_command(argv, b"{}\n", 60) == "ok"
    env = eval(seen.read_text())
    assert not {"PGPASSWORD", "TAPECHECK_BINANCE_SECRET", "AWS_SECRET_ACCESS_KEY"} & set(env)
    assert "hunter2" not in seen.read_text() and "s3cret" not in seen.read_text()
    assert env["PATH"] == os.environ["PATH"] and env["LC_TIME"] == "C"


def test_a_rule_name_that_looks_like_an_option_reaches_notify_send_as_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notify-send").write_text("#!/bin/sh\n")
    (tmp_path / "notify-send").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "linux")
    argv = desktop_argv("-u critical", "--help")
    assert argv is not None and argv[1:] == ["--app-name=tapecheck", "--", "-u critical", "--help"]
