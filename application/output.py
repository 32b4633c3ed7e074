"""Output: sends pushed values to a Transport on its own thread, as each prediction comes
(phase-locked) or at a fixed rate (application/output_modes.py)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from hexloop.domain.pacing import LoopHealth, MonotonicClock, Ticker
from hexloop.domain.pipeline import Prediction
from hexloop.domain.postprocess import OutputStages
from hexloop.ports.transport import Transport

from .output_modes import FIXED_RATE, ON_PREDICTION, PushLoop, Slot, check_mode, resolve_mode

_STOP = object()


@attrs.frozen
class OutputHealth(LoopHealth):
    """An output thread's LoopHealth, where a tick's work is its transport call (a send, or an
    open): `blocked_sends` (calls that took longer than a period, one still blocked included)
    is also `overruns`; `busy_s` and the durations are those of the calls.
    """

    sent: int = 0
    errors: int = 0
    blocked_sends: int = 0
    mode: str = ""  # "on_prediction" or "fixed_rate" (application/output_modes.py)

    def summary(self, overruns: str = "blocked") -> str:
        return super().summary(overruns)


class Output:
    """`push(value)` only stores a reference (no queue, never waits for a send); the output
    thread sends it. `mode` says when (application/output_modes.py): "on_prediction" sends each
    new value once, as soon as it is pushed, never more than `hz` a second (latest wins);
    "fixed_rate" sends the latest value every 1/hz seconds on absolute deadlines, resending it;
    "auto" (default) is "on_prediction" when a Pipeline whose predict_hz is at most `hz` feeds
    the Output (it sets `predict_hz`), else "fixed_rate".

    A send slower than a period cannot hold the predict thread up (a push takes no lock); it
    shows in `health` (blocked sends, late and skipped ticks) and is warned about once in the
    app log, with the figure.

    A value is a Prediction (sent with its newest input sample's timestamp, so a receiver can
    measure the loop's latency), a mapping of channel name to number, or a sequence in
    `channels` order (both sent with the send time). With `channels=None` the keys of the first
    mapping pushed are used.
    """

    def __init__(self, transport: Transport, hz: float = 50.0,
                 channels: Sequence[str] | None = None, name: str = "output",
                 mode: str | None = None, stages: Sequence[Mapping] = ()):
        if not 0 < hz < float("inf"):  # inf would pass here and fail later, in the thread
            raise ValueError(f"output {name!r}: hz must be a positive finite number, got {hz}")
        self.mode = check_mode(mode, name)
        # post-processing of each pushed value (docs/signal-path.md); ValueError naming the key
        self.stages = OutputStages(stages, where=f"output {name!r}: stages")
        self._last_sent: Any = None  # with an edge stage, fixed_rate sends each value once
        #: The rate of the pipeline pushing into this Output (set by Pipeline.start): "auto"
        #: phase-locks to it when hz >= predict_hz.
        self.predict_hz: float | None = None
        self._slot = Slot()
        self._opened = False  # the transport is open (output thread only)
        self.transport = transport
        self.hz = float(hz)
        self.channels = list(channels) if channels is not None else None
        self.name = name
        self.sent = 0
        self.errors = 0
        self._latest: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._clock = MonotonicClock()
        self._log = None
        self._ticker: Ticker | PushLoop | None = None
        self._warned: set[str] = set()  # causes of slowness already warned about this run
        self._warn_lock = threading.Lock()
        self._calls = _CallTimes()
        #: Called on the output thread after each successful send with (output, sample, stamp)
        #: (an online session records what was sent: application/online.py); must not raise.
        self.on_sent: Any = None

    def push(self, value: Any) -> None:
        """Make `value` the one sent from the next tick on; None withdraws it (nothing is sent,
        as when predicting stops, so a receiver never acts on a stale command).

        With `stages`, the value goes through them first (on the caller's thread, microseconds);
        when they have nothing new to send the output keeps what it had; None resets them."""
        if value is None:
            self.stages.reset()
        elif value is not _STOP and self.stages:
            value = self._staged(value)
            if value is None:
                return
        self._latest = value
        self._slot.put(value, self._clock.now())

    def _staged(self, value: Any) -> Any:
        if isinstance(value, Prediction):
            out = self.stages.apply(value.values, value.input_time)
            return None if out is None else attrs.evolve(value, values=out)
        if not isinstance(value, Mapping):
            sample = np.asarray(value, dtype=np.float64).ravel()
            names = self.channels or [f"ch{i + 1}" for i in range(sample.size)]
            value = dict(zip(names, sample.tolist()))
        return self.stages.apply(value, self._clock.now())

    @property
    def running_mode(self) -> str:
        """"on_prediction" or "fixed_rate": `mode` with "auto" decided (see the class)."""
        return resolve_mode(self.mode, self.hz, self.predict_hz)

    def start(self, clock=None, log=None) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._clock = clock or self._clock
        self._log = log
        self._stop.clear()
        if self._latest is _STOP:  # started again after stop(): wait for a new value
            self.push(None)
        if self.running_mode == ON_PREDICTION:
            self._ticker = PushLoop(self.hz, self._clock, self._stop, _STOP)
            self._ticker.taken = self._slot.current[0] - 1  # a value pushed before is sent
        else:
            self._ticker = Ticker(self.hz, self._clock)
        self._warned = set()
        self._calls = _CallTimes()
        self._thread = threading.Thread(target=self._run, name=f"out-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 0.5) -> None:
        self.push(_STOP)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def health(self) -> OutputHealth:
        """A snapshot from any thread; a send blocked right now is counted and warned about."""
        ticker = self._ticker
        loop = ticker.health() if ticker is not None else LoopHealth(self.hz)
        fields = attrs.asdict(loop, recurse=False)
        fields.update(self._calls.snapshot(self._clock.now(), loop.period_s))
        mode = FIXED_RATE if isinstance(ticker, Ticker) else self.running_mode
        health = OutputHealth(**fields, sent=self.sent, errors=self.errors,
                              blocked_sends=fields["overruns"], mode=mode)
        self._warn_if_slow(health, sending=self._latest is not None and self._latest is not _STOP)
        return health

    def _call(self, fn, *args) -> None:
        """Call the transport, timing the call for health."""
        self._calls.begin(self._clock.now())
        try:
            fn(*args)
        finally:
            self._calls.end(self._clock.now(), 1.0 / self.hz)

    def _warn_if_slow(self, loop: LoopHealth, sending: bool) -> None:
        """Warn once per cause: sends slower than the period; ticks starting late."""
        if self._log is None or not (loop.overruns or (loop.late and sending)):
            return
        period_ms = loop.period_s * 1e3
        if loop.overruns:
            cause = "blocked"
            took = (f"send has been blocked for {loop.busy_s * 1e3:.0f} ms"
                    if loop.busy_s > loop.period_s else
                    f"send took {loop.max_duration_s * 1e3:.0f} ms")
            message = (f"output {self.name!r} {took}, longer than its {period_ms:.0f} ms "
                       f"period; predictions are being sent late: check the receiver or the "
                       f"network, or lower the output's hz")
        else:
            cause = "late"
            message = (f"output {self.name!r} sends start up to {loop.max_lateness_s * 1e3:.0f}"
                       f" ms after they were due ({period_ms:.0f} ms period): the machine is "
                       f"too busy, so values are sent late; close other programs or lower hz")
        with self._warn_lock:
            if cause in self._warned:
                return
            self._warned.add(cause)
        self._log.warning(f"output {self.name}", message)

    def _report(self, error: BaseException | str) -> None:
        self.errors += 1
        if self._log is not None:
            self._log.error_once(f"output {self.name}", error)

    def _vector(self, value: Any) -> np.ndarray:
        if isinstance(value, Mapping):
            if self.channels is None:
                self.channels = [str(k) for k in value]
            missing = [c for c in self.channels if c not in value]
            if missing:
                raise KeyError(f"value has no {missing}; it has {list(value)}")
            return np.array([float(value[c]) for c in self.channels], dtype=np.float64)
        sample = np.asarray(value, dtype=np.float64).ravel()
        if self.channels is None:
            self.channels = [f"ch{i + 1}" for i in range(sample.size)]
        if sample.size != len(self.channels):
            raise ValueError(f"value has {sample.size} numbers for {len(self.channels)} channels")
        return sample

    def _run(self) -> None:
        ticker = self._ticker if self._ticker is not None else Ticker(self.hz, self._clock)
        self._ticker = ticker
        self._opened = False
        seen = (0, 0)
        calls = self._calls
        try:
            if self.channels is not None:  # open now, so receivers can connect before values flow
                try:
                    self._call(self.transport.open, self.channels, self.hz)
                    self._opened = True
                except Exception as e:  # noqa: BLE001 - retried on the first value
                    self._report(e)
            while True:
                if isinstance(ticker, PushLoop):
                    value = ticker.next_value(self._slot)  # pushed since the last send, paced
                elif not ticker.wait(self._stop):
                    break
                else:
                    value = self._latest
                if (ticker.late, calls.blocked) != seen:
                    seen = (ticker.late, calls.blocked)
                    self.health  # noqa: B018 - warns about what it finds
                if value is _STOP:
                    break
                if value is not None and not (self.stages.edge_triggered
                                              and value is self._last_sent):
                    self._send(value)  # an edge-triggered value is sent once, in any mode
        finally:
            if self._opened:
                try:
                    self.transport.close()
                except Exception as e:  # noqa: BLE001
                    self._report(e)

    def _send(self, value: Any) -> None:
        """Send one value (opening the transport first if it is not open); errors are reported,
        a bad transport never stops the loop."""
        try:
            if isinstance(value, Prediction):
                sample, stamp = self._vector(value.values), value.input_time
            else:
                sample, stamp = self._vector(value), self._clock.now()
            if not self._opened:
                self._call(self.transport.open, self.channels, self.hz)
                self._opened = True
            self._call(self.transport.send, sample, stamp)
            self.sent += 1
            self._last_sent = value
            listener = self.on_sent
            if listener is not None:
                listener(self, sample, stamp)
        except Exception as e:  # noqa: BLE001 - a bad transport never stops the loop
            self._report(e)


class _CallTimes:
    """How long transport calls take; the output thread writes, `health` reads (any thread).

    A call is counted blocked once, as soon as it has run longer than a period: when it
    returns, or earlier when `snapshot` sees it still running.
    """

    def __init__(self):
        self._lock = threading.Lock()  # never held during a call
        self._started: float | None = None
        self._counted = False
        self.blocked = 0
        self.last = 0.0
        self.max = 0.0

    def begin(self, now: float) -> None:
        with self._lock:
            self._started, self._counted = now, False

    def end(self, now: float, period: float) -> None:
        with self._lock:
            if self._started is None:
                return
            self.last = now - self._started
            self.max = max(self.max, self.last)
            self._count(self.last, period)
            self._started = None

    def _count(self, duration: float, period: float) -> None:
        if duration > period and not self._counted:
            self._counted = True
            self.blocked += 1

    def snapshot(self, now: float, period: float) -> dict[str, float]:
        with self._lock:
            busy = max(0.0, now - self._started) if self._started is not None else 0.0
            self._count(busy, period)
            return {"overruns": self.blocked, "busy_s": busy, "last_duration_s": self.last,
                    "max_duration_s": self.max}
