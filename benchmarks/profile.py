"""Run tapecheck under pyinstrument and write the profile when it quits: the tool behind docs/benchmarks.md.

    python -m benchmarks.profile OUT.txt [tapecheck arguments ...]

tapecheck leaves with os._exit when a worker thread is still blocked in a request, which would skip
pyinstrument's report; here the profile is written first. PROFILE_START_S=N starts profiling N seconds in
(the steady state); PROFILE_FLAT=1 writes self time per function.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from pyinstrument import Profiler


def main() -> None:
    out, args = Path(sys.argv[1]), sys.argv[2:]
    profiler = Profiler(interval=0.001, async_mode="disabled")
    delay = int(os.environ.get("PROFILE_START_S", "0"))  # profile from this many seconds in (steady state)
    if delay:
        signal.signal(signal.SIGALRM, lambda *_: profiler.start())
        signal.alarm(delay)
    else:
        profiler.start()
    import tui.cli

    def write_profile() -> None:
        profiler.stop()
        flat = os.environ.get("PROFILE_FLAT") == "1"
        out.write_text(profiler.output_text(show_all=True, timeline=False, flat=flat))

    tui.cli.exit_now_if_threads_linger = write_profile
    try:
        tui.cli.main(args)
    finally:
        if profiler.is_running:
            write_profile()


if __name__ == "__main__":
    main()
