"""The two ways an Output sends (application/output.py), and the loop of the phase-locked one.

- "fixed_rate": the output thread ticks at `hz` on its own absolute deadlines (domain/pacing.py)
  and sends the latest value pushed, again and again: for receivers that need a steady stream
  at their own rate. A prediction waits 0 to 1 output periods for the next tick.
- "on_prediction": each new value is sent as soon as it is pushed, once, paced so the rate
  never exceeds `hz` (domain/send_pacing.py); values pushed while a send waits or runs are
  overwritten (latest wins), nothing is resent. Its latency is the predict loop's alone.
- "auto" (the default): "on_prediction" when a Pipeline feeds the Output and the Output's hz is
  at least the pipeline's predict_hz (the common case, where resending could only repeat a
  prediction), otherwise "fixed_rate".
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from hexloop.domain.pacing import LoopHealth
from hexloop.domain.send_pacing import SendPacer

ON_PREDICTION, FIXED_RATE, AUTO = "on_prediction", "fixed_rate", "auto"
MODES = (ON_PREDICTION, FIXED_RATE, AUTO)


def check_mode(mode: Any, name: str) -> str:
    """The mode asked for ("auto" for None), or ValueError saying which there are."""
    if mode is None:
        return AUTO
    if mode not in MODES:
        raise ValueError(f"output {name!r}: mode must be one of {', '.join(map(repr, MODES))}, "
                         f"got {mode!r}")
    return str(mode)


def resolve_mode(mode: str, hz: float, predict_hz: float | None) -> str:
    """The mode an Output runs in: "auto" is "on_prediction" when a pipeline feeding it
    predicts at most `hz` times a second, else "fixed_rate"."""
    if mode != AUTO:
        return mode
    return ON_PREDICTION if predict_hz is not None and hz >= predict_hz else FIXED_RATE


class Slot:
    """The latest value pushed, its push number and time: one reference, replaced whole, so a
    reader never sees a value with another push's number. `pushed` wakes the waiting sender."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self.current: tuple[int, Any, float] = (0, None, 0.0)
        self.pushed = threading.Event()

    def put(self, value: Any, at: float) -> None:
        self.current = (next(self._numbers), value, at)
        self.pushed.set()


class PushLoop:
    """The on-prediction sender's pacing and counts; `health()` reads from any thread.

    Its `ticks` are sends started, `skipped` the values overwritten before they could be sent,
    and a send is `late` when it starts more than half a period after it was due (pushed, or
    let through by the pacing): the thread was not scheduled in time.
    """

    def __init__(self, hz: float, clock: Any, stop: threading.Event, stopping: Any):
        self.hz = float(hz)
        self.period = 1.0 / self.hz
        self.clock = clock
        self.pacer = SendPacer(hz)
        self._stop = stop
        self._stopping = stopping  # the value that says stop
        self._lock = threading.Lock()
        self.taken = 0  # push number of the last value taken (or withdrawn)
        self.ticks = self.late = self.skipped = 0
        self.max_lateness_s = 0.0

    def _stopped(self, value: Any) -> bool:
        return value is self._stopping or self._stop.is_set()

    def _wait_for_new(self, slot: Slot) -> Any:
        """Wait until a value other than None was pushed since the last one taken."""
        while True:
            slot.pushed.clear()  # before reading: a push from now on wakes the wait below
            number, value, _ = slot.current
            if self._stopped(value):
                return self._stopping
            if number != self.taken and value is not None:
                return value
            self.taken = number  # a withdrawal (None) is taken too: nothing to send
            slot.pushed.wait(1.0)

    def next_value(self, slot: Slot) -> Any:
        """Wait for a value pushed since the last one taken and for the pacing to let it out;
        the newest value then (latest wins), or the stop value."""
        while True:
            if (value := self._wait_for_new(slot)) is self._stopping:
                return value
            now = self.clock.now()
            allowed = self.pacer.earliest(now)
            if allowed > now and self.clock.sleep(allowed - now, self._stop):
                return self._stopping
            number, value, pushed_at = slot.current  # the newest, pushed while we waited
            if self._stopped(value):
                return self._stopping
            if value is not None:
                break
            self.taken = number  # withdrawn while pacing: send nothing
        start = self.clock.now()
        lateness = start - max(pushed_at, allowed)
        with self._lock:
            self.skipped += max(0, number - self.taken - 1)
            self.ticks += 1
            if lateness > 0.5 * self.period:
                self.late += 1
            self.max_lateness_s = max(self.max_lateness_s, lateness)
        self.taken = number
        self.pacer.sent(start)
        return value

    def health(self) -> LoopHealth:
        with self._lock:
            return LoopHealth(self.hz, ticks=self.ticks, late=self.late, skipped=self.skipped,
                              max_lateness_s=self.max_lateness_s)
