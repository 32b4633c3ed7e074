"""Stream: one source, its ring buffer, display snapshot and the daemon thread that feeds them."""

from __future__ import annotations

import collections
import enum
import math
import threading
import time
from typing import TYPE_CHECKING

import attrs
import numpy as np

from hexloop.domain.display import DisplaySnapshot, MinMaxDecimator
from hexloop.domain.ringbuffer import RingBuffer
from hexloop.domain.streams import ChunkRejected, StreamInfo, validate_chunk
from hexloop.ports.source import Source, SourceLost

if TYPE_CHECKING:
    from .app import App

#: Ring buffer size for streams without a nominal rate (irregular), in samples per second.
IRREGULAR_CAPACITY_HZ = 100.0


class StreamStatus(enum.Enum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    STALLED = "stalled"
    ERROR = "error"
    STOPPED = "stopped"


@attrs.frozen
class StreamHealth:
    """A snapshot of how a stream is doing, for panels and status lines."""

    status: StreamStatus
    age_s: float  # since the newest sample arrived (inf before the first)
    rate_hz: float  # measured over the last second or so
    samples: int  # ever received
    rejected: int  # chunks refused by validation
    lost: int  # samples missing according to timestamp gaps (regular streams)
    reconnects: int
    error: str | None


class Stream:
    """A named stream fed by `source` on its own daemon acquisition thread.

    The thread reads, validates, writes the ring buffer, updates the display snapshot and, while
    recording, appends to the session (with the labels a source carries, if it has any). It
    never dies silently: a failing source is retried with backoff and its error shows in `health`.
    """

    def __init__(
        self,
        name: str,
        source: Source,
        window_ms: float = 200.0,
        buffer_ms: float = 10_000.0,
        connect_timeout: float = 5.0,
        stall_s: float = 1.0,
        display_buckets: int = 600,
    ):
        if window_ms <= 0 or buffer_ms <= 0:
            raise ValueError(f"stream {name!r}: window_ms and buffer_ms must be positive")
        if window_ms > buffer_ms:
            raise ValueError(
                f"stream {name!r}: window_ms ({window_ms}) is longer than buffer_ms ({buffer_ms}); "
                "make the buffer at least as long as the window"
            )
        self.name = name
        self.source = source
        self.window_ms = window_ms
        self.buffer_ms = buffer_ms
        self.connect_timeout = connect_timeout
        self.stall_s = stall_s
        self.display_buckets = display_buckets
        self.info: StreamInfo | None = None
        self.buffer: RingBuffer | None = None
        self._decimator: MinMaxDecimator | None = None
        self._app: App | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._record_lock = threading.Lock()
        self._session = None
        self._status = StreamStatus.CONNECTING
        self._error: str | None = None
        self._last_ts: float | None = None
        self._last_arrival = -math.inf
        self._connected_at = -math.inf
        self._samples = self._rejected = self._lost = self._reconnects = 0
        self._rate = 0.0
        self._rate_mark = (time.monotonic(), 0)
        self.label_events: collections.deque = collections.deque(maxlen=100_000)  # the source's
        self.max_stall_s = 0.0  # longest time one loop iteration took while data was flowing

    # --- wiring -----------------------------------------------------------------------------
    def attach(self, app: App) -> None:
        self._app = app

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"acq-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 0.5) -> None:
        """Ask the thread to end and wait up to `timeout`; a blocked source cannot hold us."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._status = StreamStatus.STOPPED

    def set_session(self, session) -> None:
        """Start (session) or stop (None) appending chunks to a recording."""
        with self._record_lock:
            self._session = session

    # --- readers ----------------------------------------------------------------------------
    @property
    def window_samples(self) -> int:
        rate = self.info.sampling_rate if self.info else 0.0
        return max(1, round(self.window_ms * (rate or IRREGULAR_CAPACITY_HZ) / 1000.0))

    def get_window(self) -> tuple[np.ndarray, np.ndarray]:
        """The newest window: data (channels, n) and timestamps (n,), fresh copies."""
        buffer = self.buffer
        if buffer is None:
            return np.empty((0, 0), np.float32), np.empty(0)
        return buffer.window(self.window_samples)

    def display(self, channels: list[int] | None = None) -> DisplaySnapshot | None:
        """Min/max per bucket over the buffer, kept by the acquisition thread, for drawing."""
        decimator = self._decimator
        return None if decimator is None else decimator.snapshot(channels)

    @property
    def health(self) -> StreamHealth:
        now = time.monotonic()
        age = now - self._last_arrival
        status = self._status
        regular = self.info is not None and self.info.sampling_rate > 0
        quiet = now - max(self._last_arrival, self._connected_at)
        if status is StreamStatus.STREAMING and regular and quiet > self.stall_s:
            status = StreamStatus.STALLED
        rate = self._rate if age < 2.0 else 0.0
        return StreamHealth(status, age, rate, self._samples, self._rejected, self._lost,
                            self._reconnects, self._error)

    # --- the acquisition thread --------------------------------------------------------------
    def _log(self):
        return self._app.ctx.log if self._app is not None else None

    def _report(self, error: BaseException | str) -> None:
        self._error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        log = self._log()
        if log is not None:
            log.error_once(f"stream {self.name}", error)

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            received = self._samples
            try:
                self._connect()
                self._acquire()
            except SourceLost as e:
                self._status = StreamStatus.STALLED
                self._report(e)
            except TimeoutError as e:  # not found (yet): keep connecting, or stay stalled
                if self._status is not StreamStatus.STALLED:
                    self._status = StreamStatus.CONNECTING
                self._report(e)
            except Exception as e:  # noqa: BLE001 - the thread must survive any source bug
                self._status = StreamStatus.ERROR
                self._report(e)
            self._safe_disconnect()  # here, never from another thread while read() runs
            if self._stop.is_set():
                break
            self._reconnects += 1
            if self._samples > received:  # it was streaming: retry soon, then back off
                backoff = 0.05
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 2.0)

    def _safe_disconnect(self) -> None:
        try:
            self.source.disconnect()
        except Exception as e:  # noqa: BLE001
            self._report(e)

    def _connect(self) -> None:
        if self._status is not StreamStatus.STALLED:
            self._status = StreamStatus.CONNECTING
        info = attrs.evolve(self.source.connect(self.connect_timeout), name=self.name)
        if self.info is not None and (
            info.channel_count, info.dtype, info.sampling_rate
        ) != (self.info.channel_count, self.info.dtype, self.info.sampling_rate):
            raise ChunkRejected(
                self.name,
                f"{self.info.channel_count} ch {self.info.dtype} at {self.info.sampling_rate} Hz",
                f"a reconnected stream of {info.channel_count} ch {info.dtype} at "
                f"{info.sampling_rate} Hz; restart the app to accept the new geometry",
            )
        if self.buffer is None:
            rate = info.sampling_rate or IRREGULAR_CAPACITY_HZ
            capacity = max(1, math.ceil(self.buffer_ms * rate / 1000.0))
            self.buffer = RingBuffer(capacity, info.channel_count, info.np_dtype)
            bucket = max(1, capacity // self.display_buckets)
            self._decimator = MinMaxDecimator(info.channel_count, bucket, self.display_buckets)
            self.info = info
        self._connected_at = time.monotonic()
        self._status = StreamStatus.STREAMING
        self._error = None

    def _forward_labels(self, events) -> None:
        """Labels a source carries (a replayed recording's cues) go into a running recording."""
        self.label_events.extend(events)
        app = self._app
        if not events or app is None or app.ctx.recording is None:
            return
        names = getattr(self.source, "class_names", ())
        for event in events:
            try:
                label = names[event.class_index] if names else event.class_index
                app.mark(label, event.time)
            except Exception as e:  # noqa: BLE001 - e.g. a class the app does not know
                self._report(e)

    def _acquire(self) -> None:
        info, buffer, decimator = self.info, self.buffer, self._decimator
        poll_labels = getattr(self.source, "poll_labels", None)
        rate = info.sampling_rate
        idle = 0.001 if rate == 0 else min(0.005, max(0.0005, 8.0 / rate))
        while not self._stop.is_set():
            data, ts = self.source.read()
            if len(ts) == 0:
                self._stop.wait(idle)
                continue
            started = time.perf_counter()
            try:
                validate_chunk(info, data, ts, self._last_ts)
            except ChunkRejected as e:
                self._rejected += 1
                self._report(e)
                continue
            if rate > 0 and self._last_ts is not None:
                gap = ts[0] - self._last_ts
                if gap > 1.5 / rate:
                    self._lost += max(0, round(gap * rate) - 1)
            data = data.astype(info.np_dtype, copy=False)
            buffer.write(data, ts)
            decimator.add(data, ts)
            with self._record_lock:
                if self._session is not None:
                    try:
                        self._session.append(self.name, data, ts)
                    except Exception as e:  # noqa: BLE001 - recording trouble never stops acquisition
                        self._report(e)
            if poll_labels is not None:
                self._forward_labels(poll_labels())
            self._last_ts = float(ts[-1])
            self._samples += len(ts)
            now = time.monotonic()
            self._last_arrival = now
            mark_t, mark_n = self._rate_mark
            if now - mark_t >= 0.5:
                self._rate = (self._samples - mark_n) / (now - mark_t)
                self._rate_mark = (now, self._samples)
            self.max_stall_s = max(self.max_stall_s, time.perf_counter() - started)
