"""Scoring an online session: accuracy against the cues, per class, and decision latency.

Pure numpy on what an online session holds: the prediction stream (timestamps and values, one
channel per value name) and the cues (a `LabelTrack`).

- A prediction's *decision* is a class index: the largest value among the channels named after
  the classes (``rest`` or ``p_rest``), or by position when the channels are as many as the
  classes and named otherwise, or the value of a single ``class`` channel (what a decision stage
  of an Output sends; a value outside the classes, such as -1, is "no decision").
  `UNDECIDED` (-1) when no value is finite.
- *Online accuracy*: the share of predictions made during a cue (timestamp at or after its
  onset, before the next cue) whose decision is the cued class; per class, the same over that
  class's cues (its recall). Predictions before the first cue are not scored. `settle_s` leaves
  out the predictions within that many seconds after each cue onset (0 by default: every one
  counts, as a user saw it).
- *Decision latency* after a cue: seconds from the cue onset to the first prediction of the
  cued class that is then **held for `hold_s`** (0.1 s by default): every later prediction up to
  `hold_s` after it decides the same class, and the class stays decided (or the cue lasts) at
  least that long. `None` when no such prediction comes before the next cue: the cue was missed.
  A prediction's time is its newest input sample's timestamp, so the latency is how much signal
  after the cue the model needed, not counting compute or transport time. A single flicker to
  the right class does not count as a decision; `hold_s=0` takes the first prediction of the
  cued class.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from .labels import UNLABELED, LabelEvent, LabelTrack

#: How long a decision must be held to count as the decision after a cue, in seconds.
DEFAULT_HOLD_S = 0.1
#: A decision stage's single channel (hexloop.domain.postprocess.CLASS).
CLASS_CHANNEL = "class"
UNDECIDED = -1


class NotClassScores(ValueError):
    """Predictions that cannot be read as class decisions (a regression model's values)."""


def class_columns(channel_names: Sequence[str], class_names: Sequence[str]) -> list[int]:
    """For each channel, the class it scores (or UNDECIDED), by name first, else by position.

    Raises NotClassScores when the channels cannot be class scores.
    """
    channels, classes = list(channel_names), list(class_names)
    index = {name: k for k, name in enumerate(classes)}
    by_name = []
    for name in channels:
        base = name[2:] if name.startswith("p_") and name not in index else name
        by_name.append(index.get(base, UNDECIDED))
    if sum(k != UNDECIDED for k in by_name) >= min(2, len(classes)):
        return by_name
    if len(channels) == len(classes) and channels:
        return list(range(len(classes)))
    raise NotClassScores(
        f"the predictions {channels} are not class scores for the classes {classes}: online "
        "accuracy needs a classifier's values named after the classes (or one per class)")


def decisions(values: np.ndarray, channel_names: Sequence[str],
              class_names: Sequence[str]) -> np.ndarray:
    """The decided class of each prediction; `values` is (channels, n) as a session stores it."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != len(channel_names):
        raise ValueError(f"values must be (channels, n) for {len(channel_names)} channels, "
                         f"got shape {values.shape}")
    n = values.shape[1]
    if list(channel_names) == [CLASS_CHANNEL]:
        v = values[0]
        ok = np.isfinite(v) & (v >= 0) & (v < len(class_names)) & (v == np.round(v))
        return np.where(ok, np.nan_to_num(v), UNDECIDED).astype(np.int64)
    columns = class_columns(channel_names, class_names)
    keep = [i for i, k in enumerate(columns) if k != UNDECIDED]
    if not keep or n == 0:
        return np.full(n, UNDECIDED, dtype=np.int64)
    scores = values[keep]
    finite = np.isfinite(scores)
    best = np.argmax(np.where(finite, scores, -np.inf), axis=0)
    mapped = np.asarray([columns[i] for i in keep], dtype=np.int64)[best]
    return np.where(finite.any(axis=0), mapped, UNDECIDED)


@attrs.frozen
class CueLatency:
    """One cue: when, which class, and the seconds until its class was decided (None: never)."""

    time: float
    class_index: int
    latency_s: float | None


@attrs.frozen
class OnlineScore:
    """Online accuracy against the cues and the decision latency after each cue."""

    class_names: tuple[str, ...]
    confusion: np.ndarray = attrs.field(eq=False)  # (classes, classes + 1): cued x decided
    latencies: tuple[CueLatency, ...]
    hold_s: float = DEFAULT_HOLD_S
    settle_s: float = 0.0
    unscored: int = 0  # predictions before the first cue (or within settle_s after a cue)

    @property
    def scored(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        """Share of scored predictions that decided the cued class (NaN: none scored)."""
        total = self.confusion.sum()
        k = len(self.class_names)
        return float(np.trace(self.confusion[:, :k]) / total) if total else math.nan

    @property
    def per_class(self) -> dict[str, float]:
        """Online accuracy during each class's cues (NaN for a class never cued)."""
        rows = self.confusion.sum(axis=1)
        return {name: (float(self.confusion[k, k] / rows[k]) if rows[k] else math.nan)
                for k, name in enumerate(self.class_names)}

    @property
    def chance(self) -> float:
        """The majority-class rate among the scored predictions (always answering it)."""
        rows = self.confusion.sum(axis=1)
        return float(rows.max() / rows.sum()) if rows.sum() else math.nan

    @property
    def decided(self) -> list[float]:
        """The latencies of the cues that were decided, in cue order."""
        return [c.latency_s for c in self.latencies if c.latency_s is not None]

    @property
    def missed(self) -> int:
        return sum(c.latency_s is None for c in self.latencies)

    @property
    def median_latency_s(self) -> float:
        lat = self.decided
        return float(np.median(lat)) if lat else math.nan

    def class_latencies(self) -> dict[str, list[float | None]]:
        out: dict[str, list[float | None]] = {name: [] for name in self.class_names}
        for cue in self.latencies:
            out[self.class_names[cue.class_index]].append(cue.latency_s)
        return out

    def lines(self) -> list[str]:
        """Human-readable lines (what `hexloop inspect` prints)."""
        if not self.scored:
            return [f"no prediction fell within a cue ({self.unscored} predictions, "
                    f"{len(self.latencies)} cues): nothing to score"]
        settle = f", {self.settle_s:g} s after each cue left out" if self.settle_s else ""
        out = [f"accuracy {self.accuracy:.1%} over {self.scored} predictions during cues "
               f"(chance {self.chance:.0%}{settle})"]
        width = max(len(n) for n in self.class_names)
        per_class = self.per_class
        for name, lat in self.class_latencies().items():
            got = [x for x in lat if x is not None]
            acc = per_class[name]
            out.append(
                f"  {name:<{width}}  accuracy "
                + ("-" if math.isnan(acc) else f"{acc:.1%}")
                + f"; {len(lat)} cues, decided {len(got)}"
                + (f", latency median {np.median(got) * 1e3:.0f} ms (min "
                   f"{min(got) * 1e3:.0f}, max {max(got) * 1e3:.0f})" if got else ""))
        out.append(f"  decision latency after a cue (class held {self.hold_s * 1e3:.0f} ms): "
                   + (f"median {self.median_latency_s * 1e3:.0f} ms, " if self.decided else "")
                   + f"{self.missed} of {len(self.latencies)} cues never decided")
        return out


def score_online(times: np.ndarray, decided: np.ndarray, cues: LabelTrack,
                 hold_s: float = DEFAULT_HOLD_S, settle_s: float = 0.0) -> OnlineScore:
    """Score decisions (`decisions(...)`) at `times` (n,) against the cues (see module doc)."""
    if not (hold_s >= 0 and settle_s >= 0):
        raise ValueError(f"hold_s and settle_s must be >= 0 seconds, got {hold_s}, {settle_s}")
    times = np.asarray(times, dtype=np.float64)
    decided = np.asarray(decided, dtype=np.int64)
    if times.shape != decided.shape or times.ndim != 1:
        raise ValueError(f"times {times.shape} and decisions {decided.shape} must be (n,) alike")
    order = np.argsort(times, kind="stable")  # resent values share a time; keep their order
    times, decided = times[order], decided[order]
    k = len(cues.class_names)
    events = cues.events
    starts = np.array([e.time for e in events], dtype=np.float64)
    cued = cues.class_at(times)
    if settle_s and events:
        idx = np.searchsorted(starts, times, side="right") - 1
        since = times - starts[np.maximum(idx, 0)]
        cued = np.where((idx >= 0) & (since < settle_s), UNLABELED, cued)
    scored = cued != UNLABELED
    confusion = np.zeros((k, k + 1), dtype=np.int64)
    column = np.where((decided >= 0) & (decided < k), decided, k)
    np.add.at(confusion, (cued[scored], column[scored]), 1)
    end = float(times[-1]) if times.size else -math.inf
    latencies = []
    for i, event in enumerate(events):
        nxt = float(starts[i + 1]) if i + 1 < len(events) else None
        latencies.append(CueLatency(event.time, event.class_index,
                                    _latency(times, decided, event, nxt, end, hold_s)))
    return OnlineScore(cues.class_names, confusion, tuple(latencies), float(hold_s),
                       float(settle_s), int(times.size - scored.sum()))


def _latency(times: np.ndarray, decided: np.ndarray, event: LabelEvent, next_cue: float | None,
             end: float, hold_s: float) -> float | None:
    """Seconds from the cue to the first run of its class that lasts `hold_s` before the next
    cue (the last cue lasts until the last prediction, `end`)."""
    lo = int(np.searchsorted(times, event.time, side="left"))
    if next_cue is None:
        hi, stop = times.size, end
    else:
        hi, stop = int(np.searchsorted(times, next_cue, side="left")), next_cue
    t, d = times[lo:hi], decided[lo:hi] == event.class_index
    if not d.any():
        return None
    # runs of the cued class: [first, last] indices; a run ends at the next other decision's
    # time, or at the cue's end when it lasts until then
    edges = np.flatnonzero(np.diff(np.concatenate(([False], d, [False])).astype(np.int8)))
    for first, after in zip(edges[::2], edges[1::2]):
        until = t[after] if after < t.size else stop
        if until - t[first] >= hold_s:
            return float(t[first] - event.time)
    return None
