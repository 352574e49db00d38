"""Playing a tape back: a virtual clock that moves over a tape's timestamps, N times faster than real time.

A replay begins at the time of the tape's first line (for a tape written by `tapecheck record --out`, the
moment recording began); anything stamped earlier, such as the daily history fetched while recording, is
known from the start. The tape itself never changes: what the dashboard sees at a moment is what the tape
holds up to the virtual clock, because every question a rule asks is bounded by `now`.
"""

from __future__ import annotations

import bisect
import time
from datetime import datetime, timedelta

from tui.core.model import Observation, TapecheckError
from tui.core.tape import MemoryTape

MAX_SPEED = 1e7  # a century of tape in about five minutes; beyond it the clock's arithmetic would overflow


class Replay:
    """A tape and a virtual clock over it. `speed` is virtual seconds per real second; 0 means step by step,
    as fast as the dashboard can redraw."""

    def __init__(self, observations: list[Observation], speed: float = 1.0, start: datetime | None = None,
                 disputed: list[Observation] | None = None) -> None:
        if not observations:
            raise TapecheckError("the tape holds no observations")
        if not 0 <= speed <= MAX_SPEED:  # also refuses nan and inf
            raise TapecheckError(f"--speed must be from 0 to {MAX_SPEED:g}, not {speed:g}")
        self.tape = MemoryTape(observations, disputed or ())  # disputed: set aside on reading, never values
        self.speed = speed
        self.start = start or observations[0].ts
        self.times = sorted({o.ts for o in observations if o.ts >= self.start})
        if not self.times:
            raise TapecheckError(f"the tape has nothing at or after {self.start:%Y-%m-%d %H:%M:%S} UTC")
        self.end = self.times[-1]
        self.now = self.start
        self._paused = False
        self._caught_up_at: float | None = None  # the real (monotonic) time the clock last caught up with

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        """Pausing stops the clock; resuming counts real time from the moment of resuming, never the pause."""
        self._paused = value
        self._caught_up_at = None if value else time.monotonic()

    def clock(self) -> datetime:
        return self.now

    @property
    def finished(self) -> bool:
        return self.now >= self.end

    @property
    def progress(self) -> float:
        """How far through the tape the clock is, from 0 to 1."""
        span = (self.end - self.start).total_seconds()
        return 1.0 if span <= 0 else (self.now - self.start).total_seconds() / span

    def _seen(self, moment: datetime) -> int:
        return bisect.bisect_right(self.times, moment)

    def advance(self, real_seconds: float) -> bool:
        """Move the clock on by `real_seconds` of real time (one step at speed 0). True if it passed any
        observation, i.e. the dashboard has something new to show."""
        if self.paused or self.finished:
            return False
        if self.speed == 0:
            return self.step()
        target = min(self.now + timedelta(seconds=real_seconds * self.speed), self.end)
        passed = self._seen(target) > self._seen(self.now)
        self.now = target
        return passed

    def catch_up(self, real_now: float) -> bool:
        """Move the clock on by the real time (monotonic seconds) since it last caught up or was resumed: the
        first call only marks the moment. True if it passed any observation."""
        last, self._caught_up_at = self._caught_up_at, real_now
        if self.speed == 0:
            return self.advance(0)
        return False if last is None else self.advance(max(0.0, real_now - last))

    def step(self) -> bool:
        """Jump to the tape's next timestamp. False at the end of the tape."""
        index = self._seen(self.now)
        if index >= len(self.times):
            return False
        self.now = self.times[index]
        return True
