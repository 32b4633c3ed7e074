"""Recording throughput: simulated EMG through a real Stream into the Zarr store.

For 64 ch x 2048 Hz and 408 ch x 10240 Hz float32 it prints, measured in this run:
  * the store's sustained write rate as a multiple of the data rate (bytes written per second the
    writer thread was busy), next to the same disk's raw sequential write rate as a baseline;
  * the largest stall the acquisition thread saw: the longest single `append` call, and the
    longest whole acquisition-loop iteration (read, validate, ring buffer, display, append);
  * samples handed to the store vs samples read back from the packed session (must be equal);
  * how long closing (flush, verify, pack) took.

Usage: .venv/bin/python benchmarks/recording.py [--seconds 6] [--dir /tmp] [--compression zstd]
       [--durability fsync|flush|both]  (both: each configuration once per setting, to compare)
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time

import numpy as np

from hexloop.adapters.simulated import SimulatedSource
from hexloop.adapters.zarr import ZarrStore, open_session
from hexloop.application import Stream
from hexloop.domain.session import SessionMeta

CONFIGS = [(64, 2048.0), (408, 10240.0)]


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


def run(channels: int, rate: float, seconds: float, base: str, compression: str | None,
        durability: str = "fsync") -> bool:
    data_rate = channels * rate * 4  # float32 bytes per second
    name = f"emg{channels}"
    source = SimulatedSource(name, channels, rate, seed=1)
    stream = Stream(name, source, window_ms=200, buffer_ms=2000)
    stream.start()
    deadline = time.monotonic() + 10
    while stream.info is None and time.monotonic() < deadline:
        time.sleep(0.01)
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
    written_bytes = on_disk * channels * 4
    store_rate = written_bytes / max(session.writer_busy_s, 1e-9)
    raw = raw_disk_rate(base, store.block_samples(rate, channels, 4) * channels * 4)
    health = stream.health
    print(f"\n{channels} ch x {rate:g} Hz float32 ({data_rate / 2**20:.1f} MiB/s), "
          f"{seconds:g} s, compression={compression}, durability={durability}")
    print(f"  store write rate : {store_rate / data_rate:8.1f} x data rate "
          f"({session.blocks_written} blocks, writer busy {session.writer_busy_s:.2f} s)")
    print(f"  raw disk baseline: {raw / data_rate:8.1f} x data rate "
          f"(store at {store_rate / raw:.2f} x raw sequential writes)")
    print(f"  largest stall    : append {session.longest_append * 1e3:.2f} ms, "
          f"whole acquisition iteration {stream.max_stall_s * 1e3:.2f} ms")
    print(f"  backlog at stop  : {backlog / 2**20:.1f} MiB waiting for the writer")
    print(f"  samples          : {session.appended} produced, {on_disk} recorded "
          f"({'equal' if on_disk == session.appended else 'MISMATCH'}); stream lost "
          f"{health.lost}, rejected {health.rejected}")
    print(f"  close (flush, pack, verify): {close_s:.2f} s; {summary.error or 'no errors'}")
    return on_disk == session.appended and summary.error is None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--dir", default=None, help="where to record (default: a temp folder)")
    parser.add_argument("--compression", default="zstd", choices=["zstd", "none"])
    parser.add_argument("--durability", default="fsync", choices=["fsync", "flush", "both"])
    args = parser.parse_args()
    compression = None if args.compression == "none" else args.compression
    settings = ["fsync", "flush"] if args.durability == "both" else [args.durability]
    base = tempfile.mkdtemp(prefix="hexloop-bench-", dir=args.dir)
    try:
        ok = all([run(ch, rate, args.seconds, base, compression, durability)
                  for ch, rate in CONFIGS for durability in settings])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("\nall samples recorded" if ok else "\nSOME SAMPLES WERE NOT RECORDED")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
