"""The suite never touches the user's own directories: every path tapecheck would write resolves into a
temporary home, in the test process and in the processes it starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REAL_HOME
from tui.core.config import user_config_path
from tui.core.logs import default_log_path
from tui.core.store.sqlite import default_store_path

ROOT = Path(__file__).parent.parent
PATHS = """
import json
from tui.core.config import user_config_path
from tui.core.logs import default_log_path
from tui.core.store.sqlite import default_store_path
from platformdirs import user_cache_dir
print(json.dumps([str(p) for p in (user_config_path(), default_log_path(), default_store_path(),
                                   user_cache_dir("tapecheck"))]))
"""


def test_every_user_path_is_in_the_temporary_home(private_home: Path) -> None:
    for path in (user_config_path(), default_log_path(), default_store_path()):
        assert path.is_relative_to(private_home), path
        assert not path.is_relative_to(REAL_HOME / ".local") and not path.is_relative_to(REAL_HOME / ".config")


def test_a_started_process_inherits_the_temporary_home(private_home: Path) -> None:
    done = subprocess.run([sys.executable, "-c", PATHS], capture_output=True, text=True, cwd=ROOT, timeout=120)
    paths = [Path(p) for p in json.loads(done.stdout)]
    assert len(paths) == 4 and all(p.is_relative_to(private_home) for p in paths), paths


def test_a_dashboard_crash_log_lands_in_the_temporary_home(private_home: Path) -> None:
    """`record` writes the log: it goes to the temporary state dir, never ~/.local/state/tapecheck."""
    done = subprocess.run([sys.executable, "-m", "tui", "record", "--once", "--no-store"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2  # --no-store without --out: refused, after the log was opened
    assert (private_home / "state" / "tapecheck" / "log" / "tapecheck.log").exists()
