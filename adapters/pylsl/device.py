"""SimulatedLslDevice: an EMG-like amplifier publishing over LSL from its own thread.

Owns the pacing (absolute deadlines: after t seconds exactly floor(t * rate) samples have gone
out, in whole chunks, with no drift), the outlet's lifetime, and the optional control inlet
that switches the simulated gesture. The signal itself comes from domain.simulation.
"""

from __future__ import annotations

import logging
import math
import threading

import numpy as np
import pylsl
from pylsl.util import LostError as PylslLostError

from hexloop.domain.pacing import MonotonicClock
from hexloop.domain.simulation import DEFAULT_CLASSES, EmgSimulator
from hexloop.domain.streams import StreamInfo

log = logging.getLogger(__name__)

#: A backlog longer than this (the machine was suspended, the process stopped) is skipped,
#: not sent in one burst; the skipped samples show as a gap in the timestamps.
MAX_CATCH_UP_S = 2.0


def default_chunk(rate: float) -> int:
    """Samples per push, like an amplifier's USB frame: about 64 pushes a second."""
    return max(1, round(rate / 64.0))


class SimulatedLslDevice:
    """Publishes `channels` x `rate` float32 EMG-like data as LSL stream `name`.

    Use as a context manager, or start()/stop(). `set_class(k)` (an index or a class name)
    switches the simulated gesture from any thread; with `control_stream="name"`, markers
    arriving on that LSL stream (a class name or index per sample) do the same.
    `wait_for_consumer=True` holds the first sample back until an inlet has subscribed, so a
    benchmark or test can count every sample sent.
    """

    def __init__(
        self,
        name: str = "hexloop-sim",
        *,
        channels: int = 8,
        rate: float = 2048.0,
        chunk: int = 0,
        type: str = "EMG",
        source_id: str | None = None,
        class_names: tuple[str, ...] = DEFAULT_CLASSES,
        seed: int = 0,
        amplitude: float = 1e-4,
        control_stream: str | None = None,
        max_buffer_s: float = 5.0,
        wait_for_consumer: bool = False,
    ):
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"a simulated amplifier needs a positive rate in Hz, got {rate}")
        if chunk < 0:
            raise ValueError(f"chunk must be >= 0 samples (0: about rate/64), got {chunk}")
        if not max_buffer_s > 0:
            raise ValueError(f"max_buffer_s must be positive, got {max_buffer_s}")
        self.info = StreamInfo(  # raises ValueError on absurd geometry
            name,
            int(channels),
            float(rate),
            "float32",
            units=("V",) * int(channels),
            type=type,
            source_id=source_id if source_id is not None else f"hexloop-sim:{name}",
        )
        self.chunk = int(chunk) or default_chunk(rate)
        self.simulator = EmgSimulator(
            int(channels), float(rate), tuple(class_names), seed, amplitude
        )
        self.control_stream = control_stream
        self.max_buffer_s = float(max_buffer_s)
        self.wait_for_consumer = bool(wait_for_consumer)
        self.clock = MonotonicClock()  # time.monotonic: LSL's local_clock on Linux
        self.samples_sent = 0
        self.samples_skipped = 0
        self.started_at: float | None = None  # timestamp of sample 0
        self._outlet: pylsl.StreamOutlet | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None

    # -- control ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def source_id(self) -> str:
        return self.info.source_id

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def current_class(self) -> int:
        return self.simulator.current_class

    def set_class(self, cls: int | str) -> None:
        """Switch the simulated gesture: a class index or one of class_names."""
        names = self.simulator.class_names
        if isinstance(cls, str):
            text = cls.strip()
            if text in names:
                cls = names.index(text)
            elif text.lstrip("-").isdigit():
                cls = int(text)
            else:
                raise ValueError(f"unknown class {cls!r}; use one of {list(names)} or an index")
        self.simulator.set_class(int(cls))

    def start(self) -> SimulatedLslDevice:
        """Create the outlet (visible on return) and start publishing from a daemon thread."""
        if self._outlet is not None:
            raise RuntimeError(f"simulated device {self.name!r} is already started")
        info = pylsl.StreamInfo(
            self.info.name,
            self.info.type,
            self.info.channel_count,
            self.info.sampling_rate,
            "float32",
            self.info.source_id,
        )
        info.set_channel_labels(list(self.info.channel_names))
        info.set_channel_units(list(self.info.units))
        info.set_channel_types("emg")
        info.desc().append_child_value("manufacturer", "hexloop simulator")
        self._outlet = pylsl.StreamOutlet(
            info, chunk_size=self.chunk, max_buffered=math.ceil(self.max_buffer_s)
        )
        self._stop.clear()
        self._error = None
        self.samples_sent = self.samples_skipped = 0
        self.started_at = None
        self._threads = [
            threading.Thread(target=self._publish, name=f"lsl-sim-{self.name}", daemon=True)
        ]
        if self.control_stream:
            self._threads.append(
                threading.Thread(target=self._listen, name=f"lsl-sim-ctl-{self.name}", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        return self

    def stop_publishing(self) -> None:
        """Stop sending but keep the outlet: to consumers the device looks stalled."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5.0)
        error, self._error = self._error, None
        if error is not None:
            raise RuntimeError(f"simulated device {self.name!r} failed: {error}") from error

    def stop(self) -> None:
        """Stop sending and remove the outlet from the network; calling it twice is harmless."""
        try:
            self.stop_publishing()
        finally:
            self._outlet = None  # the outlet disappears with its last reference

    def wait_for_consumers(self, timeout: float) -> bool:
        """True once some inlet has subscribed (within `timeout` seconds)."""
        outlet = self._outlet
        return outlet is not None and outlet.wait_for_consumers(timeout)

    def __enter__(self) -> SimulatedLslDevice:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- threads ---------------------------------------------------------------------------

    def _publish(self) -> None:
        outlet, clock, stop = self._outlet, self.clock, self._stop
        rate, chunk = self.info.sampling_rate, self.chunk
        if outlet is None:  # start() opens it before this thread starts
            return
        try:
            if self.wait_for_consumer:
                while not outlet.wait_for_consumers(0.05):
                    if stop.is_set():
                        return
            t0 = clock.now()
            self.started_at = t0
            sent = 0
            max_backlog = max(chunk, int(MAX_CATCH_UP_S * rate))
            while True:
                deadline = t0 + (sent + chunk) / rate
                if clock.sleep(deadline - clock.now(), stop):
                    return
                due = int((clock.now() - t0) * rate) - sent
                due -= due % chunk  # whole chunks, like an amplifier's frames
                if due <= 0:
                    continue
                if due > max_backlog:  # came back from a long stall: do not burst
                    skip = due - max_backlog
                    skip -= skip % chunk
                    log.warning("simulated device %r skipped %d late samples", self.name, skip)
                    sent += skip
                    self.samples_skipped += skip
                    due -= skip
                data = self.simulator.generate(due)
                # One timestamp for the newest sample; liblsl spaces the rest at 1/rate.
                outlet.push_chunk(data, t0 + (sent + due - 1) / rate)
                sent += due
                self.samples_sent = sent - self.samples_skipped
        except BaseException as exc:  # surfaced by stop()
            self._error = exc
            log.exception("simulated device %r stopped publishing", self.name)

    def _listen(self) -> None:
        """Follow the control stream: each sample's first value picks the class."""
        # A background resolver: asking it never blocks, so stop() stays prompt.
        resolver = pylsl.ContinuousResolver(prop="name", value=self.control_stream)
        inlet = None
        while not self._stop.is_set():
            if inlet is None:
                found = resolver.results()
                if not found:
                    self._stop.wait(0.1)
                    continue
                inlet = pylsl.StreamInlet(found[0], max_buflen=1, recover=True)
            try:
                sample, _ = inlet.pull_sample(timeout=0.1)
            except PylslLostError:
                inlet = None
                continue
            if sample:
                self._apply_marker(sample[0])
        del inlet, resolver

    def _apply_marker(self, value) -> None:
        try:
            if isinstance(value, float | np.floating):
                value = int(value)
            self.set_class(value)
        except ValueError as exc:
            log.warning("simulated device %r ignored control marker %r: %s", self.name, value, exc)


def run_simulator(
    channels: int = 8,
    rate: float = 2048.0,
    name: str = "hexloop-sim",
    chunk: int = 0,
    stop_event: threading.Event | None = None,
    **options,
) -> int:
    """Publish until `stop_event` is set (or Ctrl-C); returns the number of samples sent.

    For `hexloop simulate`; `options` go to SimulatedLslDevice (type, source_id,
    control_stream, seed, ...).
    """
    stop_event = stop_event or threading.Event()
    device = SimulatedLslDevice(name, channels=channels, rate=rate, chunk=chunk, **options)
    with device:
        log.info(
            "publishing %r: %d ch x %g Hz in chunks of %d (source_id %r)",
            name,
            device.info.channel_count,
            device.info.sampling_rate,
            device.chunk,
            device.source_id,
        )
        try:
            while not stop_event.wait(0.5):
                if not device.running:
                    break
        except KeyboardInterrupt:
            pass
    return device.samples_sent
