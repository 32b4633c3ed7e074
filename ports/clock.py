"""The Clock port: the time base every timestamp and deadline is measured on."""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Monotonic seconds. Safe to call from any thread; only `sleep` blocks, up to `seconds`.

    The system clock is `time.monotonic`, the same base as LSL's `local_clock` on Linux.
    Test with `contracts.check_clock`; docs/adapters.md.
    """

    def now(self) -> float: ...

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        """Sleep up to `seconds`; return True early if `interrupt` gets set."""
        ...
