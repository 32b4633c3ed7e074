"""ProtocolTerminal: the headless cue display of `hexloop run SETUP --protocol`.

A live line (phase, current cue, countdown, trial k of n, stream health) rewritten ten times a
second on a terminal, or one line per change elsewhere (a log file, a test). Keys come from
stdin when it is a terminal (cbreak mode, restored at the end): p pauses / resumes, r repeats
the trial, a aborts the phase, q ends the protocol. Warnings and errors from the app's log are
printed on their own lines, as HeadlessRenderer does. The run ends when the protocol does.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Any

from .headless import HeadlessRenderer


class ProtocolTerminal(HeadlessRenderer):
    """A Renderer for a protocol run without a window (see the module docstring)."""

    def __init__(self, runner: Any, interval: float = 0.1, duration: float | None = None,
                 out=None, problems=None, keys=None):
        super().__init__(interval=interval, duration=duration, out=out, problems=problems)
        self.runner = runner
        self.keys = keys if keys is not None else sys.stdin

    def run(self, target) -> None:
        tty = getattr(self.out, "isatty", lambda: False)()
        started = time.monotonic()
        log = getattr(target.ctx, "log", None)
        seen, last = 0, ""
        with _cbreak(self.keys) as read_key:
            if read_key is not None:
                self._write(tty, "keys: " + ", ".join(f"{k} {what}" for k, what
                                                      in self.runner.KEYS.items()), newline=True)
            while not target.exit_requested:
                if self.duration is not None and time.monotonic() - started >= self.duration:
                    target.request_exit()
                    break
                if log is not None and log.total != seen:
                    entries, seen = log.since(seen)
                    self._show_problems(entries, tty)
                if read_key is not None:
                    while (char := read_key()) is not None:
                        self.runner.key(char)
                line = self.runner.snapshot().line()
                if tty:
                    self._write(tty, line)
                elif _changed(line, last):
                    self._write(tty, line, newline=True)
                last = line
                if self.runner.done.is_set() and self.runner.exit_when_done:
                    break
                time.sleep(self.interval)
        if tty:
            self.out.write("\n")
        for line in self.runner.result.lines():
            self.out.write(line + "\n")
        self.out.flush()

    def _write(self, tty: bool, line: str, newline: bool = False) -> None:
        self.out.write((f"\r\x1b[2K{line}" if tty else line) + ("\n" if newline and not tty
                                                               else ""))
        if newline and tty:
            self.out.write("\n")
        self.out.flush()


def _changed(line: str, last: str) -> bool:
    """A new line for a log: the line without its countdown and health differs."""
    def key(text: str) -> str:
        parts = text.split(" | ")
        return " | ".join(p for p in parts if " Hz " not in p and not p.endswith(" s")
                          and not p.startswith("training "))
    return key(line) != key(last)


@contextlib.contextmanager
def _cbreak(stream):
    """Yields a function returning the next key pressed (or None), or None when `stream` is not
    a terminal; the terminal's mode comes back afterwards."""
    try:
        fd = stream.fileno()
        interactive = os.isatty(fd)
    except (AttributeError, OSError, ValueError):
        interactive = False
    if not interactive:
        if hasattr(stream, "read_key"):  # a scripted key source (tests)
            yield stream.read_key
        else:
            yield None
        return
    try:
        import select
        import termios
        import tty
    except ImportError:  # not a POSIX terminal (Windows): the GUI's keys, or the methods
        yield None
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)

        def read_key() -> str | None:
            ready, _, _ = select.select([fd], [], [], 0)
            return os.read(fd, 1).decode(errors="replace") if ready else None

        yield read_key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
