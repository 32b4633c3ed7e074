"""Helpers for the LSL tests: unique names, outlets through either binding, reading a source
until enough has arrived, and a transport wrapper whose receiver subscribes before any send.

Import it after `pytest.importorskip("pylsl")` / `("mne_lsl")`; tests/conftest.py has already
pointed LSLAPICFG at the loopback-only config.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence

import numpy as np
import pylsl
from mne_lsl import lsl as mne_lsl

from hexloop.adapters.pylsl import SimulatedLslDevice
from hexloop.ports.source import SourceLost

BINDINGS = ("pylsl", "mne_lsl")


def unique(prefix: str = "hexloop-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def other(binding: str) -> str:
    return "mne_lsl" if binding == "pylsl" else "pylsl"


class Outlet:
    """A raw LSL outlet through either binding, for feeding sources exactly known data."""

    def __init__(
        self,
        binding: str,
        name: str,
        channels: int = 3,
        rate: float = 100.0,
        fmt: str = "float32",
        source_id: str = "",
        type: str = "EMG",
        labels: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
    ):
        self.binding, self.name, self.channels = binding, name, channels
        if binding == "pylsl":
            info = pylsl.StreamInfo(name, type, channels, rate, fmt, source_id)
            if labels is not None:
                info.set_channel_labels(list(labels))
            if units is not None:
                info.set_channel_units(list(units))
            self.outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=10)
        else:
            info = mne_lsl.StreamInfo(name, type, channels, rate, fmt, source_id)
            if labels is not None:
                info.set_channel_names(list(labels))
            if units is not None:
                info.set_channel_units(list(units))
            self.outlet = mne_lsl.StreamOutlet(info, chunk_size=1, max_buffered=10)

    def push(self, data: np.ndarray, timestamps: np.ndarray) -> None:
        if self.binding == "pylsl":
            self.outlet.push_chunk(data, [float(t) for t in timestamps])
        else:
            self.outlet.push_chunk(data, np.asarray(timestamps, dtype=np.float64))

    def wait_for_consumers(self, timeout: float = 5.0) -> bool:
        return bool(self.outlet.wait_for_consumers(timeout))

    def close(self) -> None:
        self.outlet = None  # gone from the network with its last reference


@contextlib.contextmanager
def outlet(*args, **kwargs):
    out = Outlet(*args, **kwargs)
    try:
        yield out
    finally:
        out.close()


def read_at_least(source, n: int, timeout: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated reads until `n` samples arrived (AssertionError if they do not)."""
    chunks, stamps, got = [], [], 0
    deadline = time.monotonic() + timeout
    while got < n:
        assert time.monotonic() < deadline, f"only {got} of {n} samples within {timeout} s"
        data, ts = source.read()
        if len(ts):
            chunks.append(data)
            stamps.append(ts)
            got += len(ts)
        else:
            time.sleep(0.002)
    return np.concatenate(chunks), np.concatenate(stamps)


def read_until_lost(source, timeout: float = 5.0) -> int:
    """Read until the source raises SourceLost; returns the samples read meanwhile."""
    got, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got += len(source.read()[1])
        except SourceLost:
            return got
        time.sleep(0.005)
    raise AssertionError(f"no SourceLost within {timeout} s after the outlet went away")


def drain(source, quiet_s: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Everything the source delivers until it has been quiet for `quiet_s`."""
    chunks, stamps = [], []
    last = time.monotonic()
    while time.monotonic() - last < quiet_s:
        data, ts = source.read()
        if len(ts):
            chunks.append(data)
            stamps.append(ts)
            last = time.monotonic()
        else:
            time.sleep(0.002)
    if not chunks:
        return np.empty((0, 0)), np.empty(0)
    return np.concatenate(chunks), np.concatenate(stamps)


def device(name: str | None = None, **kwargs) -> SimulatedLslDevice:
    return SimulatedLslDevice(name or unique("sim"), **kwargs)


class Receiving:
    """Wraps a Transport: open() also subscribes an inlet of `binding` to the new outlet (so the
    first send is not lost to a consumer that had not connected yet); received() pulls."""

    def __init__(self, transport, binding: str):
        self.transport, self.binding = transport, binding
        self.inlet = None

    def open(self, channels, rate):
        self.transport.open(channels, rate)
        sid = self.transport.source_id
        if self.binding == "pylsl":
            found = pylsl.resolve_bypred(f"source_id='{sid}'", 1, 5.0)
            assert found, f"the outlet {sid!r} is not visible through pylsl"
            self.inlet = pylsl.StreamInlet(found[0], recover=False)
        else:
            found = mne_lsl.resolve_streams(5.0, source_id=sid)
            assert found, f"the outlet {sid!r} is not visible through mne-lsl"
            self.inlet = mne_lsl.StreamInlet(found[0], recover=False)
        self.inlet.open_stream(5.0)
        deadline = time.monotonic() + 5.0
        while not self.transport.has_consumers and time.monotonic() < deadline:
            time.sleep(0.005)

    def send(self, sample, timestamp):
        self.transport.send(sample, timestamp)

    def close(self):
        self.transport.close()

    def received(self) -> list[np.ndarray]:
        if self.binding == "pylsl":
            data, _ = self.inlet.pull_chunk(timeout=0.0, max_samples=1024, as_numpy=True)
        else:
            data, _ = self.inlet.pull_chunk(timeout=0.0, max_samples=1024)
        return [np.array(row, dtype=np.float64) for row in data]
