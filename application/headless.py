"""HeadlessRenderer: no window, one live status line; ends on exit(), Ctrl-C or SIGTERM."""

from __future__ import annotations

import sys
import time

from hexloop.ports.renderer import RenderTarget

from .log import console_attached


class HeadlessRenderer:
    """Prints the app's status line every `interval` seconds; `duration` ends the run after that
    many seconds. On a terminal the line rewrites itself; elsewhere it prints one line each time.

    Warnings and errors from the app's log go to `problems` (stderr) as they happen, unless
    `problems` is left out and the CLI's console handler already shows them on stderr (one
    logging path: application/log.py, so nothing is printed twice). `@app.ui`
    functions draw into a window, so with no window they are not called: an ImGui call without
    a window's context would crash the interpreter.
    """

    def __init__(self, interval: float = 1.0, duration: float | None = None, out=None,
                 problems=None):
        self.interval = interval
        self.duration = duration
        self.out = out if out is not None else sys.stdout
        self._own_problems = problems is not None
        self.problems = problems if problems is not None else sys.stderr  # warnings, errors

    def run(self, target: RenderTarget) -> None:
        tty = getattr(self.out, "isatty", lambda: False)()
        started = time.monotonic()
        next_print = started
        log = getattr(target.ctx, "log", None)
        seen = 0  # from the start: problems while starting up count too
        while not target.exit_requested:
            now = time.monotonic()
            if self.duration is not None and now - started >= self.duration:
                target.request_exit()
                break
            if log is not None and log.total != seen:
                entries, seen = log.since(seen)
                self._show_problems(entries, tty)
            if now >= next_print and self.interval > 0:
                line = target.status_line()
                self.out.write(f"\r\x1b[2K{line}" if tty else f"{line}\n")
                self.out.flush()
                next_print = now + self.interval
            time.sleep(0.05)
        if tty:
            self.out.write("\n")
            self.out.flush()

    def _show_problems(self, entries, tty: bool) -> None:
        """Warnings and errors from the app's log, each on its own line (there is no log panel)."""
        if not self._own_problems and console_attached():
            return  # the console handler printed them as they were logged
        lines = [f"{e.level}: {e.source}: {e.message}" for e in entries
                 if e.level in ("warning", "error")]
        if lines:
            if tty:
                self.out.write("\r\x1b[2K")
                self.out.flush()
            self.problems.write("\n".join(lines) + "\n")
            self.problems.flush()
