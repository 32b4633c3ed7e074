"""FakeTransport: keeps what was sent; can fail on demand."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class FakeTransport:
    def __init__(self, fail_sends: int = 0, error: Exception | None = None):
        self.channels: list[str] = []
        self.sent: list[tuple[np.ndarray, float]] = []
        self.fail_sends = fail_sends
        self.error = error or OSError("fake transport down")
        self.opened = self.closed = False
        self._lock = threading.Lock()
        self._unread = 0

    def open(self, channels: Sequence[str], rate: float) -> None:
        self.channels = list(channels)
        self.opened, self.closed = True, False

    def send(self, sample: np.ndarray, timestamp: float) -> None:
        if self.closed or not self.opened:
            raise RuntimeError("send() on a transport that is not open")
        if self.fail_sends > 0:
            self.fail_sends -= 1
            raise self.error
        with self._lock:
            self.sent.append((np.array(sample, dtype=np.float64), timestamp))

    def received(self) -> list[np.ndarray]:
        """Samples sent since the last call (what a receiver would see)."""
        with self._lock:
            new = self.sent[self._unread :]
            self._unread = len(self.sent)
        return [s for s, _ in new]

    def close(self) -> None:
        self.closed = True
