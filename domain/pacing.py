"""Absolute-deadline pacing: tick k is due at start + k * period, so lateness never drifts."""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol


class _Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool: ...


class Ticker:
    """Paces a loop at `hz` on a clock; counts late ticks instead of accumulating drift.

    A tick that comes more than a whole period late skips the deadlines it missed rather than
    firing them in a burst; `late` counts ticks that started after their deadline.
    """

    def __init__(self, hz: float, clock: _Clock):
        if not (hz > 0 and math.isfinite(hz)):
            raise ValueError(f"rate must be a positive number of Hz, got {hz}")
        self.period = 1.0 / hz
        self.clock = clock
        self.start: float | None = None
        self.tick = -1  # index of the last tick started
        self.late = 0
        self.skipped = 0

    def next_deadline(self) -> float:
        if self.start is None:
            return self.clock.now()
        return self.start + (self.tick + 1) * self.period

    def wait(self, interrupt: threading.Event | None = None) -> bool:
        """Sleep until the next deadline; False if `interrupt` was set meanwhile."""
        if self.start is None:
            self.start = self.clock.now()
            self.tick = 0
            return not (interrupt is not None and interrupt.is_set())
        k = self.tick + 1
        deadline = self.start + k * self.period
        now = self.clock.now()
        if now < deadline:
            if self.clock.sleep(deadline - now, interrupt):
                return False
        elif now > deadline:
            self.late += 1
            missed = int((now - deadline) // self.period)
            self.skipped += missed
            k += missed
        self.tick = k
        return not (interrupt is not None and interrupt.is_set())


class MonotonicClock:
    """The system clock: `time.monotonic`, the base LSL's local_clock uses on Linux."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        if interrupt is None:
            time.sleep(max(0.0, seconds))
            return False
        return interrupt.wait(max(0.0, seconds))
