"""Conditioning row (when the scipy conditioning adapter is installed): CPU seconds a band-pass
+ notch chain takes per second of 408 ch x 10240 Hz signal, in 10 ms chunks, as
`benchmarks/conditioning.py` measures it in more detail."""

from __future__ import annotations

import time

import numpy as np

from .common import Group, RowResult

CHAIN = [{"type": "bandpass", "low": 20, "high": 450, "order": 4},
         {"type": "notch", "freq": 50, "harmonics": 3}]
CHANNELS, RATE = 408, 10240.0


def run(quick: bool) -> list[RowResult]:
    from hexloop.adapters.scipy import build_chain

    seconds = 1.0 if quick else 5.0
    conditioner = build_chain(CHAIN, RATE, CHANNELS)
    chunk = round(RATE * 0.01)
    data = np.random.default_rng(5).standard_normal((chunk, CHANNELS)).astype(np.float32)
    conditioner.process(data)  # warm up
    n = int(seconds * RATE / chunk)
    t0 = time.thread_time()
    for _ in range(n):
        conditioner.process(data)
    share = (time.thread_time() - t0) / (n * chunk / RATE)
    return [RowResult(
        "conditioning.cost.408x10240", "conditioning band-pass + notch at 408 ch x 10240 Hz, "
        "CPU per second of signal", share, "<= 0.2",
        f"{share:.1%} of one core in 10 ms chunks", "one core (CPU seconds per signal second)",
        {"core_share": share})]


GROUP = Group("conditioning", ("conditioning.cost.408x10240",), run)
