"""Regenerate the window screenshots in docs/img/ from a real run: examples/simulated.toml's
app (an in-process simulated EMG source following the cues, a Zarr store, the torch classifier)
runs its [protocol] in the window: calibrate (recorded, cued), train, online (predicting while
recording), evaluate. Nothing is staged: the pictures show what a user sees.

    .venv/bin/python docs/img/make_screenshots.py [docs/img]      (or: make screenshots)

Runs on the current display, or on a private Xvfb when there is none (apt-get install xvfb).
Sessions and the model go to a temporary folder; the window's layout file is not read or
written, so the pictures show the default layout. LSL stays on loopback.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

from imgui_bundle import imgui
from imgui_bundle.immapp import testing

from hexloop.application.composition.cli import use_loopback_lsl

use_loopback_lsl()  # before pylsl loads: the example's output is an LSL outlet

from hexloop.adapters.imgui import ImGuiRenderer  # noqa: E402
from hexloop.adapters.imgui.xvfb import private_display, stop_xvfb  # noqa: E402
from hexloop.application.composition.build import build  # noqa: E402
from hexloop.application.composition.labsetup import load_setup  # noqa: E402
from hexloop.application.composition.protocolsetup import make_runner  # noqa: E402
from hexloop.application.composition.registry import Registry  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "simulated.toml"
SIZE = (1280, 800)
#: A shorter protocol than the example's, so the pictures take about a minute.
PROTOCOL = {"repetitions = 5": "repetitions = 3", "cue_s = 1.0": "cue_s = 0.5",
            "hold_s = 2.0": "hold_s = 3.0", "rest_s = 2.0": "rest_s = 1.0",
            "online_repetitions = 3": "online_repetitions = 2"}


def setup_copy(folder: Path) -> Path:
    """The example with its sessions in `folder`, unique LSL names and a shorter protocol."""
    tag = uuid.uuid4().hex[:6]
    text = EXAMPLE.read_text()
    text = text.replace('"recordings"', repr(str(folder / "recordings")).replace("'", '"'))
    text = text.replace('"emg-gestures-predictions"', f'"shots-{tag}-predictions"')
    for old, new in PROTOCOL.items():
        text = text.replace(old, new)
    text += f'markers = "shots-{tag}-cues"\n'
    path = folder / "simulated.toml"
    path.write_text(text)
    return path


def wait(t, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the run did not get there in time")
        t.yield_()


def shoot(out: Path, folder: Path) -> list[Path]:
    registry = Registry.from_entry_points()
    setup = load_setup(setup_copy(folder), registry)
    built = build(setup, registry)
    app, pipeline = built.app, built.pipeline
    runner = make_runner(built, setup, start_paused=True)  # as hexloop run --protocol does
    shots = [out / "gui-recording.png", out / "gui-predicting.png"]

    def at(phase, step, trial):
        v = runner.snapshot()
        return (v.phase, v.step, v.trial) == (phase, step, trial) and not v.paused

    def script(t):
        wait(t, lambda: runner.paused and runner.snapshot().step == "waiting", 30)
        t.item_click("//**/Start (p)")
        t.mouse_move_to_pos(imgui.ImVec2(SIZE[0] - 10, SIZE[1] - 10))  # not over a panel
        # a capture takes a few frames (about a second under software GL): shoot early in a hold
        wait(t, lambda: at("calibrate", "hold", 5), 90)
        testing.capture(t, str(shots[0]))
        wait(t, lambda: at("online", "hold", 3) and pipeline.predictions.count > 100, 240)
        testing.capture(t, str(shots[1]))
        wait(t, lambda: runner.done.is_set(), 120)
        if not runner.result.completed:
            raise RuntimeError(f"the protocol did not complete: {runner.result.error}")

    renderer = ImGuiRenderer(size=SIZE, ini_path=False, script=script, fps_max=30)
    app.run(renderer)
    if renderer.script_status != "success":
        raise RuntimeError(f"the screenshot script failed:\n{renderer.script_log}")
    print("\n".join(runner.result.lines()))
    return shots


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    out.mkdir(parents=True, exist_ok=True)
    xvfb = private_display()
    try:
        with tempfile.TemporaryDirectory(prefix="hexloop-shots-") as folder:
            for path in shoot(out.resolve(), Path(folder)):
                print(f"wrote {path}")
    finally:
        if xvfb is not None:
            stop_xvfb(xvfb)


if __name__ == "__main__":
    main()
