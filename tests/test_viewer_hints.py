"""A viewer's hints name the store and the config it was given; an open viewer starts a dead collector again (on
`r`, or by itself), and says "starting" rather than "down" meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.pilot import shown, until
from tui.cli import build_parser, live_app
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store
from tui.ui.messages import StateBuilt
from widgets.header_line import HeaderStatus

ROOT = Path(__file__).parent.parent


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "desk config.toml"
    path.write_text("[display]\nbell = false\n")
    return path


async def test_no_collector_hints_name_the_store_and_the_config(tmp_path: Path) -> None:
    config, path = config_file(tmp_path), tmp_path / "desk.sqlite"
    Store(path).close()
    args = build_parser().parse_args(["--config", str(config), "--store", str(path), "--no-collector"])
    app = live_app(args, load_settings(config), load_narratives(), "en")
    wanted = f"tapecheck --config '{config}' collect --store {path}"
    async with app.run_test(size=(120, 30)) as pilot:
        await shown(pilot, app)
        await until(pilot, lambda: any(wanted in n.message for n in app._notifications), "the hint on start")
        await pilot.press("r")
        await until(pilot, lambda: sum(wanted in n.message for n in app._notifications) == 2, "the hint on r")
        header = app.screen.query_one(HeaderStatus)
        assert header.alarm == "collector down"  # no collector ever ran: no "since" made up from the viewer's start
    assert app.store is not None
    app.store.close()


async def test_an_open_viewer_starts_a_dead_collector_again(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    Store(path).close()
    args = build_parser().parse_args(["--store", str(path)])
    app = live_app(args, load_settings(), load_narratives(), "en")
    started: list[str] = []

    def start() -> str:  # the real one runs a process
        started.append("started")
        return "started one"

    app.feed.start_collector = start
    async with app.run_test(size=(120, 30)) as pilot:
        await shown(pilot, app)
        await until(pilot, lambda: started == ["started"], "the collector started on opening")
        assert app.screen.query_one(HeaderStatus).alarm == "collector starting"  # not a false "down"
        await pilot.press("r")  # the collector is still down: r starts one again rather than asking nobody
        await until(pilot, lambda: len(started) == 2, "the collector started on r")
        app.feed.collector_started_at = float("-inf")  # as if RESTART_AFTER_S had passed since
        assert app.state is not None
        app.post_message(StateBuilt(app.state))  # the next state, the collector still down
        await until(pilot, lambda: len(started) == 3, "the collector started again by itself")
    assert app.store is not None
    app.store.close()


def test_no_store_yet_names_the_command_with_store_and_config(tmp_path: Path) -> None:
    config, path = config_file(tmp_path), tmp_path / "nowhere.sqlite"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    for command in (["status"], ["check"], ["alerts"]):
        done = subprocess.run([sys.executable, "-m", "tui", "--config", str(config), *command, "--store", str(path)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
        assert done.returncode == 2
        assert f"tapecheck --config '{config}' collect --store {path}" in done.stderr, done.stderr
