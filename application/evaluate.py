"""Closed-loop replay faster than real time: a recorded session through the exact online path.

`evaluate(session, pipeline)` runs each of the pipeline's streams through its conditioning chain
(the online one, causal, in one call: equal to any chunking), then ticks the pipeline's own
`Ticker` at `predict_hz` on a simulated clock (`ReplayClock`, the Clock port: sleeping only
moves its time, so it runs as fast as the CPU allows). At each tick every stream's window is the
`window_ms` of conditioned samples whose timestamps have arrived by then, as a ring buffer would
hold them; the pipeline's extract and predict make the prediction, and each Output's stages
turn it into what the live system would have sent. The report gives online accuracy against the
session's labels (raw and per output), the confusion per class, the decision latency after each
cue, and the prediction stream itself (`save_csv`).
"""

from __future__ import annotations

import csv
import math
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from hexloop.domain.labels import UNLABELED
from hexloop.domain.pacing import Ticker
from hexloop.domain.pipeline import Prediction
from hexloop.domain.postprocess import CLASS, OutputStages

from .conditioning import conditioned_data

if TYPE_CHECKING:
    from hexloop.ports.store import RecordedSession

    from .pipeline import Pipeline


class ReplayClock:
    """A Clock whose time moves only when slept on: replay runs as fast as the CPU allows."""

    def __init__(self, start: float):
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        if interrupt is not None and interrupt.is_set():
            return True
        self._now += max(0.0, seconds)
        return False


@attrs.frozen
class Row:
    """One tick of the replay: the prediction, the cued class and each output's decision."""

    prediction: Prediction
    time: float  # the simulated clock at the tick
    cue: int  # the cued class at the newest input sample (UNLABELED before any cue)
    decision: float  # argmax of the prediction (NaN when no value is finite)
    outputs: tuple[Mapping[str, float] | None, ...]  # what each output holds after its stages


def _decision(values: Mapping[str, Any]) -> float:
    if len(values) == 1 and CLASS in values:
        return float(values[CLASS])
    v = np.array([float(x) for x in values.values()])
    return float(np.nanargmax(v)) if np.isfinite(v).any() else math.nan


@attrs.frozen
class Evaluation:
    """What the live system would have done with this session."""

    class_names: tuple[str, ...]
    rows: tuple[Row, ...]
    cues: tuple[tuple[float, int], ...]  # (time, class) of each cue
    waiting_ticks: int  # ticks before every window was full
    outputs: tuple[str, ...] = ()

    def decisions(self, output: int | None = None) -> np.ndarray:
        """Per tick: the raw argmax (output None) or the class an output holds (NaN: none)."""
        if output is None:
            return np.array([r.decision for r in self.rows])
        return np.array([math.nan if (held := r.outputs[output]) is None else _decision(held)
                         for r in self.rows])

    def accuracy(self, output: int | None = None) -> float:
        """Share of labelled ticks whose decision is the cued class (no decision is wrong)."""
        cue = np.array([r.cue for r in self.rows], dtype=np.int64)
        labelled = cue != UNLABELED
        if not labelled.any():
            return math.nan
        return float(np.mean(self.decisions(output)[labelled] == cue[labelled]))

    def confusion(self, output: int | None = None) -> np.ndarray:
        """(classes, classes + 1) counts: row = cued class, column = decided class, the last
        column 'no decision' (NaN, or a value outside the classes such as -1)."""
        k = len(self.class_names)
        out = np.zeros((k, k + 1), dtype=np.int64)
        for cue, d in zip((r.cue for r in self.rows), self.decisions(output)):
            if 0 <= cue < k:
                col = int(d) if not math.isnan(d) and 0 <= d < k and d == int(d) else k
                out[cue, col] += 1
        return out

    def latencies(self, output: int | None = None) -> list[float | None]:
        """Per cue: seconds from the cue to the first tick deciding its class (None: never,
        before the next cue)."""
        times = np.array([r.prediction.input_time for r in self.rows])
        decided = self.decisions(output)
        result: list[float | None] = []
        for i, (t, c) in enumerate(self.cues):
            end = self.cues[i + 1][0] if i + 1 < len(self.cues) else math.inf
            hit = np.flatnonzero((times >= t) & (times < end) & (decided == c))
            result.append(float(times[hit[0]] - t) if hit.size else None)
        return result

    def text(self) -> str:
        lines = [f"{len(self.rows)} predictions ({self.waiting_ticks} ticks waiting for full "
                 f"windows), {len(self.cues)} cues"]
        for label, which in [("raw argmax", None), *((n, i) for i, n in enumerate(self.outputs))]:
            lat = [x for x in self.latencies(which) if x is not None]
            missed = len(self.cues) - len(lat)
            median = f"{np.median(lat) * 1e3:.0f} ms" if lat else "-"
            lines.append(f"{label}: online accuracy {self.accuracy(which):.1%}; decision latency "
                         f"after a cue: median {median}, {missed} cue(s) never decided")
        names = list(self.class_names) + ["none"]
        width = max(len(n) for n in names) + 1
        lines.append("confusion (rows: cued, columns: decided" +
                     (f", output {self.outputs[0]}" if self.outputs else ", raw") + "):")
        conf = self.confusion(0 if self.outputs else None)
        lines.append(" " * width + "".join(f"{n:>{width}}" for n in names))
        for name, row in zip(self.class_names, conf):
            lines.append(f"{name:>{width}}" + "".join(f"{v:>{width}}" for v in row))
        return "\n".join(lines)

    def save_csv(self, path: str | Path) -> Path:
        """The prediction stream: tick, times, cue, values, raw decision, each output's value."""
        path = Path(path)
        names = list(self.rows[0].prediction.values) if self.rows else []
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["tick", "time", "input_time", "stale", "cue", *names, "decision",
                        *(f"output:{n}" for n in self.outputs)])
            for r in self.rows:
                p = r.prediction
                w.writerow([p.tick, f"{r.time:.6f}", f"{p.input_time:.6f}", int(p.stale), r.cue,
                            *(p.values.get(n, "") for n in names), r.decision,
                            *("" if o is None else ";".join(f"{k}={v:g}" for k, v in o.items())
                              for o in r.outputs)])
        return path


def evaluate(session: RecordedSession, pipeline: Pipeline,
             stop: threading.Event | None = None,
             progress: Callable[[float], None] | None = None) -> Evaluation:
    """Replay `session` through `pipeline`'s online path on a simulated clock (see module doc).
    `progress(fraction)` (0.0 to 1.0) follows the session's time replayed.

    The pipeline needs its model (trained or loaded); its streams, their window_ms and
    conditioning, predict_hz and the outputs' stages are used as configured.
    """
    if pipeline.model is None:
        raise RuntimeError("no model: train one or load it (--model) before evaluating")
    extract, predict = pipeline._extract, pipeline._predict  # the online functions themselves
    if extract is None or predict is None:
        raise RuntimeError("define @pipeline.extract and @pipeline.predict first")
    streams = []
    for s in pipeline.streams:
        info = session.meta.stream(s.name)
        data, ts = conditioned_data(s, session)  # the stream's own chain, as training uses it
        rate = info.sampling_rate or 100.0  # Stream.window_samples' rule for irregular streams
        length = max(1, round(s.window_ms * rate / 1000.0))
        streams.append((s.name, data, np.asarray(ts, dtype=np.float64), length))
    if not streams or streams[0][2].size == 0:
        raise ValueError("the session holds no samples for the pipeline's streams")
    start = min(t[0] for _, _, t, _ in streams if t.size)
    end = max(t[-1] for _, _, t, _ in streams if t.size)
    stages = [OutputStages(getattr(getattr(out, "stages", None), "chain", ()))  # fresh state
              for out in pipeline.outputs]
    held: list[Mapping[str, float] | None] = [None] * len(stages)
    clock = ReplayClock(start)
    ticker = Ticker(pipeline.predict_hz, clock)
    labels = session.labels
    rows, waiting, last_input = [], 0, None
    names, remap = tuple(labels.class_names), None
    while ticker.wait(stop):
        now = clock.now()
        if now > end:
            break
        if progress is not None and ticker.tick % 64 == 0:
            progress((now - start) / (end - start) if end > start else 1.0)
        windows, newest = {}, -np.inf
        for name, data, ts, length in streams:
            stop_at = int(np.searchsorted(ts, now, side="right"))
            if stop_at < length:
                break
            windows[name] = np.ascontiguousarray(data[:, stop_at - length:stop_at])
            newest = max(newest, ts[stop_at - 1])
        else:
            values = predict(pipeline.model, extract(windows))
            prediction = Prediction(values, ticker.tick, float(newest), 0.0,
                                    stale=last_input is not None and newest <= last_input)
            last_input = prediction.input_time
            for i, chain in enumerate(stages):
                sent = chain.apply(prediction.values, prediction.input_time) if chain else \
                    dict(prediction.values)
                if sent is not None:
                    held[i] = sent
            if remap is None:
                names, remap = _class_map(tuple(labels.class_names), tuple(prediction.values))
            cue = remap(int(labels.class_at(np.array([prediction.input_time]))[0]))
            rows.append(Row(prediction, now, cue, _decision(prediction.values), tuple(held)))
            continue
        waiting += 1
    if progress is not None and not (stop is not None and stop.is_set()):
        progress(1.0)
    if remap is None:
        names, remap = _class_map(tuple(labels.class_names), ())
    cues = tuple((e.time, remap(e.class_index)) for e in labels.events
                 if remap(e.class_index) != UNLABELED)
    return Evaluation(names, tuple(rows), cues, waiting,
                      tuple(getattr(o, "name", f"output{i}") for i, o in enumerate(pipeline.outputs)))


def _class_map(cued: tuple[str, ...], predicted: tuple[str, ...]):
    """Class names to report, and cue index -> decision index. When the prediction's names are
    class names (a Model's output_names), cues map by name (a cued class the model does not
    know, such as 'unmarked', counts as unlabelled); otherwise by position."""
    if set(cued) & set(predicted):
        index = {n: i for i, n in enumerate(predicted)}
        table = [index.get(n, UNLABELED) for n in cued]
        return predicted, lambda c: table[c] if 0 <= c < len(table) else UNLABELED
    return cued, lambda c: c
