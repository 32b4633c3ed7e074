"""GUI frame-time rows: the main window with every channel on screen (8 streams x 64 ch x
2048 Hz, and 408 ch x 10240 Hz) under a private Xvfb (software GL), median frame time against
the 100 ms budget. The scenes are `benchmarks/gui_frame_time.py`'s, run from a source
checkout; without one, or without Xvfb or imgui, the rows are skipped with the reason."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np

from .common import Group, RowResult

BUDGET_S = 0.100
SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "gui_frame_time.py"


ROWS = (("8x64x2048", "traces"), ("408x10240", "traces"), ("408x10240", "heatmap"))


def _key(scene: str, view: str) -> str:
    return f"gui.frame_time.{scene}" + ("" if view == "traces" else f".{view}")


def _skipped(reason: str) -> list[RowResult]:
    return [RowResult(_key(s, v), f"GUI frame time, {s}, {v}", skipped=reason) for s, v in ROWS]


def run(quick: bool) -> list[RowResult]:
    import hexloop.adapters.imgui  # noqa: F401 - skip cleanly without imgui-bundle

    if shutil.which("Xvfb") is None and not os.environ.get("DISPLAY"):
        return _skipped("no display and no Xvfb on this machine")
    if not SCRIPT.is_file():
        return _skipped(f"needs a source checkout: {SCRIPT} not found")
    spec = importlib.util.spec_from_file_location("hexloop_bench_gui", SCRIPT)
    if spec is None or spec.loader is None:
        return _skipped(f"{SCRIPT} cannot be loaded as a module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    measure = getattr(module, "measure_frame_times", None)
    if measure is None:
        return _skipped(f"{SCRIPT.name} has no measure_frame_times(scene, frames, view)")
    rows: list[RowResult] = []
    for scene, view in ROWS:
        if quick and rows:
            rows.append(RowResult(_key(scene, view), scene, skipped=(
                "--quick measures one GUI scene (each fills 5 s of buffers first); run "
                "hexloop bench for every scene")))
            continue
        frames = np.array(measure(scene, 5 if quick else 20, view=view))
        if frames.size == 0:
            rows.append(RowResult(_key(scene, view), scene, skipped="no frame in time"))
            continue
        median = float(np.median(frames))
        rows.append(RowResult(
            _key(scene, view), f"GUI frame time with every channel on screen ({view}), "
            f"{scene}, Xvfb software GL", median / BUDGET_S, "<= 1",
            f"median {median * 1e3:.0f} ms, p99 {np.percentile(frames, 99) * 1e3:.0f} ms over "
            f"{frames.size} frames", "the 100 ms frame budget",
            {"median_s": median, "p99_s": float(np.percentile(frames, 99)),
             "frames": int(frames.size)}))
    return rows


GROUP = Group("gui", tuple(_key(s, v) for s, v in ROWS), run)
