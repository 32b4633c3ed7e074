"""Output: sends the latest pushed value to a Transport at a fixed rate, on its own thread."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hexloop.domain.pacing import MonotonicClock, Ticker
from hexloop.domain.pipeline import Prediction
from hexloop.ports.transport import Transport

_STOP = object()


class Output:
    """`push(value)` only stores a reference (no queue, never blocks); the output thread sends
    the latest value every 1/hz seconds on absolute deadlines.

    A value is a Prediction (sent with its newest input sample's timestamp, so a receiver can
    measure the loop's latency), a mapping of channel name to number, or a sequence in
    `channels` order (both sent with the send time). With `channels=None` the keys of the first
    mapping pushed are used.
    """

    def __init__(self, transport: Transport, hz: float = 50.0,
                 channels: Sequence[str] | None = None, name: str = "output"):
        if not hz > 0:
            raise ValueError(f"output {name!r}: hz must be positive, got {hz}")
        self.transport = transport
        self.hz = float(hz)
        self.channels = list(channels) if channels is not None else None
        self.name = name
        self.sent = 0
        self.errors = 0
        self._latest: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._clock = MonotonicClock()
        self._log = None

    def push(self, value: Any) -> None:
        """Make `value` the one sent from the next tick on; None withdraws it (nothing is sent,
        as when predicting stops, so a receiver never acts on a stale command)."""
        self._latest = value

    def start(self, clock=None, log=None) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._clock = clock or self._clock
        self._log = log
        self._stop.clear()
        if self._latest is _STOP:  # started again after stop(): wait for a new value
            self._latest = None
        self._thread = threading.Thread(target=self._run, name=f"out-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 0.5) -> None:
        self._latest = _STOP
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _report(self, error: BaseException | str) -> None:
        self.errors += 1
        if self._log is not None:
            self._log.error_once(f"output {self.name}", error)

    def _vector(self, value: Any) -> np.ndarray:
        if isinstance(value, Mapping):
            if self.channels is None:
                self.channels = [str(k) for k in value]
            missing = [c for c in self.channels if c not in value]
            if missing:
                raise KeyError(f"value has no {missing}; it has {list(value)}")
            return np.array([float(value[c]) for c in self.channels], dtype=np.float64)
        sample = np.asarray(value, dtype=np.float64).ravel()
        if self.channels is None:
            self.channels = [f"ch{i + 1}" for i in range(sample.size)]
        if sample.size != len(self.channels):
            raise ValueError(f"value has {sample.size} numbers for {len(self.channels)} channels")
        return sample

    def _run(self) -> None:
        ticker = Ticker(self.hz, self._clock)
        opened = False
        try:
            if self.channels is not None:  # open now, so receivers can connect before values flow
                try:
                    self.transport.open(self.channels, self.hz)
                    opened = True
                except Exception as e:  # noqa: BLE001 - retried on the first value
                    self._report(e)
            while ticker.wait(self._stop):
                value = self._latest
                if value is _STOP:
                    break
                if value is None:
                    continue
                try:
                    if isinstance(value, Prediction):
                        sample, stamp = self._vector(value.values), value.input_time
                    else:
                        sample, stamp = self._vector(value), self._clock.now()
                    if not opened:
                        self.transport.open(self.channels, self.hz)
                        opened = True
                    self.transport.send(sample, stamp)
                    self.sent += 1
                except Exception as e:  # noqa: BLE001 - a bad transport never stops the loop
                    self._report(e)
        finally:
            if opened:
                try:
                    self.transport.close()
                except Exception as e:  # noqa: BLE001
                    self._report(e)
