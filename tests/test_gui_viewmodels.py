"""The panels' view-models without ImGui (no context, no window): what each panel shows, which
buttons are enabled and, when not, why; stream anomalies and loop health in the right tone;
what a click does; and the viewer's traces and RMS heat map within their drawing budget."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("imgui_bundle")  # the package's __init__ needs it; nothing here draws

from hexloop.adapters.imgui.state import GuiState, ViewerSettings  # noqa: E402
from hexloop.adapters.imgui.viewmodels import bridges as vb  # noqa: E402
from hexloop.adapters.imgui.viewmodels import log as vl  # noqa: E402
from hexloop.adapters.imgui.viewmodels import pipeline as vp  # noqa: E402
from hexloop.adapters.imgui.viewmodels import predictions as vpr  # noqa: E402
from hexloop.adapters.imgui.viewmodels import recording as vr  # noqa: E402
from hexloop.adapters.imgui.viewmodels import streams as vs  # noqa: E402
from hexloop.adapters.imgui.viewmodels import viewer as vv  # noqa: E402
from hexloop.application import StreamHealth, StreamStatus  # noqa: E402
from hexloop.application.output import OutputHealth  # noqa: E402
from hexloop.domain.pacing import LoopHealth  # noqa: E402
from hexloop.domain.state import State, StateMachine  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402


def test_view_models_never_import_imgui():
    import ast
    from pathlib import Path

    folder = Path(vv.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any("imgui" in name for name in names), f"{path.name} imports {names}"


# --- fakes ------------------------------------------------------------------------------------
class Tasks:
    """state.Tasks without threads: `running` names are busy."""

    def __init__(self, *running: str):
        self.running = set(running)
        self.errors: dict[str, str] = {}
        self.started: list[str] = []

    def busy(self, name: str) -> bool:
        return name in self.running

    def start(self, name, fn, log=None, source="gui") -> bool:
        self.started.append(name)
        fn()
        return True


class Log:
    def __init__(self):
        self.lines: list[tuple[str, str, str]] = []

    def error(self, source, message):
        self.lines.append(("error", source, message))

    def info(self, source, message):
        self.lines.append(("info", source, message))


def state(*running: str) -> GuiState:
    return GuiState(tasks=Tasks(*running))


# --- streams ----------------------------------------------------------------------------------
def health(status=StreamStatus.STREAMING, error=None, lost=0, rejected=0, **counts):
    return StreamHealth(status, 0.01, 100.0, 500, rejected, lost, 0, error, **counts)


def stream(h, channels=2, connected=True):
    return SimpleNamespace(health=h, info=StreamInfo("s", channels, 100.0) if connected else None)


def test_a_refused_stream_is_red_with_the_reason_as_tooltip():
    reason = "StreamRefusedError: expected 2 ch float32 at 100.0 Hz, got 3 ch"
    (row,) = vs.streams_view({"emg": stream(health(StreamStatus.REFUSED, reason))})
    assert (row.status.text, row.status.tone, row.status.tooltip) == ("refused", "red", reason)


def test_kept_anomalies_are_counted_in_orange_and_explained():
    (row,) = vs.streams_view({"emg": stream(health(clock_jumps=2, non_finite=5, clipped=3))})
    assert row.anomalies.text == "2 J 5 NaN 3 clip" and row.anomalies.tone == "orange"
    assert "clock jumps" in row.anomalies.tooltip and "clipped" in row.anomalies.tooltip
    (quiet,) = vs.streams_view({"eeg": stream(health())})
    assert quiet.anomalies.text == "0" and quiet.anomalies.tone == "normal"
    assert [c.text for c in quiet.cells][:4] == ["eeg", "streaming", "100 / 100", "2"]


def test_lost_and_rejected_counts_say_why():
    (row,) = vs.streams_view({"emg": stream(health(lost=7, rejected=2, error="bad chunk"))})
    assert (row.lost.text, row.lost.tone) == ("7", "orange") and "gaps" in row.lost.tooltip
    assert (row.rejected.text, row.rejected.tone, row.rejected.tooltip) == ("2", "red", "bad chunk")


def test_a_connecting_stream_has_no_channel_count_or_age_yet():
    h = StreamHealth(StreamStatus.CONNECTING, float("inf"), 0.0, 0, 0, 0, 0, None)
    (row,) = vs.streams_view({"late": stream(h, connected=False)})
    assert (row.status.text, row.status.tone) == ("connecting", "blue")
    assert row.channels.text == "-" and row.newest.text == "-"


# --- recording --------------------------------------------------------------------------------
def recording_ctx(refusal=None, recording=None, classes=("rest", "fist"), machine=None):
    app = SimpleNamespace(recording_refusal=lambda: refusal, class_names=classes,
                          clock=SimpleNamespace(now=lambda: 5.0), started=[], marked=[])
    app.start_recording = lambda slug="": app.started.append(slug)
    app.mark = app.marked.append
    app.stop_recording = lambda: None
    return SimpleNamespace(app=app, recording=recording, recording_started=None, labels=None,
                           last_summary=None, machine=machine or StateMachine(), log=Log())


def test_idle_record_enabled_cues_and_stop_refused_with_reasons():
    view = vr.recording_view(recording_ctx(), state())
    assert view.idle and view.record.enabled
    assert [b.label for b in view.classes] == ["rest", "fist"]
    assert all("press Record first" in b.refusal for b in view.classes)
    assert view.stop.refusal  # nothing to stop


def test_record_refused_says_why():
    view = vr.recording_view(recording_ctx(refusal="no store configured: give App(store=...)"),
                             state())
    assert view.record.refusal.startswith("no store configured")


def test_while_recording_stop_and_cues_are_enabled_and_time_runs():
    ctx = recording_ctx(recording=SimpleNamespace(location="/data/s01"))
    ctx.recording_started = 100.0
    ctx.labels = SimpleNamespace(events=[SimpleNamespace(class_index=1)],
                                 counts=lambda now: {"rest": 0, "fist": 1})
    view = vr.recording_view(ctx, state(), now=163.0)
    assert not view.idle and view.stop.enabled and all(b.enabled for b in view.classes)
    assert view.elapsed == "1:03" and view.active_class == 1
    assert view.trials == "trials: rest 0, fist 1" and view.destination == "/data/s01"


def test_while_the_session_is_saved_stop_and_cues_wait():
    ctx = recording_ctx(recording=SimpleNamespace(location="/data/s01"))
    view = vr.recording_view(ctx, state("stop-recording"))
    assert view.saving and view.stop.refusal == vr.SAVING
    assert all(b.refusal == vr.SAVING for b in view.classes)


def test_recording_intents_are_carried_out_and_failures_shown():
    ctx, st = recording_ctx(), state()
    vr.apply_recording(ctx, st, vr.EditSlug("s01"))
    vr.apply_recording(ctx, st, vr.StartRecording(" s01 "))
    vr.apply_recording(ctx, st, vr.Mark("fist"))
    assert st.slug == "s01" and ctx.app.started == ["s01"] and ctx.app.marked == ["fist"]

    def refuse(slug=""):
        raise RuntimeError("disk full")

    ctx.app.start_recording = refuse
    vr.apply_recording(ctx, st, vr.StartRecording(""))
    assert st.messages["recording"] == "disk full"
    assert "disk full" in ctx.log.lines[-1][2]
    assert vr.recording_view(ctx, st).message.text == "disk full"
    vr.apply_recording(ctx, st, vr.StopRecording())
    assert st.tasks.started == ["stop-recording"]  # on a worker thread, never in the frame


# --- pipeline ---------------------------------------------------------------------------------
class Pipeline:
    def __init__(self, name="pipeline", model=None, streams=None, health=None, outputs=()):
        self.name, self.model, self.stream_names = name, model, streams
        self.health, self.outputs = health, outputs
        self.progress = None
        self.predict_hz, self.errors = 50.0, 0
        self.predictions = SimpleNamespace(count=10, rate=lambda: 49.5)
        self.calls: list[str] = []

    def wait_training(self, timeout):
        return True

    def refusal(self):
        return None if self.model is not None else "no model yet: train or load one"

    def start_predicting(self):
        raise RuntimeError("no windows")

    def stop_predicting(self):
        self.calls.append("stop")

    def cancel_training(self):
        self.calls.append("cancel")


def pipeline_ctx(pipeline, store=True, classes=("rest",), summary=None, streams=("emg",)):
    app = SimpleNamespace(name="demo app", store=object() if store else None,
                          class_names=classes)
    return SimpleNamespace(app=app, machine=StateMachine(), state=State.IDLE,
                           last_summary=summary, pipelines=[pipeline], log=Log(),
                           streams={name: None for name in streams})


def view_of(ctx, st=None, exists=lambda path: False):
    return vp.pipeline_view(ctx, st or state(), ctx.pipelines[0], exists=exists)


@pytest.mark.parametrize("store, classes, summary, busy, hint", [
    (True, ("rest",), None, (), "no recording yet: record labelled trials"),
    (False, ("rest",), None, (), "no store configured"),
    (True, (), None, (), "no classes to learn"),
    (True, ("rest",), SimpleNamespace(location="/s01"), ("train-pipeline",), vp.PREPARING),
])
def test_train_is_refused_with_the_reason(store, classes, summary, busy, hint):
    view = view_of(pipeline_ctx(Pipeline(), store, classes, summary), state(*busy))
    assert hint in view.train.refusal


def test_train_is_enabled_after_a_recording_and_names_it():
    view = view_of(pipeline_ctx(Pipeline(), summary=SimpleNamespace(location="/s01")))
    assert view.train.enabled and view.train.tooltip == "train on /s01"
    assert view.cancel.refusal == "nothing is training"
    assert "no model yet" in view.start.refusal and view.stop.refusal


def test_a_regression_target_comes_from_the_streams_the_pipeline_does_not_read():
    ctx = pipeline_ctx(Pipeline(streams=["emg"]), classes=(), streams=("emg", "force"))
    st = state()
    view = view_of(ctx, st)
    assert view.targets.labels == ("cued classes", "stream force (regression)")
    assert view.target is None and "no classes to learn" in view.train.refusal
    vp.apply_pipeline(ctx, st, vp.ChooseTarget("pipeline", "force"))
    view = view_of(ctx, st)
    assert view.target == "force" and view.targets.index == 1
    assert "record force with the inputs" in view.train.refusal


def test_slow_loops_are_red_with_the_figures_and_fine_outputs_grey():
    predict = LoopHealth(hz=50.0, ticks=100, late=3, skipped=2, overruns=1, max_duration_s=0.035)
    blocked = OutputHealth(hz=50.0, ticks=90, late=1, overruns=2, blocked_sends=2,
                           max_duration_s=0.3)
    outputs = (SimpleNamespace(name="game", health=blocked, sent=80, hz=50.0),
               SimpleNamespace(name="log", health=OutputHealth(hz=10.0), sent=12, hz=10.0))
    view = view_of(pipeline_ctx(Pipeline(health=predict, outputs=outputs)))
    first, second, third = view.loops
    assert first.tone == "red" and first.text.startswith("predict: late 3, skipped 2")
    assert "3 ticks late, 2 deadlines skipped" in first.tooltip and "35 ms" in first.tooltip
    assert second.tone == "red" and "output game" in second.text and "blocked 2" in second.text
    assert (third.tone, third.text) == ("muted", "output log: 12 sent at 10/s")


def test_a_loop_that_keeps_up_shows_nothing_alarming():
    view = view_of(pipeline_ctx(Pipeline(health=LoopHealth(hz=50.0, ticks=100))))
    assert view.loops == ()
    assert view.rates == "10 predictions, 49.5/s of 50/s, 0 errors"


def test_save_and_load_say_why_they_wait():
    ctx = pipeline_ctx(Pipeline())
    view = view_of(ctx)
    assert view.path == "demo_app.model"
    assert "no model to save" in view.save.refusal and "no file at" in view.load.refusal
    ctx.pipelines[0].model = object()
    view = view_of(ctx, exists=lambda path: True)
    assert view.save.label == "Overwrite" and view.save.enabled  # replacing a file is said
    assert view.save.tooltip == "replace demo_app.model" and view.load.enabled
    st = state("model-pipeline")
    assert view_of(ctx, st).save.refusal == "saving or loading..."
    st = state()
    vp.apply_pipeline(ctx, st, vp.EditModelPath("pipeline", "  "))
    view = view_of(ctx, st)
    assert view.save.refusal == view.load.refusal == "give a file path"


def test_pipeline_intents_are_carried_out_and_failures_logged():
    ctx, st = pipeline_ctx(Pipeline()), state()
    vp.apply_pipeline(ctx, st, vp.StartPredicting("pipeline"))
    assert "could not start predicting: no windows" in ctx.log.lines[-1][2]
    vp.apply_pipeline(ctx, st, vp.StopPredicting("pipeline"))
    vp.apply_pipeline(ctx, st, vp.CancelTraining("pipeline"))
    vp.apply_pipeline(ctx, st, vp.CancelTraining("gone"))  # removed since drawn: nothing
    assert ctx.pipelines[0].calls == ["stop", "cancel"]


# --- predictions, bridges, log, status -------------------------------------------------------
def prediction(values, stale=False):
    return SimpleNamespace(values=values, tick=7, compute_s=0.0012, stale=stale, input_time=1.0)


def predictions_ctx(latest, recent=()):
    log = SimpleNamespace(latest=latest, stale=0, recent=lambda n: list(recent))
    pipeline = SimpleNamespace(name="p", predictions=log, refusal=lambda: "no model yet")
    return SimpleNamespace(pipelines=[pipeline], state=State.IDLE), pipeline


def test_probabilities_are_bars_with_the_winner_marked():
    ctx, p = predictions_ctx(prediction({"rest": 0.2, "fist": 0.8}))
    view = vpr.prediction_view(ctx, p)
    assert [(b.label, b.best) for b in view.bars] == [("rest  0.20", False), ("fist  0.80", True)]
    assert view.footer.startswith("tick 7, 1.2 ms, fresh")


def test_regression_values_are_a_series_and_text_a_fallback():
    recent = [SimpleNamespace(values={"force": v}, input_time=t) for t, v in ((1, 2.0), (2, 3.0))]
    ctx, p = predictions_ctx(prediction({"force": 3.0}), recent)
    x, lines = vpr.prediction_view(ctx, p).series
    np.testing.assert_array_equal(x, [-1.0, 0.0])
    np.testing.assert_array_equal(lines["force"], [2.0, 3.0])
    ctx, p = predictions_ctx(prediction({"word": "left"}))
    assert vpr.prediction_view(ctx, p).raw == "word: left"
    ctx, p = predictions_ctx(None)
    assert vpr.prediction_view(ctx, p).waiting == "No predictions yet (no model yet)."


def test_bridge_buttons_follow_its_state():
    status = SimpleNamespace(state="crashed", exit_code=3, detail="", stderr_tail=("no cam",))
    ctx = SimpleNamespace(bridges=[SimpleNamespace(name="cam", status=status)])
    (view,) = vb.bridge_views(ctx, state())
    assert (view.tone, view.exit, view.stderr) == ("red", "exit 3", ("no cam",))
    assert view.start.enabled and view.stop.refusal == "not running"
    status.state = "running"
    (view,) = vb.bridge_views(ctx, state())
    assert view.start.refusal == "already running" and view.stop.enabled and view.exit is None
    (view,) = vb.bridge_views(ctx, state("bridge-cam"))
    assert view.start.refusal == view.stop.refusal == "busy..."


def test_log_filters_by_level_and_clear():
    entries = [SimpleNamespace(time=t, level=lv, source="app", message=m)
               for t, lv, m in ((1.0, "info", "a"), (2.0, "warning", "b"), (3.0, "error", "c"))]
    ctx = SimpleNamespace(log=SimpleNamespace(entries=lambda: entries))
    st = state()
    assert len(vl.log_view(ctx, st).entries) == 3
    vl.apply_log(st, vl.SetLevel(1))
    assert [e.message for e in vl.log_view(ctx, st).entries] == ["b", "c"]
    vl.apply_log(st, vl.ClearLog(), now=2.5)
    assert [e.message for e in vl.log_view(ctx, st).entries] == ["c"]
    line = vl.log_line(entries[2])
    assert (line.level, line.tone, line.text) == ("error", "red", "app: c")


def test_status_bar_shows_the_state_once():
    ctx = SimpleNamespace(state=State.RECORDING, status="recording | emg 2048 Hz")
    view = vl.status_view(ctx, fps=59.6)
    assert (view.state, view.tone, view.status, view.fps) == (
        "RECORDING", "red", "emg 2048 Hz", "| 60 fps")


# --- signal viewer ----------------------------------------------------------------------------
def snapshot(channels, buckets=600, seed=0):
    rng = np.random.default_rng(seed)
    times = 100.0 + np.arange(buckets) * (5.0 / buckets)
    lows = rng.normal(-1.0, 0.1, (channels, buckets)).astype(np.float32)
    return times, lows, lows + 2.0


def test_a_few_channels_are_one_item_each_many_share_a_few():
    names = tuple(f"ch{i}" for i in range(400))
    settings = ViewerSettings(stacked=False)
    few = vv.trace_frame(settings, names, list(range(8)), snapshot(8), 5.0, (1200, 800))
    assert len(few.traces) == 8 and few.legend and few.traces[2].label == "ch2##2"
    settings = ViewerSettings()
    many = vv.trace_frame(settings, names, list(range(400)), snapshot(400), 5.0, (1200, 800))
    assert len(many.traces) == vv.COLOUR_GROUPS and not many.legend
    assert all(t.strokes and t.weight >= 1 for t in many.traces)
    buckets = sum(t.ys.size for t in many.traces) // 2  # a stroke is two points
    assert buckets <= max(vv.POINT_BUDGET, 400 * vv.MIN_POINTS)
    assert len(many.ticks[1]) == 400 and sum(bool(name) for name in many.ticks[1]) <= 48


def test_strokes_span_each_buckets_min_and_max_and_a_gap_stays_a_gap():
    times, lows, highs = snapshot(2, buckets=100)
    lows[1, 50] = highs[1, 50] = np.nan  # a bucket with no finite sample
    settings = ViewerSettings(stacked=False, autoscale=False, centers=np.zeros(2, np.float32))
    frame = vv.trace_frame(settings, ("a", "b"), [0, 1], (times, lows, highs), 5.0, (1000, 600))
    a, b = frame.traces
    np.testing.assert_array_equal(a.ys[0::2], lows[0])
    np.testing.assert_array_equal(a.ys[1::2], highs[0])
    np.testing.assert_allclose(a.xs[0::2], times - times[-1], atol=1e-5)
    assert np.isnan(b.ys[100:102]).all() and np.isfinite(np.delete(b.ys, [100, 101])).all()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), k=st.integers(1, 700), width=st.integers(50, 2500),
       height=st.integers(20, 1500), window=st.floats(0.05, 6.0), seed=st.integers(0, 9))
def test_traces_stay_in_budget_and_keep_each_windows_extremes(n, k, width, height, window, seed):
    rng = np.random.default_rng(seed)
    times = 100.0 + np.cumsum(rng.uniform(0.001, 0.02, k))
    lows = rng.normal(size=(n, k)).astype(np.float32)
    highs = lows + rng.uniform(0, 1, (n, k)).astype(np.float32)
    view = ViewerSettings(stacked=False, autoscale=False, centers=np.zeros(n, np.float32))
    frame = vv.trace_frame(view, tuple(map(str, range(n))), list(range(n)),
                           (times, lows, highs), window, (width, height))
    if isinstance(frame, str):
        return
    assert len(frame.traces) == (n if n <= vv.LEGEND_CHANNELS else min(vv.COLOUR_GROUPS, n))
    points = sum(int(np.isfinite(t.ys).sum()) for t in frame.traces)
    assert points <= 2 * max(vv.POINT_BUDGET, n * vv.MIN_POINTS)
    shown = times >= times[-1] - window
    kept = shown.copy()
    per_channel = vv.points_per_channel(n, (width, height))
    if shown.sum() > per_channel:  # folding drops the oldest few buckets of the window
        first = np.flatnonzero(shown)[0]
        f = -(-int(shown.sum()) // per_channel)
        kept[first:first + int(shown.sum()) % f] = False
    ys = np.concatenate([t.ys for t in frame.traces])
    assert np.nanmax(ys) == highs[:, kept].max() and np.nanmin(ys) == lows[:, kept].min()


def test_band_off_draws_the_two_edges_and_single_samples_one_line():
    times, lows, highs = snapshot(2, buckets=50)
    settings = ViewerSettings(band=False, stacked=False)
    frame = vv.trace_frame(settings, ("a", "b"), [0, 1], (times, lows, highs), 5.0, (900, 600))
    assert len(frame.traces) == 4 and not any(t.strokes for t in frame.traces)
    flat = vv.trace_frame(ViewerSettings(stacked=False), ("a", "b"), [0, 1],
                          (times, lows, lows), 5.0, (900, 600))
    assert len(flat.traces) == 2 and flat.traces[0].ys.size == 50


def test_points_follow_the_plots_pixels():
    assert vv.points_per_channel(1, (300, 400)) == 300  # one per pixel column at most
    assert vv.points_per_channel(400, (2000, 2000)) == vv.POINT_BUDGET // 400
    assert vv.points_per_channel(10, (1000, 64)) == 1000 * 64 // vv.PIXELS_PER_POINT // 10
    assert vv.points_per_channel(5000, (1000, 800)) == vv.MIN_POINTS


def test_the_window_keeps_the_newest_seconds():
    times, lows, highs = snapshot(1, buckets=500)  # 5 s
    t, lo, hi = vv.cut_window(times, lows, highs, 1.0, 1000)
    assert t[-1] == times[-1] and times[-1] - t[0] <= 1.0 + 1e-9 and t.size == 101


@pytest.mark.parametrize("count, columns", [(64, 8), (408, 24), (128, 16), (10, 4), (1, 1)])
def test_grid_columns_follow_electrode_grids(count, columns):
    assert vv.grid_columns(count) == columns
    assert vv.grid_columns(count, 2) == min(2, count)


def test_heat_map_is_the_rms_of_each_channel_on_the_grid():
    rng = np.random.default_rng(1)
    window = rng.normal(size=(10, 400)).astype(np.float32) * np.arange(1, 11)[:, None]
    window[3, 7] = np.nan  # a dropped sample: left out, not a NaN cell
    settings = ViewerSettings(channels=[c for c in range(10) if c != 5])
    frame = vv.heatmap_frame(settings, tuple(f"e{i}" for i in range(10)),
                             settings.visible(10), window, 200.0)
    assert frame.values.shape == (3, 4)
    flat = frame.values.ravel()
    keep = np.isfinite(window[3])
    assert flat[3] == pytest.approx(np.sqrt(np.mean(window[3][keep].astype(float) ** 2)))
    assert flat[0] == pytest.approx(np.sqrt(np.mean(window[0].astype(float) ** 2)))
    assert np.isnan(flat[5])  # not selected: blank, in its place
    assert np.isnan(flat[10:]).all() and frame.names[10:] == ("", "")
    assert frame.scale == (0.0, pytest.approx(np.nanmax(flat)))
    assert vv.heatmap_frame(settings, (), [0], np.empty((10, 0)), 200.0) == "No samples yet."


def test_heat_scale_grows_at_once_shrinks_slowly_and_freezes_without_autoscale():
    settings = ViewerSettings()
    assert vv.heatmap_scale(settings, np.array([1.0, 2.0])) == (0.0, 2.0)
    assert vv.heatmap_scale(settings, np.array([4.0]))[1] == 4.0
    shrunk = vv.heatmap_scale(settings, np.array([1.0]))[1]
    assert 1.0 < shrunk < 4.0
    settings.autoscale = False
    assert vv.heatmap_scale(settings, np.array([100.0]))[1] == shrunk
    assert vv.heatmap_scale(ViewerSettings(), np.array([np.nan]))[1] == 1.0


def test_viewer_messages_controls_and_the_signal_choice_place():
    assert vv.viewer_message(None, "emg") == "Stream 'emg' is gone."
    assert vv.viewer_message(SimpleNamespace(info=None), "emg") == "Waiting for emg to connect..."
    controls = vv.viewer_controls(ViewerSettings(view="heatmap"), 64, 5.0)
    assert (controls.shown, controls.window_s, controls.window_range) == (16, 5.0, (0.1, 5.0))
    assert vv.VIEWS[controls.view] == "heatmap"
    assert controls.signals == ("acquired",)  # one version: no raw/conditioned choice drawn
    assert vv.ranges_text([0, 1, 2, 5, 7, 8]) == "1-3, 6, 8-9"


# --- signal viewer: raw or conditioned (#14) ---------------------------------------------------
EMG_CHAIN = [{"type": "bandpass", "low": 20, "high": 450, "order": 4},
             {"type": "notch", "freq": 50, "harmonics": 3}]


class TwoViews:
    """A connected stream with a raw and a conditioned min/max view and a conditioned window;
    records which view each display() call read."""

    window_ms = 195.0  # the newest 20 buckets, clear of rounding at the edge

    def __init__(self, chain=EMG_CHAIN, channels=4):
        from hexloop.application.conditioning import StreamConditioning

        self.conditioning = StreamConditioning(chain)
        self.info = StreamInfo("emg", channels, 1000.0)
        self.times = 100.0 + np.arange(50) * 0.01  # 10 ms buckets
        ramp = np.arange(50, dtype=np.float32)
        self.raw = (np.full((channels, 50), 1000.0, np.float32) + ramp,  # offset, drifting
                    np.full((channels, 50), 1000.0, np.float32) + ramp + 3.0)
        self.conditioned = (np.full((channels, 50), -1.0, np.float32),
                            np.full((channels, 50), 1.0, np.float32))
        self.reads: list[bool] = []

    def display(self, channels=None, raw=False):
        self.reads.append(raw)
        rows = slice(None) if channels is None else channels
        lows, highs = self.raw if raw and self.conditioning else self.conditioned
        return SimpleNamespace(times=self.times, mins=lows[rows], maxs=highs[rows])

    def get_window(self):
        return np.ones((self.info.channel_count, 200), np.float32), np.arange(200.0)


def test_a_stream_with_a_chain_offers_conditioned_and_raw_one_without_only_acquired():
    from hexloop.adapters.fakes import FakeSource
    from hexloop.application import Stream

    source = FakeSource(StreamInfo("emg", 4, 1000.0))
    filtered = Stream("emg", source, conditioning=EMG_CHAIN)
    plain = Stream("emg", source)
    assert vv.signal_choices(filtered) == ("conditioned", "raw")
    assert vv.signal_choices(plain) == ("acquired",)
    assert set(vv.signal_choices(filtered)) | {"acquired"} == set(vv.SIGNALS)
    controls = vv.viewer_controls(ViewerSettings(), 4, 5.0, vv.signal_choices(filtered))
    assert controls.signals == ("conditioned", "raw")  # more than one: the choice is drawn
    settings = ViewerSettings()  # "acquired" until the user picks: a chain shows conditioned
    assert vv.signal_label(filtered, settings).startswith("conditioned: bandpass 20-450 Hz")
    assert "notch 50 Hz" in vv.signal_label(filtered, settings)
    settings.signal = "raw"
    assert vv.signal_label(filtered, settings).startswith("raw")
    assert vv.signal_label(plain, settings) == ""  # one version only: no title to tell apart


@pytest.mark.parametrize("signal, raw", [("acquired", False), ("conditioned", False),
                                         ("raw", True)])
def test_the_chosen_signal_selects_the_raw_or_the_conditioned_view(signal, raw):
    stream = TwoViews()
    settings = ViewerSettings(signal=signal)
    times, lows, highs = vv.viewer_data(stream, settings, [0, 2])
    assert stream.reads == [raw]
    expected = stream.raw if raw else stream.conditioned
    np.testing.assert_array_equal(lows, expected[0][[0, 2]])
    np.testing.assert_array_equal(highs, expected[1][[0, 2]])
    settings.source = "raw"  # the ring-buffer path holds conditioned samples only
    if raw:
        vv.viewer_data(stream, settings, [0, 2])
        assert stream.reads[-1] is True
    frame = vv.trace_frame(settings, ("a", "b", "c", "d"), [0, 2], (times, lows, highs), 0.5,
                           (800, 600), vv.signal_label(stream, settings))
    assert frame.label.startswith("raw" if raw else "conditioned")


def test_a_stream_without_a_chain_reads_its_one_view_whatever_was_chosen():
    stream = TwoViews(chain=None)
    vv.viewer_data(stream, ViewerSettings(signal="raw"), [0])  # left from another stream
    assert stream.reads == [False]
    assert vv.signal_label(stream, ViewerSettings(signal="raw")) == ""


def test_choosing_a_signal_restarts_the_scales():
    settings = ViewerSettings(centers=np.zeros(4, np.float32), spacing=9.0, heat_scale=5.0)
    vv.choose_signal(settings, "raw")
    assert settings.signal == "raw"
    assert (settings.centers, settings.spacing, settings.heat_scale) == (None, 0.0, 0.0)
    settings.spacing = 3.0
    vv.choose_signal(settings, "raw")  # no change: the scales stay
    assert settings.spacing == 3.0


def test_the_heat_map_follows_the_chosen_signal():
    stream = TwoViews()
    names = ("a", "b", "c", "d")
    conditioned = vv.heatmap_view(stream, ViewerSettings(), names, [0, 1, 2])
    assert stream.reads == []  # the RMS of the (conditioned) ring buffer's newest window
    assert conditioned.measure == "RMS" and conditioned.label.startswith("conditioned")
    np.testing.assert_allclose(conditioned.values.ravel()[:3], 1.0)
    raw = vv.heatmap_view(stream, ViewerSettings(signal="raw"), names, [0, 1, 2])
    assert stream.reads == [True] and raw.label.startswith("raw")
    assert raw.measure == "peak-to-peak"
    # the newest 195 ms: buckets 30..49 of the ramp, 1000 + [30, 49 + 3]
    np.testing.assert_allclose(raw.values.ravel()[:3], 49 + 3 - 30)
    assert np.isnan(raw.values.ravel()[3])  # not selected: blank in its place
    assert vv.range_heatmap_frame(ViewerSettings(), names, [0], None, 200.0) == "No samples yet."
