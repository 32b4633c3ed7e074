"""The window's panels in a pure ImGui context (no window, no GPU): what they enable, refuse and
start, how the signal viewer bounds its drawing cost, and that a failing panel is contained."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from imgui_bundle import imgui, implot  # noqa: E402

from hexloop.adapters.fakes import (  # noqa: E402
    FakeConditioner,
    FakeModel,
    FakeSource,
    FakeStore,
)
from hexloop.adapters.imgui import (  # noqa: E402
    ImGuiRenderer,
    call_guarded,
    default_ini_path,
    drawing,
    gui_state,
    panels,
    parse_channels,
)
from hexloop.adapters.simulated import SimulatedSource  # noqa: E402
from hexloop.application import App, HeadlessRenderer, Pipeline, Stream  # noqa: E402
from hexloop.domain import features  # noqa: E402
from hexloop.domain.display import DisplaySnapshot  # noqa: E402
from hexloop.domain.state import State  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402
from tests.helpers import wait_for  # noqa: E402

pytestmark = pytest.mark.timeout(30)

CLASSES = ("rest", "fist")


# --- an ImGui context without a window ------------------------------------------------------
class Frames:
    """Runs frames of a pure ImGui + ImPlot context; each panel gets its own window."""

    def __init__(self):
        self.io = imgui.get_io()
        self.rect = None

    def __call__(self, ctx, *fns, size=(900, 700)):
        self.io.delta_time = 1 / 60
        imgui.new_frame()
        for i, fn in enumerate(fns):
            imgui.set_next_window_pos((0, 0))
            imgui.set_next_window_size(size)
            imgui.begin(f"panel {i}")
            fn(ctx)
            imgui.end()
        imgui.render()
        return imgui.get_draw_data()


@pytest.fixture
def frames():
    context = imgui.create_context()
    plot_context = implot.create_context()
    io = imgui.get_io()
    io.set_ini_filename(None)  # never write imgui.ini into the working directory
    io.display_size = (1280, 800)
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
    try:
        yield Frames()
    finally:
        implot.destroy_context(plot_context)
        imgui.destroy_context(context)


class Buttons:
    """Stands in for panels.refusable_button: records each button's refusal, presses on demand."""

    def __init__(self, real):
        self.real = real
        self.refusals: dict[str, str | None] = {}
        self.pressed: set[str] = set()

    def press(self, label: str) -> None:
        self.pressed.add(label)

    def __call__(self, label: str, refusal: str | None) -> bool:
        self.real(label, refusal)  # still drawn, so the frame is the real one
        self.refusals[label] = refusal
        if label in self.pressed:
            self.pressed.discard(label)
            assert refusal is None, f"pressed {label!r}, which is disabled: {refusal}"
            return True
        return False


@pytest.fixture
def buttons(monkeypatch):
    recorder = Buttons(panels.refusable_button)
    monkeypatch.setattr(panels, "refusable_button", recorder)
    return recorder


# --- apps -----------------------------------------------------------------------------------
class SlowStore(FakeStore):
    """A FakeStore whose sessions take until `release` is set to close (packing a big file)."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.release.set()

    def open_session(self, meta):
        recording = super().open_session(meta)
        close = recording.close

        def slow_close():
            self.release.wait(10)
            return close()

        recording.close = slow_close
        return recording


def rms(windows):
    return features.rms(windows["emg"])


@pytest.fixture
def app():
    source = SimulatedSource("emg", channels=4, rate=500.0, class_names=CLASSES)
    app = App("paneltest", store=SlowStore(), class_names=CLASSES)
    app.streams(Stream("emg", source, window_ms=100, buffer_ms=2000))
    pipeline = Pipeline(app, predict_hz=50.0)
    pipeline.extract(rms)
    pipeline.use_model(FakeModel)
    app.source = source
    app.start()
    try:
        assert wait_for(lambda: app.recording_refusal() is None, 5), app.recording_refusal()
        yield app
    finally:
        app.store.release.set()
        app.shutdown()


def recorded(app, stream="emg") -> int:
    """Samples of `stream` in the recording running now (0 when none runs)."""
    recording = app.ctx.recording
    return len(recording.data(stream)[1]) if recording is not None else 0


def wait_recorded(app, samples, stream="emg") -> None:
    """Wait until `samples` more samples of `stream` are in the running recording."""
    target = recorded(app, stream) + samples
    assert wait_for(lambda: recorded(app, stream) >= target, 10), (recorded(app, stream), target)


def record_two_classes(app, frames, buttons, seconds=0.4):
    buttons.press("Record")
    frames(app.ctx, panels.recording_panel)
    for k, name in enumerate(CLASSES):
        app.source.set_class(k)
        buttons.press(name)
        frames(app.ctx, panels.recording_panel)
        wait_recorded(app, int(seconds * 500))  # the emg stream runs at 500 Hz
    buttons.press("Stop")
    frames(app.ctx, panels.recording_panel)
    assert wait_for(lambda: app.ctx.last_summary is not None, 5)


# --- buttons --------------------------------------------------------------------------------
def test_a_refused_button_cannot_be_clicked_and_says_why(frames, monkeypatch):
    tips = []
    monkeypatch.setattr(panels.imgui, "set_tooltip", tips.append)
    io = frames.io
    results = {}

    def draw(refusal):
        def panel(_ctx):
            results["clicked"] = panels.refusable_button("Go", refusal)
            frames.rect = (imgui.get_item_rect_min(), imgui.get_item_rect_max())
        return panel

    for refusal in (None, "stop the recording first"):
        tips.clear()
        frames(None, draw(refusal))
        lo, hi = frames.rect
        io.add_mouse_pos_event((lo.x + hi.x) / 2, (lo.y + hi.y) / 2)
        frames(None, draw(refusal))
        io.add_mouse_button_event(0, True)
        frames(None, draw(refusal))
        io.add_mouse_button_event(0, False)
        frames(None, draw(refusal))
        if refusal is None:
            assert results["clicked"] is True
            assert tips == []
        else:
            assert results["clicked"] is False
            assert refusal in tips
        io.add_mouse_pos_event(-1, -1)
        frames(None, draw(refusal))


def test_buttons_start_disabled_with_the_reason(app, frames, buttons):
    frames(app.ctx, panels.recording_panel, panels.pipeline_panel)
    r = buttons.refusals
    assert r["Record"] is None
    assert "press Record first" in r["rest"] and "press Record first" in r["fist"]
    assert "no recording yet" in r["Train"]
    assert "nothing is training" in r["Cancel"]
    assert "no model yet" in r["Start predicting"]
    assert "nothing is running" in r["Stop predicting"]
    assert "no model to save" in r["Save"]


def test_record_needs_a_store(frames, buttons):
    app = App("nostore", class_names=CLASSES)
    frames(app.ctx, panels.recording_panel)
    assert "no store configured" in buttons.refusals["Record"]


def test_record_mark_and_stop_without_freezing_the_frame(app, frames, buttons):
    ctx = app.ctx
    buttons.press("Record")
    frames(ctx, panels.recording_panel)
    assert ctx.state is State.RECORDING
    buttons.press("fist")
    frames(ctx, panels.recording_panel)
    assert [e.class_index for e in ctx.labels.events] == [1]
    wait_recorded(app, 100)

    app.store.release.clear()  # closing the session now takes until released
    buttons.press("Stop")
    frames(ctx, panels.recording_panel)
    # Had the frame waited for the session to close, the close would be over by now.
    assert ctx.state is State.RECORDING and not app.store.release.is_set()
    frames(ctx, panels.recording_panel)
    assert buttons.refusals["Stop"] == "saving the recording..."
    assert buttons.refusals["rest"] == "saving the recording..."

    app.store.release.set()
    assert wait_for(lambda: ctx.state is State.IDLE, 5)
    frames(ctx, panels.recording_panel)
    assert buttons.refusals["Record"] is None
    summary = ctx.last_summary
    assert summary.labels == 1 and summary.samples["emg"] > 0
    assert app.store.read(summary.location).labels.events[0].class_index == 1


def test_train_on_the_last_recording_then_predict_save_and_load(app, frames, buttons, tmp_path):
    ctx = app.ctx
    pipeline = ctx.pipelines[0]
    record_two_classes(app, frames, buttons)

    frames(ctx, panels.pipeline_panel)
    assert buttons.refusals["Train"] is None
    buttons.press("Train")
    frames(ctx, panels.pipeline_panel)
    assert wait_for(lambda: pipeline.model is not None and ctx.state is State.IDLE, 10)
    assert pipeline.model.output_names == CLASSES

    frames(ctx, panels.pipeline_panel)
    buttons.press("Start predicting")
    frames(ctx, panels.pipeline_panel, panels.predictions_panel)
    assert ctx.state is State.PREDICTING
    assert wait_for(lambda: pipeline.predictions.count >= 5, 5)
    frames(ctx, panels.pipeline_panel, panels.predictions_panel)
    assert "already predicting" in buttons.refusals["Start predicting"]
    buttons.press("Stop predicting")
    frames(ctx, panels.pipeline_panel)
    assert ctx.state is State.IDLE

    path = tmp_path / "model.json"
    gui_state(ctx).model_paths[pipeline.name] = str(path)
    frames(ctx, panels.pipeline_panel)
    assert "no file at" in buttons.refusals["Load"]
    buttons.press("Save")
    frames(ctx, panels.pipeline_panel)
    assert wait_for(path.exists, 5)
    assert wait_for(lambda: not gui_state(ctx).tasks.busy(f"model-{pipeline.name}"), 5)
    frames(ctx, panels.pipeline_panel)
    assert "Overwrite" in buttons.refusals  # an existing file is not replaced silently
    trained = pipeline.model
    buttons.press("Load")
    frames(ctx, panels.pipeline_panel)
    assert wait_for(lambda: pipeline.model is not trained, 5)
    assert pipeline.model.output_names == CLASSES


def test_cancel_stops_a_training_run_and_keeps_the_previous_model(app, frames, buttons):
    ctx = app.ctx
    pipeline = ctx.pipelines[0]
    record_two_classes(app, frames, buttons, seconds=0.2)
    previous = pipeline.model = object()
    running = threading.Event()

    @pipeline.train
    def slow(data, job):
        for epoch in range(1, 1000):
            job.report(epoch=epoch, epochs=1000, loss=1.0 / epoch)
            running.set()
            job.raise_if_cancelled()
            time.sleep(0.01)
        return FakeModel()

    buttons.press("Train")
    frames(ctx, panels.pipeline_panel)
    assert running.wait(5)
    frames(ctx, panels.pipeline_panel)
    assert ctx.state is State.TRAINING
    assert buttons.refusals["Cancel"] is None
    assert "already training" in buttons.refusals["Train"]
    assert buttons.refusals["Load"] == "wait for training to finish"
    buttons.press("Cancel")
    frames(ctx, panels.pipeline_panel)
    assert wait_for(lambda: ctx.state is State.IDLE, 5)
    assert pipeline.model is previous
    frames(ctx, panels.pipeline_panel)
    assert buttons.refusals["Cancel"] == "nothing is training"
    assert "cancelled" in pipeline.progress.message


def test_training_errors_are_shown_not_raised(app, frames, buttons):
    ctx = app.ctx
    buttons.press("Record")
    frames(ctx, panels.recording_panel)
    buttons.press("Stop")  # no labels: no training windows
    frames(ctx, panels.recording_panel)
    assert wait_for(lambda: ctx.last_summary is not None, 5)
    buttons.press("Train")
    frames(ctx, panels.pipeline_panel)
    assert wait_for(lambda: not gui_state(ctx).tasks.busy("train-pipeline"), 5)
    frames(ctx, panels.pipeline_panel)
    error = gui_state(ctx).tasks.errors["train-pipeline"]
    assert "labelled" in error or "label" in error
    assert ctx.state is State.IDLE
    assert any("label" in e.message for e in ctx.log.entries("error"))


class LeastSquares:
    def __init__(self, x, y):
        design = np.c_[x, np.ones(len(x))]
        self.weights = np.linalg.lstsq(design, y, rcond=None)[0]

    def __call__(self, features):
        return np.r_[features, 1.0] @ self.weights


def test_train_a_regression_on_a_target_stream(frames, buttons):
    emg = SimulatedSource("emg", channels=4, rate=500.0, class_names=CLASSES)
    force = SimulatedSource("force", channels=1, rate=100.0, class_names=CLASSES, seed=3)
    app = App("regression", store=FakeStore())
    app.streams(Stream("emg", emg, window_ms=100), Stream("force", force, window_ms=100))
    pipeline = Pipeline(app, predict_hz=50.0, streams=["emg"])
    pipeline.extract(rms)
    tasks = []

    @pipeline.train
    def fit(data, job):
        tasks.append(data.task)
        return LeastSquares(data.x, data.y)

    @pipeline.predict
    def predict(model, features):
        return {"force": float(np.ravel(model(features))[0])}

    app.start()
    try:
        assert wait_for(lambda: app.recording_refusal() is None, 5)
        frames(app.ctx, panels.pipeline_panel)
        assert "no classes to learn" in buttons.refusals["Train"]
        gui_state(app.ctx).train_targets[pipeline.name] = "force"
        frames(app.ctx, panels.pipeline_panel)
        assert "no recording yet: record force" in buttons.refusals["Train"]
        app.start_recording()
        wait_recorded(app, 300)  # 0.6 s of emg (and with it, of force)
        wait_recorded(app, 60, stream="force")
        app.stop_recording()
        buttons.press("Train")
        frames(app.ctx, panels.pipeline_panel)
        assert wait_for(lambda: pipeline.model is not None, 5), gui_state(app.ctx).tasks.errors
        assert tasks == ["regression"]
        assert wait_for(lambda: app.ctx.state is State.IDLE, 5)
        pipeline.start_predicting()
        assert wait_for(lambda: pipeline.predictions.count >= 5, 5)
        for _ in range(2):
            frames(app.ctx, panels.predictions_panel)  # values over time, not bars
        assert app.ctx.log.entries("error") == []
    finally:
        app.shutdown()


def test_every_panel_draws_a_live_app_without_errors(app, frames, buttons):
    record_two_classes(app, frames, buttons, seconds=0.2)
    all_panels = (panels.streams_panel, panels.recording_panel, panels.pipeline_panel,
                  panels.predictions_panel, panels.bridges_panel, panels.log_panel,
                  panels.status_bar, lambda c: panels.signal_viewer(c, "emg"))
    app.status_line()
    for _ in range(3):
        drawn = frames(app.ctx, *all_panels)
    assert drawn.total_vtx_count > 1000
    assert app.ctx.log.entries("error") == []


# --- bridges --------------------------------------------------------------------------------
class StubBridge:
    def __init__(self):
        self.name = "cam"
        self.started = threading.Event()
        self.status = type("Status", (), {"state": "crashed", "exit_code": 3, "detail": "",
                                          "stderr_tail": ("could not open camera 0",)})()

    def start(self):
        self.status.state = "running"
        self.started.set()

    def stop(self, timeout=5.0):
        self.status.state = "stopped"


def test_bridges_panel_restarts_a_crashed_bridge(frames, buttons):
    app = App("bridged")
    bridge = StubBridge()
    app.bridges(bridge)
    frames(app.ctx, panels.bridges_panel)
    assert buttons.refusals["Start"] is None
    assert buttons.refusals["Stop"] == "not running"
    buttons.press("Start")
    frames(app.ctx, panels.bridges_panel)
    assert bridge.started.wait(5)
    assert wait_for(lambda: not gui_state(app.ctx).tasks.busy("bridge-cam"), 5)
    frames(app.ctx, panels.bridges_panel)
    assert buttons.refusals["Start"] == "already running"
    assert buttons.refusals["Stop"] is None


# --- signal viewer --------------------------------------------------------------------------
class StubStream:
    """Serves a fixed min/max snapshot; has no ring buffer, so reading raw data would fail."""

    def __init__(self, channels: int, buckets: int = 600, buffer_ms: float = 5000.0):
        self.name = "big"
        self.info = StreamInfo("big", channels, 10240.0)
        self.buffer_ms = buffer_ms
        rng = np.random.default_rng(0)
        self.times = 100.0 + np.arange(buckets) * (buffer_ms / 1000 / buckets)
        self.mins = rng.normal(-1.0, 0.1, (channels, buckets)).astype(np.float32)
        self.maxs = self.mins + 2.0
        self.requests: list = []

    def display(self, channels):
        self.requests.append(channels)
        rows = slice(None) if channels is None else channels
        return DisplaySnapshot(self.times, self.mins[rows], self.maxs[rows])

    def get_window(self):
        raise AssertionError("the viewer must draw the display snapshot, not the ring buffer")


def _viewer_vertices(frames, channels: int) -> int:
    app = App("viewer")
    app.ctx.streams["big"] = StubStream(channels)
    gui_state(app.ctx).viewer("big").channels = list(range(channels))
    frames(app.ctx, lambda c: panels.signal_viewer(c, "big"), size=(1200, 800))
    drawn = frames(app.ctx, lambda c: panels.signal_viewer(c, "big"), size=(1200, 800))
    assert app.ctx.log.entries("error") == []
    return drawn.total_vtx_count


def test_viewer_cost_grows_slower_than_the_channel_count(frames):
    few, many = _viewer_vertices(frames, 100), _viewer_vertices(frames, 400)
    assert many < 2.5 * few, f"4x the channels drew {many / few:.1f}x the vertices"
    per_point = _viewer_vertices(frames, 8) / (8 * 600)  # few enough that every bucket is drawn
    assert many / per_point <= panels.POINT_BUDGET * 1.1


class GridStream(StubStream):
    """A StubStream whose newest window is noise, louder on higher channels."""

    window_ms = 200.0

    def get_window(self):
        rng = np.random.default_rng(1)
        gain = np.arange(1, self.info.channel_count + 1, dtype=np.float32)[:, None]
        return rng.normal(size=(self.info.channel_count, 400)).astype(np.float32) * gain, None


def test_the_heat_map_draws_hundreds_of_channels_for_a_fraction_of_the_traces(frames):
    app = App("viewer")
    app.ctx.streams["big"] = GridStream(408)
    settings = gui_state(app.ctx).viewer("big")
    settings.channels = list(range(408))
    settings.view = "heatmap"
    draw = lambda c: panels.signal_viewer(c, "big")  # noqa: E731
    frames(app.ctx, draw, size=(1200, 800))
    heat = frames(app.ctx, draw, size=(1200, 800)).total_vtx_count
    assert app.ctx.log.entries("error") == []
    assert 0 < settings.heat_scale <= 408 * 1.2  # the loudest channel's RMS, about 408
    assert heat * 10 < _viewer_vertices(frames, 408)


def test_viewer_shows_the_first_channels_then_the_chosen_ones(frames):
    app = App("viewer")
    stream = app.ctx.streams["big"] = StubStream(64)
    frames(app.ctx, lambda c: panels.signal_viewer(c, "big"))
    assert stream.requests[-1] == list(range(16))
    settings = gui_state(app.ctx).viewer("big")
    settings.channels = parse_channels("1-4, 60", 64)
    frames(app.ctx, lambda c: panels.signal_viewer(c, "big"))
    assert stream.requests[-1] == [0, 1, 2, 3, 59]
    settings.channels = list(range(64))
    frames(app.ctx, lambda c: panels.signal_viewer(c, "big"))
    assert stream.requests[-1] is None  # all channels: no per-channel copy


def test_viewer_autoscale_spaces_channels_by_their_span(frames):
    app = App("viewer")
    stream = app.ctx.streams["big"] = StubStream(8)
    settings = gui_state(app.ctx).viewer("big")
    draw = lambda c: panels.signal_viewer(c, "big")  # noqa: E731
    frames(app.ctx, draw)
    lo, hi = stream.mins.min(axis=1), stream.maxs.max(axis=1)
    np.testing.assert_allclose(settings.centers, (lo + hi) / 2, rtol=1e-6)
    spans = hi - lo
    assert np.percentile(spans, 90) <= settings.spacing <= 1.5 * spans.max()

    stream.maxs = stream.mins + 20.0  # louder: the spacing grows at once, no overlap
    frames(app.ctx, draw)
    assert settings.spacing >= 20.0
    loud = settings.spacing
    stream.maxs = stream.mins + 2.0  # quieter again: it shrinks gradually, without flicker
    frames(app.ctx, draw)
    assert 0.9 * loud < settings.spacing < loud
    settings.autoscale = False  # frozen while autoscale is off
    frozen = settings.spacing
    frames(app.ctx, draw)
    assert settings.spacing == frozen


def test_a_conditioned_streams_viewer_toggles_raw_and_conditioned(frames, monkeypatch):
    """The choice box of a stream with a chain switches the traces and the heat map between the
    conditioned samples (here all zero) and the raw ones (about 1000), titled with which."""
    rate, ch = 1000.0, 4
    rng = np.random.default_rng(0)
    played = [((1000.0 + rng.standard_normal((50, ch))).astype(np.float32),
               10.0 + (k * 50 + np.arange(50)) / rate) for k in range(20)]
    app = App("viewer")
    app.streams(Stream("emg", FakeSource(StreamInfo("emg", ch, rate), played), buffer_ms=1000,
                       conditioning=[{"type": "car"}],
                       conditioner_factory=lambda c, r, n: FakeConditioner(n, gain=0.0)))
    titles, scales, combos, picks = [], [], {}, []
    real_begin, real_combo, real_scale = implot.begin_plot, imgui.combo, implot.colormap_scale

    def begin_plot(title, *args):
        titles.append(title)
        return real_begin(title, *args)

    def combo(label, index, items, *args):
        combos[label] = list(items)
        if label == "##signal" and picks:  # the user picks this entry in this frame
            return True, items.index(picks.pop())
        return real_combo(label, index, items, *args)

    def colormap_scale(label, *args):
        scales.append(label)
        return real_scale(label, *args)

    monkeypatch.setattr(implot, "begin_plot", begin_plot)
    monkeypatch.setattr(implot, "colormap_scale", colormap_scale)
    monkeypatch.setattr(imgui, "combo", combo)
    draw = lambda c: panels.signal_viewer(c, "emg")  # noqa: E731
    settings = gui_state(app.ctx).viewer("emg")
    app.start()
    app.ctx.streams["plain"] = StubStream(4)  # a stream without a chain, never started
    try:
        stream = app.ctx.streams["emg"]
        assert wait_for(lambda: stream.health.samples == 1000, 5)
        frames(app.ctx, lambda c: panels.signal_viewer(c, "plain"))
        assert "##signal" not in combos and titles[-1] == "##plain"  # one version: no choice
        frames(app.ctx, draw)
        assert combos["##signal"] == ["conditioned", "raw"]
        assert titles[-1].startswith("conditioned: car##")
        assert np.abs(settings.centers).max() < 1e-3  # the conditioned samples
        picks.append("raw")
        frames(app.ctx, draw)
        assert settings.signal == "raw" and titles[-1].startswith("raw")
        assert np.all(np.abs(settings.centers - 1000.0) < 5.0)  # the raw samples, rescaled
        settings.view = "heatmap"
        frames(app.ctx, draw)
        assert titles[-1].startswith("raw") and scales[-1].startswith("peak-to-peak")
        assert 1.0 < settings.heat_scale < 20.0  # the raw noise's range, not its 1000 offset
        picks.append("conditioned")
        frames(app.ctx, draw)
        assert titles[-1].startswith("conditioned") and scales[-1].startswith("RMS")
        assert settings.heat_scale == 0.0  # zeros once conditioned
        assert app.ctx.log.entries("error") == []
    finally:
        app.ctx.streams.pop("plain")
        app.shutdown()


def test_viewer_waits_for_a_stream_to_connect(frames, monkeypatch):
    app = App("viewer")
    app.streams(Stream("late", SimulatedSource("late")))  # never started: never connects
    drawn, plots = [], []

    def recording(fn):
        def record(*args):
            drawn.append(args[-1])
            return fn(*args)
        return record

    for name in ("text", "text_disabled", "text_colored"):
        monkeypatch.setattr(panels.imgui, name, recording(getattr(imgui, name)))
    monkeypatch.setattr(panels.implot, "begin_plot", lambda *a, **k: plots.append(a) or False)
    frames(app.ctx, lambda c: panels.signal_viewer(c, "late"), panels.streams_panel)
    assert app.ctx.log.entries("error") == []
    assert "Waiting for late to connect..." in drawn  # says what it waits for
    assert plots == []  # and plots nothing yet
    row = drawn[drawn.index("late"):]  # the streams panel's row: connecting, no channel count
    assert row[1] == "connecting" and "-" in row[2:5], row


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 700), c=st.integers(1, 5), limit=st.integers(1, 300), seed=st.integers(0, 9))
def test_fold_buckets_keeps_extremes_and_the_newest_bucket(k, c, limit, seed):
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.uniform(0.001, 0.01, k))
    lows = rng.normal(size=(c, k)).astype(np.float32)
    highs = lows + rng.uniform(0, 1, size=(c, k)).astype(np.float32)
    t, lo, hi = panels.fold_buckets(times, lows, highs, limit)
    assert t.size <= max(limit, 1) and lo.shape == hi.shape == (c, t.size)
    assert t[-1] == times[-1]
    assert np.all(np.diff(t) > 0)
    kept = k - (k % -(-k // limit)) if k > limit else k
    np.testing.assert_array_equal(lo.min(axis=1), lows[:, k - kept:].min(axis=1))
    np.testing.assert_array_equal(hi.max(axis=1), highs[:, k - kept:].max(axis=1))
    assert np.all(lo <= hi)


# --- channel text ---------------------------------------------------------------------------
def test_parse_channels_reads_one_based_ranges():
    assert parse_channels("1-3, 8", 8) == [0, 1, 2, 7]
    assert parse_channels("6-", 8) == [5, 6, 7]
    assert parse_channels("2;2, 1", 4) == [0, 1]


@pytest.mark.parametrize("text, hint", [("0-3", "outside channels 1..8"), ("a-b", "e.g."),
                                        ("9", "outside"), ("", "no channels given")])
def test_parse_channels_says_what_to_write(text, hint):
    with pytest.raises(ValueError, match=hint):
        parse_channels(text, 8)


# --- containment ----------------------------------------------------------------------------
def test_a_failing_panel_is_logged_once_and_the_frame_goes_on(frames):
    app = App("broken")
    calls = []

    def broken(ctx):
        calls.append(1)
        imgui.begin("a window it never ends")
        imgui.push_id("an id it never pops")
        implot.begin_plot("a plot it never ends")
        raise ZeroDivisionError("bug in a user panel")

    def after(ctx):
        imgui.text("still drawing")

    results = []
    for _ in range(3):
        frames(app.ctx, lambda c: results.append(call_guarded(broken, c, "user")), after)
    assert results == [False, False, False]
    errors = app.ctx.log.entries("error")
    assert len(calls) == 3 and len(errors) == 1
    assert "bug in a user panel" in errors[0].message
    assert app.ctx.log.occurrences("gui user", "ZeroDivisionError: bug in a user panel") == 3


# --- settings -------------------------------------------------------------------------------
def test_layout_file_comes_from_the_argument_the_env_or_the_user_config(monkeypatch, tmp_path):
    monkeypatch.delenv("HEXLOOP_GUI_INI", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    default = default_ini_path("hexloop - EMG demo")
    if default.is_relative_to(tmp_path):  # Linux and other XDG platforms
        assert default == tmp_path / "cfg" / "hexloop" / "hexloop-emg-demo.ini"
    assert not default.is_relative_to(tmp_path / "cwd")
    monkeypatch.setenv("HEXLOOP_GUI_INI", str(tmp_path / "env.ini"))
    assert ImGuiRenderer().resolved_ini_path("x") == tmp_path / "env.ini"
    assert ImGuiRenderer(ini_path=tmp_path / "arg.ini").resolved_ini_path("x") == tmp_path / "arg.ini"
    assert ImGuiRenderer(ini_path=False).resolved_ini_path("x") is None
    monkeypatch.setenv("HEXLOOP_GUI_INI", "none")
    assert ImGuiRenderer().resolved_ini_path("x") is None


@pytest.mark.parametrize("kw", [{"size": (100, 800)}, {"size": (800,)}, {"size": ("wide", "tall")},
                                {"fps_max": -1}, {"msaa": -1}, {"msaa": 2.5}, {"msaa": 64}])
def test_renderer_refuses_bad_settings(kw):
    with pytest.raises(ValueError):
        ImGuiRenderer(**kw)


def test_the_window_asks_for_no_multisampling_unless_told(tmp_path):
    app = App("msaa")  # ImGui anti-aliases itself; under software GL each sample costs fill
    options = lambda r: r._runner_params(app).renderer_backend_options.open_gl_options  # noqa: E731
    assert options(ImGuiRenderer(ini_path=False)).anti_aliasing_samples == 0
    assert options(ImGuiRenderer(ini_path=False, msaa=4)).anti_aliasing_samples == 4


def test_an_unwritable_layout_folder_means_no_layout_file_not_no_window(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = App("layout")
    renderer = ImGuiRenderer(ini_path=blocker / "layout.ini")
    params = renderer._runner_params(app)
    assert params.ini_disable and renderer.ini_file is None
    assert "HEXLOOP_GUI_INI" in app.ctx.log.entries("warning")[0].message


@pytest.mark.parametrize("streams, tiled", [(3, True), (6, False)])
def test_signal_viewers_tile_for_a_few_streams_and_tab_for_many(streams, tiled, tmp_path):
    app = App("layout")
    app.streams(*(Stream(f"s{i}", SimulatedSource(f"s{i}")) for i in range(streams)))
    params = ImGuiRenderer(ini_path=tmp_path / "x.ini")._runner_params(app)
    spaces = [w.dock_space_name for w in params.docking_params.dockable_windows
              if w.label.startswith("Signals: ")]
    assert len(spaces) == streams
    assert len(set(spaces)) == (streams if tiled else 1)
    declared = {s.new_dock for s in params.docking_params.docking_splits} | {"MainDockSpace"}
    assert set(spaces) <= declared


def test_drawing_tells_a_ui_function_whether_there_is_a_window(frames):
    seen = []
    frames(None, lambda _ctx: seen.append(drawing()))
    assert seen == [True]


def test_drawing_is_false_without_a_window_and_headless_never_calls_ui_functions():
    assert drawing() is False  # no ImGui context here: helpers can check before drawing
    app = App("headless")
    seen = []

    @app.ui
    def cue(ctx):
        seen.append(1)
        imgui.text("would crash the interpreter without a context")

    app.run(HeadlessRenderer(duration=0.2, interval=0, out=io.StringIO()))
    assert seen == []
