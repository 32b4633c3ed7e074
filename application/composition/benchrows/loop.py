"""Closed-loop rows: sample in to prediction received over LSL (median) for Outputs started
at two phases of the predict period, against 2 x the LSL loopback latency + half a predict
period measured in the same run; and the predict and Output rates achieved at 1000 Hz while a
model trains."""

from __future__ import annotations

import os
import threading
import time

import numpy as np

from .common import Group, RowResult

LOOP_HZ, PHASES = 50.0, (0.3, 0.7)
FAST_HZ = 1000.0


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:g} s")
        time.sleep(0.01)


def lsl_loopback_latency(seconds: float) -> float:
    """Median push-to-pull latency of one float32 sample over LSL loopback, pulled the way
    a receiver does (blocking pull with a timeout)."""
    import pylsl

    name = f"bench-lsl-floor-{os.getpid()}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "bench", 1, 0, "float32", name), 1, 1)
    found = pylsl.resolve_byprop("name", name, 1, 5.0)
    if not found:
        raise TimeoutError(f"LSL loopback: the stream {name!r} did not appear within 5 s")
    info = found[0]
    inlet = pylsl.StreamInlet(info, max_buflen=1)
    inlet.open_stream(5.0)
    lags = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outlet.push_sample([0.0], pylsl.local_clock())
        sample, ts = inlet.pull_sample(timeout=1.0)
        if sample is not None:
            lags.append(pylsl.local_clock() - ts)
        time.sleep(0.005)
    inlet.close_stream()
    del inlet, outlet
    return float(np.median(lags))


class Receiver:
    """Pulls an LSL prediction stream on a thread; each sample's age on arrival (its timestamp
    is the newest input sample's)."""

    def __init__(self, name: str):
        import pylsl

        self.pylsl = pylsl
        found = pylsl.resolve_byprop("name", name, 1, 10.0)
        if not found:
            raise TimeoutError(f"the Output's LSL stream {name!r} did not appear within 10 s")
        info = found[0]
        self.inlet = pylsl.StreamInlet(info, max_buflen=1)
        self.inlet.open_stream(5.0)
        self.ages: list[float] = []
        self.recording = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-receiver", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            sample, ts = self.inlet.pull_sample(timeout=0.2)
            if sample is not None and self.recording:
                self.ages.append(self.pylsl.local_clock() - ts)

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.inlet.close_stream()


def _predicting_app(source, hz: float, name: str):
    from hexloop.application import App, Pipeline, Stream

    app = App(name)
    app.streams(Stream("emg", source, window_ms=100, buffer_ms=1000))
    pipeline = Pipeline(app, predict_hz=hz)
    # a float as the features, sent as it is: the cheapest extract and predict there are
    pipeline.extract(lambda windows: float(np.abs(windows["emg"]).mean()))  # type: ignore[arg-type,return-value]
    pipeline.predict(lambda model, features: {"level": features})  # type: ignore[dict-item]
    pipeline.model = object()  # predict needs no model here, only a non-empty slot
    app.start()
    stream = app.ctx.streams["emg"]
    _wait(lambda: stream.buffer is not None and len(stream.buffer) >= stream.window_samples,
          10.0, "the stream did not fill a window")
    pipeline.start_predicting()
    _wait(lambda: pipeline._ticker is not None and pipeline._ticker.start is not None, 5.0,
          "the predict loop did not start")
    return app, pipeline


def _start_output_at_phase(pipeline, output, phase: float) -> None:
    """Start `output` `phase` of a predict period after one of the predict loop's deadlines."""
    ticker = pipeline._ticker
    now = time.monotonic()
    k = int((now - ticker.start) / ticker.period) + 1
    time.sleep(max(0.0, ticker.start + (k + phase) * ticker.period - time.monotonic()))
    output.predict_hz = pipeline.predict_hz  # what Pipeline.start tells its outputs
    output.start(pipeline.app.clock, pipeline.app.ctx.log)
    pipeline.outputs.append(output)


def latency_rows(quick: bool) -> list[RowResult]:
    from hexloop.adapters.pylsl import PylslSource, PylslTransport, SimulatedLslDevice
    from hexloop.application import Output

    seconds = 1.5 if quick else 10.0
    lsl = lsl_loopback_latency(1.0 if quick else 3.0)
    floor = 2 * lsl + 0.5 / LOOP_HZ
    rows = []
    for phase in PHASES:
        pid = os.getpid()
        device_name, out_name = f"bench-loop-in-{pid}-{phase}", f"bench-loop-out-{pid}-{phase}"
        with SimulatedLslDevice(device_name, channels=8, rate=2048.0, wait_for_consumer=True):
            app, pipeline = _predicting_app(PylslSource(device_name, ambiguity_wait_s=0.0),
                                            LOOP_HZ, f"bench-loop-{phase}")
            receiver = None
            try:
                output = Output(PylslTransport(name=out_name), hz=LOOP_HZ, channels=["level"],
                                name="bench", mode="on_prediction")  # what auto picks here
                _start_output_at_phase(pipeline, output, phase)
                mode = getattr(output, "running_mode", "fixed rate")
                receiver = Receiver(out_name)
                time.sleep(0.5)
                receiver.recording = True
                time.sleep(seconds)
                receiver.recording = False
            finally:
                if receiver is not None:
                    receiver.close()
                app.shutdown()
        ages = np.array(receiver.ages)
        median = float(np.median(ages))
        rows.append(RowResult(
            f"loop.latency.phase{phase:g}",
            f"closed loop sample in -> prediction received over LSL, median, Output started "
            f"{phase:g} of a period after predict ({LOOP_HZ:g} Hz, phase-locked)",
            median / floor, "<= 1.2",
            f"p50 {median * 1e3:.1f} ms, p99 {np.percentile(ages, 99) * 1e3:.1f} ms "
            f"({ages.size} received, Output mode {mode}); floor {floor * 1e3:.1f} ms "
            f"(LSL {lsl * 1e3:.2f} ms)",
            "2 x LSL loopback latency + half a predict period",
            {"median_s": median, "p99_s": float(np.percentile(ages, 99)), "floor_s": floor,
             "lsl_s": lsl, "received": int(ages.size)}))
    return rows


class TimedTransport:
    """A transport that only notes when each send happened."""

    def __init__(self):
        self.times: list[float] = []

    def open(self, channels, rate):
        pass

    def send(self, sample, timestamp):
        self.times.append(time.monotonic())

    def close(self):
        pass


def rate_row(quick: bool) -> RowResult:
    """Predict and Output at 1000 Hz on a simulated stream while a torch model trains."""
    from hexloop.adapters.simulated import SimulatedSource
    from hexloop.application import Output

    from .acquisition import _train_for

    seconds = 2.0 if quick else 10.0
    app, pipeline = _predicting_app(SimulatedSource("emg", 8, 2048.0, seed=5), FAST_HZ,
                                    "bench-rate")
    transport = TimedTransport()
    output = Output(transport, hz=FAST_HZ, channels=["level"], name="bench-fast")
    pipeline.outputs.append(output)
    output.predict_hz = pipeline.predict_hz  # what Pipeline.start tells its outputs
    output.start(app.clock, app.ctx.log)
    worker = job = None
    try:
        time.sleep(0.5)
        n0, t0 = pipeline.predictions.count, time.monotonic()
        time.sleep(seconds / 2)  # the same loop with nothing training, for reference
        idle_rate = (pipeline.predictions.count - n0) / (time.monotonic() - t0) / FAST_HZ
        worker, job = _train_for(None, _switch())
        time.sleep(1.0)  # training under way
        n0, t0, s0 = pipeline.predictions.count, time.monotonic(), len(transport.times)
        time.sleep(seconds)
        n1, t1 = pipeline.predictions.count, time.monotonic()
        sends = np.array(transport.times[s0:])
    finally:
        if job is not None and worker is not None:
            job.cancel()
            worker.join(10)
        app.shutdown()
    predict_rate = (n1 - n0) / (t1 - t0) / FAST_HZ
    output_rate = sends.size / (t1 - t0) / FAST_HZ
    gaps = np.diff(sends)
    bursts = int((gaps < 0.5 / FAST_HZ).sum())
    return RowResult(
        "loop.rate_under_training",
        f"predict and Output achieved rate at {FAST_HZ:g} Hz while a model trains "
        f"(no GUI in this row; Output mode {getattr(output, 'running_mode', 'fixed rate')})",
        min(predict_rate, output_rate), ">= 0.995",
        f"predict {predict_rate:.3f}, output {output_rate:.3f} of {FAST_HZ:g} Hz (predict "
        f"{idle_rate:.3f} with nothing training); output intervals under half a period: "
        f"{bursts}, shortest {gaps.min() * 1e3:.2f} ms",
        "the requested rate",
        {"predict": predict_rate, "output": output_rate, "predict_idle": idle_rate,
         "bursts": bursts, "shortest_s": float(gaps.min())})


def _switch() -> float:
    from hexloop.adapters.torch import model

    return model.TRAINING_SWITCH_INTERVAL_S


def run(quick: bool) -> list[RowResult]:
    rows = []
    try:
        rows += latency_rows(quick)
    except ImportError as e:
        rows += [RowResult(k, k, skipped=f"needs pylsl: {e}") for k in KEYS[:-1]]
    try:
        rows.append(rate_row(quick))
    except ImportError as e:
        rows.append(RowResult(KEYS[-1], KEYS[-1], skipped=f"needs torch: {e}"))
    return rows


KEYS = tuple(f"loop.latency.phase{p:g}" for p in PHASES) + ("loop.rate_under_training",)
GROUP = Group("loop", KEYS, run)
