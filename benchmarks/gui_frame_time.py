"""GUI frame-time benchmark: the main window with fast, wide streams on screen.

Two scenes, each with every channel of every stream selected and every viewer visible:
8 streams x 64 ch x 2048 Hz (tiled), and 1 stream x 408 ch x 10240 Hz. Each scene runs once
with the viewers drawing the acquisition thread's min/max display snapshot (what the window
does), then, in the same window with the same full buffers, with the viewers copying the whole
ring buffer every frame instead (the baseline a naive viewer would be). Printed per scene and
source: frames, frame time median and 99th percentile, the viewers' own share of the frame,
and the baseline-to-snapshot ratios.

    .venv/bin/python benchmarks/gui_frame_time.py            # ~50 s, on a private Xvfb
    .venv/bin/python benchmarks/gui_frame_time.py --seconds 3 --scene 408x10240

Under Xvfb the GPU work is done by Mesa on the CPU, so absolute frame times are pessimistic;
the ratios are the result.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import numpy as np

from hexloop.adapters.fakes import FakeStore
from hexloop.adapters.imgui import ImGuiRenderer, gui_state, panels
from hexloop.adapters.imgui.xvfb import private_display, stop_xvfb
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, Stream

SCENES = {"8x64x2048": (8, 64, 2048.0), "408x10240": (1, 408, 10240.0)}
BUFFER_MS = 5000.0


class ViewerClock:
    """Wraps panels.signal_viewer to add up the time the viewers take per frame."""

    def __init__(self):
        self.spent = 0.0
        self.per_frame: list[float] = []
        self._inner = panels.signal_viewer

    def __call__(self, ctx, stream_name):
        t0 = time.perf_counter()
        try:
            self._inner(ctx, stream_name)
        finally:
            self.spent += time.perf_counter() - t0

    def frame_done(self):
        self.per_frame.append(self.spent)
        self.spent = 0.0


def run_scene(name: str, seconds: float) -> dict[str, dict]:
    count, channels, rate = SCENES[name]
    app = App(f"bench-{name}", store=FakeStore())
    for i in range(count):
        source = SimulatedSource(f"s{i}", channels=channels, rate=rate, seed=i)
        app.streams(Stream(f"s{i}", source, buffer_ms=BUFFER_MS))
    for stream in app.ctx.streams.values():
        gui_state(app.ctx).viewer(stream.name).channels = list(range(channels))

    clock = ViewerClock()
    panels.signal_viewer = clock
    renderer = ImGuiRenderer(size=(1440, 900), ini_path=False, fps_max=0, vsync=False,
                             tile_signals=True)
    results: dict[str, dict] = {}

    def frame_hook(original=renderer._each_frame):
        clock.frame_done()
        original()

    renderer._each_frame = frame_hook

    def measure(source: str) -> None:
        for stream in app.ctx.streams.values():
            gui_state(app.ctx).viewer(stream.name).source = source
        time.sleep(0.5)  # let a frame or two of the new source pass
        renderer.frame_times.clear()
        clock.per_frame.clear()
        renderer.timing = True
        time.sleep(seconds)
        renderer.timing = False
        frames = np.array(renderer.frame_times) * 1000
        viewer = np.array(clock.per_frame[-len(frames):]) * 1000 if len(frames) else np.zeros(1)
        results[source] = {"frames": len(frames), "median": float(np.median(frames)),
                           "p99": float(np.percentile(frames, 99)),
                           "viewer": float(np.median(viewer))}

    def controller() -> None:
        try:
            deadline = time.monotonic() + BUFFER_MS / 1000 + 20
            while time.monotonic() < deadline and not all(
                    s.buffer is not None and len(s.buffer) == s.buffer.capacity
                    for s in app.ctx.streams.values()):
                time.sleep(0.1)
            measure("display")
            measure("raw")
            results["rates"] = {s.name: s.health.rate_hz for s in app.ctx.streams.values()}
        finally:
            app.exit()

    threading.Thread(target=controller, name="bench-controller", daemon=True).start()
    try:
        app.run(renderer)
    finally:
        panels.signal_viewer = clock._inner
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured per source")
    parser.add_argument("--scene", choices=sorted(SCENES), action="append",
                        help="run only this scene (repeatable)")
    args = parser.parse_args()
    xvfb = private_display()
    try:
        print(f"{'scene':<12} {'viewer source':<14} {'frames':>6} {'median ms':>10} "
              f"{'p99 ms':>8} {'viewers ms':>11}")
        for name in args.scene or list(SCENES):
            got = run_scene(name, args.seconds)
            for source in ("display", "raw"):
                r = got[source]
                label = "snapshot" if source == "display" else "raw buffer"
                print(f"{name:<12} {label:<14} {r['frames']:>6} {r['median']:>10.1f} "
                      f"{r['p99']:>8.1f} {r['viewer']:>11.1f}")
            d, r = got["display"], got["raw"]
            print(f"{name:<12} raw/snapshot: frame median x{r['median'] / d['median']:.1f}, "
                  f"p99 x{r['p99'] / d['p99']:.1f}, viewers x{r['viewer'] / max(d['viewer'], 1e-6):.1f}"
                  f"; measured rates {', '.join(f'{v:.0f}' for v in got['rates'].values())} Hz")
    finally:
        if xvfb is not None:
            stop_xvfb(xvfb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
