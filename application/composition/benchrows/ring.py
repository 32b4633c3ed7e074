"""Ring buffer rows: a 200 ms window and a 20 ms write, each against np.copyto of the same
bytes, and the ring's write against a ring kept in order with np.roll."""

from __future__ import annotations

import time

import numpy as np

from hexloop.domain.ringbuffer import RingBuffer

from .common import Group, RowResult, interleaved, us

WINDOW_GEOMETRIES = ((64, 2048.0), (320, 10240.0))
WRITE_GEOMETRIES = ((64, 2048.0), (408, 10240.0))
BUFFER_S = 10.0


def _geometry(channels: int, rate: float) -> str:
    return f"{channels}x{rate:g}"


def _filled(channels: int, rate: float) -> RingBuffer:
    capacity = int(rate * BUFFER_S)
    ring = RingBuffer(capacity, channels, np.float32)
    chunk = np.random.default_rng(0).standard_normal((int(rate * 0.02), channels)).astype(np.float32)
    ts = np.arange(chunk.shape[0], dtype=np.float64)
    for _ in range(capacity // chunk.shape[0] + 3):  # full, and wrapped
        ring.write(chunk, ts)
    return ring


def window_row(channels: int, rate: float, seconds: float) -> RowResult:
    ring = _filled(channels, rate)
    k = int(rate * 0.2)
    wrapped = _filled(channels, rate)  # its newest window runs over the end of the ring
    step = np.zeros((1, channels), np.float32)
    while (ring.seq - k) % ring.capacity + k > ring.capacity:  # a window that does not wrap,
        ring.write(step, np.zeros(1))  # as all but k / capacity (2 %) of windows are
    while (wrapped.seq - k) % wrapped.capacity + k <= wrapped.capacity:
        wrapped.write(step, np.zeros(1))
    src = np.random.default_rng(1).standard_normal((channels, k)).astype(np.float32)
    dst, src_ts, dst_ts = np.empty_like(src), np.arange(k, dtype=np.float64), np.empty(k)

    def baseline():
        np.copyto(dst, src)
        np.copyto(dst_ts, src_ts)

    t = interleaved({"copyto": baseline, "window": lambda: ring.window(k),
                     "wrapped": lambda: wrapped.window(k)}, seconds)
    base, got, wrap = (np.median(t[name]) for name in ("copyto", "window", "wrapped"))
    geo = _geometry(channels, rate)
    return RowResult(
        f"ring.window.{geo}", f"RingBuffer.window 200 ms, {channels} ch x {rate:g} Hz",
        got / base, "<= 1.5", f"window {us(got)} (one wrapping the ring {us(wrap)}), copyto "
        f"{us(base)} ({src.nbytes / 1024:.0f} KiB)",
        "np.copyto of the same bytes (data + timestamps)",
        {"window_s": got, "wrapped_window_s": wrap, "copyto_s": base,
         "bytes": src.nbytes + src_ts.nbytes})


def write_rows(channels: int, rate: float, seconds: float) -> list[RowResult]:
    ring = _filled(channels, rate)
    n = int(rate * 0.02)
    chunk = np.random.default_rng(2).standard_normal((n, channels)).astype(np.float32)
    ts = np.arange(n, dtype=np.float64)
    capacity = ring.capacity
    # The baseline copies into the next slot of a buffer the ring's size, as the ring does,
    # so both pay for the same memory traffic.
    flat = np.ones((capacity, channels), np.float32)  # touched: no page faults in the timing
    flat_ts = np.ones(capacity)
    slots = capacity // n
    where = [0]

    def baseline():
        i = where[0] = (where[0] + 1) % slots
        np.copyto(flat[i * n:(i + 1) * n], chunk)
        np.copyto(flat_ts[i * n:(i + 1) * n], ts)

    rolled = np.zeros((channels, capacity), np.float32)
    rolled_ts = np.zeros(capacity)

    def roll_ring():
        nonlocal rolled, rolled_ts
        rolled = np.roll(rolled, -n, axis=1)
        rolled_ts = np.roll(rolled_ts, -n)
        rolled[:, -n:] = chunk.T
        rolled_ts[-n:] = ts

    t = interleaved({"copyto": baseline, "write": lambda: ring.write(chunk, ts)}, seconds)
    base, got = np.median(t["copyto"]), np.median(t["write"])
    roll_ring()  # allocates and faults in the rolled copies once
    roll_times = []
    for _ in range(3):  # each call moves the whole ring: a few are enough
        t0 = time.perf_counter()
        roll_ring()
        roll_times.append(time.perf_counter() - t0)
    roll = float(np.median(roll_times))
    geo = _geometry(channels, rate)
    return [
        RowResult(f"ring.write.{geo}", f"RingBuffer.write 20 ms chunk, {channels} ch x {rate:g} Hz",
                  got / base, "<= 2", f"write {us(got)}, copyto {us(base)}",
                  "np.copyto of the same bytes (data + timestamps)",
                  {"write_s": got, "copyto_s": base, "bytes": chunk.nbytes + ts.nbytes}),
        RowResult(f"ring.write_vs_roll.{geo}",
                  f"RingBuffer.write vs an np.roll ring, {channels} ch x {rate:g} Hz",
                  got / roll, "<= 1", f"write {us(got)}, np.roll ring {us(roll)}",
                  "np.roll of a 10 s (channels, capacity) ring plus the new tail",
                  {"write_s": got, "roll_s": roll}),
    ]


def run(quick: bool) -> list[RowResult]:
    seconds = 0.4 if quick else 3.0
    rows = [window_row(c, r, seconds) for c, r in WINDOW_GEOMETRIES]
    for c, r in WRITE_GEOMETRIES:
        rows += write_rows(c, r, seconds)
    return rows


KEYS = tuple([f"ring.window.{_geometry(c, r)}" for c, r in WINDOW_GEOMETRIES]
             + [f"ring.{what}.{_geometry(c, r)}" for c, r in WRITE_GEOMETRIES
                for what in ("write", "write_vs_roll")])
GROUP = Group("ring", KEYS, run)
