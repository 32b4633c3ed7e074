"""Pipeline: the user's extract/train/predict functions, the training thread and the predict thread.

Cutting a recording into training windows is in application/training_data.py; the predict
thread's Pipeline-free pieces (PredictionLog, re-exported here, one tick's windows and values,
the slowness warning) in application/predict_loop.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hexloop.domain.pacing import LoopHealth, Ticker
from hexloop.domain.pipeline import (
    ExtractFn,
    PredictFn,
    Prediction,
    TrainFn,
    TrainingCancelled,
    TrainingData,
    TrainingJob,
    TrainingProgress,
)
from hexloop.domain.report import LearningCurve, TrainingReport
from hexloop.domain.state import Action, State, TransitionRefused, no_predictions_reason

from . import training, training_process
from .online import remember_model_file
from .predict_loop import PredictionLog, newest_windows, predict_values, slowness
from .training_data import cut_training_data

if TYPE_CHECKING:
    from hexloop.ports.store import RecordedSession

    from .app import App
    from .output import Output


class Pipeline:
    """Ties streams to a model: `@extract`, `@train`, `@predict`, then train and predict.

    The predict thread starts with the app (a before-run hook), ticks at `predict_hz` on
    absolute deadlines, and works only while the state is predicting. Errors in callbacks are
    logged once per distinct error, counted, and the loop goes on. A tick slower than its
    period, or one that starts late, shows in `health` and is warned about once with the figure.
    """

    def __init__(self, app: App, predict_hz: float = 50.0, streams: Sequence[str] | None = None,
                 name: str = "pipeline", step_ms: float = 50.0, training: str = "thread"):
        if not 0 < predict_hz < float("inf"):  # inf would pass here and fail in the thread
            raise ValueError(f"predict_hz must be a positive finite number, got {predict_hz}")
        if not step_ms > 0:
            raise ValueError(f"step_ms must be positive, got {step_ms}")
        self.app = app
        self.name = name
        self.predict_hz = float(predict_hz)
        self.step_ms = float(step_ms)  # training_data's default hop between windows
        #: "thread", or "process": the whole training run in a child process, for when the GIL
        #: or the cores cannot keep acquisition on time (application/training_process.py).
        self.training = training_process.check_mode(training)
        self.stream_names = list(streams) if streams is not None else None
        self.outputs: list[Output] = []
        self.predictions = PredictionLog()
        self.model: Any = None
        self.progress: TrainingProgress | None = None
        self.cv_folds = 5  # cross-validation folds by trial when training (< 2: none)
        self.report: TrainingReport | None = None  # the current model's training report
        self.curve: tuple[str, LearningCurve] = ("", LearningCurve())  # the fit running now
        self.features_name: str | None = None  # what the setup calls extract (model files)
        #: Draws report.png beside a saved model (the composition root gives matplotlib's).
        self.report_figure: Callable[[TrainingReport, str], None] | None = None
        self.errors = 0
        self.online: Any = None  # OnlineRecording while an online session records (online.py)
        self.model_file: Any = None  # ModelFile: the file the current model was loaded/saved as
        self.waiting_ticks = 0  # ticks skipped because a window was not full yet
        self._ticker: Ticker | None = None
        self._warned: set[str] = set()  # causes of slowness already warned about this run
        self._warn_lock = threading.Lock()
        self._extract: ExtractFn | None = None
        self._train: TrainFn | None = None
        self._predict: PredictFn | None = None
        self._model_factory: Callable[[], Any] | None = None
        self._job: TrainingJob | None = None
        self._train_thread: threading.Thread | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        app.ctx.pipelines.append(self)
        app.before_run_hooks.append(lambda _app: self.start())
        app.cleanup_hooks.append(lambda _app: self.stop())

    # --- the user's functions ----------------------------------------------------------------
    def extract(self, fn: ExtractFn) -> ExtractFn:
        self._extract = fn
        return fn

    def train(self, fn: TrainFn) -> TrainFn:
        self._train = fn
        return fn

    def predict(self, fn: PredictFn) -> PredictFn:
        self._predict = fn
        return fn

    def use_model(self, factory: Callable[[], Any]) -> None:
        """Train and predict with a Model-port object made by `factory` (e.g. TorchClassifier)."""

        def train(data: TrainingData, job: TrainingJob):
            model = factory()
            model.fit(data, job)
            return model

        def predict(model, features):
            return dict(zip(model.output_names, np.asarray(model.predict(features)).tolist()))

        self._model_factory = factory
        self.train(train)
        self.predict(predict)

    @property
    def streams(self):
        names = self.stream_names or list(self.app.ctx.streams)
        missing = [n for n in names if n not in self.app.ctx.streams]
        if missing:
            raise KeyError(f"pipeline uses streams {missing} that the app does not have")
        return [self.app.ctx.streams[n] for n in names]

    # --- training ----------------------------------------------------------------------------
    def training_data(self, session: RecordedSession, step_ms: float | None = None,
                      target: str | None = None) -> TrainingData:
        """Windows from a recorded session, passed through `extract`.

        Classification (default): windows inside single trials, labelled by the cue. With
        `target`, regression: windows over the whole recording, learning the target stream's
        newest sample at each window's end (a force sensor, say). Windows end on the first
        stream's samples; every other stream contributes the samples ending at the same time.
        Windows start every `step_ms` (default: the pipeline's `step_ms`).
        """
        if self._extract is None:
            raise RuntimeError("no @pipeline.extract function: define one before training")
        return cut_training_data(self.streams, session, self._extract,
                                 self.step_ms if step_ms is None else step_ms, target)

    def start_training(self, data: TrainingData) -> None:
        """Train on a transient thread; predicting stops first. The state returns to idle after."""
        if self._train is None:
            raise TransitionRefused(self.app.ctx.state, Action.START_TRAINING,
                                    "no @pipeline.train function: define one first")
        if self.training == training_process.PROCESS:
            training_process.check_factory(self._model_factory)  # TypeError saying why not
        self.app.ctx.machine.request(Action.START_TRAINING)
        self._job = job = TrainingJob(on_progress=self._on_progress)
        self.progress = TrainingProgress(message="starting")
        self._train_thread = threading.Thread(
            target=self._train_run, args=(data, job), name=f"train-{self.name}", daemon=True)
        self._train_thread.start()

    def _on_progress(self, progress: TrainingProgress) -> None:
        self.progress = progress

    def _train_run(self, data: TrainingData, job: TrainingJob) -> None:
        log = self.app.ctx.log
        t0 = time.monotonic()
        try:
            setup = training.pipeline_setup(self, data.task, data.names)
            if self._train is None:
                raise RuntimeError("no train function: use_model() or @pipeline.train first")
            def on_curve(stage: str, curve: LearningCurve) -> None:
                self.curve = (stage, curve)

            if self.training == training_process.PROCESS and self._model_factory is not None:
                model, report = training_process.run_in_process(
                    self._model_factory, data, job, folds=self.cv_folds, setup=setup,
                    on_curve=on_curve)
            else:
                model, report = training.run_training(
                    self._train, self._predict, data, job, folds=self.cv_folds, setup=setup,
                    on_curve=on_curve)
            job.raise_if_cancelled()
            training.attach(model, report)
            self.model, self.report = model, report
            self.progress = self._finished(f"trained on {len(data)} windows in "
                                           f"{time.monotonic() - t0:.1f}s; {report.summary()}")
            log.info(self.name, self.progress.message)
            warning = report.warning()
            if warning:
                log.warning(self.name, warning)
        except TrainingCancelled:
            self.progress = self._finished("cancelled; the previous model is kept")
            log.warning(self.name, "training cancelled; the previous model is kept")
        except Exception as e:  # noqa: BLE001 - report, keep the previous model
            self.errors += 1
            self.progress = self._finished(f"failed: {type(e).__name__}: {e}")
            log.error(self.name, f"training failed, previous model kept: {type(e).__name__}: {e}")
        finally:
            self.app.ctx.machine.request(Action.STOP_TRAINING)

    def _finished(self, message: str) -> TrainingProgress:
        p = self.progress or TrainingProgress()
        return TrainingProgress(p.epoch, p.epochs, p.loss, p.score, message, p.val_loss,
                                done=1.0 if message.startswith("trained") else p.done)

    def cancel_training(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def wait_training(self, timeout: float | None = None) -> bool:
        """Block until the training thread ends; True if it did."""
        if self._train_thread is None:
            return True
        self._train_thread.join(timeout)
        return not self._train_thread.is_alive()

    # --- model files -------------------------------------------------------------------------
    def save_model(self, path) -> None:
        """Save the model, and beside it report.json and report.png (training.save_report);
        a figure that cannot be drawn is logged, the model and report.json are kept."""
        if self.model is None:
            raise RuntimeError("no model to save: train or load one first")
        self.model.save(path)
        remember_model_file(self, path)
        if self.report is not None:
            try:
                training.save_report(self.report, path, self.report_figure)
            except Exception as e:  # noqa: BLE001 - the model itself is saved
                self.app.ctx.log.warning(self.name, f"saved the model, but not all of its "
                                                    f"report (report.json, report.png) beside "
                                                    f"it: {type(e).__name__}: {e}")

    def load_model(self, path, factory: Callable[[], Any] | None = None) -> None:
        """Load into a fresh model; on any error the current model stays in place."""
        factory = factory or self._model_factory
        if factory is None:
            raise RuntimeError("load_model needs a factory (or use_model(...) first)")
        model = factory()
        model.load(path)
        training.check_setup(model, self)  # ValueError saying what differs
        self.model, self.report = model, training.report_of(model)
        remember_model_file(self, path)
        self.app.ctx.log.info(self.name, f"loaded model from {path}")

    # --- health ------------------------------------------------------------------------------
    @property
    def health(self) -> LoopHealth:
        """The predict loop's LoopHealth (late and skipped ticks, overruns, tick durations),
        from any thread; a tick working longer than a period right now is counted and warned."""
        ticker = self._ticker
        loop = ticker.health() if ticker is not None else LoopHealth(self.predict_hz)
        self._warn_if_slow(loop, self.app.ctx.state is State.PREDICTING)
        return loop

    @property
    def late_ticks(self) -> int:
        return self.health.late

    def _warn_if_slow(self, loop: LoopHealth, predicting: bool) -> None:
        """Warn once per cause: a tick's work longer than the period; ticks starting late."""
        found = slowness(loop, predicting)
        if found is None:
            return
        cause, message = found
        with self._warn_lock:
            if cause in self._warned:
                return
            self._warned.add(cause)
        self.app.ctx.log.warning(self.name, message)

    # --- predicting --------------------------------------------------------------------------
    def refusal(self, record: bool = False) -> str | None:
        """Why start_predicting (with `record`: and recording) would be refused now, or None."""
        if self._predict is None or self._extract is None:
            return "define @pipeline.extract and @pipeline.predict first"
        if self.model is None:
            return "no model yet: train or load one first"
        if record:
            return self.app.recording_refusal(Action.START_PREDICTING, record=True)
        return self.app.ctx.machine.check(Action.START_PREDICTING)

    def waiting_reason(self) -> str:
        """Why there is no prediction yet, in words (the Predictions panel shows it)."""
        waiting = []
        if self.app.ctx.state is State.PREDICTING:
            try:
                waiting = [s.name for s in self.streams
                           if s.buffer is None or len(s.buffer) < s.window_samples]
            except KeyError as e:
                return str(e.args[0])
        return no_predictions_reason(self.app.ctx.state,
                                     self._extract is not None and self._predict is not None,
                                     self.model is not None, waiting)

    def start_predicting(self, record: bool = False, slug: str = "",
                         extras: dict | None = None) -> str | None:
        """Predict live; with `record=True` also record an online session (inputs, cues, every
        prediction, what each output sends, the model: application/online.py) and return its
        location. `stop_predicting()` closes it."""
        reason = self.refusal(record)
        if reason is not None:
            raise TransitionRefused(self.app.ctx.state, Action.START_PREDICTING, reason)
        if record:
            return self.app._open_session(Action.START_PREDICTING, slug, extras, record=True)
        self.app.ctx.machine.request(Action.START_PREDICTING)
        return None

    def stop_predicting(self) -> None:
        """Stop predicting; an online session being recorded is closed first (and saved)."""
        try:
            if self.app.ctx.machine.recording and self.app.ctx.state is State.PREDICTING:
                self.app.stop_recording()
        finally:  # a session that failed to close still stops predicting
            self.app.ctx.machine.request(Action.STOP_PREDICTING)

    def start(self) -> None:
        """Start the predict thread and the outputs (the app does this at run())."""
        for out in self.outputs:
            out.predict_hz = self.predict_hz  # mode "auto" phase-locks to the predictions
            out.start(self.app.clock, self.app.ctx.log)
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._ticker = Ticker(self.predict_hz, self.app.clock)
            self._warned = set()
            self._thread = threading.Thread(target=self._predict_run, name=f"predict-{self.name}",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 0.5) -> None:
        self.cancel_training()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for out in self.outputs:
            out.stop(timeout)

    def _predict_run(self) -> None:
        ticker = self._ticker if self._ticker is not None else Ticker(self.predict_hz,
                                                                        self.app.clock)
        self._ticker = ticker
        last_input = None
        log = self.app.ctx.log
        seen = (0, 0)
        was_predicting = False
        while ticker.wait(self._stop):
            predicting = self.app.ctx.state is State.PREDICTING
            if predicting and not was_predicting:  # health counts ticks while predicting only
                ticker.reset_counts()
                seen = (0, 0)
            was_predicting = predicting
            if (ticker.late, ticker.overruns) != seen:
                seen = (ticker.late, ticker.overruns)
                self._warn_if_slow(ticker.health(), predicting)
            if not predicting:
                if last_input is not None:
                    for out in self.outputs:  # no stale command once predicting stops
                        out.push(None)
                last_input = None
                continue
            try:
                prediction = self._tick(ticker.tick, last_input)
            except Exception as e:  # noqa: BLE001 - report once, count, go on
                self.errors += 1
                log.error_once(self.name, e)
                continue
            if prediction is None:
                continue
            last_input = prediction.input_time
            self.predictions.append(prediction)
            recording = self.online
            if recording is not None:
                recording.record_prediction(prediction)
            for out in self.outputs:
                out.push(prediction)

    def _tick(self, tick: int, last_input: float | None) -> Prediction | None:
        got = newest_windows(self.streams)
        if got is None:
            self.waiting_ticks += 1
            return None
        windows, newest = got
        t0 = time.perf_counter()
        values = predict_values(self.model, self._predict, self._extract, windows)
        return Prediction(values, tick, float(newest), time.perf_counter() - t0,
                          stale=last_input is not None and newest <= last_input)
