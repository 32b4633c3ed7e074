"""Output post-processing: stages between a prediction and what an Output sends, pure numpy.

A chain of stages is described by plain specs (setup file ``stages = [...]`` under
``[[outputs]]``, or ``Output(..., stages=[...])``), checked by `stage_problems` /
`normalize_stages` (each problem with its key), and run by `OutputStages`: `apply(values, t)`
takes one prediction's values (a mapping of name to number, e.g. class probabilities, in the
model's output order) and its time in seconds, and returns the mapping to send, or None when
there is nothing new to send. Each call costs microseconds.

Continuous stages keep the keys:

- ``smooth``: exponential smoothing, ``alpha`` [0.3] (1 = no smoothing).
- ``one_euro``: the one-euro filter (Casiez et al. 2012), ``min_cutoff`` [1.0] Hz, ``beta``
  [0.0], ``d_cutoff`` [1.0] Hz; uses the prediction times.

Decision stages work on a class: the position of the largest value (or the ``class`` value a
decision stage before them gave) and give ``{"class": index}``:

- ``threshold``: the class if its value reaches ``min_confidence`` [0.5], else the
  ``no_decision`` value [-1].
- ``majority``: the most frequent class of the last ``n`` [5] (a tie goes to the most recent).
- ``dwell`` (also ``hysteresis``): a new class is sent only after it has been predicted
  ``ticks`` [3] times in a row and for at least ``seconds`` [0.0]; nothing before the first.
- ``edge``: send only on change (None while the value stays the same).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping, Sequence
from typing import Any

CLASS = "class"
MAX_STAGES = 16
#: type -> {key: (default, kind)}; kinds: "unit" (0, 1], "pos" > 0, "nonneg" >= 0, "count"
#: whole >= 1, "number" any finite.
TYPES: dict[str, dict[str, tuple[Any, str]]] = {
    "smooth": {"alpha": (0.3, "unit")},
    "one_euro": {"min_cutoff": (1.0, "pos"), "beta": (0.0, "nonneg"), "d_cutoff": (1.0, "pos")},
    "threshold": {"min_confidence": (0.5, "number"), "no_decision": (-1, "number")},
    "majority": {"n": (5, "count")},
    "dwell": {"ticks": (3, "count"), "seconds": (0.0, "nonneg")},
    "edge": {},
}
ALIASES = {"hysteresis": "dwell", "ema": "smooth"}


class StagesInvalid(ValueError):
    """Every problem of a stage chain, as (key, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _value_problem(value: Any, kind: str) -> str | None:
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
            return f"must be a whole number from 1 to 10000, got {_show(value)}"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"must be a finite number, got {_show(value)}"
    if kind == "unit" and not 0 < value <= 1:
        return f"must be above 0 and at most 1, got {_show(value)}"
    if kind == "pos" and value <= 0:
        return f"must be positive, got {_show(value)}"
    if kind == "nonneg" and value < 0:
        return f"must be 0 or more, got {_show(value)}"
    return None


def _normalize(specs: Any, where: str) -> tuple[tuple[dict[str, Any], ...],
                                                list[tuple[str, str]]]:
    if isinstance(specs, Mapping | str) or not isinstance(specs, Sequence):
        return (), [(where, 'must be a list of tables, e.g. [{ type = "majority", n = 5 }], got '
                            f"{_show(specs)}")]
    if len(specs) > MAX_STAGES:
        return (), [(where, f"has {len(specs)} stages; at most {MAX_STAGES}")]
    chain, problems = [], []
    for i, spec in enumerate(specs):
        at = f"{where}[{i}]"
        if not isinstance(spec, Mapping):
            problems.append((at, f'must be a table such as {{ type = "majority", n = 5 }}, got '
                                 f"{_show(spec)}"))
            continue
        raw = spec.get("type")
        kind = ALIASES.get(raw, raw) if isinstance(raw, str) else raw
        if not isinstance(kind, str) or kind not in TYPES:
            allowed = ", ".join(sorted([*TYPES, *ALIASES]))
            problems.append((f"{at}.type", f"must be one of {allowed}, got {_show(spec.get('type'))}"))
            continue
        done: dict[str, Any] = {"type": kind}
        for key, value in spec.items():
            if key == "type":
                continue
            if key not in TYPES[kind]:
                keys = ", ".join(["type", *TYPES[kind]])
                problems.append((f"{at}.{str(key)[:40]}", f"is not a key of {kind}; keys: {keys}"))
            elif msg := _value_problem(value, TYPES[kind][key][1]):
                problems.append((f"{at}.{key}", msg))
            else:
                done[key] = value if TYPES[kind][key][1] == "count" else float(value)
        for key, (default, _) in TYPES[kind].items():
            done.setdefault(key, default)
        chain.append(done)
    return tuple(chain), problems


def stage_problems(specs: Any, where: str = "stages") -> list[tuple[str, str]]:
    """Every problem of a stage chain as (key, message); [] when it is fine."""
    return _normalize(specs, where)[1]


def normalize_stages(specs: Any, where: str = "stages") -> tuple[dict[str, Any], ...]:
    """The chain with defaults filled in (plain dicts); StagesInvalid otherwise."""
    chain, problems = _normalize(specs, where)
    if problems:
        raise StagesInvalid(problems)
    return chain


def _class_of(values: Mapping[str, float]) -> float:
    """A decision's class, or the position of the largest value (non-finite values are left
    out; NaN when none is finite). Plain Python: a few values cost less than numpy's overhead."""
    if len(values) == 1 and CLASS in values:
        return float(values[CLASS])
    best, at = -math.inf, math.nan
    for i, v in enumerate(values.values()):
        if v > best and math.isfinite(v):
            best, at = v, float(i)
    return at


class _Smooth:
    def __init__(self, alpha: float):
        self.alpha = alpha
        self.reset()

    def reset(self) -> None:
        self._keys: tuple[str, ...] = ()
        self._y: list[float] = []

    def __call__(self, values: Mapping[str, float], t: float) -> dict[str, float]:
        keys, x = tuple(values), [float(v) for v in values.values()]
        if keys != self._keys:
            self._keys, self._y = keys, x
        else:
            a = self.alpha
            self._y = [a * xi + (1 - a) * yi for xi, yi in zip(x, self._y)]
        return dict(zip(keys, self._y))


class _OneEuro:
    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._keys: tuple[str, ...] = ()
        self._x: list[float] = []
        self._dx: list[float] = []
        self._t = -math.inf

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        return 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff * dt))

    def __call__(self, values: Mapping[str, float], t: float) -> dict[str, float]:
        keys, x = tuple(values), [float(v) for v in values.values()]
        if keys != self._keys:
            self._keys, self._x, self._dx, self._t = keys, x, [0.0] * len(x), t
        elif t > self._t:
            dt = t - self._t
            a_d = self._alpha(self.d_cutoff, dt)
            self._dx = [a_d * (xi - pi) / dt + (1 - a_d) * di
                        for xi, pi, di in zip(x, self._x, self._dx)]
            smoothed = []
            for xi, pi, di in zip(x, self._x, self._dx):
                a = self._alpha(self.min_cutoff + self.beta * abs(di), dt)
                smoothed.append(a * xi + (1 - a) * pi)
            self._x, self._t = smoothed, t
        return dict(zip(keys, self._x))


class _Threshold:
    def __init__(self, min_confidence: float, no_decision: float):
        self.min_confidence, self.no_decision = min_confidence, no_decision

    def reset(self) -> None:
        pass

    def __call__(self, values: Mapping[str, float], t: float) -> dict[str, float]:
        if CLASS in values and len(values) == 1:
            return dict(values)
        c = _class_of(values)
        if math.isnan(c) or max(v for v in values.values() if math.isfinite(v)) \
                < self.min_confidence:
            return {CLASS: float(self.no_decision)}
        return {CLASS: c}


class _Majority:
    def __init__(self, n: int):
        self.n = n
        self.reset()

    def reset(self) -> None:
        self._last: collections.deque[float] = collections.deque()
        self._counts: dict[float, int] = {}

    def __call__(self, values: Mapping[str, float], t: float) -> dict[str, float] | None:
        c = _class_of(values)
        if math.isnan(c):
            return None
        last, counts = self._last, self._counts
        last.append(c)
        counts[c] = counts.get(c, 0) + 1
        if len(last) > self.n:
            old = last.popleft()
            counts[old] -= 1
            if not counts[old]:
                del counts[old]
        top = max(counts.values())
        for candidate in reversed(last):  # a tie goes to the most recent
            if counts[candidate] == top:
                return {CLASS: candidate}
        return None  # unreachable: c itself is counted


class _Dwell:
    def __init__(self, ticks: int, seconds: float):
        self.ticks, self.seconds = ticks, seconds
        self.reset()

    def reset(self) -> None:
        self._current: float | None = None
        self._candidate: float | None = None
        self._count, self._since = 0, -math.inf

    def __call__(self, values: Mapping[str, float], t: float) -> dict[str, float] | None:
        c = _class_of(values)
        if math.isnan(c):
            return None if self._current is None else {CLASS: self._current}
        if c == self._current:
            self._candidate, self._count = None, 0
        else:
            if c != self._candidate:
                self._candidate, self._count, self._since = c, 0, t
            self._count += 1
            if self._count >= self.ticks and t - self._since >= self.seconds:
                self._current, self._candidate, self._count = c, None, 0
        return None if self._current is None else {CLASS: self._current}


class _Edge:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._last: dict[str, float] | None = None

    def __call__(self, values: Mapping[str, float], t: float) -> dict[str, float] | None:
        current = dict(values)
        if current == self._last:
            return None
        self._last = current
        return current


def _stage(spec: Mapping[str, Any]) -> Any:
    kind = spec["type"]
    if kind == "smooth":
        return _Smooth(spec["alpha"])
    if kind == "one_euro":
        return _OneEuro(spec["min_cutoff"], spec["beta"], spec["d_cutoff"])
    if kind == "threshold":
        return _Threshold(spec["min_confidence"], spec["no_decision"])
    if kind == "majority":
        return _Majority(spec["n"])
    if kind == "dwell":
        return _Dwell(spec["ticks"], spec["seconds"])
    return _Edge()


class OutputStages:
    """A chain of stages for one Output; called from one thread (the predict thread)."""

    def __init__(self, specs: Sequence[Mapping[str, Any]] = (), where: str = "stages"):
        self.chain = normalize_stages(specs, where)
        self._stages = [_stage(spec) for spec in self.chain]
        self.edge_triggered = any(spec["type"] == "edge" for spec in self.chain)

    def __bool__(self) -> bool:
        return bool(self._stages)

    def apply(self, values: Mapping[str, float], t: float) -> dict[str, float] | None:
        """What to send for one prediction at time `t` (s), or None: nothing new to send."""
        out: Mapping[str, float] | None = values
        for stage in self._stages:
            out = stage(out, t)
            if out is None:
                return None
        return None if out is None else dict(out)

    def reset(self) -> None:
        """Forget history (predicting stopped, or a new replay)."""
        for stage in self._stages:
            stage.reset()
