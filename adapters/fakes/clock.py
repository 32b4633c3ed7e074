"""FakeClock: time that moves only when slept on or advanced, for tests without sleeps."""

from __future__ import annotations

import threading


class FakeClock:
    def __init__(self, start: float = 1000.0):
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        if interrupt is not None and interrupt.is_set():
            return True
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        return False
