"""Helpers for the child side of a bridge: stop on SIGTERM/SIGINT, notice a vanished parent."""

from __future__ import annotations

import os
import signal
import sys
import threading

from hexloop.domain.bridges import BridgeExit


class BridgeExitError(SystemExit):
    """Ends a bridge child with one of the documented exit codes and a message on stderr."""

    def __init__(self, code: BridgeExit, message: str):
        super().__init__(int(code))
        self.exit_code = BridgeExit(code)
        self.message = message


def report(name: str, message: str) -> None:
    """One line on stderr, which the supervisor keeps in its bounded log and status tail."""
    print(f"[{name}] {message}", file=sys.stderr, flush=True)


class ChildLifecycle:
    """Turns SIGTERM and SIGINT into a stop request a main loop can poll or wait on.

    Call `install()` from the main thread. `should_stop()` is also true once the parent process
    is gone (the child was re-parented), so an orphaned bridge finishes its output and exits
    instead of holding a camera forever.
    """

    def __init__(self) -> None:
        self.stop_requested = threading.Event()
        self.reason = ""
        self._parent = os.getppid()

    def install(self) -> ChildLifecycle:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum, _frame) -> None:
        self.request_stop(f"received {signal.Signals(signum).name}")

    def request_stop(self, reason: str) -> None:
        if not self.stop_requested.is_set():
            self.reason = reason
            self.stop_requested.set()

    def parent_gone(self) -> bool:
        return os.getppid() != self._parent

    def should_stop(self) -> bool:
        if not self.stop_requested.is_set() and self.parent_gone():
            self.request_stop("its parent process went away")
        return self.stop_requested.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True as soon as a stop was requested (or the parent is gone)."""
        self.stop_requested.wait(seconds)
        return self.should_stop()
