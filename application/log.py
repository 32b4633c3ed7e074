"""The app's bounded, thread-safe log: a view of the `hexloop` logger for panels and the
headless status line.

One logging path (#16): everything in hexloop logs through stdlib `logging` under the `hexloop`
logger (`logging.getLogger(__name__)` in every module). A `Log` is the bounded copy the GUI's log
panel and the headless renderer read:

- `Log.info / warning / error / error_once` keep the entry *and* emit it through `logging`
  (logger `hexloop.application.log`, the entry's source in the record's `hexloop_source`), so a
  log file or a test's `caplog` sees what the panel shows;
- a `LogView` handler on the `hexloop` logger copies every other record (an adapter's
  `log.warning(...)`) into the Log, so the panel shows what the log file shows.

Nothing here writes anywhere: the `hexloop` logger carries only a `NullHandler` (no "No handlers
could be found" fallback printing to stderr). Handlers that write (stderr, `--log-file`) are added
by the composition root (`application/composition/logconfig.py`, the CLI's `--log-level` and
`--log-file`); `ConsoleHandler` is the class it uses, so a renderer can tell that warnings already
reach the terminal (`console_attached`).
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
import weakref
from typing import TextIO

import attrs

LOGGER = "hexloop"
_emit = logging.getLogger(__name__)  # the records a Log emits: hexloop.application.log
logging.getLogger(LOGGER).addHandler(logging.NullHandler())

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def level_name(levelno: int) -> str:
    """A logging level as a Log entry's level: "debug", "info", "warning" or "error"."""
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "info" if levelno >= logging.INFO else "debug"


def record_source(record: logging.LogRecord) -> str:
    """Who logged `record`: a Log entry's source, or the module below hexloop's layer package
    (`hexloop.adapters.lsl_common.inlet` -> `lsl_common.inlet`)."""
    source = getattr(record, "hexloop_source", None)
    if source:
        return str(source)
    parts = record.name.split(".")
    if parts[0] == LOGGER and len(parts) > 2:
        return ".".join(parts[2:])
    return record.name


@attrs.frozen
class LogEntry:
    time: float  # wall clock, time.time()
    level: str  # "info", "warning", "error" ("debug" only from a logger set to debug)
    source: str
    message: str


class Log:
    """A bounded, thread-safe log. `error_once` reports each distinct error a single time but
    counts every occurrence, so a callback failing at 50 Hz cannot flood it.

    With `view=True` (the default) the Log also shows the `hexloop` logger's other records (see
    the module docstring) for as long as it lives.
    """

    def __init__(self, maxlen: int = 500, max_distinct: int = 1000, echo=None,
                 view: bool = True):
        self._entries: collections.deque[LogEntry] = collections.deque(maxlen=maxlen)
        self._seen: collections.OrderedDict[tuple[str, str], int] = collections.OrderedDict()
        self._max_distinct = max_distinct
        self._lock = threading.Lock()
        self.echo = echo  # optional callable(LogEntry), e.g. print to stderr
        self.total = 0  # entries ever added
        if view:
            handler = LogView(self)
            logger = logging.getLogger(LOGGER)
            logger.addHandler(handler)
            weakref.finalize(self, logger.removeHandler, handler)

    def add(self, level: str, source: str, message: str) -> None:
        """Keep the entry and emit it through `logging` (level "info", "warning" or "error")."""
        self.append(level, source, message)
        _emit.log(LEVELS.get(level, logging.INFO), message,
                  extra={"hexloop_source": source, "hexloop_log": id(self)})

    def append(self, level: str, source: str, message: str) -> None:
        """Keep the entry without emitting it (what the view of the logger does)."""
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


class LogView(logging.Handler):
    """Copies the `hexloop` logger's records into a Log (info and up, as far as the logger's
    level lets them through); records a Log emitted itself are already in their Log. Holds the
    Log weakly: a Log that is gone is not kept alive by the logger."""

    def __init__(self, log: Log, level: int = logging.INFO):
        super().__init__(level)
        self._log = weakref.ref(log)

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "hexloop_log", None) is not None:
            return
        log = self._log()
        if log is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                e = record.exc_info[1]
                message = f"{message} ({type(e).__name__}: {e})"
            log.append(level_name(record.levelno), record_source(record), message)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


class Formatter(logging.Formatter):
    """`level: source: message` (the headless renderer's form) for the terminal; with
    `timestamps`, `2026-01-01 12:00:00,123 WARNING source: message` for a log file."""

    def __init__(self, timestamps: bool = False):
        super().__init__("%(asctime)s %(levelname)s %(hexloop_source)s: %(message)s"
                         if timestamps else "%(hexloop_level)s: %(hexloop_source)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.hexloop_source = record_source(record)
        record.hexloop_level = level_name(record.levelno)
        return super().format(record)


class ConsoleHandler(logging.StreamHandler):
    """Writes to the current `sys.stderr` (looked up at each record, so a replaced stderr is
    followed); on a terminal it first clears the line a live status line may be on."""

    def __init__(self, level: int = logging.WARNING):
        super().__init__(sys.stderr)
        self.setLevel(level)
        self.setFormatter(Formatter())

    @property
    def stream(self) -> TextIO:  # the stderr of now, not of when the handler was made
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if getattr(self.stream, "isatty", lambda: False)():
            return "\r\x1b[2K" + text
        return text


def console_attached() -> bool:
    """True when a ConsoleHandler on the `hexloop` logger already shows warnings on stderr."""
    return any(isinstance(h, ConsoleHandler) for h in logging.getLogger(LOGGER).handlers)
