"""The phases of a protocol run (calibrate, train, online, evaluate), as methods the
ProtocolRunner (application/protocol.py) inherits: each uses the runner's app, pipeline, spec,
slug, result, its waits (`_sleep`, `_trials`) and its display (`_show`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from hexloop.domain.protocol import ramp_score, schedule
from hexloop.domain.state import State, TransitionRefused

from .protocol_result import PhaseAborted, beside, jsonable, safe_name


class Phases:
    """calibrate, train, online, evaluate: one method each (`_<phase>`)."""

    app: Any
    pipeline: Any
    spec: Any
    slug: str
    result: Any
    model_path: Any
    # the runner's waits and display (ProtocolRunner defines them)
    _abort: threading.Event
    _quit: threading.Event
    _trials: Callable[[str], None]
    _sleep: Callable[..., None]
    _show: Callable[..., None]

    def _extras(self, phase: str) -> dict:
        return {"protocol": {**jsonable(attrs.asdict(self.spec)), "phase": phase,
                             "schedule": [t.class_name for t in schedule(self.spec, phase)]}}

    def _calibrate(self) -> None:
        app = self.app
        app.start_recording(slug=f"{self.slug}-calibrate", extras=self._extras("calibrate"))
        try:
            self._trials("calibrate")
        finally:
            self.result.calibrate = self._closed(app.stop_recording)

    def _train(self) -> None:
        pipeline = self._needs_pipeline("train")
        if self.result.calibrate is None:
            raise RuntimeError("nothing to train on: the calibrate phase recorded no session")
        self._show(step="training", cue=None, message="training on the calibration session")
        session = self.app.store.read(self.result.calibrate)
        try:
            data = pipeline.training_data(session, target=self._target())
        finally:
            getattr(session, "close", lambda: None)()
        pipeline.start_training(data)
        while not pipeline.wait_training(0.05):
            p = pipeline.progress
            if p is not None:
                self._show(message=f"training {p.fraction:.0%}")
            if self._abort.is_set() or self._quit.is_set() or self.app.exit_requested:
                pipeline.cancel_training()
                pipeline.wait_training(30)
                raise PhaseAborted
        message = pipeline.progress.message if pipeline.progress is not None else ""
        if not message.startswith("trained") or pipeline.model is None:
            raise RuntimeError(f"training did not produce a model: {message}")
        self.result.report = pipeline.report
        path = self.model_path or beside(self.result.calibrate, f"{safe_name(self.app.name)}.model")
        path.parent.mkdir(parents=True, exist_ok=True)
        pipeline.save_model(path)
        self.result.model = str(path)
        self._show(message=pipeline.report.summary() if pipeline.report else "trained")

    def _online(self) -> None:
        pipeline = self._needs_pipeline("online")
        if pipeline.model is None:
            raise RuntimeError("no model to predict with: add 'train' to the protocol's phases "
                               "or run with --model")
        deadline = time.monotonic() + 10.0
        while True:  # the predictions' names are known once every window is full
            try:
                pipeline.start_predicting(record=True, slug=f"{self.slug}-online",
                                          extras=self._extras("online"))
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                self._sleep(0.1)
        try:
            self._first_prediction(pipeline)
            self._trials("online")
        finally:
            self.result.online = self._closed(pipeline.stop_predicting)

    def _closed(self, stop: Any) -> str | None:
        """Close the phase's session with `stop` and return where it went. When the app is
        shutting down it may have closed it already (Ctrl-C, the window closed): that is fine."""
        try:
            if self.app.ctx.recording is not None or self.app.ctx.state is State.PREDICTING:
                stop()
        except TransitionRefused:
            if not self.app.exit_requested:
                raise
        summary = self.app.ctx.last_summary
        return summary.location if summary is not None else None

    def _first_prediction(self, pipeline: Any, timeout: float = 10.0) -> None:
        """Cue only once the online session holds a prediction, so every cue is scored."""
        self._show(step="waiting", message="waiting for the first prediction")
        deadline = time.monotonic() + timeout
        while getattr(pipeline.online, "predictions", 1) < 1 and time.monotonic() < deadline:
            self._sleep(0.02)
        self._show(message="")

    def _evaluate(self) -> None:
        if self.result.online is None:
            raise RuntimeError("nothing to evaluate: the online phase recorded no session")
        self._show(step="evaluating", cue=None, message="")
        session = self.app.store.read(self.result.online)
        try:
            score = session.online() if self.spec.ramp_s <= 0 else self._ramp_score(session)
        finally:
            getattr(session, "close", lambda: None)()
        self.result.score = score
        self._show(message=score.lines()[0])

    def _target(self) -> str | None:
        """With ramps, the regression target: the recorded cue level."""
        from .protocol_level import LEVEL_STREAM

        return LEVEL_STREAM if self.spec.ramp_s > 0 else None

    def _ramp_score(self, session: Any) -> Any:
        """How the online predictions followed the cue levels (a regression's score)."""
        from .online import PREDICTIONS_TYPE

        stream = next(i.name for i in session.meta.streams if i.type == PREDICTIONS_TYPE)
        values, ts = session.data(stream)
        level, level_ts = session.data(self._target())
        return ramp_score(values, session.meta.stream(stream).channel_names, ts, level,
                          self.spec.classes, level_ts)

    def _needs_pipeline(self, phase: str) -> Any:
        if self.pipeline is None:
            raise RuntimeError(f"the {phase} phase needs a [pipeline] and a [model]")
        return self.pipeline
