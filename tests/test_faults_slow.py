"""Fault matrix, slow parts (#11 item 5): a send that blocks, a predict slower than its period.

Each is counted in health (`Output.health`, `Pipeline.health`), shown in the status line and
warned about once in the app log with the figure; a blocked send never holds up predicting.
Time is fake wherever a figure is asserted: nothing here measures wall time.
"""

import re
import threading

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeClock, FakeSource, FakeTransport
from hexloop.application import App, Log, Output, Pipeline, Stream
from hexloop.domain.pacing import LoopHealth
from tests.helpers import started, wait_for

pytestmark = pytest.mark.timeout(30)

HZ = 64.0
PERIOD = 1 / HZ  # 15.625 ms; delays in quarters of a period keep the fake time exact


class ThrottledClock(FakeClock):
    """Fake time that moves only when slept on or advanced; each sleep also yields the CPU for
    a millisecond of real time, so a paced thread on it does not spin."""

    def sleep(self, seconds, interrupt=None):
        if super().sleep(seconds, interrupt):
            return True
        if interrupt is None:
            return False
        return interrupt.wait(0.001)


class GatedTransport(FakeTransport):
    """`slow` sends each take `periods` of fake time; the send after them blocks until `gate`."""

    def __init__(self, clock=None, periods=0.0, slow=0):
        super().__init__()
        self.clock, self.periods, self.slow = clock, periods, slow
        self.calls = 0
        self.gate = threading.Event()
        self.blocked = threading.Event()  # a send is waiting on the gate

    def send(self, sample, timestamp):
        self.calls += 1
        if self.calls > self.slow:
            self.blocked.set()
            self.gate.wait(20.0)
        elif self.clock is not None:
            self.clock.advance(self.periods * PERIOD)
        super().send(sample, timestamp)


def warnings(log, source):
    return [e.message for e in log.entries("warning") if e.source == source]


def test_a_send_blocked_right_now_is_counted_shown_and_warned_once():
    clock, log = ThrottledClock(start=0.0), Log()
    transport = GatedTransport()
    out = Output(transport, hz=HZ, channels=["x"], name="grid")
    out.push([1.0])
    out.start(clock=clock, log=log)
    try:
        assert transport.blocked.wait(5.0)
        assert out.health.blocked_sends == 0  # blocked, but not yet for a whole period
        clock.advance(3 * PERIOD)
        health = out.health
        assert (health.blocked_sends, health.late, health.busy_s) == (1, 1, 3 * PERIOD)
        assert health.summary() == "late 1, blocked 1, stuck 47 ms"
        clock.advance(61 * PERIOD)
        assert out.health.blocked_sends == 1  # the same send, still blocked: counted once
        assert out.health.summary() == "late 1, blocked 1, stuck 1.0 s"
        transport.gate.set()
        assert wait_for(lambda: out.sent >= 3)
    finally:
        transport.gate.set()
        out.stop()
    assert warnings(log, "output grid") == [
        "output 'grid' send has been blocked for 47 ms, longer than its 16 ms period; "
        "predictions are being sent late: check the receiver or the network, or lower the "
        "output's hz"]
    health = out.health
    assert (health.blocked_sends, health.max_duration_s, health.sent) == (1, 64 * PERIOD,
                                                                          out.sent)


def test_slow_sends_are_each_counted_and_warned_about_once_with_the_figure():
    clock, log = ThrottledClock(start=0.0), Log()
    transport = GatedTransport(clock, periods=2.5, slow=4)
    out = Output(transport, hz=HZ, channels=["x"], name="grid")
    out.push([1.0])
    out.start(clock=clock, log=log)
    try:
        assert transport.blocked.wait(5.0)  # four slow sends done, the fifth held
        health = out.health
    finally:
        transport.gate.set()
        out.stop()
    # each 2.5-period send overran (a late tick, a blocked send); the ticks ran on deadlines
    # 0, 2, 5, 7 and the held one on 10: the six deadlines in between were skipped, not burst
    assert (health.sent, health.blocked_sends, health.late, health.skipped) == (4, 4, 4, 6)
    assert health.last_duration_s == health.max_duration_s == 2.5 * PERIOD
    assert health.summary() == "late 4, skipped 6, blocked 4, max 39/16 ms"
    assert warnings(log, "output grid") == [
        "output 'grid' send took 39 ms, longer than its 16 ms period; predictions are being "
        "sent late: check the receiver or the network, or lower the output's hz"]
    sent_at = [t / PERIOD for _, t in transport.sent]
    assert sent_at[:5] == [0.0, 2.5, 5.0, 7.5, 10.0]  # half a period late or on time: no bursts


def predicting_app(clock, slow_ticks, periods, hz=HZ):
    """An app predicting from a steady fake stream; its first `slow_ticks` predictions take
    `periods` of fake time each."""
    app = App("slow", clock=clock)
    app.streams(Stream("emg", FakeSource.steady("emg", chunks=200), window_ms=100))
    pipeline = Pipeline(app, predict_hz=hz)
    pipeline.extract(lambda windows: windows["emg"].mean(axis=1))
    calls = []

    @pipeline.predict
    def predict(model, features):
        calls.append(1)
        if len(calls) <= slow_ticks:
            clock.advance(periods * PERIOD)
        return {"p": 0.5}

    pipeline.model = "model"
    return app, pipeline


def test_a_predict_slower_than_its_period_is_counted_shown_and_warned_once():
    clock = ThrottledClock(start=0.0)
    app, pipeline = predicting_app(clock, slow_ticks=3, periods=1.75)
    with started(app):
        assert wait_for(lambda: pipeline.refusal() is None)
        pipeline.start_predicting()
        assert wait_for(lambda: pipeline.predictions.count >= 10)
        health = pipeline.health
        line = app.status_line()
    assert health.overruns == 3 and health.max_duration_s == 1.75 * PERIOD
    # three slow ticks in a row, on deadlines 0, 1 (started 0.75 periods late) and 3 (half a
    # period late); deadlines 2 (too soon after the late tick) and 4 (passed) were skipped
    assert (health.late, health.skipped, health.max_lateness_s) == (3, 2, 0.75 * PERIOD)
    assert pipeline.late_ticks == 3
    assert f"pred/s ({health.summary()})" in line
    assert "late 3, skipped 2, overran 3, max 27/16 ms" in line
    assert warnings(app.ctx.log, "pipeline") == [
        "predict took 27 ms, longer than its 16 ms period at 64 Hz; predictions come late and "
        "ticks are skipped: lower predict_hz or simplify extract/model"]


def test_a_predict_that_hangs_is_visible_before_it_returns():
    clock = ThrottledClock(start=0.0)
    app, pipeline = predicting_app(clock, slow_ticks=0, periods=0)
    release, entered = threading.Event(), threading.Event()

    @pipeline.predict
    def predict(model, features):
        entered.set()
        release.wait(20.0)
        return {"p": 0.5}

    with started(app):
        assert wait_for(lambda: pipeline.refusal() is None)
        pipeline.start_predicting()
        assert entered.wait(5.0)
        clock.advance(2 * PERIOD)
        assert (pipeline.health.overruns, pipeline.health.busy_s) == (1, 2 * PERIOD)
        assert "stuck 31 ms" in app.status_line()
        release.set()
    assert warnings(app.ctx.log, "pipeline") == [
        "predict has been running for 31 ms, longer than its 16 ms period at 64 Hz; predictions "
        "come late and ticks are skipped: lower predict_hz or simplify extract/model"]


def test_a_blocked_send_does_not_hold_up_predicting_or_the_status_line():
    """The real clock: the output's send hangs; predictions go on and health says so."""
    app = App("blocked")
    app.streams(Stream("emg", FakeSource.steady("emg", chunks=200), window_ms=100))
    pipeline = Pipeline(app, predict_hz=200.0)
    pipeline.extract(lambda windows: windows["emg"].mean(axis=1))
    pipeline.predict(lambda model, features: {"p": float(np.mean(features))})
    pipeline.model = "model"
    transport = GatedTransport()
    out = Output(transport, hz=50.0, channels=["p"], name="grid")
    pipeline.outputs.append(out)
    try:
        with started(app):
            assert wait_for(lambda: pipeline.refusal() is None)
            pipeline.start_predicting()
            assert transport.blocked.wait(5.0)
            count = pipeline.predictions.count
            assert wait_for(lambda: pipeline.predictions.count >= count + 20)  # not stalled
            assert wait_for(lambda: out.health.blocked_sends >= 1)  # seen while it blocks
            assert re.search(r"\| out grid: late \d+, .*blocked \d+, stuck \d", app.status_line())
    finally:
        transport.gate.set()
    assert any(m.startswith("output 'grid' send has been blocked for ")
               for m in warnings(app.ctx.log, "output grid"))


@pytest.mark.parametrize("hz", [0, -1, float("inf"), float("nan")])
def test_a_predict_rate_the_loop_cannot_pace_is_refused_up_front(hz):
    """An infinite predict_hz used to pass, and app.start() then failed in the Ticker."""
    with pytest.raises(ValueError, match=f"predict_hz must be a positive finite number, got {hz}"):
        Pipeline(App("rates"), predict_hz=hz)


def test_health_before_the_loops_start_is_all_zero():
    app = App("idle")
    pipeline = Pipeline(app, predict_hz=50.0)
    out = Output(FakeTransport(), hz=20.0, name="grid")
    assert pipeline.health == LoopHealth(50.0) and pipeline.health.summary() == ""
    assert (out.health.blocked_sends, out.health.sent, out.health.hz) == (0, 0, 20.0)
    assert app.status_line() == "idle | 0.0 pred/s"


def test_the_pipeline_panel_shows_slow_loops_in_red(monkeypatch):
    pytest.importorskip("imgui_bundle")
    from imgui_bundle import imgui

    from hexloop.adapters.imgui import panels

    clock, log = ThrottledClock(start=0.0), Log()
    app = App("panel", clock=clock, log=log)
    pipeline = Pipeline(app, predict_hz=HZ)
    transport = GatedTransport()
    out = Output(transport, hz=HZ, channels=["x"], name="grid")
    pipeline.outputs.append(out)
    out.push([1.0])
    out.start(clock=clock, log=log)
    shown = []
    context = imgui.create_context()
    try:
        assert transport.blocked.wait(5.0)
        clock.advance(2 * PERIOD)
        io = imgui.get_io()
        io.set_ini_filename(None)
        io.display_size = (900, 700)
        io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
        real = panels.imgui.text_colored
        monkeypatch.setattr(panels.imgui, "text_colored",
                            lambda color, text: (shown.append(text), real(color, text)))
        imgui.new_frame()
        imgui.begin("pipeline")
        panels.pipeline_panel(app.ctx)
        imgui.end()
        imgui.render()
    finally:
        imgui.destroy_context(context)
        transport.gate.set()
        out.stop()
    assert "output grid: late 1, blocked 1, stuck 31 ms" in shown
    assert not any(text.startswith("predict:") for text in shown)  # the predict loop keeps up
