"""The app's bounded, thread-safe log: what panels and the headless status line show."""

from __future__ import annotations

import collections
import threading
import time

import attrs


@attrs.frozen
class LogEntry:
    time: float  # wall clock, time.time()
    level: str  # "info", "warning", "error"
    source: str
    message: str


class Log:
    """A bounded, thread-safe log. `error_once` reports each distinct error a single time but
    counts every occurrence, so a callback failing at 50 Hz cannot flood it."""

    def __init__(self, maxlen: int = 500, max_distinct: int = 1000, echo=None):
        self._entries: collections.deque[LogEntry] = collections.deque(maxlen=maxlen)
        self._seen: collections.OrderedDict[tuple[str, str], int] = collections.OrderedDict()
        self._max_distinct = max_distinct
        self._lock = threading.Lock()
        self.echo = echo  # optional callable(LogEntry), e.g. print to stderr
        self.total = 0  # entries ever added

    def add(self, level: str, source: str, message: str) -> None:
        entry = LogEntry(time.time(), level, source, message)
        with self._lock:
            self._entries.append(entry)
            self.total += 1
        if self.echo is not None:
            self.echo(entry)

    def info(self, source: str, message: str) -> None:
        self.add("info", source, message)

    def warning(self, source: str, message: str) -> None:
        self.add("warning", source, message)

    def error(self, source: str, message: str) -> None:
        self.add("error", source, message)

    def error_once(self, source: str, error: BaseException | str) -> bool:
        """Log `error` unless the same one was already logged by `source`; True if logged."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        key = (source, text)
        with self._lock:
            count = self._seen.get(key, 0)
            self._seen[key] = count + 1
            self._seen.move_to_end(key)
            while len(self._seen) > self._max_distinct:
                self._seen.popitem(last=False)
        if count == 0:
            self.error(source, text)
        return count == 0

    def occurrences(self, source: str, error: str) -> int:
        with self._lock:
            return self._seen.get((source, error), 0)

    def since(self, total: int) -> tuple[list[LogEntry], int]:
        """Entries added after the log held `total` (those still kept), and the new total."""
        with self._lock:
            new = min(self.total - total, len(self._entries))
            return list(self._entries)[len(self._entries) - new :], self.total

    def entries(self, level: str | None = None) -> list[LogEntry]:
        with self._lock:
            items = list(self._entries)
        return [e for e in items if level is None or e.level == level]
