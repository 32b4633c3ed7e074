"""Regenerate the window screenshots in docs/img/ by driving a simulated session with clicks.

    .venv/bin/python docs/img/make_screenshots.py [docs/img]

Runs on the current display, or on a private Xvfb when there is none (apt-get install xvfb).
The window's layout file is not read or written, so the pictures show the default layout.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from imgui_bundle import imgui
from imgui_bundle.immapp import testing

from hexloop.adapters.fakes import FakeModel, FakeStore
from hexloop.adapters.imgui import ImGuiRenderer
from hexloop.adapters.imgui.xvfb import private_display, stop_xvfb
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, Pipeline, Stream
from hexloop.domain import features
from hexloop.domain.state import State

CLASSES = ("rest", "fist", "pinch")
SIZE = (1280, 800)


def build_app():
    emg = SimulatedSource("emg", channels=8, rate=2000.0, class_names=CLASSES, seed=1)
    hd = SimulatedSource("hd-emg", channels=64, rate=2048.0, class_names=CLASSES, seed=2)
    app = App("forearm-emg", store=FakeStore(), class_names=CLASSES)
    app.streams(Stream("emg", emg, window_ms=200, buffer_ms=5000),
                Stream("hd-emg", hd, window_ms=200, buffer_ms=5000))
    pipeline = Pipeline(app, predict_hz=50.0, streams=["emg"])
    pipeline.extract(lambda w: features.rms(w["emg"]))
    pipeline.use_model(FakeModel)

    @app.ui
    def cue(ctx):
        """What the participant is asked to do; the simulated hand obeys."""
        events = ctx.labels.events if ctx.labels is not None else ()
        current = events[-1].class_index if events else None
        for source in (emg, hd):
            if current is not None:
                source.set_class(current)
        imgui.text("Participant cue")
        imgui.separator()
        imgui.text(CLASSES[current].upper() if current is not None else "-")

    return app, pipeline


def wait(t, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the simulated session did not get there in time")
        t.yield_()


def shoot(out: Path) -> list[Path]:
    app, pipeline = build_app()
    shots = [out / "gui-recording.png", out / "gui-predicting.png"]

    def script(t):
        wait(t, lambda: app.recording_refusal() is None, 10)
        t.item_input_value("//**/##slug", "s01")
        t.item_click("//**/Record")
        for name in ("rest", "fist", "pinch", "rest", "fist"):
            t.item_click(f"//**/{name}")
            t.sleep_no_skip(0.8, 0.05)
        testing.capture(t, str(shots[0]))
        t.item_click("//**/Stop")
        wait(t, lambda: app.ctx.last_summary is not None, 10)
        t.item_click("//**/Train")
        wait(t, lambda: pipeline.model is not None and app.ctx.state is State.IDLE, 20)
        t.item_click("//**/Start predicting")
        wait(t, lambda: pipeline.predictions.count >= 50, 10)
        t.mouse_move("//**/Start predicting")  # shows why it is disabled now
        t.sleep_no_skip(0.3, 0.05)
        testing.capture(t, str(shots[1]))

    renderer = ImGuiRenderer(size=SIZE, ini_path=False, script=script, fps_max=60)
    app.run(renderer)
    if renderer.script_status != "success":
        raise RuntimeError(f"the screenshot script failed:\n{renderer.script_log}")
    return shots


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    out.mkdir(parents=True, exist_ok=True)
    xvfb = private_display()
    try:
        for path in shoot(out.resolve()):
            print(f"wrote {path}")
    finally:
        if xvfb is not None:
            stop_xvfb(xvfb)


if __name__ == "__main__":
    main()
