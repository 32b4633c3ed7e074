"""The main job: a whole closed-loop experiment on a simulated EMG device, in one command.

1. a simulated EMG amplifier publishes over LSL (loopback) and is acquired through the LSL Source;
2. a cued protocol is recorded to Zarr, labels included, each cue driving the simulated gesture;
3. the torch classifier trains on the recorded session, with visible progress;
4. predictions run live, go out on an LSL outlet and are read back through a separate inlet;
5. a summary reports samples, trials, accuracies, predict rate and loop latency.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
import time
import uuid
from pathlib import Path

import attrs
import numpy as np

from hexloop.adapters.pylsl import PylslSource, PylslTransport, SimulatedLslDevice
from hexloop.adapters.torch import TorchClassifier
from hexloop.adapters.zarr import ZarrStore
from hexloop.application import App, Output, Pipeline, Stream
from hexloop.domain.features import emg_features

from .build import choose_renderer_for_demo


@attrs.frozen
class Protocol:
    trials_per_class: int
    trial_s: float
    live_s: float
    live_switch_s: float
    channels: int = 8
    rate: float = 2048.0
    predict_hz: float = 50.0
    window_ms: float = 200.0


FULL = Protocol(trials_per_class=4, trial_s=2.5, live_s=16.0, live_switch_s=2.0)
QUICK = Protocol(trials_per_class=2, trial_s=1.0, live_s=4.0, live_switch_s=1.0)
#: The signal path labs use (docs/signal-path.md): band-pass and mains notch on the stream, a
#: majority vote on the command output.
CONDITIONING = ({"type": "bandpass", "low": 20, "high": 450, "order": 4},
                {"type": "notch", "freq": 50, "harmonics": 3})
COMMAND_STAGES = ({"type": "majority", "n": 5}, {"type": "edge"})
SETTLE_S = 0.35  # predictions this soon after a cue change are left out of live accuracy


@attrs.define
class DemoResult:
    session: str | None = None
    samples_sent: int = 0
    samples_acquired: int = 0
    samples_recorded: int = 0
    samples_lost: int = 0
    trials: dict = attrs.field(factory=dict)
    validation_accuracy: float = float("nan")
    live_accuracy: float = float("nan")
    live_scored: int = 0
    predict_hz_requested: float = 0.0
    predict_hz_achieved: float = 0.0
    latency_ms_median: float = float("nan")
    latency_ms_p99: float = float("nan")
    received: int = 0
    completed: bool = False
    error: str | None = None

    def report(self) -> str:
        """The summary; a step an interruption left out says so instead of showing nan."""
        trials = ", ".join(f"{k} {v}" for k, v in self.trials.items()) or "none"
        chance = f"chance {1 / max(1, len(self.trials)):.0%}"
        if math.isnan(self.validation_accuracy):
            accuracy = f"not measured: the demo stopped before training ({chance})"
        elif math.isnan(self.live_accuracy):
            accuracy = (f"cross-validated (held-out trials) {self.validation_accuracy:.1%}; live "
                        f"not measured ({chance})")
        else:
            accuracy = (f"cross-validated (held-out trials) {self.validation_accuracy:.1%}, live "
                        f"{self.live_accuracy:.1%} over {self.live_scored} predictions ({chance})")
        if math.isnan(self.latency_ms_median):
            loop = "not measured: no prediction was received"
        else:
            loop = (f"sample -> received prediction: median {self.latency_ms_median:.1f} ms, "
                    f"99th percentile {self.latency_ms_p99:.1f} ms ({self.received} received)")
        lines = [
            "hexloop demo summary",
            f"  samples     sent {self.samples_sent}, acquired {self.samples_acquired}, "
            f"recorded {self.samples_recorded}, lost {self.samples_lost}",
            f"  trials      {trials}",
            f"  accuracy    {accuracy}",
            f"  predicting  {self.predict_hz_achieved:.1f} Hz achieved of "
            f"{self.predict_hz_requested:g} Hz requested",
            f"  loop        {loop}",
            f"  session     {self.session or 'not saved'}",
        ]
        if self.error:
            lines.append(f"  stopped     {self.error}")
        return "\n".join(lines)


class Experiment:
    """The cued protocol, run on a worker thread while the renderer owns the main thread."""

    def __init__(self, protocol: Protocol, out_dir: str, say=print):
        self.p = protocol
        self.say = say
        self.result = DemoResult(predict_hz_requested=protocol.predict_hz)
        tag = uuid.uuid4().hex[:6]
        self.device = SimulatedLslDevice(f"hexloop-demo-{tag}", channels=protocol.channels,
                                         rate=protocol.rate, wait_for_consumer=True)
        self.classes = self.device.simulator.class_names
        self.store = ZarrStore(out_dir)
        self.app = App("hexloop-demo", store=self.store, class_names=self.classes)
        # ignored: an LSL source's info is None until it connects, the port says StreamInfo
        self.stream = Stream("emg", PylslSource(name=self.device.name, timeout=5.0),  # type: ignore[arg-type]
                             window_ms=protocol.window_ms, conditioning=CONDITIONING)
        self.app.streams(self.stream)
        self.pipeline = Pipeline(self.app, predict_hz=protocol.predict_hz)
        self.pipeline.extract(lambda windows: emg_features(windows["emg"]).ravel())
        self.pipeline.use_model(functools.partial(TorchClassifier, seed=0, epochs=150))
        self.out_name = f"{self.device.name}-predictions"
        self.pipeline.outputs.append(Output(
            PylslTransport(name=self.out_name, type="Predictions"), hz=protocol.predict_hz,
            channels=[f"p_{c}" for c in self.classes]))
        self.pipeline.outputs.append(Output(  # the debounced class, sent once per change
            PylslTransport(name=f"{self.device.name}-commands", type="Commands"),
            hz=protocol.predict_hz, stages=COMMAND_STAGES, name="commands"))
        self.pipeline.predict(self._predict)
        self._cues: list[tuple[float, int]] = []  # (time, class) on the LSL clock

    def _predict(self, model, features):
        probs = np.asarray(model.predict(features))
        return {f"p_{c}": float(p) for c, p in zip(self.classes, probs)}

    # --- the protocol ------------------------------------------------------------------------
    def _cue(self, k: int) -> None:
        self.device.set_class(k)
        self._cues.append((self.app.clock.now(), k))

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the app is exiting; False if it is."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.app.exit_requested:
                return False
            time.sleep(0.02)
        return not self.app.exit_requested

    def run(self) -> None:
        try:
            self._run()
            self.result.completed = not self.app.exit_requested  # else interrupted on the way
        except Exception as e:  # noqa: BLE001 - the summary says what stopped the demo
            if not self.app.exit_requested:  # an interrupted step fails as a consequence
                self.result.error = f"{type(e).__name__}: {e}"
                self.app.ctx.log.error("demo", self.result.error)
        finally:
            self.app.request_exit()

    def _run(self) -> None:
        app, p = self.app, self.p
        deadline = time.monotonic() + 10
        while app.recording_refusal() is not None:
            if time.monotonic() > deadline or not self._wait(0.05):
                raise TimeoutError(f"no EMG stream: {app.recording_refusal()}")
        self.say(f"1/4 recording {p.trials_per_class} cued trials of {p.trial_s:g} s per class")
        app.start_recording(slug="demo")
        order = [k for _ in range(p.trials_per_class) for k in range(len(self.classes))]
        for k in order:
            app.mark(k)
            self._cue(k)
            if not self._wait(p.trial_s):
                return
        summary = app.stop_recording()
        self.result.session = summary.location
        self.result.samples_recorded = summary.samples["emg"]
        session = self.store.read(summary.location)
        self.result.trials = session.labels.counts(float("inf"))

        self.say("2/4 training the torch classifier")
        data = self.pipeline.training_data(session, step_ms=25.0)
        self.pipeline.start_training(data)
        while not self.pipeline.wait_training(0.1):
            if app.exit_requested:
                self.pipeline.cancel_training()
        if self.pipeline.model is None:
            raise RuntimeError(f"training did not produce a model: {self.pipeline.progress}")
        report = self.pipeline.report  # cross-validated on held-out trials (#15)
        self.result.validation_accuracy = float(
            report.accuracy if report is not None and report.validated
            else self.pipeline.progress.score if self.pipeline.progress is not None
            else float("nan"))

        self.say(f"3/4 predicting live at {p.predict_hz:g} Hz for {p.live_s:g} s")
        reader = PylslSource(name=self.out_name, timeout=5.0)
        reader.connect(5.0)
        try:
            self.pipeline.start_predicting()
            t_start = app.clock.now()
            received = self._live(reader)
            live_s = app.clock.now() - t_start
            self.pipeline.stop_predicting()
        finally:
            reader.disconnect()
        self.say("4/4 summarizing")
        self._score(received, live_s)

    def _live(self, reader) -> list[tuple[float, float, np.ndarray]]:
        """Switch gestures on a schedule; collect (receive time, input time, probabilities)."""
        received, seen = [], set()
        p, clock = self.p, self.app.clock
        start = clock.now()
        rng = np.random.default_rng(1)
        next_switch, k = start, 0
        while clock.now() - start < p.live_s and not self.app.exit_requested:
            if clock.now() >= next_switch:
                k = int(rng.integers(len(self.classes)))
                self._cue(k)
                next_switch += p.live_switch_s
            data, ts = reader.read()
            now = clock.now()
            for row, t in zip(data, ts):
                if t not in seen:  # the output resends the latest value; count each once
                    seen.add(t)
                    received.append((now, float(t), row.astype(np.float64)))
            time.sleep(0.001)
        return received

    def _score(self, received, live_s: float) -> None:
        r = self.result
        self.device.stop_publishing()  # then let acquisition drain, so the counts compare
        deadline = time.monotonic() + 2.0
        while self.stream.health.samples < self.device.samples_sent and time.monotonic() < deadline:
            time.sleep(0.01)
        health = self.stream.health
        r.samples_sent = self.device.samples_sent
        r.samples_acquired = health.samples
        r.samples_lost = health.lost
        r.received = len(received)
        fresh = self.pipeline.predictions.count - self.pipeline.predictions.stale
        r.predict_hz_achieved = fresh / max(live_s, 1e-9)  # predicting ran only in the live phase
        if received:
            latency = np.array([(now - t) * 1000 for now, t, _ in received])
            r.latency_ms_median = float(np.median(latency))
            r.latency_ms_p99 = float(np.percentile(latency, 99))
        cue_t = np.array([t for t, _ in self._cues])
        cue_k = np.array([k for _, k in self._cues])
        correct = scored = 0
        for _, t, probs in received:
            i = int(np.searchsorted(cue_t, t, side="right")) - 1
            if i < 0 or t - cue_t[i] < SETTLE_S:
                continue
            scored += 1
            correct += int(np.argmax(probs) == cue_k[i])
        r.live_scored = scored
        r.live_accuracy = correct / scored if scored else float("nan")


def run_demo(quick: bool = False, out_dir: str = "recordings", headless: bool = True,
             say=print) -> DemoResult:
    protocol = QUICK if quick else FULL
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    experiment = Experiment(protocol, out_dir, say=say)
    with experiment.device:
        worker = threading.Thread(target=experiment.run, name="demo-protocol", daemon=True)
        experiment.app.before_run_hooks.append(lambda _app: worker.start())
        try:
            experiment.app.run(choose_renderer_for_demo(headless))
        finally:
            saved = experiment.app.ctx.last_summary
            if saved is not None:
                experiment.result.session = saved.location
                experiment.result.samples_recorded = saved.samples.get("emg", 0)
                labels = experiment.app.ctx.labels  # the trials cued before an interruption
                if not experiment.result.trials and labels is not None:
                    experiment.result.trials = labels.counts(float("inf"))
    if not experiment.result.completed and experiment.result.error is None:
        experiment.result.error = ("interrupted; the session recorded so far was saved"
                                   if experiment.result.session else
                                   "interrupted before anything was recorded")
    return experiment.result


def main(args) -> int:
    result = run_demo(quick=args.quick, out_dir=args.out, headless=args.headless)
    print(result.report())
    return 0 if result.completed else 1  # Ctrl-C included: the demo did not finish


if __name__ == "__main__":
    sys.exit(main(type("Args", (), {"quick": "--quick" in sys.argv, "out": "recordings",
                                    "headless": True})))
