"""Reading the user's narrative files again in a child process, for the collector and the dashboards.

Parsing and checking 10,000 claims costs seconds of CPU (tomllib is pure Python); done in the collector or the
dashboard's watch thread it would hold the GIL from their loops, delay a SIGTERM and blind the watch. A child
process does it under limits of its own (CPU time, memory, a lower priority) and hands back the result
(pickled, read within a bound); `stop()` kills it at once. Whatever the files hold, the answer is a
Narratives or one TapecheckError line.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

from tui.core.model import TapecheckError
from tui.core.narratives.claims import MAX_CLAIMS, Narratives, load_narratives

MAX_ANSWER = 512 * 1024 * 1024  # the pickled narratives (5,000 claims take about 5 MB)
CPU_S = 120  # the child's CPU limit
MEMORY = 2 * 1024 * 1024 * 1024  # its address-space limit


class NarrativeReader:
    """Reads the user's files in a child process, one reading at a time; `stop()` ends a reading at once."""

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        self._stopped = False
        self._lock = threading.Lock()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._child is not None and self._child.poll() is None:
                self._child.kill()

    def read(self, dirs: tuple[Path, ...], max_claims: int = MAX_CLAIMS) -> Narratives:
        """The shipped narratives and the user's files in `dirs` (blocking: call it from a thread)."""
        argv = [sys.executable, "-m", "tui.core.narratives.reader", str(max_claims), *map(str, dirs)]
        with self._lock:
            if self._stopped:
                raise TapecheckError("reading the narrative files: stopped")
            try:
                self._child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                               stderr=subprocess.DEVNULL, close_fds=True, env=_child_env())
            except OSError as error:
                raise TapecheckError(f"cannot start a reader of the narrative files: {error.strerror}") from None
        child = self._child
        assert child.stdout is not None
        try:
            answer = child.stdout.read(MAX_ANSWER + 1)
            code = child.wait()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
        if self._stopped:
            raise TapecheckError("reading the narrative files: stopped")
        if len(answer) > MAX_ANSWER or code != 0:
            why = "too large an answer" if len(answer) > MAX_ANSWER else f"its reader ended with status {code}"
            raise TapecheckError(f"reading the narrative files failed ({why}); the claims read before are kept")
        kind, value = pickle.loads(answer)
        if kind == "error":
            raise TapecheckError(str(value))
        if not isinstance(value, Narratives):
            raise TapecheckError("reading the narrative files failed (an answer of the wrong kind)")
        return value


def _child_env() -> dict[str, str]:
    """Our environment, with this tapecheck importable whatever the working directory."""
    here = str(Path(__file__).resolve().parents[3])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{here}{os.pathsep}{path}" if path else here}


def _limit_self() -> None:
    import resource

    for limit, value in ((resource.RLIMIT_CPU, CPU_S), (resource.RLIMIT_AS, MEMORY)):
        try:
            _, hard = resource.getrlimit(limit)
            resource.setrlimit(limit, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
        except (ValueError, OSError):
            pass
    with contextlib.suppress(OSError):
        os.nice(10)


def main(argv: list[str]) -> int:
    _limit_self()
    max_claims, dirs = int(argv[0]), tuple(Path(a) for a in argv[1:])
    try:
        answer: tuple[str, object] = ("ok", load_narratives(user_dirs=dirs, max_claims=max_claims))
    except TapecheckError as error:
        answer = ("error", str(error))
    except Exception as error:  # a bug: said in one line by the parent
        answer = ("error", f"reading the narrative files failed ({type(error).__name__})")
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
