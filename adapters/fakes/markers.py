"""FakeMarkerOutlet: keeps every marker pushed; can fail on demand."""

from __future__ import annotations

import threading


class FakeMarkerOutlet:
    def __init__(self, name: str = "fake-cues", fail_pushes: int = 0):
        self.name = name
        self.markers: list[tuple[str, float]] = []
        self.fail_pushes = fail_pushes
        self.opened = self.closed = False
        self._lock = threading.Lock()

    def open(self) -> None:
        self.opened, self.closed = True, False

    def push(self, marker: str, timestamp: float) -> None:
        if self.closed or not self.opened:
            raise RuntimeError("push() on a marker outlet that is not open")
        if self.fail_pushes > 0:
            self.fail_pushes -= 1
            raise OSError("fake marker outlet down")
        with self._lock:
            self.markers.append((str(marker), float(timestamp)))

    def close(self) -> None:
        self.closed = True
