"""Output: latest-value semantics, sends on absolute deadlines, failures reported once, stop()."""

import threading
import time

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeModel, FakeTransport
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, Log, Output, Pipeline, Stream
from hexloop.domain.pipeline import Prediction, TrainingData, TrainingJob
from tests.helpers import ParkingClock, run_in_thread, wait_for

pytestmark = pytest.mark.timeout(30)

HZ = 64.0
PERIOD = 1 / HZ  # with delays in eighths of a period the fake time stays exact


def output_threads(name="output"):
    return [t for t in threading.enumerate() if t.name == f"out-{name}"]


def distinct(transport) -> int:
    return len({float(sample[0]) for sample, _ in list(transport.sent)})


def test_only_the_latest_value_is_sent():
    transport = FakeTransport()
    out = Output(transport, hz=50.0, channels=["x"])
    out.start()
    pushed = 0
    try:
        assert wait_for(lambda: transport.opened)
        deadline = time.monotonic() + 10.0
        while distinct(transport) < 5 and time.monotonic() < deadline:  # push flat out
            out.push({"x": pushed})
            pushed += 1
        out.push({"x": pushed})
        assert wait_for(lambda: transport.sent[-1][0][0] == pushed)
    finally:
        out.stop()
    values = [int(sample[0]) for sample, _ in transport.sent]
    assert values == sorted(values)  # never an older value after a newer one
    assert len(set(values)) >= 5 and values[-1] == pushed
    assert len(values) < pushed / 10  # nothing queued: most pushes were simply overwritten


def test_push_never_blocks_even_when_the_transport_hangs():
    gate = threading.Event()

    class HangingTransport(FakeTransport):
        def send(self, sample, timestamp):
            gate.wait(10.0)
            super().send(sample, timestamp)

    out = Output(HangingTransport(), hz=100.0, channels=["x"])
    out.start()
    try:
        out.push([0.0])
        pusher, errors = run_in_thread(lambda: [out.push([float(k)]) for k in range(10_000)])
        pusher.join(5.0)
        assert not pusher.is_alive() and not errors  # all pushes returned while send hung
    finally:
        gate.set()
        out.stop()


class SlowTransport(FakeTransport):
    """Each send takes the next of `delays` (in periods) of fake time."""

    def __init__(self, clock, delays):
        super().__init__()
        self.clock, self.delays = clock, delays

    def send(self, sample, timestamp):
        super().send(sample, timestamp)
        self.clock.advance(self.delays[(len(self.sent) - 1) % len(self.delays)] * PERIOD)


def test_sends_on_absolute_deadlines_and_skips_rather_than_bursts():
    clock = ParkingClock(start=0.0, budget=12)
    transport = SlowTransport(clock, delays=[0.25, 0.75, 2.5, 0.125])
    out = Output(transport, hz=HZ, channels=["x"])
    out.push([1.0])
    out.start(clock=clock)
    assert clock.parked.wait(5.0)
    out.stop()
    sent_at = [t / PERIOD for _, t in transport.sent]
    # tick k is due at k periods. After a send that takes 2.5 periods the next tick starts late
    # (at 4.5, deadline 3 skipped) and the one after is back on the grid, at 5: no drift.
    assert sent_at[:10] == [0, 1, 2, 4.5, 5, 6, 7, 9.5, 10, 11]
    assert clock.sleeps[:3] == [0.75 * PERIOD, 0.25 * PERIOD, 0.375 * PERIOD]


def test_a_prediction_is_sent_with_its_input_timestamp():
    clock = ParkingClock(start=100.0, budget=3)
    transport = FakeTransport()
    out = Output(transport, hz=HZ, channels=["p_fist", "p_rest"])
    out.push(Prediction({"p_rest": 0.2, "p_fist": 0.8}, tick=7, input_time=42.5, compute_s=0.0))
    out.start(clock=clock)
    assert clock.parked.wait(5.0)
    out.stop()
    sample, stamp = transport.sent[0]
    assert sample.tolist() == [0.8, 0.2] and stamp == 42.5  # in channel order, input time


def test_a_failing_transport_is_reported_once_and_recovers():
    log = Log()
    transport = FakeTransport(fail_sends=10**9)
    out = Output(transport, hz=200.0, channels=["x"], name="stim")
    out.push([1.0])
    out.start(log=log)
    try:
        assert wait_for(lambda: out.errors >= 5)
        transport.fail_sends = 0
        assert wait_for(lambda: out.sent >= 3)
    finally:
        out.stop()
    assert [e.message for e in log.entries("error")] == ["OSError: fake transport down"]
    assert log.occurrences("output stim", "OSError: fake transport down") == out.errors


@pytest.mark.parametrize(
    "value, message",
    [({"p_rest": 1.0}, "KeyError: \"value has no ['p_fist']; it has ['p_rest']\""),
     ([1.0, 2.0, 3.0], "ValueError: value has 3 numbers for 2 channels")],
    ids=["missing-name", "wrong-length"],
)
def test_values_that_do_not_fit_the_channels_are_reported(value, message):
    log = Log()
    transport = FakeTransport()
    out = Output(transport, hz=200.0, channels=["p_rest", "p_fist"])
    out.push(value)
    out.start(log=log)
    try:
        assert wait_for(lambda: out.errors >= 2)
    finally:
        out.stop()
    assert transport.sent == []
    assert [e.message for e in log.entries("error")] == [message]


def test_channels_default_to_the_first_mapping_keys():
    transport = FakeTransport()
    out = Output(transport, hz=200.0)
    out.push({"b": 2.0, "a": 1.0})
    out.start()
    try:
        assert wait_for(lambda: out.sent >= 1)
    finally:
        out.stop()
    assert transport.channels == ["b", "a"] and transport.sent[0][0].tolist() == [2.0, 1.0]


def test_stop_ends_the_thread_closes_the_transport_and_a_restart_ticks_again():
    transport = FakeTransport()
    out = Output(transport, hz=200.0, channels=["x"])
    out.push([1.0])
    out.start()
    assert wait_for(lambda: out.sent >= 2)
    out.stop()
    assert output_threads() == [] and transport.closed
    clock = ParkingClock(budget=5)
    out.start(clock=clock)  # the app runs again; nothing is pushed until it predicts
    try:
        assert clock.parked.wait(5.0), "the restarted output thread ended at its first tick"
        out.push([2.0])
    finally:
        out.stop()
    assert output_threads() == []


@pytest.mark.parametrize("hz", [0, -1.0, float("nan"), float("inf"), float("-inf")])
def test_rate_must_be_positive_and_finite(hz):
    with pytest.raises(ValueError, match=f"output 'out': hz must be a positive finite number, "
                                         f"got {hz}"):
        Output(FakeTransport(), hz=hz, name="out")


def test_a_valid_rate_is_kept_and_paces_the_sends():
    out = Output(FakeTransport(), hz=250)
    assert out.hz == 250.0 and isinstance(out.hz, float)
    clock = ParkingClock(budget=5)
    out.push([1.0])
    out.start(clock=clock)
    try:
        assert clock.parked.wait(5.0)
    finally:
        out.stop()
    assert len(clock.sleeps) == 5
    assert np.allclose(clock.sleeps, 1 / 250)  # one period of the given rate per tick


@pytest.mark.parametrize("mode", ["fixed_rate", None])  # None: auto, phase-locked here
def test_outputs_fall_silent_when_predicting_stops(mode):
    """A stimulator must not keep receiving the last command once predictions stop."""
    app = App("silence")
    app.streams(Stream("emg", SimulatedSource(channels=2, rate=500.0), window_ms=20))
    pipeline = Pipeline(app, predict_hz=100.0)
    pipeline.extract(lambda w: w["emg"].mean(axis=1))
    pipeline.use_model(FakeModel)
    transport = FakeTransport()
    out = Output(transport, hz=100.0, channels=["a", "b"], mode=mode)
    pipeline.outputs.append(out)
    model = FakeModel()
    model.fit(TrainingData(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]), ("a", "b")),
              TrainingJob())
    pipeline.model = model
    app.start()
    try:
        assert wait_for(lambda: pipeline.refusal() is None and len(
            app.ctx.streams["emg"].get_window()[1]) >= 10)
        pipeline.start_predicting()
        assert wait_for(lambda: len(transport.sent) > 5)
        pipeline.stop_predicting()

        def silent_for(ticks: int) -> bool:
            """The predict thread and a fixed-rate output thread ticked `ticks` times without
            the output sending anything."""
            def ticked():
                return (pipeline.health.ticks >= loops[0] + ticks
                        and (mode is None or out.health.ticks >= loops[1] + ticks))

            sent, loops = len(transport.sent), (pipeline.health.ticks, out.health.ticks)
            wait_for(ticked, timeout=10)
            return ticked() and len(transport.sent) == sent

        assert out.health.mode == (mode or "on_prediction")
        # The next predict tick withdraws the value; from then on the output is silent.
        assert wait_for(lambda: silent_for(3), timeout=10), "the output kept sending"
        assert silent_for(20)
    finally:
        app.shutdown()
