"""Replay pacing row: a text recording played back live through a Stream; the sample rate it
achieves against the recording's own, and how far behind the wall clock samples arrive."""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from .common import Group, RowResult

RATE, CHANNELS = 1000.0, 8


def run(quick: bool) -> list[RowResult]:
    from hexloop.adapters.replay import ReplaySource
    from hexloop.application import Stream

    from .acquisition import ReadClock, _connected

    seconds = 2.0 if quick else 10.0
    with tempfile.TemporaryDirectory(prefix="hexloop-bench-") as tmp:
        path = os.path.join(tmp, "recording.csv")
        n = int(RATE * 3)
        values = np.random.default_rng(4).standard_normal((n, CHANNELS))
        table = np.column_stack([np.arange(n) / RATE, values])
        header = "time," + ",".join(f"ch{c}" for c in range(CHANNELS))
        np.savetxt(path, table, delimiter=",", header=header, comments="", fmt="%.6f")
        clock = ReadClock(ReplaySource(path, loop=True))
        stream = Stream("replay", clock, buffer_ms=2000)
        stream.start()
        try:
            _connected(stream)
            time.sleep(0.3)
            s0, t0 = stream.health.samples, time.monotonic()
            clock.ages.clear()
            clock.recording = True
            time.sleep(seconds)
            clock.recording = False
            s1, t1 = stream.health.samples, time.monotonic()
        finally:
            stream.stop()
    achieved = (s1 - s0) / (t1 - t0) / RATE
    ages = np.array(clock.ages)
    return [RowResult(
        "replay.pacing", f"replay of a {RATE:g} Hz text recording through a Stream, achieved "
        "rate", achieved, ">= 0.995",
        f"{achieved * RATE:.1f} samples/s; newest sample {np.median(ages) * 1e3:.2f} ms old "
        f"on arrival (median), p99 {np.percentile(ages, 99) * 1e3:.2f} ms",
        "the recording's rate", {"achieved": achieved, "age_median_s": float(np.median(ages)),
                                 "age_p99_s": float(np.percentile(ages, 99))})]


GROUP = Group("replay", ("replay.pacing",), run)
