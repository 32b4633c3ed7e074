"""Where hexloop's log goes: the only place handlers are added to the `hexloop` logger.

`hexloop --log-level LEVEL --log-file FILE COMMAND ...` (global options, before the command) or
the `HEXLOOP_LOG_LEVEL` environment variable choose the level: debug, info, warning or error.
The level is the `hexloop` logger's, so it filters every output: stderr, the log file and what
adapters add to the GUI's log panel (the panel always keeps the app's own info entries).

- stderr (a `ConsoleHandler`): warnings and errors; everything at the level when a level is
  chosen (`--log-level info` shows info lines too).
- `--log-file FILE`: every record at the level (info by default), timestamped, appended.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from hexloop.application.log import LEVELS, LOGGER, ConsoleHandler, Formatter

LEVEL_ENV = "HEXLOOP_LOG_LEVEL"
DEFAULT_LEVEL = "info"


class LogLevelError(ValueError):
    """A level that is not one of LEVELS (the message says which are)."""


def parse_level(name: str, where: str = "--log-level") -> int:
    """`"debug"`, `"INFO"`, ... as a logging level; a LogLevelError naming the choices."""
    level = LEVELS.get(name.strip().lower())
    if level is None:
        raise LogLevelError(f"{where} {name!r} is not a level: use one of "
                            f"{', '.join(LEVELS)}")
    return level


def chosen_level(flag: str | None) -> str | None:
    """The level the user chose: the flag, else HEXLOOP_LOG_LEVEL, else None."""
    return flag or os.environ.get(LEVEL_ENV) or None


def configure(level: str | None = None, log_file: str | os.PathLike | None = None
              ) -> Callable[[], None]:
    """Add the console handler (and the file handler) to the `hexloop` logger and set its level;
    returns a function that removes them and restores the level (the CLI calls it on exit, so
    repeated `main()` calls in one process do not stack handlers). Raises LogLevelError for an
    unknown level and OSError when the log file cannot be opened."""
    where = "--log-level" if level else LEVEL_ENV
    chosen = chosen_level(level)
    levelno = parse_level(chosen, where) if chosen else parse_level(DEFAULT_LEVEL)
    logger = logging.getLogger(LOGGER)
    handlers: list[logging.Handler] = [
        ConsoleHandler(levelno if chosen else max(levelno, logging.WARNING))]
    if log_file is not None:
        file_handler = logging.FileHandler(os.fspath(log_file), encoding="utf-8")
        file_handler.setFormatter(Formatter(timestamps=True))
        handlers.append(file_handler)
    previous = logger.level
    logger.setLevel(levelno)
    for h in handlers:
        logger.addHandler(h)

    def undo() -> None:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(previous)

    return undo
