"""FakeMarkerOutlet: keeps every marker pushed; can fail on demand. FakeMarkerSource: markers
pushed in memory, read back once; can fail to connect or be lost on demand."""

from __future__ import annotations

import threading

from hexloop.ports.source import SourceLost


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


class FakeMarkerSource:
    """A marker stream in memory: `push(marker, timestamp)` sends one, `read()` drains them.

    `fail_connects` connects fail with TimeoutError first; `lose()` makes the next `read()`
    raise SourceLost (markers pushed meanwhile wait for the reconnect, as a real outlet's
    would not: tests say which they want by what they push)."""

    def __init__(self, name: str = "fake-markers", fail_connects: int = 0):
        self.name = name
        self.fail_connects = fail_connects
        self.connects = 0
        self.connected = False
        self._pending: list[tuple[str, float]] = []
        self._lost = False
        self._lock = threading.Lock()

    def push(self, marker: str, timestamp: float) -> None:
        with self._lock:
            self._pending.append((str(marker), float(timestamp)))

    def lose(self) -> None:
        self._lost = True

    def connect(self, timeout: float) -> None:
        if self.fail_connects > 0:
            self.fail_connects -= 1
            raise TimeoutError(f"fake marker stream {self.name!r} not found within {timeout:g} s")
        self.connects += 1
        self.connected, self._lost = True, False

    def read(self) -> list[tuple[str, float]]:
        if not self.connected:
            raise RuntimeError(f"marker source {self.name!r} is not connected")
        if self._lost:
            self.connected = False
            raise SourceLost(f"fake marker stream {self.name!r} went away")
        with self._lock:
            out, self._pending = self._pending, []
        return out

    def disconnect(self) -> None:
        self.connected = False
