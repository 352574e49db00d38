"""A viewer and the collector left alone: CPU, the viewer's RSS and what it writes to the terminal.

A collector polls the fakes at the shipped intervals into a store holding the benchmark tape; a viewer
(120x40 pty) watches that store, and the minimal Textual app runs beside them. Once the collector's sources
have all answered (the daily history included) and a warm-up has passed, a window of 60 s (15 s with --quick)
measures: the CPU seconds over wall seconds of the viewer, of the collector and of the minimal app; the bytes
each program wrote to its terminal; and, at the end, the viewer's and the minimal app's RSS.

The offline collector: every source points at a closed port on 127.0.0.1 (connection refused at once, as an
unreachable network is to a machine without one), into an empty store, at the shipped intervals and backoff.
Once every source has failed once, and 60 s more (15 s with --quick) of backing off, a window of as long
measures its CPU beside the minimal app's: it should cost what a collector with nothing to do costs.
"""

from __future__ import annotations

import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.fakes import EXCHANGES, running_fakes
from benchmarks.figures import Figure
from benchmarks.minimal_app import READY
from benchmarks.processes import LIVE_SOURCES, PANELS_SHOWN, CollectorProcess, minimal_argv, viewer_argv
from benchmarks.tape import store_copy
from benchmarks.terminal import Terminal


@dataclass(frozen=True)
class Idle:
    """What one window measured; CPU in % of one core, output in bytes per minute."""

    window_s: float
    viewer_cpu: float
    collector_cpu: float
    minimal_cpu: float
    viewer_bytes: float
    minimal_bytes: float
    viewer_rss: float
    minimal_rss: float
    polled_after_s: float


def measure(store: Path, window_s: float, warmup_s: float) -> Idle:
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        config = fakes.config(Path(tmp) / "config.toml")
        with CollectorProcess(config, store, Path(tmp) / "collector.log") as collector, \
                Terminal(viewer_argv(config, store)) as viewer, Terminal(minimal_argv()) as minimal:
            viewer.wait_for(PANELS_SHOWN, timeout=120)
            minimal.wait_for(READY, timeout=60)
            polled = collector.wait_until_polled(timeout=180, history=True)
            collector.wait_until_judged(timeout=120)  # the then-verdicts' arrival is a transition, not idling
            time.sleep(warmup_s)
            cpu = (viewer.cpu_seconds(), collector.cpu_seconds(), minimal.cpu_seconds())
            out = (viewer.raw_bytes, minimal.raw_bytes)
            started = time.perf_counter()
            time.sleep(window_s)
            wall = time.perf_counter() - started
            cpu_after = (viewer.cpu_seconds(), collector.cpu_seconds(), minimal.cpu_seconds())
            out_after = (viewer.raw_bytes, minimal.raw_bytes)
            share = [(b - a) / wall * 100 for a, b in zip(cpu, cpu_after, strict=True)]
            per_minute = [(b - a) / wall * 60 for a, b in zip(out, out_after, strict=True)]
            return Idle(wall, share[0], share[1], share[2], per_minute[0], per_minute[1], viewer.rss_mb(),
                        minimal.rss_mb(), polled)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def offline_config(path: Path) -> Path:
    """Every source at a closed port; the shipped intervals, timeouts and backoff."""
    url = f"http://127.0.0.1:{closed_port()}"
    urls = "\n".join(f'{name} = "{url}"' for name in EXCHANGES)
    path.write_text(f"""
[sources.crypto]
exchanges = {list(EXCHANGES)!r}

[sources.crypto.urls]
{urls}

[sources.equities]
base_url = "{url}"

[sources.hashrate]
base_url = "{url}"
fallback_url = "{url}"
""".replace("'", '"'))
    return path


def measure_offline(window_s: float, warmup_s: float) -> tuple[float, float, float]:
    """The CPU (% of one core) of an offline collector and of the minimal app over one window, and the seconds
    the collector's sources took to have all failed once."""
    with tempfile.TemporaryDirectory() as tmp:
        config = offline_config(Path(tmp) / "config.toml")
        with CollectorProcess(config, Path(tmp) / "store.sqlite", Path(tmp) / "collector.log") as collector, \
                Terminal(minimal_argv()) as minimal:
            minimal.wait_for(READY, timeout=60)
            started = time.monotonic()
            while not all(h.failures for h in collector.health()) or len(collector.health()) < len(LIVE_SOURCES):
                if time.monotonic() - started > 180:
                    raise TimeoutError(f"the offline collector's sources did not all fail:\n{collector.tail()}")
                time.sleep(0.5)
            failed_after = time.monotonic() - started
            time.sleep(warmup_s)
            cpu = (collector.cpu_seconds(), minimal.cpu_seconds())
            begun = time.perf_counter()
            time.sleep(window_s)
            wall = time.perf_counter() - begun
            after = (collector.cpu_seconds(), minimal.cpu_seconds())
            return (after[0] - cpu[0]) / wall * 100, (after[1] - cpu[1]) / wall * 100, failed_after


def run(quick: bool) -> list[Figure]:
    # Idle is after start-up: the first minute after the first answers still brings the daily histories and
    # the then-verdicts judged on them, each repainting a panel once (a transition, measured apart by nothing)
    window, warmup = (15.0, 5.0) if quick else (60.0, 60.0)
    idle = measure(store_copy(quick, "idle"), window, warmup)
    when = (f"over {idle.window_s:.0f} s, {warmup:.0f} s after every source of the collector had answered "
            f"({idle.polled_after_s:.0f} s after it started) and its then-verdicts had settled")
    ticks = "CPU time is counted in clock ticks of 10 ms"
    offline_window = 15.0 if quick else 60.0
    offline, offline_minimal, failed_after = measure_offline(offline_window, offline_window)
    return [
        Figure("idle CPU of the collector, every source failing", offline, "%", offline_minimal or None,
               "minimal Textual app", "≤ 0.5 % of one core", offline <= 0.5,
               f"every source at a closed port of 127.0.0.1, shipped intervals and backoff; over "
               f"{offline_window:.0f} s, {offline_window:.0f} s after every live source had failed once "
               f"({failed_after:.0f} s after it started); the minimal app used {offline_minimal:.2f} % ({ticks})"),
        Figure("idle CPU of a viewer, collector running", idle.viewer_cpu, "%", idle.minimal_cpu or None,
               "minimal Textual app", "≤ 0.25 % of one core and ≤ 2 × minimal app",
               idle.viewer_cpu <= 0.25 and idle.viewer_cpu <= 2 * idle.minimal_cpu,
               f"{when}; the minimal app used {idle.minimal_cpu:.2f} % ({ticks})"),
        Figure("idle CPU of the collector, shipped intervals", idle.collector_cpu, "%", idle.minimal_cpu or None,
               "minimal Textual app", "≤ 1 % of one core", idle.collector_cpu <= 1.0,
               f"{when}: crypto every 10 s, Yahoo every 60 s, the network every 300 s, into the benchmark store"),
        Figure("viewer RSS", idle.viewer_rss, "MB", idle.minimal_rss, "minimal Textual app", "≤ 60 MB",
               idle.viewer_rss <= 60, f"at the end of the idle window; the minimal app: {idle.minimal_rss:.1f} MB"),
        Figure("terminal output of an idle viewer, 120x40", idle.viewer_bytes / 1024, "KiB/min",
               idle.minimal_bytes / 1024, "minimal Textual app", "≤ 4 KiB per minute",
               idle.viewer_bytes <= 4 * 1024, f"{when}; escape sequences included"),
    ]
