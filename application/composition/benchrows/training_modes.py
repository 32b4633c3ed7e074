"""Training-mode row: a Stream's acquisition read-gap p99 while a torch model trains in a child
process (Pipeline(training="process")), against the same thread idle, with training in a thread
(as the app does by default) measured in the same rounds for comparison."""

from __future__ import annotations

import functools
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from .common import Group, RowResult

if TYPE_CHECKING:
    from hexloop.domain.pipeline import TrainingJob

KEY = "acquisition.gap_training_process"


def _train_in_process_for(timeout: float = 60.0) -> tuple[threading.Thread, TrainingJob]:
    """Train a TorchClassifier in a child process (as training="process" does) until cancelled;
    returns once the child reports its first epoch."""
    from hexloop.adapters.torch import TorchClassifier
    from hexloop.application.training_process import run_in_process
    from hexloop.domain.pipeline import TrainingCancelled, TrainingJob

    from .acquisition import _training_data

    factory = functools.partial(TorchClassifier, "mlp", hidden=(256, 256), device="cpu",
                                epochs=10_000, patience=10_000, seed=0)
    data, job = _training_data(), TrainingJob()
    failure: list[BaseException] = []

    def train() -> None:
        try:
            run_in_process(factory, data, job, folds=0, setup={})
        except TrainingCancelled:
            pass
        except Exception as e:  # noqa: BLE001 - reported below
            failure.append(e)

    worker = threading.Thread(target=train, name="bench-train-process", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout
    while job.progress.epoch < 1 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if job.progress.epoch < 1:
        job.cancel()
        worker.join(10)
        raise RuntimeError(f"the training process did not start an epoch within {timeout:g} s"
                           + (f": {failure[0]}" if failure else ""))
    return worker, job


def gap_row(quick: bool) -> RowResult:
    from hexloop.adapters.simulated import SimulatedSource
    from hexloop.adapters.torch import model
    from hexloop.application import Stream

    from .acquisition import CHANNELS, RATE, ReadClock, _connected, _gaps, _train_for

    seconds = 2.0 if quick else 12.0
    clock = ReadClock(SimulatedSource("bench-acq-process", CHANNELS, RATE, seed=3))
    stream = Stream("bench-acq-process", clock, buffer_ms=2000)
    stream.start()
    _connected(stream)
    gaps: dict[str, list[np.ndarray]] = {"idle": [], "thread": [], "process": []}
    rounds = 2 if quick else 3  # alternate, so a load that comes and goes hits all three
    try:
        time.sleep(0.3)
        for _ in range(rounds):
            gaps["idle"].append(_gaps(clock, seconds / rounds))
            worker, job = _train_for(None, model.TRAINING_SWITCH_INTERVAL_S)
            time.sleep(0.3)  # into the epochs
            gaps["thread"].append(_gaps(clock, seconds / rounds))
            job.cancel()
            worker.join(10)
            worker, job = _train_in_process_for()
            gaps["process"].append(_gaps(clock, seconds / rounds))
            job.cancel()
            worker.join(10)
    finally:
        stream.stop()
    got: dict[str, Any] = {label: np.concatenate(parts) for label, parts in gaps.items()}
    p99 = {label: float(np.percentile(g, 99)) for label, g in got.items()}
    worst = {label: float(g.max()) for label, g in got.items()}
    return RowResult(
        KEY, "acquisition read-gap p99 while training in a process (training = \"process\") "
             "vs idle", p99["process"] / p99["idle"], "<= 2",
        f"p99 {p99['process'] * 1e3:.1f} ms (max {worst['process'] * 1e3:.0f} ms) training in a "
        f"process; {p99['thread'] * 1e3:.1f} ms (max {worst['thread'] * 1e3:.0f} ms) in a "
        f"thread ({p99['thread'] / p99['idle']:.2f}x); idle p99 {p99['idle'] * 1e3:.1f} ms "
        f"(max {worst['idle'] * 1e3:.0f} ms); {model.usable_cores()} cores",
        "the same thread's read-gap p99 with nothing training",
        {"p99_s": p99["process"], "max_s": worst["process"], "thread_p99_s": p99["thread"],
         "thread_max_s": worst["thread"], "idle_p99_s": p99["idle"],
         "thread_ratio": p99["thread"] / p99["idle"], "cores": model.usable_cores()})


def run(quick: bool) -> list[RowResult]:
    try:
        return [gap_row(quick)]
    except ImportError as e:
        return [RowResult(KEY, KEY, skipped=f"needs torch: {e}")]


GROUP = Group("training_modes", (KEY,), run)
