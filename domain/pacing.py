"""Absolute-deadline pacing: tick k is due at start + k * period, so lateness never drifts.

The Ticker also measures how a loop keeps up (late ticks, skipped deadlines, work longer than a
period), so slow parts show in health instead of running on silently.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

import attrs


class _Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool: ...


@attrs.frozen
class LoopHealth:
    """How a paced loop keeps its rate: a snapshot, counts since the loop started (or since
    `Ticker.reset_counts`, e.g. when predicting starts, so idle ticks never show).

    Every tick is counted `late` at most once: when it started more than half a period after
    its deadline, or when its work took longer than a period (`overruns`, also counted while
    that work is still running). `skipped` deadlines were dropped to stay on the grid instead
    of firing a burst of catch-up ticks.
    """

    hz: float
    ticks: int = 0  # ticks started
    late: int = 0
    skipped: int = 0
    overruns: int = 0
    busy_s: float = 0.0  # how long the tick in progress has worked so far (0 while waiting)
    last_duration_s: float = 0.0  # the work of the last finished tick
    max_duration_s: float = 0.0
    max_lateness_s: float = 0.0  # the most a tick started after its deadline

    @property
    def period_s(self) -> float:
        return 1.0 / self.hz

    def summary(self, overruns: str = "overran") -> str:
        """What went wrong in a few words ('' while the loop keeps up), for status lines:
        "late 3, skipped 2, overran 1, max 35/20 ms" or "..., stuck 1.2 s" while a tick hangs."""
        stuck = self.busy_s > self.period_s
        if not (self.late or self.skipped or stuck):
            return ""
        parts = [f"late {self.late}"]
        if self.skipped:
            parts.append(f"skipped {self.skipped}")
        if self.overruns:
            parts.append(f"{overruns} {self.overruns}")
        if stuck:
            busy = self.busy_s
            parts.append(f"stuck {busy:.1f} s" if busy >= 1 else f"stuck {busy * 1e3:.0f} ms")
        elif self.overruns:
            parts.append(f"max {self.max_duration_s * 1e3:.0f}/{self.period_s * 1e3:.0f} ms")
        return ", ".join(parts)


class Ticker:
    """Paces a loop at `hz` on a clock: tick k is due at start + k * period.

    `wait()` sleeps until the next deadline. A tick whose work ran past deadlines skips them
    (counted in `skipped`) rather than firing them in a burst, and starts at once on the newest
    deadline due. Ticks are never closer than half a period: after a tick that started more than
    half a period late, the next deadline is skipped too. The long-run rate stays on the grid.

    The time from one `wait()` returning to the next call is the tick's work; `health()` reports
    late ticks, overruns and durations, and may be called from any thread.
    """

    SLACK = 0.5  # in periods: lateness tolerated, and the minimum spacing between ticks

    def __init__(self, hz: float, clock: _Clock):
        if not (hz > 0 and math.isfinite(hz)):
            raise ValueError(f"rate must be a positive number of Hz, got {hz}")
        self.hz = float(hz)
        self.period = 1.0 / hz
        self.clock = clock
        self.start: float | None = None
        self.tick = -1  # index of the last tick started
        self.ticks = 0
        self.late = 0
        self.skipped = 0
        self.overruns = 0
        self.last_duration_s = 0.0
        self.max_duration_s = 0.0
        self.max_lateness_s = 0.0
        self.started_at: float | None = None  # when the tick in progress started working
        self._counted_late = False  # the tick in progress is already in `late`
        self._counted_overrun = False
        self._working = False
        self._lock = threading.Lock()  # health() reads from other threads

    def _deadline(self, k: int) -> float:
        assert self.start is not None, "no deadline before the first tick"
        return self.start + k * self.period

    def next_deadline(self) -> float:
        if self.start is None:
            return self.clock.now()
        return self._deadline(self.tick + 1)

    def _first_at_or_after(self, k: int, t: float) -> int:
        """The first tick index >= k whose deadline is not before `t`."""
        if self._deadline(k) < t:
            k += max(0, int((t - self._deadline(k)) // self.period))
            while self._deadline(k) < t:
                k += 1
        return k

    def _finish_tick(self, now: float) -> None:
        assert self.started_at is not None, "a tick finishes after it started"
        duration = now - self.started_at
        self.last_duration_s = duration
        self.max_duration_s = max(self.max_duration_s, duration)
        if duration > self.period:
            self._count_overrun()
        self._working = False

    def _count_overrun(self) -> None:
        if not self._counted_overrun:
            self._counted_overrun = True
            self.overruns += 1
            if not self._counted_late:
                self._counted_late = True
                self.late += 1

    def wait(self, interrupt: threading.Event | None = None) -> bool:
        """Sleep until the next deadline; False if `interrupt` was set meanwhile."""
        now = self.clock.now()
        with self._lock:
            if self.start is None:
                self.start = now
                self._begin(0, now)
                return not (interrupt is not None and interrupt.is_set())
            self._finish_tick(now)
            assert self.started_at is not None
            # never closer than SLACK periods to the previous tick's start
            k = self._first_at_or_after(self.tick + 1, self.started_at + self.SLACK * self.period)
            self.skipped += k - (self.tick + 1)
        deadline = self._deadline(k)
        if now < deadline:
            if self.clock.sleep(deadline - now, interrupt):
                return False
            now = self.clock.now()
        with self._lock:
            newest = self._first_at_or_after(k, now)  # deadlines missed by whole periods
            if self._deadline(newest) > now:
                newest -= 1
            newest = max(newest, k)
            self.skipped += newest - k
            self._begin(newest, now)
        return not (interrupt is not None and interrupt.is_set())

    def _begin(self, k: int, now: float) -> None:
        self.tick = k
        self.ticks += 1
        self.started_at = now
        self._working = True
        self._counted_overrun = False
        lateness = now - self._deadline(k)
        self.max_lateness_s = max(self.max_lateness_s, lateness)
        self._counted_late = lateness > self.SLACK * self.period
        self.late += self._counted_late

    def reset_counts(self) -> None:
        """Start the counts and maxima afresh (the grid stays): health then covers only what
        came after, e.g. predicting rather than the idle ticks before it."""
        with self._lock:
            self.ticks = self.late = self.skipped = self.overruns = 0
            self.last_duration_s = self.max_duration_s = self.max_lateness_s = 0.0
            # The tick in progress (reset at its start) counts again if its work overruns.
            self._counted_late = self._counted_overrun = False

    def health(self) -> LoopHealth:
        """A snapshot; a tick still working after a whole period is counted as an overrun now."""
        now = self.clock.now()
        with self._lock:
            busy = now - self.started_at if self._working and self.started_at is not None else 0.0
            if busy > self.period:
                self._count_overrun()
            return LoopHealth(self.hz, self.ticks, self.late, self.skipped, self.overruns,
                              max(0.0, busy), self.last_duration_s, self.max_duration_s,
                              self.max_lateness_s)


class MonotonicClock:
    """The system clock: `time.monotonic`, the base LSL's local_clock uses on Linux."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        if interrupt is None:
            time.sleep(max(0.0, seconds))
            return False
        return interrupt.wait(max(0.0, seconds))
