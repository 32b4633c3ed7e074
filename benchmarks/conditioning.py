"""Conditioning cost: what a chain costs the acquisition thread, as a share of one core.

For each geometry and chain, a ScipyConditioner processes `--seconds` of synthetic EMG in the
chunk size a stream sees (`--chunk-ms`, default 10 ms: LSL delivers a few ms at a time), timed
with time.thread_time (CPU, not wall) and divided by the signal's duration. The target (#14):
408 ch x 10240 Hz with a 4th-order 20-450 Hz band-pass and a 50 Hz notch with 3 harmonics below
20 % of one core.

    .venv/bin/python benchmarks/conditioning.py                 # ~10 s
    .venv/bin/python benchmarks/conditioning.py --seconds 20 --chunk-ms 5

Exits 1 when the 408 x 10240 band-pass + notch row is over the target.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from hexloop.adapters.scipy import build_chain
from hexloop.domain.conditioning import describe_chain

TARGET = 0.20
BAND_NOTCH = [{"type": "bandpass", "low": 20, "high": 450, "order": 4},
              {"type": "notch", "freq": 50, "harmonics": 3}]
CHAINS = {
    "band-pass + notch": BAND_NOTCH,
    "band-pass + notch + CAR + rectify + RMS": BAND_NOTCH + [
        {"type": "car"}, {"type": "rectify"}, {"type": "rms", "window_ms": 100}],
}
GEOMETRIES = {"64x2048": (64, 2048.0), "408x10240": (408, 10240.0)}


def measure(chain, channels: int, rate: float, seconds: float, chunk_ms: float) -> float:
    """CPU seconds per second of signal."""
    conditioner = build_chain(chain, rate, channels)
    chunk = max(1, round(rate * chunk_ms / 1000.0))
    rng = np.random.default_rng(0)
    block = (rng.standard_normal((chunk * 50, channels)) * 100).astype(np.float32)
    total = round(seconds * rate)
    done, cpu = 0, 0.0
    while done < total:
        for i in range(0, len(block), chunk):
            t0 = time.thread_time()
            conditioner.process(block[i:i + chunk])
            cpu += time.thread_time() - t0
            done += chunk
            if done >= total:
                break
    return cpu / (done / rate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="signal per row (s)")
    parser.add_argument("--chunk-ms", type=float, default=10.0, help="chunk length (ms)")
    parser.add_argument("--geometry", choices=list(GEOMETRIES), action="append")
    args = parser.parse_args(argv)
    failed = False
    print(f"{'geometry':>10}  {'chain':<42} {'core share':>10}  {'us/chunk':>9}")
    for geometry in args.geometry or list(GEOMETRIES):
        channels, rate = GEOMETRIES[geometry]
        for label, chain in CHAINS.items():
            share = measure(chain, channels, rate, args.seconds, args.chunk_ms)
            per_chunk = share * args.chunk_ms * 1e3
            flag = ""
            if geometry == "408x10240" and chain is BAND_NOTCH:
                failed = share >= TARGET
                flag = f"  ({'OVER' if failed else 'under'} the {TARGET:.0%} target)"
            print(f"{geometry:>10}  {label:<42} {share:>10.1%}  {per_chunk:>9.0f}{flag}")
    print(f"chain: {describe_chain(BAND_NOTCH)}; chunks of {args.chunk_ms:g} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
