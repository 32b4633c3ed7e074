"""HeadlessRenderer: no window, one live status line; ends on exit(), Ctrl-C or SIGTERM."""

from __future__ import annotations

import sys
import time


class HeadlessRenderer:
    """Prints the app's status line every `interval` seconds; `duration` ends the run after that
    many seconds. On a terminal the line rewrites itself; elsewhere it prints one line each time.
    """

    def __init__(self, interval: float = 1.0, duration: float | None = None, out=None):
        self.interval = interval
        self.duration = duration
        self.out = out if out is not None else sys.stdout
        self.ui_errors = 0  # calls of UI functions that raised

    def run(self, target) -> None:
        tty = getattr(self.out, "isatty", lambda: False)()
        started = time.monotonic()
        next_print = started
        while not target.exit_requested:
            now = time.monotonic()
            if self.duration is not None and now - started >= self.duration:
                target.request_exit()
                break
            for fn in target.ui_functions:
                self._call(fn, target)
            if now >= next_print and self.interval > 0:
                line = target.status_line()
                self.out.write(f"\r\x1b[2K{line}" if tty else f"{line}\n")
                self.out.flush()
                next_print = now + self.interval
            time.sleep(0.05)
        if tty:
            self.out.write("\n")
            self.out.flush()

    def _call(self, fn, target) -> None:
        """A UI function that raises is logged once per distinct error and counted; the run
        goes on, so one broken panel cannot end an experiment."""
        try:
            fn(target.ctx)
        except Exception as e:  # noqa: BLE001
            self.ui_errors += 1
            log = getattr(target.ctx, "log", None)
            if log is not None:
                log.error_once(f"ui {getattr(fn, '__name__', 'function')}", e)
