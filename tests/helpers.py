"""Shared test helpers: waiting on conditions, a parking fake clock, ramp chunks, app fixtures."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeClock, FakeSource


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, interval: float = 0.005) -> bool:
    """Poll `condition` until it holds or `timeout` passes; True if it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


class ParkingClock(FakeClock):
    """A FakeClock that lets `budget` sleeps through instantly, then parks the sleeper until
    its interrupt is set (or `park_s` of wall time passes), so a paced thread cannot spin."""

    def __init__(self, start: float = 0.0, budget: int = 50, park_s: float = 5.0):
        super().__init__(start)
        self.budget = budget
        self.park_s = park_s
        self.parked = threading.Event()

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        if len(self.sleeps) >= self.budget:
            self.parked.set()
            if interrupt is not None:
                return interrupt.wait(self.park_s)
            time.sleep(self.park_s)
            return False
        return super().sleep(seconds, interrupt)


def ramp_chunks(sizes, channels: int = 2, rate: float = 100.0, start_index: int = 0,
                t0: float = 0.0, dtype=np.float32):
    """Chunks whose every channel holds the sample index; timestamps t0 + index / rate."""
    chunks, index = [], start_index
    for n in sizes:
        idx = np.arange(index, index + n)
        data = np.repeat(idx[:, None], channels, axis=1).astype(dtype)
        chunks.append((data, t0 + idx / rate))
        index += n
    return chunks


def quiet_headless(**kw):
    """A HeadlessRenderer that writes its status lines into a string buffer."""
    from hexloop.application import HeadlessRenderer

    kw.setdefault("out", io.StringIO())
    return HeadlessRenderer(**kw)


@contextlib.contextmanager
def started(app):
    """Start an app's threads without a renderer; always shut it down."""
    app.start()
    try:
        yield app
    finally:
        app.shutdown()


def run_in_thread(fn: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Run `fn` on a daemon thread; exceptions land in the returned list."""
    errors: list[BaseException] = []

    def target():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            errors.append(e)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


class GatedSource(FakeSource):
    """A FakeSource that delivers nothing until `gate` is set (to start recording first)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.gate = threading.Event()

    def read(self):
        if not self.gate.is_set():
            info = self.info
            return np.empty((0, info.channel_count), info.np_dtype), np.empty(0)
        return super().read()


def _missing_extras() -> list[str]:
    import importlib.util

    return [m for m in ("pylsl", "mne_lsl", "torch", "zarr", "scipy", "imgui_bundle")
            if importlib.util.find_spec(m) is None]


#: For tests of whole setups that name adapters from every extra: `hexloop check` rightly
#: reports a missing extra, so where one is missing (the core-only venv) they skip.
needs_all_extras = pytest.mark.skipif(bool(_missing_extras()),
                                      reason=f"needs every extra; missing {_missing_extras()}")
