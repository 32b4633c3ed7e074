"""Cue protocols: which class is cued when, in which phase, as a pure schedule.

A protocol (a setup file's ``[protocol]`` table) cues each of `classes` `repetitions` times per
phase that records (``calibrate``, ``online``). One *trial* is

    cue_s   the class is shown and the participant moves (labelled with the class from onset)
    hold_s  the participant holds the gesture (still the class)
    rest_s  the participant rests (labelled `rest_class` from the cue's offset), if rest_s > 0

so a trial's label runs from its onset (cue shown) to its offset (cue_s + hold_s later), and the
rest after it is labelled with `rest_class`. The order is shuffled with `seed` (``order =
"random"``) so that every class comes `repetitions` times and the same seed gives the same order;
``order = "sequential"`` cycles through the classes. Each phase gets its own order (the seed
plus the phase's index), so the online trials are not the calibration's in the same order.

`ramp_s` (regression targets) makes the cue a level from 0 to 1 the participant follows: up over
the first `ramp_s` seconds of the trial, held, down over its last `ramp_s`, 0 in the rest
(`target_level`). Phases run in the order ``calibrate -> train -> online -> evaluate``; any may
be left out, none repeated or reordered.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

PHASES = ("calibrate", "train", "online", "evaluate")
RECORDING_PHASES = ("calibrate", "online")
ORDERS = ("random", "sequential")
#: What a step of a trial is called (what the cue display shows under the class).
CUE, HOLD, REST = "cue", "hold", "rest"


def phase_problem(phases: Sequence[str]) -> str | None:
    """Why `phases` is not a valid phase list, or None."""
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        return f"unknown phase(s) {unknown}; phases are {list(PHASES)}, in that order"
    if not phases:
        return f"name at least one phase of {list(PHASES)}"
    if len(set(phases)) != len(phases):
        return "a phase is named twice; each runs once"
    if [p for p in PHASES if p in phases] != list(phases):
        return f"phases run in the order {' -> '.join(PHASES)}; write them in that order"
    if "train" in phases and "calibrate" not in phases:
        return "train trains on the calibrate phase's recording: add 'calibrate' before it"
    if "evaluate" in phases and "online" not in phases:
        return "evaluate scores the online phase's session: add 'online' before it"
    return None


@attrs.frozen
class ProtocolSpec:
    """A cue protocol; `problems(class_names)` says what is wrong with it, key by key."""

    classes: tuple[str, ...] = attrs.field(converter=tuple)
    repetitions: int = 5
    cue_s: float = 1.0
    hold_s: float = 2.0
    rest_s: float = 2.0
    rest_class: str | None = "rest"
    order: str = "random"
    seed: int = 0
    ramp_s: float = 0.0
    phases: tuple[str, ...] = attrs.field(default=PHASES, converter=tuple)
    online_repetitions: int | None = None  # the online phase's repetitions (default: the same)

    @property
    def trial_s(self) -> float:
        """A trial's labelled length: cue onset to offset."""
        return self.cue_s + self.hold_s

    def repetitions_in(self, phase: str) -> int:
        if phase == "online" and self.online_repetitions is not None:
            return self.online_repetitions
        return self.repetitions

    def problems(self, class_names: Sequence[str] = ()) -> list[tuple[str, str]]:
        """(key, message) for each problem; `class_names` are the app's classes."""
        out: list[tuple[str, str]] = []
        known = list(class_names)
        if not self.classes:
            out.append(("classes", "name at least one class to cue"))
        elif len(set(self.classes)) != len(self.classes):
            out.append(("classes", "a class is named twice: list each once (repetitions "
                                   "says how often)"))
        missing = [c for c in self.classes if known and c not in known]
        if missing:
            out.append(("classes", f"{missing} are not among the app's class_names {known}"))
        if self.repetitions < 1 or (self.online_repetitions is not None
                                    and self.online_repetitions < 1):
            out.append(("repetitions", "must be at least 1"))
        if self.trial_s <= 0:
            out.append(("hold_s", "cue_s + hold_s must be more than 0 seconds: a trial needs "
                                  "a length"))
        if self.rest_s > 0:
            if not self.rest_class:
                out.append(("rest_class", "rest_s > 0 labels the rest with a class: name one "
                                          "(e.g. \"rest\"), or set rest_s = 0"))
            elif known and self.rest_class not in known:
                out.append(("rest_class", f"{self.rest_class!r} is not among the app's "
                                          f"class_names {known}: add it there, name another, "
                                          "or set rest_s = 0"))
        if self.order not in ORDERS:
            out.append(("order", f"must be one of {list(ORDERS)}, got {self.order!r}"))
        if self.ramp_s < 0 or 2 * self.ramp_s > self.trial_s:
            out.append(("ramp_s", "must be 0 or more and at most half of cue_s + hold_s "
                                  "(up, then down)"))
        if msg := phase_problem(self.phases):
            out.append(("phases", msg))
        return [(key, _cut(message)) for key, message in out]


def _cut(message: str, limit: int = 400) -> str:
    """A message that quotes what the user wrote, kept short enough for a terminal line."""
    return message if len(message) <= limit else message[: limit - 3] + "..."


@attrs.frozen
class ScheduledTrial:
    """Trial `index` of a phase: `class_name` cued from `onset` to `offset`, rest until `end`
    (seconds from the phase's start, when nothing pauses it)."""

    index: int
    class_name: str
    onset: float
    offset: float
    end: float


def trial_order(classes: Sequence[str], repetitions: int, order: str = "random",
                seed: int = 0) -> tuple[str, ...]:
    """Each class `repetitions` times: shuffled with `seed`, or cycling through the classes."""
    cycle = [c for _ in range(repetitions) for c in classes]
    if order == "sequential":
        return tuple(cycle)
    random.Random(seed).shuffle(cycle)
    return tuple(cycle)


def schedule(spec: ProtocolSpec, phase: str = "calibrate") -> tuple[ScheduledTrial, ...]:
    """The trials of a recording phase, back to back from 0 s."""
    seed = spec.seed + PHASES.index(phase)
    names = trial_order(spec.classes, spec.repetitions_in(phase), spec.order, seed)
    trials, t = [], 0.0
    for k, name in enumerate(names):
        offset = t + spec.trial_s
        end = offset + spec.rest_s
        trials.append(ScheduledTrial(k, name, t, offset, end))
        t = end
    return tuple(trials)


def duration(spec: ProtocolSpec, phase: str = "calibrate") -> float:
    """Seconds a recording phase lasts when nothing pauses or repeats it."""
    return len(spec.classes) * spec.repetitions_in(phase) * (spec.trial_s + spec.rest_s)


def target_level(spec: ProtocolSpec, since_onset: float) -> float:
    """The cue's level (0..1) `since_onset` seconds after a trial's onset: a trapezoid with
    `ramp_s` ramps for regression targets; 1 through the trial without ramps; 0 in the rest."""
    if not 0 <= since_onset < spec.trial_s:
        return 0.0
    if spec.ramp_s <= 0:
        return 1.0
    up = since_onset / spec.ramp_s
    down = (spec.trial_s - since_onset) / spec.ramp_s
    return float(max(0.0, min(1.0, up, down)))


@attrs.frozen
class CueView:
    """What the cue displays show now (terminal line, GUI panel): a pure snapshot.

    `step`: cue, hold, rest, or waiting (for streams), training, paused, done, aborted;
    `cue`: the class to show (None in the rest, unless `rest_class` is shown);
    `trial`/`trials`: k of n in the phase (k from 1); `remaining_s`: countdown of the step.
    """

    phase: str = ""
    phases: tuple[str, ...] = ()
    step: str = "waiting"
    cue: str | None = None
    trial: int = 0
    trials: int = 0
    remaining_s: float = 0.0
    level: float = 0.0
    paused: bool = False
    message: str = ""
    health: str = ""
    ramps: bool = False  # the cue is a level (regression targets): `level` is shown

    @property
    def phase_number(self) -> int:
        return self.phases.index(self.phase) + 1 if self.phase in self.phases else 0

    def line(self) -> str:
        """The terminal's live line: phase, current cue, countdown, trial k of n, health."""
        parts = [f"[{self.phase_number}/{len(self.phases)} {self.phase or '-'}]"]
        if self.step in (CUE, HOLD, REST):
            what = (self.cue or "-").upper() if self.step != REST else "rest"
            parts.append(f"{what:<12} {self.step:<4} {self.remaining_s:4.1f} s"
                         + (f" level {self.level:4.0%}" if self.ramps and self.step != REST
                            else ""))
        else:
            parts.append(self.step)
        if self.trials:
            parts.append(f"trial {self.trial} of {self.trials}")
        if self.paused:
            parts.append("PAUSED (p resumes)")
        if self.message:
            parts.append(self.message)
        if self.health:
            parts.append(self.health)
        return " | ".join(parts)


class LevelTimeline:
    """The cue levels a protocol showed, as a function of time (the app's clock): one channel
    per cued class, `target_level` of the running trial for its class, 0 elsewhere. The runner
    opens a trial at its onset and closes it at its (possibly early) offset; thread-safe."""

    def __init__(self, spec: ProtocolSpec):
        self.spec = spec
        self._trials: list[list[Any]] = []  # [onset, offset or None, class index]
        self._lock = threading.Lock()

    def open(self, time: float, class_name: str) -> None:
        with self._lock:
            self._trials.append([float(time), None, self.spec.classes.index(class_name)])

    def close(self, time: float) -> None:
        with self._lock:
            if self._trials and self._trials[-1][1] is None:
                self._trials[-1][1] = float(time)

    def levels(self, times: Sequence[float] | np.ndarray) -> list[list[float]]:
        """(classes, n) levels at `times` (seconds, ascending or not)."""
        with self._lock:
            trials = [tuple(t) for t in self._trials]
        out = [[0.0] * len(times) for _ in self.spec.classes]
        for j, t in enumerate(times):
            for onset, offset, k in reversed(trials):
                if onset <= t:
                    if offset is None or t < offset:
                        out[k][j] = target_level(self.spec, t - onset)
                    break
        return out


@attrs.frozen
class RampScore:
    """How well regression predictions followed the cue levels: per class, the correlation
    and the root-mean-square error between predicted and cued level (at the predictions'
    times)."""

    class_names: tuple[str, ...]
    correlation: tuple[float, ...]
    rmse: tuple[float, ...]
    scored: int

    def lines(self) -> list[str]:
        out = [f"followed the cue levels over {self.scored} predictions"]
        for name, r, e in zip(self.class_names, self.correlation, self.rmse):
            out.append(f"  {name}: correlation {r:.2f}, RMS error {e:.2f}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"scored": self.scored, "per_class": {
            n: {"correlation": r, "rmse": e}
            for n, r, e in zip(self.class_names, self.correlation, self.rmse)}}


def ramp_score(predicted: Any, predicted_names: Sequence[str], predicted_times: Any, level: Any,
               level_names: Sequence[str], level_times: Any) -> RampScore:
    """Score predictions (channels, n) against the recorded cue level (classes, m): the level
    at each prediction's time is the newest level sample at or before it; channels matched by
    name. Predictions before the first level sample are not scored."""
    predicted = np.asarray(predicted, dtype=np.float64)
    level = np.asarray(level, dtype=np.float64)
    pt = np.asarray(predicted_times, dtype=np.float64)
    at = np.searchsorted(np.asarray(level_times, dtype=np.float64), pt, side="right") - 1
    keep = at >= 0
    names, rs, es = [], [], []
    for k, name in enumerate(level_names):
        if name not in predicted_names:
            continue
        p = predicted[list(predicted_names).index(name)][keep]
        y = level[k][at[keep]]
        ok = np.isfinite(p)
        p, y = p[ok], y[ok]
        r = float(np.corrcoef(p, y)[0, 1]) if p.size > 1 and p.std() > 0 and y.std() > 0 \
            else float("nan")
        names.append(str(name))
        rs.append(r)
        es.append(float(np.sqrt(np.mean((p - y) ** 2))) if p.size else float("nan"))
    if not names:
        raise ValueError(f"the predictions {list(predicted_names)} name none of the cued "
                         f"classes {list(level_names)}: train the regressor on the cue level")
    return RampScore(tuple(names), tuple(rs), tuple(es), int(keep.sum()))
