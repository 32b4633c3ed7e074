"""Stream: one source, its ring buffer, display snapshot and the daemon thread that feeds them.

The health it reports (StreamStatus, StreamHealth) and its anomaly counters live in
application/stream_health.py and are re-exported here.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs
import numpy as np

from hexloop.domain.display import DisplaySnapshot, MinMaxDecimator
from hexloop.domain.ringbuffer import RingBuffer
from hexloop.domain.streams import (
    CLOCK_JUMP_S,
    ChunkRejected,
    ClockTracker,
    GeometryError,
    StreamInfo,
    saturate,
    validate_chunk,
)
from hexloop.ports.conditioner import ConditionerFactory
from hexloop.ports.source import Source, SourceLost

from .conditioning import CONDITIONED_DTYPE, StreamConditioning
from .log import Log
from .stream_health import StreamAnomalies, StreamHealth, StreamStatus, mark_discontinuities

#: Ring buffer size for streams without a nominal rate (irregular), in samples per second.
IRREGULAR_CAPACITY_HZ = 100.0

#: Longest pause of the acquisition thread after a read that brought nothing: a sample that
#: arrives just after it began waits this long, so it adds up to this much latency to the
#: loop (5 ms before #13; `hexloop bench` row acquisition.idle_wait measures both).
MAX_IDLE_WAIT_S = 0.001


class _OwnerContext(Protocol):
    @property
    def log(self) -> Log: ...

    @property
    def recording(self) -> object | None: ...


class StreamOwner(Protocol):
    """What a Stream uses of the App it is attached to; a Protocol, so this module imports no
    App (the App imports streams, never the other way round)."""

    @property
    def ctx(self) -> _OwnerContext: ...

    def mark(self, label: str | int, time_s: float | None = None) -> object: ...


class StreamRefusedError(ChunkRejected, GeometryError):
    """A (re)connected source announced a geometry the stream cannot take."""


class Stream:
    """A named stream fed by `source` on its own daemon acquisition thread.

    The thread reads, validates, writes the ring buffer, updates the display snapshot and, while
    recording, appends to the session (with the labels a source carries, if it has any). It
    never dies silently: a failing source is retried with backoff and its error shows in `health`.

    Anomalies are kept and counted, never refused: clock jumps (`clock_jump_s` beyond what the
    sample count explains, or any step back) re-anchor and are marked in the recording,
    non-finite values are stored verbatim, out-of-range values saturate. Each kind is logged
    once as a warning. A source whose geometry cannot be taken shows `StreamStatus.REFUSED`
    with the reason in `health.error` until it connects with an acceptable geometry.
    """

    max_idle_wait_s = MAX_IDLE_WAIT_S  # per stream: set before start() to trade latency for CPU

    def __init__(
        self,
        name: str,
        source: Source,
        window_ms: float = 200.0,
        buffer_ms: float = 10_000.0,
        connect_timeout: float = 5.0,
        stall_s: float = 1.0,
        display_buckets: int = 600,
        clock_jump_s: float = CLOCK_JUMP_S,
        conditioning: Sequence[Mapping] | None = None,
        conditioner_factory: ConditionerFactory | None = None,
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
        # the chain the ring buffer, display and predict see; raw data is recorded (#14)
        self.conditioning = StreamConditioning(conditioning, conditioner_factory,
                                               where=f"stream {name!r}: conditioning")
        self.window_ms = window_ms
        self.buffer_ms = buffer_ms
        self.connect_timeout = connect_timeout
        self.stall_s = stall_s
        self.display_buckets = display_buckets
        self.clock_jump_s = clock_jump_s
        self.info: StreamInfo | None = None
        self.buffer: RingBuffer | None = None
        self._decimator: MinMaxDecimator | None = None
        self._raw_decimator: MinMaxDecimator | None = None  # with conditioning: the raw view
        self._app: StreamOwner | None = None
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
        self._clock: ClockTracker | None = None
        self._anomalies = StreamAnomalies(name, self._log)  # non-finite, clipped, clock jumps
        self._recorded = 0  # samples appended to the current session
        self._refusal: str | None = None
        self.discontinuities = self._anomalies.discontinuities  # the clock jumps found (newest)
        self._rate = 0.0
        self._rate_mark = (time.monotonic(), 0)
        self.label_events: collections.deque = collections.deque(maxlen=100_000)  # the source's
        self.max_stall_s = 0.0  # longest time one loop iteration took while data was flowing

    # --- wiring -----------------------------------------------------------------------------
    def attach(self, app: StreamOwner) -> None:
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
            self._recorded = 0

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

    def display(self, channels: list[int] | None = None,
                raw: bool = False) -> DisplaySnapshot | None:
        """Min/max per bucket over the buffer, kept by the acquisition thread, for drawing;
        `raw` shows the samples before conditioning (the same as not raw without a chain)."""
        decimator = self._raw_decimator if raw and self.conditioning else self._decimator
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
        error = self._error
        refusal = self._refusal
        if refusal is not None and status is not StreamStatus.STOPPED:
            status, error = StreamStatus.REFUSED, refusal
        clock = self._clock
        jumps, lost, bad_ts = (0, 0, 0) if clock is None else (
            clock.jumps, clock.lost, clock.non_finite)
        return StreamHealth(status, age, rate, self._samples, self._rejected, self._lost + lost,
                            self._reconnects, error, jumps, self._anomalies.non_finite,
                            self._anomalies.clipped, bad_ts)

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
            except GeometryError as e:  # shown until a connect with acceptable geometry
                self._status = StreamStatus.REFUSED
                self._refusal = f"{type(e).__name__}: {e}"
                self._report(e)
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
            raise StreamRefusedError(
                self.name,
                f"{self.info.channel_count} ch {self.info.dtype} at {self.info.sampling_rate} Hz",
                f"a reconnected stream of {info.channel_count} ch {info.dtype} at "
                f"{info.sampling_rate} Hz; restart the app to accept the new geometry",
            )
        if self.buffer is None:
            if self.conditioning:  # refused (naming the key) when the rate cannot take it
                self.conditioning.build(info)
            rate = info.sampling_rate or IRREGULAR_CAPACITY_HZ
            capacity = max(1, math.ceil(self.buffer_ms * rate / 1000.0))
            dtype = CONDITIONED_DTYPE if self.conditioning else info.np_dtype
            self.buffer = RingBuffer(capacity, info.channel_count, dtype)
            bucket = max(1, capacity // self.display_buckets)
            self._decimator = MinMaxDecimator(info.channel_count, bucket, self.display_buckets)
            if self.conditioning:
                self._raw_decimator = MinMaxDecimator(info.channel_count, bucket,
                                                      self.display_buckets)
            self._clock = ClockTracker(self.name, info.sampling_rate, self.clock_jump_s)
            self.info = info
        else:
            self.conditioning.reset()  # a reconnect starts a new signal: no ringing from the old
        self._connected_at = time.monotonic()
        self._status = StreamStatus.STREAMING
        self._error = None
        self._refusal = None

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
        info, buffer, decimator, clock = self.info, self.buffer, self._decimator, self._clock
        if info is None or buffer is None or decimator is None or clock is None:
            raise RuntimeError(f"stream {self.name}: acquiring before connect()")
        poll_labels = getattr(self.source, "poll_labels", None)
        rate = info.sampling_rate
        idle = min(self.max_idle_wait_s, 0.001 if rate == 0 else max(0.0005, 8.0 / rate))
        while not self._stop.is_set():
            data, ts = self.source.read()
            if len(ts) == 0:
                self._stop.wait(idle)
                continue
            started = time.perf_counter()
            try:
                validate_chunk(info, data, ts)
            except ChunkRejected as e:
                self._rejected += 1
                self._report(e)
                continue
            chunk = saturate(info, data)
            data = chunk.data
            ts = np.asarray(ts, dtype=np.float64)
            if chunk.non_finite or chunk.clipped:
                self._anomalies.note_values(chunk, info, self._samples)
            now = time.monotonic()
            bad_ts = clock.non_finite
            with self._record_lock:
                offset = self._recorded
            elapsed = now - self._last_arrival if self._samples else 0.0
            jumps = clock.feed(ts, elapsed=elapsed, offset=offset)
            if clock.non_finite > bad_ts:
                self._anomalies.warn_once("timestamps", (
                    f"stream {self.name}: {clock.non_finite - bad_ts} samples with NaN or "
                    f"infinite timestamps from sample {self._samples} on; the samples are kept "
                    "with those timestamps (recorded as they came) and left out of clock checks"))
            shown = self._conditioned(data) if self.conditioning else data
            buffer.write(shown, ts)
            decimator.add(shown, ts)
            raw_view = self._raw_decimator
            if raw_view is not None:  # with conditioning: the viewer's raw view
                raw_view.add(data, ts)
            with self._record_lock:
                session = self._session
                if session is not None:
                    if self._recorded != offset:  # a new session began since: re-base
                        jumps = [attrs.evolve(j, sample=j.sample - offset + self._recorded)
                                 for j in jumps]
                    try:
                        session.append(self.name, data, ts)
                        self._recorded += len(ts)
                        mark_discontinuities(session, jumps)
                    except Exception as e:  # noqa: BLE001 - recording trouble never stops acquisition
                        self._report(e)
            if jumps:
                self._anomalies.note_jumps(jumps, clock.jumps, session is not None)
            if poll_labels is not None:
                self._forward_labels(poll_labels())
            self._last_ts = clock.last
            self._samples += len(ts)
            self._last_arrival = now
            mark_t, mark_n = self._rate_mark
            if now - mark_t >= 0.5:
                self._rate = (self._samples - mark_n) / (now - mark_t)
                self._rate_mark = (now, self._samples)
            self.max_stall_s = max(self.max_stall_s, time.perf_counter() - started)

    def _conditioned(self, data: np.ndarray) -> np.ndarray:
        """The chunk through the stream's chain; a failing conditioner is reported and its chunk
        shown as NaN (a gap), while the raw chunk is still recorded."""
        try:
            return self.conditioning.process(data)
        except Exception as e:  # noqa: BLE001 - a conditioner bug never stops acquisition
            self._report(e)
            return np.full(data.shape, np.nan, dtype=CONDITIONED_DTYPE)
