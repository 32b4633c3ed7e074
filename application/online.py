"""Online sessions: what predicting did, recorded beside the input streams.

A recording opened while predicting (`Pipeline.start_predicting(record=True)`, or Record
pressed while predicting) is an *online session*. Besides the input streams and the cues it
declares, when it opens, one stream per pipeline for its predictions and one per Output for what
that Output sent, and it describes the model in the session's extras (`extras["online"]`):

- ``predictions`` (``predictions:<pipeline>`` for a pipeline not named "pipeline"): one sample
  per prediction, one channel per value name (class probabilities, regression values), float64,
  stamped with the prediction's newest input sample time, so it lines up with the inputs and
  the cues. Stream type "Predictions", nominal rate the pipeline's `predict_hz`.
- ``output:<name>``: one sample per send, the values in the output's channel order, stamped as
  sent (the prediction's input time, or the send time for a plain value). A resend of the same
  value is a send and is recorded. Stream type "Output", nominal rate the output's `hz`.
- ``extras["online"]["pipelines"]``: per pipeline its streams, `predict_hz` and the model: its
  type, output names, the file it came from with that file's SHA-256 (hashed when loaded or
  saved), and its training report when it has one.

Reading one back: `hexloop.domain.online` scores it (ZarrSession.online, `hexloop inspect`).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from hexloop.domain.postprocess import CLASS
from hexloop.domain.state import State
from hexloop.domain.streams import StreamInfo

if TYPE_CHECKING:
    from .output import Output

#: A Pipeline (pipeline.py imports this module, so it is not imported back, not even for types).
Pipeline = Any

EXTRAS_KEY = "online"
PREDICTIONS_TYPE = "Predictions"
OUTPUT_TYPE = "Output"
#: Recording started while predicting waits this long for the first prediction's names.
FIRST_PREDICTION_WAIT_S = 1.5
#: Output stages that turn class scores into one `class` value.
_DECISION_STAGES = {"threshold", "majority", "dwell", "hysteresis"}


@attrs.frozen
class ModelFile:
    """Where a pipeline's current model came from (loaded or saved) and that file's hash."""

    model: Any = attrs.field(eq=False, repr=False)
    path: str
    sha256: str


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remember_model_file(pipeline: Pipeline, path: str | Path) -> None:
    """Note that the pipeline's current model is the file at `path` (after load or save)."""
    try:
        pipeline.model_file = ModelFile(pipeline.model, str(path), file_sha256(path))
    except OSError as e:  # the model is in memory; only its provenance is missing
        pipeline.model_file = None
        pipeline.app.ctx.log.warning(pipeline.name, f"could not hash the model file {path}: {e}")


def prediction_names(pipeline: Pipeline, state: State) -> tuple[str, ...]:
    """The value names the pipeline's predictions carry, needed before the session opens.

    While predicting: the newest prediction's (waiting up to `FIRST_PREDICTION_WAIT_S` for the
    first one). Otherwise one prediction is made now on the current windows (the predict thread
    is idle, so the model is not shared). Else the model's `output_names` (what `use_model`
    predicts). Raises RuntimeError when none is known yet.
    """
    if state is State.PREDICTING:
        deadline = time.monotonic() + FIRST_PREDICTION_WAIT_S
        while pipeline.predictions.latest is None and time.monotonic() < deadline:
            time.sleep(0.01)  # Record pressed just after Start predicting: windows filling
        latest = pipeline.predictions.latest
        if latest is not None:
            return tuple(latest.values)
    if state is not State.PREDICTING:
        try:
            trial = pipeline._tick(-1, None)
        except Exception as e:  # noqa: BLE001 - the predict loop will report it
            pipeline.app.ctx.log.warning(pipeline.name, f"a trial prediction failed: {e}")
            trial = None
        if trial is not None:
            return tuple(trial.values)
    names = tuple(str(n) for n in (getattr(pipeline.model, "output_names", ()) or ()))
    if names:
        return names
    raise RuntimeError(
        f"cannot record the predictions of {pipeline.name!r} yet: their names are known only "
        "once a prediction was made; wait until every stream's window is full (window_ms) and "
        "try again, or start predicting first and press Record")


def output_channels(output: Output, names: Sequence[str]) -> tuple[str, ...]:
    """The channels an output will send: its own, else `class` after a decision stage, else
    the prediction's names."""
    if output.channels:
        return tuple(str(c) for c in output.channels)
    chain = getattr(getattr(output, "stages", None), "chain", ()) or ()
    if any(isinstance(spec, dict) and spec.get("type") in _DECISION_STAGES for spec in chain):
        return (CLASS,)
    return tuple(names)


def jsonable(value: Any) -> Any:
    """`value` as plain JSON: non-finite numbers become None, numpy scalars numbers, the rest
    of what JSON cannot hold its text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def model_meta(pipeline: Pipeline) -> dict:
    """What the session says about the model: type, names, file and hash, training report."""
    model = pipeline.model
    meta: dict[str, Any] = {
        "type": f"{type(model).__module__}.{type(model).__qualname__}",
        "output_names": list(getattr(model, "output_names", ()) or ()),
        "file": None, "sha256": None,
    }
    source = getattr(pipeline, "model_file", None)
    if source is not None and source.model is model:
        meta["file"], meta["sha256"] = source.path, source.sha256
    else:
        meta["note"] = ("trained in this app and not saved: save it (Save model, or "
                        "pipeline.save_model) to keep the model this session used")
    report = getattr(pipeline, "report", None)
    if report is not None and hasattr(report, "to_dict"):
        meta["report"] = report.to_dict()
    elif isinstance(getattr(model, "training_summary", None), dict):
        meta["training"] = model.training_summary
    return jsonable(meta)


def _unique(name: str, taken: set[str]) -> str:
    key, n = name, 2
    while key in taken:
        key, n = f"{name}~{n}", n + 1
    taken.add(key)
    return key


class OnlineRecording:
    """Appends one pipeline's predictions and its outputs' sends to an open session.

    Called from the predict thread (`prediction`) and each output thread (`sent`); `close`
    (the app, before closing the session) stops both at once. An append that fails is counted
    and reported once; predicting never stops for it.
    """

    def __init__(self, pipeline: Pipeline, stream: str, names: tuple[str, ...],
                 outputs: list[tuple[Output, str, tuple[str, ...]]]):
        self.pipeline = pipeline
        self.stream, self.names = stream, names
        self.outputs = {id(out): (name, channels) for out, name, channels in outputs}
        self._targets = [out for out, _, _ in outputs]
        self.session: Any = None
        self.predictions = 0
        self.sent = 0
        self.errors = 0
        self._lock = threading.Lock()

    def info(self) -> list[StreamInfo]:
        p = self.pipeline
        infos = [StreamInfo(self.stream, len(self.names), p.predict_hz, "float64",
                            channel_names=self.names, type=PREDICTIONS_TYPE,
                            source_id=f"pipeline:{p.name}")]
        for out in self._targets:
            name, channels = self.outputs[id(out)]
            infos.append(StreamInfo(name, len(channels), out.hz, "float64",
                                    channel_names=channels, type=OUTPUT_TYPE,
                                    source_id=f"output:{out.name}"))
        return infos

    def extras(self) -> dict:
        p = self.pipeline
        return {"pipeline": p.name, "predictions": self.stream, "names": list(self.names),
                "predict_hz": p.predict_hz, "model": model_meta(p),
                "outputs": [{"name": out.name, "stream": self.outputs[id(out)][0],
                             "hz": out.hz} for out in self._targets]}

    def attach(self, session: Any) -> None:
        with self._lock:
            self.session = session
        self.pipeline.online = self
        for out in self._targets:
            out.on_sent = self.record_sent

    def close(self) -> None:
        """Stop recording (before the session closes); later calls record nothing."""
        if getattr(self.pipeline, "online", None) is self:
            self.pipeline.online = None
        for out in self._targets:
            if getattr(out, "on_sent", None) == self.record_sent:
                out.on_sent = None
        with self._lock:
            self.session = None

    def record_prediction(self, prediction: Any) -> None:
        row = np.array([[_number(prediction.values.get(n)) for n in self.names]])
        if self._append(self.stream, row, prediction.input_time):
            self.predictions += 1

    def record_sent(self, output: Output, sample: np.ndarray, stamp: float) -> None:
        target = self.outputs.get(id(output))
        if target is None:
            return
        name, channels = target
        sample = np.asarray(sample, dtype=np.float64).ravel()
        sent_as = list(output.channels or ())
        if sent_as != list(channels) and len(sent_as) == sample.size:
            by_name = dict(zip(sent_as, sample.tolist()))
            sample = np.array([by_name.get(c, math.nan) for c in channels])
        if sample.size != len(channels):
            self._report(f"output {output.name!r} sent {sample.size} values, but the session "
                         f"declared {list(channels)}; that send is not recorded")
            return
        if self._append(name, sample[None, :], stamp):
            self.sent += 1

    def _append(self, stream: str, row: np.ndarray, stamp: float) -> bool:
        with self._lock:
            session = self.session
            if session is None:
                return False
            try:
                session.append(stream, row, np.array([float(stamp)]))
                return True
            except Exception as e:  # noqa: BLE001 - recording trouble never stops predicting
                self._report(e)
                return False

    def _report(self, error: BaseException | str) -> None:
        self.errors += 1
        self.pipeline.app.ctx.log.error_once(f"online {self.pipeline.name}", error)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def plan_online(pipelines: Sequence[Pipeline], state: State,
                taken: set[str]) -> list[OnlineRecording]:
    """One OnlineRecording per pipeline with a model, its stream names unique among `taken`."""
    plans = []
    for p in pipelines:
        if p.model is None:
            continue
        names = prediction_names(p, state)
        if not names:
            raise RuntimeError(f"the predictions of {p.name!r} carry no values: @pipeline.predict "
                               "must return a mapping of name to value to be recorded")
        stream = _unique("predictions" if p.name == "pipeline" else f"predictions:{p.name}",
                         taken)
        outputs = [(out, _unique(f"output:{out.name}", taken), output_channels(out, names))
                   for out in p.outputs]
        plans.append(OnlineRecording(p, stream, names, outputs))
    return plans


def online_extras(plans: Sequence[OnlineRecording]) -> dict:
    extras = {EXTRAS_KEY: {"pipelines": [plan.extras() for plan in plans]}}
    json.dumps(extras, allow_nan=False)  # jsonable made it so; fail here, not in the store
    return extras
