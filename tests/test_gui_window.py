"""The real window under Xvfb, driven by imgui's test engine: a researcher's whole session
(record, cue classes, stop, train, predict) by clicks, the Renderer contract, and the layout
file kept where it was asked to be, surviving a rearrangement."""

from __future__ import annotations

import os
import shutil
import time

import pytest

pytest.importorskip("imgui_bundle")

from imgui_bundle import imgui  # noqa: E402
from imgui_bundle.immapp import testing  # noqa: E402

from hexloop.adapters.fakes import FakeModel, FakeStore  # noqa: E402
from hexloop.adapters.imgui import ImGuiRenderer  # noqa: E402
from hexloop.adapters.imgui.xvfb import start_xvfb, stop_xvfb  # noqa: E402
from hexloop.adapters.simulated import SimulatedSource  # noqa: E402
from hexloop.application import App, Pipeline, Stream  # noqa: E402
from hexloop.domain import features  # noqa: E402
from hexloop.domain.state import State  # noqa: E402
from hexloop.ports.contracts import check_renderer  # noqa: E402

pytestmark = pytest.mark.timeout(60)

CLASSES = ("rest", "fist")
SIZE = (960, 640)


@pytest.fixture(scope="module")
def display():
    """A private Xvfb display for this module; the user's desktop only when there is no Xvfb."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if not os.environ.get("DISPLAY"):
            pytest.skip("no display and no Xvfb: apt-get install xvfb xauth libgl1 libegl1")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HEXLOOP_GUI_INI", "none")
            yield os.environ["DISPLAY"]
        return
    try:
        proc, number = start_xvfb("1280x1024x24")
    except RuntimeError as e:
        pytest.skip(str(e))
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DISPLAY", number)
            mp.delenv("WAYLAND_DISPLAY", raising=False)
            mp.setenv("HEXLOOP_GUI_INI", "none")  # each test names its own layout file
            yield number
    finally:
        stop_xvfb(proc)


def rms(windows):
    return features.rms(windows["emg"])


def demo_app():
    source = SimulatedSource("emg", channels=8, rate=1000.0, class_names=CLASSES)
    app = App("windowtest", store=FakeStore(), class_names=CLASSES)
    app.streams(Stream("emg", source, window_ms=150, buffer_ms=4000))
    pipeline = Pipeline(app, predict_hz=25.0)
    pipeline.extract(rms)
    pipeline.use_model(FakeModel)
    drawn = []

    @app.ui
    def cue(ctx):
        """The participant's cue: the simulated hand follows the cued class."""
        events = ctx.labels.events if ctx.labels is not None else ()
        if events:
            source.set_class(events[-1].class_index)
        imgui.text(f"cue: {CLASSES[events[-1].class_index] if events else '-'}")
        drawn.append(1)

    return app, pipeline, drawn


def wait(test_ctx, condition, timeout: float) -> bool:
    """Let frames pass until `condition` holds (the test engine's clock is the frame)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        test_ctx.yield_()
    return bool(condition())


def test_a_session_driven_by_clicks(display, tmp_path):
    app, pipeline, drawn = demo_app()
    shot = tmp_path / "window.png"
    seen = {}

    def script(t):
        assert wait(t, lambda: app.recording_refusal() is None, 5), app.recording_refusal()
        t.item_click("//**/Record")
        for name in CLASSES:
            t.item_click(f"//**/{name}")
            assert wait(t, lambda n=name: app.ctx.labels.events[-1].class_index
                        == CLASSES.index(n), 2)
            held = app.ctx.streams["emg"].health.samples  # hold each cue for 450 samples
            assert wait(t, lambda h=held: app.ctx.streams["emg"].health.samples - h >= 450, 5)
        seen["while recording"] = app.ctx.state
        testing.capture(t, str(shot))
        t.item_click("//**/Stop")
        assert wait(t, lambda: app.ctx.last_summary is not None, 5)
        t.item_click("//**/Train")
        assert wait(t, lambda: pipeline.model is not None and app.ctx.state is State.IDLE, 10)
        t.item_click("//**/Start predicting")
        assert wait(t, lambda: pipeline.predictions.count >= 10, 5)
        seen["while predicting"] = app.ctx.state

    renderer = ImGuiRenderer(size=SIZE, ini_path=tmp_path / "layout.ini", script=script,
                             fps_max=0, vsync=False)
    app.run(renderer)

    assert renderer.script_status == "success", renderer.script_log
    transitions = [e.message for e in app.ctx.log.entries() if e.source == "state"]
    assert transitions[:5] == [
        "idle -> recording (start_recording)", "recording -> idle (stop_recording)",
        "idle -> training (start_training)", "training -> idle (stop_training)",
        "idle -> predicting (start_predicting)"]
    assert seen == {"while recording": State.RECORDING, "while predicting": State.PREDICTING}
    assert app.ctx.state is State.IDLE  # the window closed, the app cleaned up

    session = app.store.read(app.ctx.last_summary.location)
    assert [e.class_index for e in session.labels.events] == [0, 1]
    assert session.data("emg")[0].shape[1] > 800
    assert pipeline.model.output_names == CLASSES
    recent = [max(p.values, key=p.values.get) for p in pipeline.predictions.recent(10)]
    assert recent.count("fist") >= 8, recent  # the hand was last cued to make a fist
    assert drawn, "the @app.ui function never ran"
    assert app.ctx.log.entries("error") == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "layout.ini").exists()


def test_the_window_closes_when_the_app_exits(display, tmp_path):
    check_renderer(lambda: ImGuiRenderer(size=(640, 480), ini_path=tmp_path / "c.ini"),
                   App("contract"))


def test_a_rearranged_layout_is_kept_outside_the_working_directory(display, tmp_path,
                                                                   monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    layout = tmp_path / "config" / "layout.ini"
    monkeypatch.setenv("HEXLOOP_GUI_INI", str(layout))

    def rearrange(t):
        t.dock_into("Predictions", "Log")  # the user drags Predictions onto the Log

    def look(t):
        t.yield_(3)

    for script in (rearrange, look):
        app, _, _ = demo_app()
        renderer = ImGuiRenderer(size=SIZE, script=script, fps_max=0, vsync=False)
        app.run(renderer)
        assert renderer.script_status == "success", renderer.script_log
        assert renderer.ini_file == layout
        text = layout.read_text()
        docks = {name: _dock_id(text, name) for name in ("Predictions", "Log", "Streams")}
        assert docks["Predictions"] == docks["Log"] != docks["Streams"], script.__name__
    assert list(cwd.iterdir()) == []  # no imgui.ini next to the researcher's data


def _dock_id(ini_text: str, window: str) -> str:
    section = ini_text.split(f"[Window][{window}]\n", 1)[1].split("\n\n", 1)[0]
    for line in section.splitlines():
        if line.startswith("DockId="):
            return line.split("=", 1)[1].split(",")[0]
    raise AssertionError(f"window {window!r} is not docked:\n{section}")
