"""The webcam bridge's child program: capture frames with OpenCV, append them to Zarr, publish
an LSL clock stream. Run as `python -m hexloop.adapters.opencv.child --name cam --source 0
--output cam.zarr --fps 30`; exit codes are hexloop.domain.bridges.BridgeExit.

Threads: the main thread only waits (so SIGTERM/SIGINT are handled at once) and watches for a
stalled source; a capture thread reads and timestamps frames and pushes the clock samples; a
writer thread appends whole shards to Zarr, so a slow disk never delays a timestamp.

Kept whole, a little over 400 lines: the three threads share one FrameRecorder's state (the
block being filled, the backlog, the failure); the devices live in capture.py and the on-disk
format in frames.py.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from hexloop.adapters._optional import optional
from hexloop.adapters.subprocess.lifecycle import BridgeExitError, ChildLifecycle, report
from hexloop.domain.bridges import BridgeExit, bridge_name_problem
from hexloop.domain.pacing import MonotonicClock, Ticker

from .capture import is_live, make_clock_outlet, open_capture, parse_source
from .frames import FORMAT, FRAMES, TIMESTAMPS, VERSION, valid_frame_count

#: Timestamps are chunked this many shards at a time (a rewrite per shard is a few KB).
TIMESTAMP_SHARDS_PER_CHUNK = 64
#: The capture thread waits (and says so) rather than queue more than this for the disk.
MAX_BACKLOG_BYTES = 512 * 2**20
#: How long a stopping child keeps its clock outlet open so inlets receive the last samples.
OUTLET_LINGER_S = 0.3
#: A live source may deliver this many frames in a burst before thinning starts.
LIVE_BURST_FRAMES = 3
_DONE = object()


class FrameRecorder:
    """Everything one child run does; `run()` returns its exit code."""

    def __init__(self, name: str, source: int | str, output: Path, fps: float, *,
                 loop: bool = False, append: bool = False, size: tuple[int, int] | None = None,
                 chunk_frames: int | None = None, stall_timeout_s: float = 5.0):
        self.name, self.source, self.output, self.fps = name, source, Path(output), float(fps)
        self.loop, self.append, self.size = loop, append, size
        self.chunk_frames = int(chunk_frames or max(1, round(self.fps)))
        self.stall_timeout_s = float(stall_timeout_s)
        self.lifecycle = ChildLifecycle()
        self.failure: BaseException | None = None
        self.finished = ""  # why capture ended on its own without an error (end of the file)
        self.frames_array: Any = None  # zarr arrays, opened by _open_output
        self.ts_array: Any = None
        self.first_index = 0
        self.captured = 0  # frames handed to the buffer by this run
        self.written = 0  # frames on disk from this run
        self.thinned = 0  # live frames skipped to keep about `fps` a second (or a burst's excess)
        self.last_frame_at: float | None = None  # monotonic time of the last delivered frame
        self.waiting_for_disk = False
        self._block: np.ndarray | None = None
        self._block_ts: np.ndarray | None = None
        self._fill = 0
        self._buffer_lock = threading.Lock()
        self._buffer_closed = False
        self._queue: queue.Queue = queue.Queue()
        self._queued_bytes = 0
        self._queued_cv = threading.Condition()
        self._capture_stop = threading.Event()
        self._cap: Any = None  # cv2.VideoCapture (untyped)
        self._outlet: Any = None  # pylsl.StreamOutlet (untyped)

    # -- main thread ---------------------------------------------------------------------------

    def run(self) -> int:
        """Capture until stopped, the file ends or something fails; the lifecycle is installed."""
        import cv2
        import pylsl

        self._check_output()
        self._cap = open_capture(cv2, self.source, self.fps, self.size, self.stall_timeout_s)
        self._outlet = make_clock_outlet(pylsl, self.name, self.fps, self.output)
        report(self.name, f"capturing {self.source!r} at {self.fps:g} frames/s into {self.output}"
                          f" (LSL config: {os.environ.get('LSLAPICFG') or 'liblsl default'})")
        writer = threading.Thread(target=self._write_loop, name="writer", daemon=True)
        capture = threading.Thread(target=self._guarded_capture, args=(cv2, pylsl),
                                   name="capture", daemon=True)
        writer.start()
        capture.start()
        started = time.monotonic()
        while not self.lifecycle.wait(0.1):
            if self.failure is not None or not capture.is_alive():
                break
            self._check_stall(started)
        return self._finish(capture, writer)

    def _check_stall(self, started: float) -> None:
        if self.waiting_for_disk:
            return
        last = self.last_frame_at if self.last_frame_at is not None else started
        silent = time.monotonic() - last
        if silent > self.stall_timeout_s:
            what = "no frame arrived" if self.last_frame_at is None else "no new frame arrived"
            self._fail(BridgeExitError(
                BridgeExit.SOURCE_FAILED,
                f"{what} from {self.source!r} for {silent:.1f} s: the camera was unplugged, "
                "stalled, or is used by another program",
            ))

    def _finish(self, capture: threading.Thread, writer: threading.Thread) -> int:
        self._capture_stop.set()
        capture.join(timeout=max(2.0, 3.0 / self.fps))
        stuck = capture.is_alive()
        with self._buffer_lock:
            self._buffer_closed = True
            block, block_ts = self._block, self._block_ts
            if self._fill and block is not None and block_ts is not None:
                self._enqueue(block[: self._fill].copy(), block_ts[: self._fill].copy())
                self._fill = 0
        self._queue.put(_DONE)
        writer.join()
        if not stuck and self._cap is not None:
            self._cap.release()
        if self._outlet is not None and self._outlet.have_consumers():
            time.sleep(OUTLET_LINGER_S)  # LSL cannot flush: let inlets get the last samples
        self._outlet = None  # the outlet goes away with its last reference
        code = self._exit_code()
        total = self.first_index + self.written
        lost = self.captured - self.written
        why = self.lifecycle.reason or self.finished or "stopped"
        if isinstance(self.failure, BridgeExitError):
            why = self.failure.message
        elif self.failure is not None:
            why = f"unexpected error: {self.failure!r}"
        report(self.name, f"{why}; {total} frames in {self.output}"
                          + (f"; {lost} captured frames could NOT be written" if lost else "")
                          + (f"; {self.thinned} frames thinned out (the source delivered them "
                             f"faster than {self.fps:g} a second)" if self.thinned else ""))
        if stuck:  # the capture thread is blocked inside OpenCV: do not wait for it at exit
            sys.stderr.flush()
            os._exit(code)
        return code

    def _exit_code(self) -> int:
        if self.failure is None:
            return int(BridgeExit.OK)
        if isinstance(self.failure, BridgeExitError):
            return int(self.failure.exit_code)
        return int(BridgeExit.UNEXPECTED)

    def _fail(self, failure: BaseException) -> None:
        if self.failure is None:
            self.failure = failure
        self.lifecycle.request_stop("failed")

    # -- setup -------------------------------------------------------------------------------

    def _check_output(self) -> None:
        exists = self.output.exists() and (not self.output.is_dir() or any(self.output.iterdir()))
        if exists and not self.append:
            raise BridgeExitError(
                BridgeExit.OUTPUT_EXISTS,
                f"{self.output} already exists; refusing to overwrite recorded frames. "
                "Choose a new output path (or resume it with --append)",
            )
        try:
            self.output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise BridgeExitError(BridgeExit.OUTPUT_FAILED,
                                  f"cannot create {self.output.parent}: {e}") from e

    def _open_arrays(self, shape: tuple[int, int, int]) -> None:
        """On the first frame: create the arrays, or check and resume existing ones."""
        import zarr

        try:
            if self.append and self.output.exists():
                group = zarr.open_group(self.output, mode="r+")
                if group.attrs.get("format") != FORMAT:
                    raise BridgeExitError(BridgeExit.OUTPUT_EXISTS,
                                          f"{self.output} exists but holds no bridge frames; "
                                          "refusing to write into it")
                frames: Any = group[FRAMES]  # zarr arrays (a Group if someone altered the file)
                stamps: Any = group[TIMESTAMPS]
                if tuple(frames.shape[1:]) != shape:
                    raise BridgeExitError(
                        BridgeExit.OUTPUT_EXISTS,
                        f"{self.output} holds frames of shape {tuple(frames.shape[1:])} but the "
                        f"source now gives {shape}; record to a new output path")
                keep = valid_frame_count(frames.shape[0], np.asarray(stamps[:]))
                frames.resize((keep, *shape))  # drop a tail a crash left without timestamps
                stamps.resize((keep,))
                self.first_index = keep
                report(self.name, f"resuming {self.output} after its {keep} frames")
            else:
                group = zarr.open_group(self.output, mode="w-", attributes={
                    "format": FORMAT, "version": VERSION, "bridge": self.name,
                    "source": str(self.source), "fps": self.fps, "height": shape[0],
                    "width": shape[1], "channels": shape[2], "color": "BGR",
                    "clock": "pylsl.local_clock", "clock_stream": f"{self.name}_clock"})
                frames = group.create_array(
                    FRAMES, shape=(0, *shape), dtype="uint8", chunks=(1, *shape),
                    shards=(self.chunk_frames, *shape))
                stamps = group.create_array(
                    TIMESTAMPS, shape=(0,), dtype="float64", fill_value=np.nan,
                    chunks=(self.chunk_frames * TIMESTAMP_SHARDS_PER_CHUNK,))
        except BridgeExitError:
            raise
        except FileExistsError as e:
            raise BridgeExitError(BridgeExit.OUTPUT_EXISTS,
                                  f"{self.output} appeared meanwhile; refusing to overwrite it") from e
        except OSError as e:
            raise BridgeExitError(BridgeExit.OUTPUT_FAILED,
                                  f"cannot create frames at {self.output}: {e}") from e
        self.frames_array, self.ts_array = frames, stamps

    # -- capture thread ----------------------------------------------------------------------

    def _guarded_capture(self, cv2, pylsl) -> None:
        try:
            if is_live(self.source):
                self._capture_live(cv2, pylsl)
            else:
                self._capture_file(cv2, pylsl)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            if not isinstance(e, BridgeExitError):
                traceback.print_exc()
            self._fail(e)

    def _capture_file(self, cv2, pylsl) -> None:
        """A video file plays at `fps` in real time, as a camera would deliver it."""
        ticker = Ticker(self.fps, MonotonicClock())
        while ticker.wait(self._capture_stop):
            if not self._cap.grab():
                if self.captured == 0:
                    raise BridgeExitError(BridgeExit.SOURCE_FAILED,
                                          f"{self.source} holds no readable frame")
                if not self.loop:
                    self.finished = f"end of {self.source}"
                    return
                self._cap.release()
                self._cap = cv2.VideoCapture(self.source)
                if not self._cap.grab():
                    raise BridgeExitError(BridgeExit.SOURCE_FAILED,
                                          f"{self.source} could not be read again to loop it")
            stamp = pylsl.local_clock()
            ok, frame = self._cap.retrieve()
            if not ok:
                raise BridgeExitError(BridgeExit.SOURCE_FAILED,
                                      f"frame {self.captured} of {self.source} could not be decoded")
            self._deliver(frame, stamp)

    def _capture_live(self, cv2, pylsl) -> None:
        """Cameras and streams deliver at their own rate: keep at most about `fps` a second.

        A token bucket (LIVE_BURST_FRAMES deep) decides, so a source at the requested rate
        keeps every frame despite jitter, and a faster one is thinned evenly. Frames arriving in
        a burst longer than that (a late reader on a busy machine) are thinned too; every thinned
        frame is counted, and the count is reported when the child ends.
        """
        period = 1.0 / self.fps
        tokens, last = float(LIVE_BURST_FRAMES), None
        while not self._capture_stop.is_set():
            if not self._cap.grab():
                # no frame now: wait a little, the main thread's stall check decides when to quit
                self._capture_stop.wait(min(period, 0.1))
                continue
            stamp = pylsl.local_clock()
            if last is not None:
                tokens = min(float(LIVE_BURST_FRAMES), tokens + (stamp - last) * self.fps)
            last = stamp
            if tokens < 1.0:
                self.last_frame_at = time.monotonic()  # alive, just faster than wanted
                self.thinned += 1
                continue
            tokens -= 1.0
            ok, frame = self._cap.retrieve()
            if ok:
                self._deliver(frame, stamp)

    def _deliver(self, frame: np.ndarray, stamp: float) -> None:
        if frame.ndim == 2:
            frame = frame[:, :, None]
        if frame.dtype != np.uint8:
            raise BridgeExitError(BridgeExit.SOURCE_FAILED,
                                  f"the source gives {frame.dtype} frames; only 8-bit is supported")
        if self.frames_array is None:
            self._open_arrays(tuple(frame.shape))
        if frame.shape != self._block_shape():
            raise BridgeExitError(
                BridgeExit.SOURCE_FAILED,
                f"the frame size changed from {self._block_shape()} to {frame.shape} mid-run; "
                "restart the bridge with a new output path")
        with self._buffer_lock:
            if self._buffer_closed:
                return
            block, block_ts = self._block, self._block_ts
            if block is None or block_ts is None:
                block = self._block = np.empty((self.chunk_frames, *frame.shape), np.uint8)
                block_ts = self._block_ts = np.empty(self.chunk_frames, np.float64)
            block[self._fill] = frame
            block_ts[self._fill] = stamp
            self._fill += 1
            index = self.first_index + self.captured
            self.captured += 1
            if self._fill == self.chunk_frames:
                full, full_ts = block, block_ts
                self._block = np.empty_like(full)
                self._block_ts = np.empty_like(full_ts)
                self._fill = 0
            else:
                full = None
        self._outlet.push_sample([float(index), stamp], stamp)
        self.last_frame_at = time.monotonic()
        if full is not None:
            self._wait_for_disk(full.nbytes)
            self._enqueue(full, full_ts)

    def _block_shape(self) -> tuple[int, ...]:
        return tuple(self.frames_array.shape[1:])

    def _wait_for_disk(self, nbytes: int) -> None:
        with self._queued_cv:
            if self._queued_bytes + nbytes > MAX_BACKLOG_BYTES:
                self.waiting_for_disk = True
                report(self.name, "the disk cannot keep up: capture waits for the writer")
                self._queued_cv.wait_for(
                    lambda: self._queued_bytes + nbytes <= MAX_BACKLOG_BYTES
                    or self._capture_stop.is_set())
                self.waiting_for_disk = False
                self.last_frame_at = time.monotonic()

    def _enqueue(self, block: np.ndarray, stamps: np.ndarray) -> None:
        with self._queued_cv:
            self._queued_bytes += block.nbytes
        self._queue.put((block, stamps))

    # -- writer thread -----------------------------------------------------------------------

    def _write_loop(self) -> None:
        broken = False
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            block, stamps = item
            if not broken:
                try:
                    self.frames_array.append(block, axis=0)
                    self.ts_array.append(stamps, axis=0)
                    self.written += len(stamps)
                except Exception as e:  # noqa: BLE001 - disk full, permissions, removed folder
                    broken = True
                    self._fail(BridgeExitError(BridgeExit.OUTPUT_FAILED,
                                               f"writing frames to {self.output} failed: {e}"))
            with self._queued_cv:
                self._queued_bytes -= block.nbytes
                self._queued_cv.notify_all()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hexloop.adapters.opencv.child",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True, help="bridge name; the clock stream is <name>_clock")
    p.add_argument("--source", required=True, help="device index, video file or stream URL")
    p.add_argument("--output", required=True, type=Path, help="the Zarr group to create")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second to keep")
    p.add_argument("--loop", action="store_true", help="replay a video file forever")
    p.add_argument("--append", action="store_true", help="resume an existing output")
    p.add_argument("--width", type=int, help="ask the camera for this frame width")
    p.add_argument("--height", type=int, help="ask the camera for this frame height")
    p.add_argument("--chunk-frames", type=int, help="frames per shard written (default: fps)")
    p.add_argument("--stall-timeout", type=float, default=5.0,
                   help="seconds without a frame before giving up (exit 4)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problems = [bridge_name_problem(args.name)]
    if not 0 < args.fps <= 1000:
        problems.append(f"--fps must be in (0, 1000], got {args.fps}")
    if args.stall_timeout <= 0:
        problems.append(f"--stall-timeout must be positive, got {args.stall_timeout}")
    if (args.width is None) != (args.height is None):
        problems.append("give both --width and --height, or neither")
    if args.chunk_frames is not None and args.chunk_frames < 1:
        problems.append(f"--chunk-frames must be at least 1, got {args.chunk_frames}")
    found = [p for p in problems if p]
    if found:
        report(args.name, "; ".join(found))
        return int(BridgeExit.USAGE)
    recorder = FrameRecorder(
        args.name, parse_source(args.source), args.output, args.fps, loop=args.loop,
        append=args.append, chunk_frames=args.chunk_frames, stall_timeout_s=args.stall_timeout,
        size=(args.width, args.height) if args.width else None)
    recorder.lifecycle.install()  # before the slow imports: a stop request is never lost
    try:
        for module in ("cv2", "pylsl", "zarr"):
            optional(module, extra="video", purpose="the webcam bridge")
    except ImportError as e:
        report(args.name, str(e))
        return int(BridgeExit.MISSING_DEPENDENCY)
    if recorder.lifecycle.should_stop():
        return int(BridgeExit.OK)
    try:
        return recorder.run()
    except BridgeExitError as e:
        report(args.name, e.message)
        return int(e.exit_code)


if __name__ == "__main__":
    sys.exit(main())
