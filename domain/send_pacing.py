"""Pacing for sends that follow pushes (an Output phase-locked to its predictions).

A value is sent as soon as it arrives, unless that would exceed the rate: `SendPacer` keeps
the rate under `hz` with credits, one per send, earned at `hz` and at most `DEPTH` kept, and
keeps any two sends at least half a period apart (the predict loop's own minimum spacing,
domain/pacing.py). So in any T seconds there are at most hz * T + DEPTH sends, the long-run
rate never exceeds hz, and a send that went out late (a late predict tick, a busy machine)
does not push every later one late: values pushed on a grid at hz go out when pushed, at any
lateness under half a period, instead of ratcheting onto the latest one's phase.
"""

from __future__ import annotations

import math


class SendPacer:
    """When the next send may start, given the sends so far (times on one clock)."""

    DEPTH = 1.5  # credits kept at most: one send, plus half a period's catch-up
    SPACING = 0.5  # in periods: the closest two sends may be

    def __init__(self, hz: float):
        if not (hz > 0 and math.isfinite(hz)):
            raise ValueError(f"rate must be a positive number of Hz, got {hz}")
        self.hz = float(hz)
        self.period = 1.0 / self.hz
        self._credits = self.DEPTH
        self._last: float | None = None  # when the last send started

    def _credits_at(self, t: float) -> float:
        if self._last is None:
            return self.DEPTH
        return min(self.DEPTH, self._credits + (t - self._last) * self.hz)

    def earliest(self, now: float) -> float:
        """The earliest time (>= now) the next send may start."""
        if self._last is None:
            return now
        spaced = self._last + self.SPACING * self.period
        # credits reach 1 at: last + (1 - credits_then) * period
        funded = self._last + max(0.0, 1.0 - self._credits) * self.period
        return max(now, spaced, funded)

    def sent(self, at: float) -> None:
        """Count a send that started at `at` (not before `earliest`)."""
        credits = self._credits_at(at)
        self._credits = max(0.0, credits - 1.0)
        self._last = at
