"""Output modes: on_prediction sends each pushed value once, as it comes, never faster than hz,
latest wins under bursts; fixed_rate resends on its own grid; auto picks by the predict rate."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop.adapters.fakes import FakeClock, FakeTransport
from hexloop.application import Output
from hexloop.application.output_modes import resolve_mode
from hexloop.domain.pipeline import Prediction
from hexloop.domain.send_pacing import SendPacer
from tests.helpers import ParkingClock, wait_for

pytestmark = pytest.mark.timeout(30)

HZ = 64.0
PERIOD = 1 / HZ


def prediction(k: int, t: float) -> Prediction:
    return Prediction({"x": float(k)}, k, t, 0.0)


def sent_values(transport) -> list[float]:
    return [float(sample[0]) for sample, _ in list(transport.sent)]


def started(mode="on_prediction", clock=None, transport=None, hz=HZ):
    transport = transport or FakeTransport()
    out = Output(transport, hz=hz, channels=["x"], mode=mode)
    out.start(clock or FakeClock())
    return out, transport


def test_each_pushed_prediction_is_sent_exactly_once_with_its_input_time():
    clock = FakeClock()
    out, transport = started(clock=clock)
    try:
        for k in range(30):
            clock.advance(PERIOD)
            out.push(prediction(k, clock.now()))
            assert wait_for(lambda k=k: len(transport.sent) == k + 1), f"prediction {k} not sent"
        out.push({"x": -1.0})  # a last value: anything resent before it would show
        assert wait_for(lambda: len(transport.sent) == 31)
    finally:
        out.stop()
    assert sent_values(transport) == [*map(float, range(30)), -1.0]
    health = out.health
    assert health.mode == "on_prediction" and health.sent == 31 and health.skipped == 0


def test_a_burst_is_paced_under_hz_and_the_latest_value_wins():
    clock = FakeClock()
    out, transport = started(clock=clock)
    try:
        for k in range(2000):
            out.push({"x": float(k)})
        assert wait_for(lambda: sent_values(transport)[-1:] == [1999.0])
    finally:
        out.stop()
    values = sent_values(transport)
    assert values == sorted(set(values))  # never twice, never an older one after a newer one
    assert len(values) < 2000 and out.health.skipped == 2000 - len(values)
    times = np.array([stamp for _, stamp in transport.sent])  # mappings go with the send time
    assert np.all(np.diff(times) >= SendPacer.SPACING * PERIOD - 1e-12)
    for i in range(len(times)):  # in any span, at most hz * span + 1.5 sends
        span = times[i:] - times[i]
        assert np.all(np.arange(1, span.size + 1) <= HZ * span + SendPacer.DEPTH + 1e-9)


def test_withdrawing_sends_nothing_and_on_sent_sees_every_send():
    clock = FakeClock()
    seen = []
    out, transport = started(clock=clock)
    out.on_sent = lambda output, sample, stamp: seen.append(float(sample[0]))
    try:
        out.push({"x": 1.0})
        assert wait_for(lambda: len(transport.sent) == 1)
        out.push(None)
        clock.advance(PERIOD)
        out.push({"x": 2.0})
        assert wait_for(lambda: len(transport.sent) == 2)
    finally:
        out.stop()
    assert seen == sent_values(transport) == [1.0, 2.0]


def test_a_blocked_send_shows_in_health_in_on_prediction_mode():
    gate, clock = threading.Event(), FakeClock()

    class Hanging(FakeTransport):
        def send(self, sample, timestamp):
            gate.wait(10.0)
            super().send(sample, timestamp)

    out, transport = started(clock=clock, transport=Hanging())
    try:
        out.push({"x": 1.0})
        assert wait_for(lambda: out._calls._started is not None and transport.opened)
        clock.advance(3 * PERIOD)
        assert out.health.blocked_sends == 1 and out.health.busy_s >= 3 * PERIOD
        gate.set()
        assert wait_for(lambda: len(transport.sent) == 1)
    finally:
        gate.set()
        out.stop()


def test_fixed_rate_resends_the_latest_value_on_its_own_grid():
    clock, transport = ParkingClock(budget=40), FakeTransport()
    out = Output(transport, hz=HZ, channels=["x"], mode="fixed_rate")
    out.push({"x": 7.0})
    out.start(clock)
    try:
        assert wait_for(clock.parked.is_set)
    finally:
        out.stop()
    assert set(sent_values(transport)) == {7.0} and len(transport.sent) > 10
    assert out.health.mode == "fixed_rate"


@pytest.mark.parametrize(("mode", "hz", "predict_hz", "expected"), [
    ("auto", 50.0, 50.0, "on_prediction"), ("auto", 100.0, 50.0, "on_prediction"),
    ("auto", 20.0, 50.0, "fixed_rate"), ("auto", 50.0, None, "fixed_rate"),
    ("fixed_rate", 50.0, 50.0, "fixed_rate"), ("on_prediction", 10.0, 50.0, "on_prediction"),
])
def test_auto_phase_locks_when_the_output_keeps_up_with_the_predictions(mode, hz, predict_hz,
                                                                        expected):
    assert resolve_mode(mode, hz, predict_hz) == expected
    out = Output(FakeTransport(), hz=hz, mode=None if mode == "auto" else mode)
    out.predict_hz = predict_hz
    assert out.running_mode == expected


def test_an_unknown_mode_is_refused_naming_the_modes():
    with pytest.raises(ValueError, match="mode must be one of 'on_prediction', 'fixed_rate'"):
        Output(FakeTransport(), mode="phase")


def simulate(pushes: list[float], hz: float) -> list[tuple[float, float]]:
    """(push time, send time) of what a sender that sends when the pacer allows delivers."""
    pacer, sends, i = SendPacer(hz), [], 0
    now = 0.0
    while i < len(pushes):
        now = max(now, pushes[i])
        at = pacer.earliest(now)
        while i + 1 < len(pushes) and pushes[i + 1] <= at:  # overwritten while waiting
            i += 1
        pacer.sent(at)
        sends.append((pushes[i], at))
        now, i = at, i + 1
    return sends


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 2.0), min_size=1, max_size=60), st.sampled_from([50.0, 1000.0]))
def test_pacing_never_exceeds_hz_whatever_the_pushes(pushes, hz):
    times = np.array([at for _, at in simulate(sorted(pushes), hz)])
    assert np.all(np.diff(times) >= SendPacer.SPACING / hz - 1e-9)
    for i in range(times.size):
        span = times[i:] - times[i]
        assert np.all(np.arange(1, span.size + 1) <= hz * span + SendPacer.DEPTH + 1e-6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 0.49), min_size=2, max_size=60))
def test_predictions_on_the_grid_go_out_when_pushed_at_any_lateness_under_half_a_period(late):
    hz = 50.0
    pushes = [(k + f) / hz for k, f in enumerate(late)]
    assert [at for _, at in simulate(pushes, hz)] == pushes  # no ratchet onto a late phase


def test_a_pipeline_s_outputs_send_each_prediction_once_in_push_order_by_default():
    from hexloop.adapters.fakes import FakeModel
    from hexloop.adapters.simulated import SimulatedSource
    from hexloop.application import App, Pipeline, Stream
    from hexloop.domain.pipeline import TrainingData, TrainingJob

    class Recorded(Output):
        """Notes which objects were pushed and which were sent (by identity)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.pushed, self.sent_values = [], []

        def push(self, value):
            if isinstance(value, Prediction):
                self.pushed.append(value)
            super().push(value)

        def _send(self, value):
            self.sent_values.append(value)
            super()._send(value)

    app = App("locked")
    app.streams(Stream("emg", SimulatedSource(channels=2, rate=500.0), window_ms=20))
    pipeline = Pipeline(app, predict_hz=100.0)
    pipeline.extract(lambda w: w["emg"].mean(axis=1))
    pipeline.use_model(FakeModel)
    model = FakeModel()
    model.fit(TrainingData(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]), ("a", "b")),
              TrainingJob())
    pipeline.model = model
    out = Recorded(FakeTransport(), hz=100.0, channels=["a", "b"])
    pipeline.outputs.append(out)
    app.start()
    try:
        assert out.running_mode == "on_prediction"
        assert wait_for(lambda: pipeline.refusal() is None and len(
            app.ctx.streams["emg"].get_window()[1]) >= 10)
        pipeline.start_predicting()
        assert wait_for(lambda: len(out.sent_values) >= 20)
        pipeline.stop_predicting()
    finally:
        app.shutdown()
    sent = [id(v) for v in out.sent_values]
    order = {id(p): i for i, p in enumerate(out.pushed)}
    assert len(set(sent)) == len(sent)  # never resent
    assert all(s in order for s in sent)  # only predictions that were pushed
    assert [order[s] for s in sent] == sorted(order[s] for s in sent)  # in push order


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0])),
                min_size=1, max_size=12))
def test_any_interleaving_of_pushes_and_time_sends_in_order_once_and_ends_on_the_latest(ops):
    """Bursts of pushes (one instant) and clock steps in any order: never a value twice, never
    an older after a newer, never over hz, and the latest value always goes out."""
    clock = FakeClock()
    out, transport = started(clock=clock)
    k = 0
    try:
        for burst, step in ops:
            for _ in range(burst):
                k += 1
                out.push({"x": float(k)})
            assert wait_for(lambda k=k: sent_values(transport)[-1:] == [float(k)]), k
            clock.advance(step * PERIOD)
    finally:
        out.stop()
    values = sent_values(transport)
    assert values == sorted(set(values)) and values[-1] == k
    times = np.array([stamp for _, stamp in transport.sent])
    assert np.all(np.diff(times) >= SendPacer.SPACING * PERIOD - 1e-12)


def test_a_stopped_on_prediction_output_restarts_waiting_for_a_new_value():
    clock = FakeClock()
    out, transport = started(clock=clock)
    out.push({"x": 1.0})
    assert wait_for(lambda: len(transport.sent) == 1)
    out.stop()
    assert transport.closed
    out.start(clock)
    try:
        clock.advance(PERIOD)
        out.push({"x": 2.0})
        assert wait_for(lambda: len(transport.sent) == 2)
    finally:
        out.stop()
    assert sent_values(transport) == [1.0, 2.0]  # the value from before the stop is not resent
