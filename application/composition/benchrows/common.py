"""What every bench row shares: the result record, timing helpers and the row registry type."""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs
import numpy as np


@attrs.frozen
class RowResult:
    """One line of the bench table: a ratio against a baseline measured in the same run.

    `ratio` is None only for a skipped row, and then `skipped` says why. `met` compares the
    ratio with `target` ("<= 1.5" or ">= 0.995"); a row without a target has `met` None.
    """

    key: str  # stable name, e.g. "ring.window.64x2048"
    path: str  # what is measured, in words
    ratio: float | None = None
    target: str = ""
    figures: str = ""  # the absolute figures, in words
    baseline: str = ""  # what the ratio divides by
    numbers: dict = attrs.Factory(dict)
    skipped: str | None = None

    @property
    def met(self) -> bool | None:
        if self.ratio is None or not self.target:
            return None
        op, _, value = self.target.partition(" ")
        limit = float(value)
        return self.ratio <= limit if op == "<=" else self.ratio >= limit

    def as_json(self) -> dict:
        out = attrs.asdict(self)
        out["met"] = self.met
        return out


@attrs.frozen
class Group:
    """Rows measured together: their keys are known before running, so a group that fails or
    cannot run (a missing package, no display) still produces every row, skipped with the
    reason."""

    name: str
    keys: tuple[str, ...]
    run: Callable[[bool], list[RowResult]]  # quick -> one result per key
    paths: dict[str, str] = attrs.Factory(dict)


def interleaved(fns: dict[str, Callable[[], object]], seconds: float,
                batch: int = 20) -> dict[str, np.ndarray]:
    """Per-call seconds of each function, run in alternating batches for `seconds` in all, so
    a load that comes and goes on a shared machine hits every function alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():  # warm up: first calls allocate, fault pages in
        for _ in range(3):
            fn()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(batch):
                fn()
            times[name].append((time.perf_counter() - t0) / batch)
    return {name: np.array(t) for name, t in times.items()}


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"
