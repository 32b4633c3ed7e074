"""Does a webcam bridge disturb the main process? Predict-tick jitter and acquisition with and without.

Three phases in one run, each a fresh App with a SimulatedSource stream (8 ch, 2 kHz) and a real
Pipeline predicting at 50 Hz (a small numpy job per tick):
  1. baseline: nothing else running;
  2. bridge: a WebCamBridge child recording a 640x480 video at 30 frames/s (looping) to Zarr;
  3. in-process: the very same capture-and-write work on threads of this process instead,
     which is what the bridge exists to avoid.
It prints, side by side, the 99th percentile of predict-tick lateness, the input age at predict
time, the acquisition rate and the p99 gap between source reads, with ratios against the
baseline of the same run, plus the frames each phase actually recorded.
Run: `.venv/bin/python benchmarks/bridge_jitter.py [--seconds 8]` (about 35 s in all).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault(
    "LSLAPICFG",
    str(Path(__file__).resolve().parents[1] / "application" / "composition" / "lsl_loopback.cfg"),
)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from hexloop.adapters.opencv import RecordedFrames, WebCamBridge  # noqa: E402
from hexloop.adapters.opencv.child import FrameRecorder  # noqa: E402
from hexloop.adapters.simulated import SimulatedSource  # noqa: E402
from hexloop.application import App, Pipeline, Stream  # noqa: E402

PREDICT_HZ, CHANNELS, RATE = 50.0, 8, 2000.0
WIDTH, HEIGHT, FPS = 640, 480, 30.0


class CountingSource(SimulatedSource):
    """SimulatedSource that notes when each read returned data and how much."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads: list[tuple[float, int]] = []

    def read(self):
        data, ts = super().read()
        if len(ts):
            self.reads.append((time.monotonic(), len(ts)))
        return data, ts


def make_video(path: Path, frames: int = 90) -> None:
    """A textured 640x480 MJPG video: JPEG decoding and zstd see realistic, noisy content."""
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    base = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    for k in range(frames):
        frame = np.roll(base, 7 * k, axis=1)
        cv2.putText(frame, str(k), (40, 120), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        writer.write(frame)
    writer.release()


def measure(seconds: float) -> dict:
    """One phase: a fresh app, warm-up, then `seconds` of predict ticks and source reads."""
    source = CountingSource("emg", channels=CHANNELS, rate=RATE, seed=1)
    app = App("bridge-jitter")
    app.streams(Stream("emg", source, window_ms=200, buffer_ms=5000))
    pipeline = Pipeline(app, predict_hz=PREDICT_HZ)
    calls: list[float] = []
    weights = np.random.default_rng(2).standard_normal((4, CHANNELS * 3))

    @pipeline.extract
    def extract(windows):
        x = windows["emg"]
        return np.concatenate([np.sqrt((x * x).mean(axis=1)), np.abs(x).mean(axis=1),
                               np.abs(np.diff(x, axis=1)).sum(axis=1)])

    @pipeline.predict
    def predict(model, features):
        calls.append(time.monotonic())
        z = weights @ features
        e = np.exp(z - z.max())
        return {f"p{i}": float(v) for i, v in enumerate(e / e.sum())}

    pipeline.model = "softmax"
    app.start()
    try:
        deadline = time.monotonic() + 5
        while pipeline.refusal() and time.monotonic() < deadline:
            time.sleep(0.05)
        pipeline.start_predicting()
        time.sleep(1.0)  # warm-up
        first_prediction = len(pipeline.predictions.recent())
        first_call, first_read = len(calls), len(source.reads)
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        predictions = pipeline.predictions.recent()[first_prediction:]
        times = np.array(calls[first_call:first_call + len(predictions)])
        reads = source.reads[first_read:]
    finally:
        app.shutdown()
    ticks = np.array([p.tick for p in predictions])
    ages = times - np.array([p.input_time for p in predictions])
    offsets = times - ticks / PREDICT_HZ  # tick k is due at start + k / rate
    lateness = offsets - offsets.min()
    read_times = np.array([t for t, _ in reads])
    return {
        "lateness_p99_ms": float(np.percentile(lateness, 99) * 1e3),
        "lateness_max_ms": float(lateness.max() * 1e3),
        "age_p99_ms": float(np.percentile(ages, 99) * 1e3),
        "ticks_per_s": len(predictions) / elapsed,
        "samples_per_s": sum(n for _, n in reads) / elapsed,
        "read_gap_p99_ms": float(np.percentile(np.diff(read_times), 99) * 1e3),
        "elapsed": elapsed,
    }


def wait_capturing(bridge: WebCamBridge, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any("capturing" in line for line in bridge.status.stderr_tail):
            return
        if not bridge.status.running:
            raise RuntimeError(f"the bridge did not start: {bridge.status.summary()}")
        time.sleep(0.05)
    raise RuntimeError(f"the bridge did not start capturing: {bridge.status.summary()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per phase")
    args = parser.parse_args()
    results, recorded = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "video.avi"
        make_video(video)

        results["baseline"] = measure(args.seconds)
        recorded["baseline"] = "-"

        bridge = WebCamBridge(f"bench{uuid.uuid4().hex[:6]}", str(video), Path(tmp) / "bridge.zarr",
                              fps=FPS, loop=True, log_dir=tmp)
        bridge.start()
        try:
            wait_capturing(bridge)
            time.sleep(0.5)
            results["bridge"] = measure(args.seconds)
        finally:
            status = bridge.stop(10.0)
        frames = len(RecordedFrames(bridge.frames_path))
        recorded["bridge"] = f"{frames} frames, exit {status.exit_code}"

        recorder = FrameRecorder(f"inproc{uuid.uuid4().hex[:6]}", str(video),
                                 Path(tmp) / "inprocess.zarr", FPS, loop=True)
        runner = threading.Thread(target=recorder.run, name="in-process-recorder", daemon=True)
        runner.start()
        try:
            time.sleep(1.0)
            results["in-process"] = measure(args.seconds)
        finally:
            recorder.lifecycle.request_stop("benchmark done")
            runner.join(15.0)
        recorded["in-process"] = f"{recorder.first_index + recorder.written} frames"

    phases = list(results)
    base = results["baseline"]
    rows = [("predict tick lateness p99", "lateness_p99_ms", "ms"),
            ("predict tick lateness max", "lateness_max_ms", "ms"),
            ("input age at predict p99", "age_p99_ms", "ms"),
            ("predict ticks", "ticks_per_s", "/s"),
            ("acquired samples", "samples_per_s", "/s"),
            ("gap between source reads p99", "read_gap_p99_ms", "ms")]
    print(f"cpu count {os.cpu_count()}; {args.seconds:g} s per phase; {WIDTH}x{HEIGHT} at "
          f"{FPS:g} frames/s; predict at {PREDICT_HZ:g} Hz; source {CHANNELS} ch at {RATE:g} Hz")
    print(f"{'':32}" + "".join(f"{p:>30}" for p in phases))
    for label, key, unit in rows:
        cells = []
        for p in phases:
            value = results[p][key]
            ratio = "" if p == "baseline" else f" (x{value / base[key]:.2f})" if base[key] else ""
            cells.append(f"{value:9.2f} {unit}{ratio}")
        print(f"{label:32}" + "".join(f"{c:>30}" for c in cells))
    print(f"{'frames recorded':32}" + "".join(f"{recorded[p]:>30}" for p in phases))


if __name__ == "__main__":
    main()
