"""Recording throughput: simulated EMG through a real Stream into the Zarr store.

For 64 ch x 2048 Hz and 408 ch x 10240 Hz float32 it prints, measured in this run:
  * the store's sustained write rate as a multiple of the data rate (bytes written per second the
    writer thread was busy), next to the same disk's raw sequential write rate as a baseline;
  * the largest stall the acquisition thread saw: the longest single `append` call, and the
    longest whole acquisition-loop iteration (read, validate, ring buffer, display, append);
  * samples handed to the store vs samples read back from the packed session (must be equal);
  * how long closing (flush, verify, pack) took.

The measuring code lives in hexloop.application.composition.benchrows.recording, which
`hexloop bench` runs too.

Usage: .venv/bin/python benchmarks/recording.py [--seconds 6] [--dir /tmp] [--compression zstd]
       [--durability fsync|flush|both]  (both: each configuration once per setting, to compare)
"""

from __future__ import annotations

import argparse
import shutil
import tempfile

from hexloop.application.composition.benchrows.recording import CONFIGS, measure


def run(channels: int, rate: float, seconds: float, base: str, compression: str | None,
        durability: str = "fsync") -> bool:
    m = measure(channels, rate, seconds, base, compression, durability)
    data_rate, store_rate, raw = m["data_rate"], m["store_rate"], m["raw_rate"]
    print(f"\n{channels} ch x {rate:g} Hz float32 ({data_rate / 2**20:.1f} MiB/s), "
          f"{seconds:g} s, compression={compression}, durability={durability}")
    print(f"  store write rate : {store_rate / data_rate:8.1f} x data rate "
          f"({m['blocks']} blocks, writer busy {m['writer_busy_s']:.2f} s)")
    print(f"  raw disk baseline: {raw / data_rate:8.1f} x data rate "
          f"(store at {store_rate / raw:.2f} x raw sequential writes)")
    print(f"  largest stall    : append {m['longest_append_s'] * 1e3:.2f} ms, "
          f"whole acquisition iteration {m['max_stall_s'] * 1e3:.2f} ms")
    print(f"  backlog at stop  : {m['backlog_bytes'] / 2**20:.1f} MiB waiting for the writer")
    print(f"  samples          : {m['appended']} produced, {m['recorded']} recorded "
          f"({'equal' if m['recorded'] == m['appended'] else 'MISMATCH'}); stream lost "
          f"{m['lost']}, rejected {m['rejected']}")
    print(f"  close (flush, pack, verify): {m['close_s']:.2f} s; {m['error'] or 'no errors'}")
    return m["recorded"] == m["appended"] and m["error"] is None


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
