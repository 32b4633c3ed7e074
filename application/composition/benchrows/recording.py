"""Recording rows: simulated EMG through a real Stream into the Zarr store, at 64 ch x 2048 Hz
and 408 ch x 10240 Hz: the store's write capacity as a multiple of the data rate (next to the
same disk's raw sequential rate) and the longest acquisition stall. `benchmarks/recording.py`
prints the same measurement in more detail."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

import numpy as np

from .common import Group, RowResult

CONFIGS = ((64, 2048.0), (408, 10240.0))
STALL_BUDGET_S = 0.005


class TimedSession:
    """Wraps a recording session; times and counts every append the acquisition thread makes."""

    def __init__(self, session):
        self.session = session
        self.appended = 0
        self.longest_append = 0.0
        self._lock = threading.Lock()

    def append(self, stream, data, timestamps):
        started = time.perf_counter()
        self.session.append(stream, data, timestamps)
        took = time.perf_counter() - started
        with self._lock:
            self.appended += len(timestamps)
            self.longest_append = max(self.longest_append, took)

    def __getattr__(self, name):
        return getattr(self.session, name)


def raw_disk_rate(folder: str, block_bytes: int, seconds: float = 1.5) -> float:
    """Bytes per second of plain sequential writes (one file per block, like the store)."""
    payload = np.random.default_rng(0).integers(0, 255, block_bytes, dtype=np.uint8)
    target = os.path.join(folder, "raw_baseline")
    os.makedirs(target)
    written, started, k = 0, time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        with open(os.path.join(target, f"{k}"), "wb") as f:
            payload.tofile(f)
        written += block_bytes
        k += 1
    rate = written / (time.perf_counter() - started)
    shutil.rmtree(target)
    return rate


def measure(channels: int, rate: float, seconds: float, base: str, compression: str | None,
            durability: str = "fsync", raw_seconds: float = 1.5) -> dict:
    """Record `seconds` of simulated EMG; every figure of the recording benchmark."""
    from hexloop.adapters.simulated import SimulatedSource
    from hexloop.adapters.zarr import ZarrStore, open_session
    from hexloop.application import Stream
    from hexloop.domain.session import SessionMeta

    data_rate = channels * rate * 4  # float32 bytes per second
    name = f"emg{channels}"
    stream = Stream(name, SimulatedSource(name, channels, rate, seed=1), window_ms=200,
                    buffer_ms=2000)
    stream.start()
    deadline = time.monotonic() + 10
    while stream.info is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if stream.info is None:
        stream.stop()
        raise TimeoutError(f"the simulated {name} stream did not connect within 10 s")
    store = ZarrStore(os.path.join(base, f"{name}-{durability}"), compression=compression,
                      durability=durability)
    session = TimedSession(store.open_session(SessionMeta("bench", [stream.info])))
    stream.max_stall_s = 0.0
    stream.set_session(session)
    time.sleep(seconds)
    stream.set_session(None)
    stream.stop()
    backlog = session.backlog_bytes
    started = time.perf_counter()
    summary = session.close()
    close_s = time.perf_counter() - started
    with open_session(summary.location) as back:
        on_disk = back.sample_count(name)
    store_rate = on_disk * channels * 4 / max(session.writer_busy_s, 1e-9)
    raw = raw_disk_rate(base, store.block_samples(rate, channels, 4) * channels * 4, raw_seconds)
    health = stream.health
    return {"data_rate": data_rate, "store_rate": store_rate, "raw_rate": raw,
            "blocks": session.blocks_written, "writer_busy_s": session.writer_busy_s,
            "longest_append_s": session.longest_append, "max_stall_s": stream.max_stall_s,
            "backlog_bytes": backlog, "appended": session.appended, "recorded": on_disk,
            "lost": health.lost, "rejected": health.rejected, "close_s": close_s,
            "error": summary.error}


def run(quick: bool) -> list[RowResult]:
    import hexloop.adapters.zarr  # noqa: F401 - skip the group cleanly without zarr

    seconds = 1.5 if quick else 6.0
    rows = []
    base = tempfile.mkdtemp(prefix="hexloop-bench-")
    try:
        for channels, rate in CONFIGS:
            m = measure(channels, rate, seconds, base, "zstd", raw_seconds=0.5 if quick else 1.5)
            geo = f"{channels}x{rate:g}"
            equal = "all recorded" if m["recorded"] == m["appended"] else (
                f"MISMATCH {m['appended']} appended, {m['recorded']} recorded")
            rows.append(RowResult(
                f"recording.capacity.{geo}",
                f"store + stream at {channels} ch x {rate:g} Hz, capacity / data rate",
                m["store_rate"] / m["data_rate"], ">= 10",
                f"store {m['store_rate'] / 2**20:.0f} MiB/s for {m['data_rate'] / 2**20:.1f} "
                f"MiB/s of data; raw disk {m['raw_rate'] / m['data_rate']:.0f}x; {equal}",
                "the stream's data rate (float32, zstd)", m))
            rows.append(RowResult(
                f"recording.stall.{geo}",
                f"acquisition stall while recording {channels} ch x {rate:g} Hz, vs 5 ms",
                m["max_stall_s"] / STALL_BUDGET_S, "<= 1",
                f"longest acquisition iteration {m['max_stall_s'] * 1e3:.2f} ms, longest "
                f"append {m['longest_append_s'] * 1e3:.2f} ms", "the 5 ms stall budget", m))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return rows


GROUP = Group("recording", tuple(f"recording.{what}.{c}x{r:g}" for c, r in CONFIGS
                                 for what in ("capacity", "stall")), run)
