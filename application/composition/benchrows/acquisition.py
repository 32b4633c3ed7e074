"""Acquisition rows: read-gap jitter of a Stream's acquisition thread while a torch model
trains (with the threads the app gives torch, and with every core) against the same thread
idle, and the latency the acquisition thread's idle wait adds to a sample coming over LSL."""

from __future__ import annotations

import functools
import os
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from .common import Group, RowResult

if TYPE_CHECKING:
    from hexloop.domain.pipeline import TrainingJob

CHANNELS, RATE = 64, 2048.0


class ReadClock:
    """Wraps a Source: when each read that brought samples returned, and how old its newest
    sample was then (monotonic clock, which LSL's local_clock and the simulator share)."""

    def __init__(self, source):
        self.source = source
        self.arrivals: list[float] = []
        self.ages: list[float] = []
        self.recording = False

    def read(self):
        data, ts = self.source.read()
        if len(ts) and self.recording:
            now = time.monotonic()
            self.arrivals.append(now)
            self.ages.append(now - float(ts[-1]))
        return data, ts

    def __getattr__(self, name):
        return getattr(self.source, name)


def _thread_cpu_s(native_id: int | None) -> float:
    """CPU seconds a thread of this process has used (Linux), nan elsewhere."""
    try:
        with open(f"/proc/self/task/{native_id}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _connected(stream, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while stream.info is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if stream.info is None:
        raise TimeoutError(f"stream {stream.name} did not connect within {timeout:g} s")


def _gaps(clock: ReadClock, seconds: float) -> np.ndarray:
    clock.arrivals.clear()
    clock.recording = True
    time.sleep(seconds)
    clock.recording = False
    return np.diff(np.array(clock.arrivals))


@functools.cache
def _training_data():
    from hexloop.domain.features import emg_features
    from hexloop.domain.pipeline import TrainingData
    from hexloop.domain.simulation import EmgSimulator

    sim = EmgSimulator(channels=8, rate=1000.0, seed=0)
    xs, ys = [], []
    for k in range(len(sim.class_names)):
        sim.set_class(k)
        block = sim.generate(10_000).T
        windows = np.stack([block[:, s:s + 200] for s in range(0, 10_000 - 200, 20)])
        xs.append(emg_features(windows))
        ys.append(np.full(len(windows), k))
    return TrainingData(np.concatenate(xs).astype(np.float32), np.concatenate(ys),
                        sim.class_names)


def _train_for(threads: int | None, switch_s: float) -> tuple[threading.Thread, TrainingJob]:
    """Train a TorchClassifier on its own thread (as the app's training thread does) until
    cancelled; `threads` None is what the app gives torch; `switch_s` the GIL switch interval
    fit uses."""
    from hexloop.adapters.torch import TorchClassifier, model
    from hexloop.domain.pipeline import TrainingCancelled, TrainingJob

    data = _training_data()
    job = TrainingJob()

    model.TRAINING_SWITCH_INTERVAL_S = switch_s

    def train():
        while not job.cancelled:
            model = TorchClassifier("mlp", hidden=(256, 256), device="cpu", threads=threads,
                                    epochs=10_000, patience=10_000, seed=0)
            try:
                model.fit(data, job)
            except TrainingCancelled:
                return

    worker = threading.Thread(target=train, name="bench-train", daemon=True)
    worker.start()
    return worker, job


def jitter_rows(quick: bool) -> list[RowResult]:
    from hexloop.adapters.simulated import SimulatedSource
    from hexloop.application import Stream

    seconds = 2.0 if quick else 12.0
    clock = ReadClock(SimulatedSource("bench-acq", CHANNELS, RATE, seed=3))
    stream = Stream("bench-acq", clock, buffer_ms=2000)
    stream.start()
    _connected(stream)
    from hexloop.adapters.torch import model

    cores = model.usable_cores()
    switch = model.TRAINING_SWITCH_INTERVAL_S
    results: dict[str, Any] = {"app threads": model.training_threads(),
                               "all cores threads": cores}
    gaps: dict[str, list[np.ndarray]] = {"idle": [], "app": [], "all cores": []}
    rounds = 2 if quick else 3  # alternate, so a load that comes and goes hits all three
    try:
        time.sleep(0.3)
        for _ in range(rounds):
            gaps["idle"].append(_gaps(clock, seconds / rounds))
            for label, threads, switch_s in (("app", None, switch), ("all cores", cores, 0.005)):
                worker, job = _train_for(threads, switch_s)
                time.sleep(0.3)  # into the epochs
                gaps[label].append(_gaps(clock, seconds / rounds))
                job.cancel()
                worker.join(10)
        results.update({label: np.concatenate(parts) for label, parts in gaps.items()})
    finally:
        model.TRAINING_SWITCH_INTERVAL_S = switch
        stream.stop()
    idle_p99 = float(np.percentile(results["idle"], 99))
    rows = []
    for label, key, target, how in (
            ("app", "acquisition.gap_training", "<= 2", "as the app trains"),
            ("all cores", "acquisition.gap_training_all_cores", "",
             "as before #13: torch on every core, 5 ms GIL switching")):
        gap = results[label]
        p99 = float(np.percentile(gap, 99))
        rows.append(RowResult(
            key, f"acquisition read-gap p99 while training ({how}) vs idle",
            p99 / idle_p99, target,
            f"p99 {p99 * 1e3:.1f} ms (max {gap.max() * 1e3:.0f} ms) training with "
            f"{results[label + ' threads']} torch threads of {cores} cores; idle p99 "
            f"{idle_p99 * 1e3:.1f} ms (max {results['idle'].max() * 1e3:.0f} ms)",
            "the same thread's read-gap p99 with nothing training",
            {"p99_s": p99, "max_s": float(gap.max()), "idle_p99_s": idle_p99,
             "torch_threads": results[label + " threads"], "cores": cores}))
    return rows


def idle_wait_row(quick: bool) -> RowResult:
    """Median age of the newest sample when a Stream reads it over LSL loopback, with the
    idle wait of today and the 5 ms of before, and the acquisition thread's CPU share."""
    from hexloop.adapters.pylsl import PylslSource, SimulatedLslDevice
    from hexloop.application import Stream
    from hexloop.application.stream import MAX_IDLE_WAIT_S

    seconds = 1.5 if quick else 8.0
    got = {}
    for label, wait in (("now", MAX_IDLE_WAIT_S), ("5 ms", 0.005)):
        name = f"bench-idle-{int(wait * 1e4)}-{os.getpid()}"
        with SimulatedLslDevice(name, channels=CHANNELS, rate=RATE, wait_for_consumer=True):
            clock = ReadClock(PylslSource(name, ambiguity_wait_s=0.0))
            stream = Stream(name, clock, buffer_ms=2000)
            stream.max_idle_wait_s = wait
            stream.start()
            try:
                _connected(stream)
                time.sleep(0.3)
                assert stream._thread is not None, "started above"
                tid = stream._thread.native_id
                cpu0, wall0 = _thread_cpu_s(tid), time.monotonic()
                clock.ages.clear()
                clock.recording = True
                time.sleep(seconds)
                clock.recording = False
                cpu = (_thread_cpu_s(tid) - cpu0) / (time.monotonic() - wall0)
            finally:
                stream.stop()
        got[label] = (float(np.median(clock.ages)), cpu)
    (now, cpu_now), (before, cpu_before) = got["now"], got["5 ms"]
    return RowResult(
        "acquisition.idle_wait", "acquisition latency over LSL (push to read, median), idle "
        f"wait {MAX_IDLE_WAIT_S * 1e3:g} ms vs the 5 ms of before", now / before, "<= 1",
        f"median {now * 1e3:.2f} ms vs {before * 1e3:.2f} ms; acquisition thread CPU "
        f"{cpu_now:.1%} vs {cpu_before:.1%} ({CHANNELS} ch x {RATE:g} Hz)",
        "the same with a 5 ms idle wait",
        {"median_s": now, "median_5ms_s": before, "cpu": cpu_now, "cpu_5ms": cpu_before})


def run(quick: bool) -> list[RowResult]:
    rows = []
    try:
        rows += jitter_rows(quick)
    except ImportError as e:
        rows += [RowResult(k, k, skipped=f"needs torch: {e}") for k in KEYS[:2]]
    try:
        rows.append(idle_wait_row(quick))
    except ImportError as e:
        rows.append(RowResult(KEYS[2], KEYS[2], skipped=f"needs pylsl: {e}"))
    return rows


KEYS = ("acquisition.gap_training", "acquisition.gap_training_all_cores",
        "acquisition.idle_wait")
GROUP = Group("acquisition", KEYS, run)
