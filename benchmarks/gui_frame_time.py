"""GUI frame-time benchmark: the main window with fast, wide streams and every channel on screen.

Two scenes: 8 streams x 64 ch x 2048 Hz (tiled viewers), and 1 stream x 408 ch x 10240 Hz.
Every channel of every stream is selected and every viewer is visible. Each scene is measured
with the viewers drawing traces (the default view: min/max per pixel column from the
acquisition thread's display snapshot), then, for the same buffers, the RMS heat map (one
colour per channel, the view for hundreds of channels), and, as the baseline a naive viewer
would be, traces copied from the whole ring buffer every frame. Printed per scene and view:
frames, frame time median and 99th percentile, and the viewers' own share of the frame.

    .venv/bin/python benchmarks/gui_frame_time.py            # ~1 min, on a private Xvfb
    .venv/bin/python benchmarks/gui_frame_time.py --frames 30 --scene 408x10240

`measure_frame_times(scene, frames, view=...)` is the same measurement as a function (seconds
per frame), for `hexloop bench`; it must run on the main thread.

The streams are fed by a source that replays one precomputed second of simulated EMG at the
stream's rate (through the real acquisition thread, ring buffer and display decimator), so the
figures are the window's and not the cost of generating 4 million random samples a second.
Under Xvfb the GPU work is done by Mesa on the CPU, so absolute frame times are pessimistic.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time

import numpy as np

from hexloop.adapters.fakes import FakeStore
from hexloop.adapters.imgui import ImGuiRenderer, gui_state, panels
from hexloop.adapters.imgui.xvfb import private_display, stop_xvfb
from hexloop.application import App, Stream
from hexloop.domain.pacing import MonotonicClock
from hexloop.domain.simulation import EmgSimulator
from hexloop.domain.streams import StreamInfo

#: name: (streams, channels per stream, Hz)
SCENES = {"8x64x2048": (8, 64, 2048.0), "408x10240": (1, 408, 10240.0)}
#: What the viewers draw: (ViewerSettings.view, ViewerSettings.source).
VIEWS = {"traces": ("traces", "display"), "heatmap": ("heatmap", "display"),
         "raw-buffer": ("traces", "raw")}
BUFFER_MS = 5000.0
SIZE = (1440, 900)


class LoopedSource:
    """A Source replaying one precomputed second of simulated EMG at `rate`, paced by wall time."""

    def __init__(self, name: str, channels: int, rate: float, seed: int = 0):
        self._info = StreamInfo(name, channels, rate, "float32", type="EMG")
        block = EmgSimulator(channels, rate, seed=seed)
        block.set_class(1)
        self._data = block.generate(int(rate))
        self._clock = MonotonicClock()
        self._t0: float | None = None
        self._sent = 0

    @property
    def info(self) -> StreamInfo:
        return self._info

    def connect(self, timeout: float) -> StreamInfo:
        if self._t0 is None:
            self._t0 = self._clock.now()
        return self._info

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        rate = self._info.sampling_rate
        due = min(int((self._clock.now() - self._t0) * rate) - self._sent, len(self._data))
        if due <= 0:
            return np.empty((0, self._info.channel_count), np.float32), np.empty(0)
        start = self._sent % len(self._data)
        rows = np.arange(start, start + due) % len(self._data)
        ts = self._t0 + (self._sent + np.arange(due)) / rate
        self._sent += due
        return self._data[rows], ts

    def disconnect(self) -> None:
        pass


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


def build_app(scene: str) -> App:
    """The scene's app: its streams fed by LoopedSource, every channel selected in the viewers."""
    count, channels, rate = SCENES[scene]
    app = App(f"bench-{scene}", store=FakeStore())
    for i in range(count):
        app.streams(Stream(f"s{i}", LoopedSource(f"s{i}", channels, rate, seed=i),
                           buffer_ms=BUFFER_MS))
    for stream in app.ctx.streams.values():
        gui_state(app.ctx).viewer(stream.name).channels = list(range(channels))
    return app


def run_scene(scene: str, frames: int, views=tuple(VIEWS)) -> dict[str, dict]:
    """Frame and viewer times (seconds) per view for one scene, in one window."""
    app = build_app(scene)
    clock = ViewerClock()
    panels.signal_viewer = clock
    renderer = ImGuiRenderer(size=SIZE, ini_path=False, fps_max=0, vsync=False,
                             tile_signals=True)
    results: dict[str, dict] = {}

    main_cpu: list[float] = []

    def frame_hook(original=renderer._each_frame):
        clock.frame_done()
        main_cpu.append(time.thread_time())
        original()

    renderer._each_frame = frame_hook

    def wait_frames(n: int, deadline: float) -> None:
        goal = renderer.frames + n
        while renderer.frames < goal and time.monotonic() < deadline:
            time.sleep(0.01)

    def measure(view: str) -> None:
        kind, source = VIEWS[view]
        for stream in app.ctx.streams.values():
            settings = gui_state(app.ctx).viewer(stream.name)
            settings.view, settings.source = kind, source
        deadline = time.monotonic() + 60 + frames * 2
        wait_frames(3, deadline)  # let the new view settle (autoscale, first textures)
        renderer.frame_times.clear()
        clock.per_frame.clear()
        main_cpu.clear()
        cpu = time.process_time()
        renderer.timing = True
        while len(renderer.frame_times) < frames and time.monotonic() < deadline:
            time.sleep(0.01)
        renderer.timing = False
        cpu = time.process_time() - cpu
        times = list(renderer.frame_times[:frames])
        viewer = clock.per_frame[-len(times):] if times else []
        main = np.diff(main_cpu)[-len(times):] if len(main_cpu) > 1 else []
        # CPU seconds per frame: the whole process (window, Mesa's threads, acquisition), and
        # the main thread alone; both depend far less than wall time on what else the machine runs
        results[view] = {"frames": times, "viewers": viewer, "main_cpu": list(main),
                         "process_cpu": cpu / max(len(renderer.frame_times), 1)}

    def controller() -> None:
        try:
            deadline = time.monotonic() + BUFFER_MS / 1000 + 30
            while time.monotonic() < deadline and not all(
                    s.buffer is not None and len(s.buffer) == s.buffer.capacity
                    for s in app.ctx.streams.values()):
                time.sleep(0.05)
            for view in views:
                measure(view)
            results["rates"] = {s.name: s.health.rate_hz for s in app.ctx.streams.values()}
        finally:
            app.exit()

    threading.Thread(target=controller, name="bench-controller", daemon=True).start()
    try:
        app.run(renderer)
    finally:
        panels.signal_viewer = clock._inner
    return results


@contextlib.contextmanager
def display():
    """The current display, or a private Xvfb while the block runs when there is none."""
    xvfb = private_display()
    try:
        yield
    finally:
        if xvfb is not None:
            stop_xvfb(xvfb)
            os.environ.pop("DISPLAY", None)


def measure_frame_times(scene: str = "8x64x2048", frames: int = 60,
                        view: str = "traces") -> list[float]:
    """Seconds between frames of the window showing every channel of `scene` in `view`
    ("traces", "heatmap" or "raw-buffer"). Runs the window on the calling (main) thread, on a
    private Xvfb when there is no display."""
    if scene not in SCENES or view not in VIEWS:
        raise ValueError(f"scene must be one of {sorted(SCENES)} and view one of {sorted(VIEWS)}")
    with display():
        return run_scene(scene, frames, (view,))[view]["frames"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames measured per view")
    parser.add_argument("--scene", choices=sorted(SCENES), action="append",
                        help="run only this scene (repeatable)")
    parser.add_argument("--view", choices=sorted(VIEWS), action="append",
                        help="measure only this view (repeatable)")
    args = parser.parse_args()
    views = tuple(args.view or VIEWS)
    print(f"{'scene':<12} {'view':<11} {'frames':>6} {'median ms':>10} {'p99 ms':>8} "
          f"{'viewers ms':>11} {'main cpu ms':>12} {'cpu ms':>7}")
    for name in args.scene or list(SCENES):
        with display():
            got = run_scene(name, args.frames, views)
        for view in views:
            frames = np.array(got[view]["frames"]) * 1000
            viewer = np.array(got[view]["viewers"] or [0.0]) * 1000
            if frames.size == 0:
                print(f"{name:<12} {view:<11} no frames in time")
                continue
            main = np.median(got[view]["main_cpu"] or [0.0]) * 1000
            print(f"{name:<12} {view:<11} {frames.size:>6} {np.median(frames):>10.1f} "
                  f"{np.percentile(frames, 99):>8.1f} {np.median(viewer):>11.1f} "
                  f"{main:>12.1f} {got[view]['process_cpu'] * 1000:>7.1f}")
        rates = ", ".join(f"{v:.0f}" for v in got["rates"].values())
        print(f"{name:<12} measured stream rates {rates} Hz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
