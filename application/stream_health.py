"""What a Stream's health says (StreamStatus, StreamHealth) and the anomaly counters behind it.

Split out of application/stream.py (#12): the acquisition thread there reads, validates and
stores chunks; this module counts what was odd about them (non-finite values, clipping, clock
jumps), warns once per kind, and marks clock jumps in a recording. Everything here is reached
through `hexloop.application.stream` as before (`StreamHealth` and `StreamStatus` are
re-exported there and from `hexloop.application`).
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable

import attrs

from hexloop.domain.streams import Discontinuity, Saturated, StreamInfo

from .log import Log


class StreamStatus(enum.Enum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    STALLED = "stalled"
    ERROR = "error"
    REFUSED = "refused"  # geometry refused; `health.error` says why, until a good connect
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
    clock_jumps: int = 0  # timestamp discontinuities found (and kept), see ClockTracker
    non_finite: int = 0  # NaN or infinite values received (kept verbatim in float streams)
    clipped: int = 0  # values saturated to the stream's dtype range
    non_finite_timestamps: int = 0  # samples kept whose timestamp was NaN or infinite


class StreamAnomalies:
    """One stream's kept-but-odd data: counts of non-finite and clipped values, the clock jumps
    found (`discontinuities`, the newest 1000), and a one-time warning per kind of anomaly.

    Used by the stream's acquisition thread only; `log` gives the app's log, or None while the
    stream is not attached to an app (nothing is logged then, the counts still go up).
    """

    def __init__(self, name: str, log: Callable[[], Log | None]):
        self.name = name
        self._log = log
        self.non_finite = 0
        self.clipped = 0
        self._warned: set[str] = set()
        self._next_jump_note = 1
        self.discontinuities: collections.deque[Discontinuity] = collections.deque(maxlen=1000)

    def warn_once(self, kind: str, message: str) -> None:
        """A one-time warning per stream and kind of anomaly (the counts live in `health`)."""
        if kind in self._warned:
            return
        self._warned.add(kind)
        log = self._log()
        if log is not None:
            log.warning(f"stream {self.name}", message)

    def note_jumps(self, jumps: list[Discontinuity], total: int, recording: bool) -> None:
        """Log the first clock jump, then each time the count (`total`, the clock's) reaches
        10, 100, 1000, ..."""
        self.discontinuities.extend(jumps)
        if total < self._next_jump_note:
            return
        while self._next_jump_note <= total:
            self._next_jump_note *= 10
        jump = jumps[-1]
        where = "the recording marks the discontinuity" if recording else "not recording"
        count = "" if total == 1 else f" ({total} clock jumps so far)"
        log = self._log()
        if log is not None:
            log.warning(
                f"stream {self.name}",
                f"timestamps of stream {self.name} jumped by {jump.jump_s:+.3f} s at sample "
                f"{jump.sample}{count}; samples are kept with their own timestamps ({where}); "
                "check the sender's clock (device reboot, NTP step)",
            )

    def note_values(self, chunk: Saturated, info: StreamInfo, first_sample: int) -> None:
        """Count a saturated chunk's non-finite and clipped values, and warn once of each."""
        if chunk.non_finite:
            self.non_finite += chunk.non_finite
            kept = ("kept verbatim" if info.np_dtype.kind == "f"
                    else f"NaN stored as 0 in this {info.dtype} stream")
            self.warn_once("non-finite", (
                f"stream {self.name}: {chunk.non_finite} NaN or infinite values from sample "
                f"{first_sample} on ({kept}; devices mark dropped samples this way); built-in "
                "features and the display leave them out; health counts them"))
        if chunk.clipped:
            self.clipped += chunk.clipped
            self.warn_once("clipped", (
                f"stream {self.name}: {chunk.clipped} values from sample {first_sample} on were "
                f"outside the {info.dtype} range and were saturated to its limits (never "
                "wrapped); the source delivers more than the stream's dtype holds: declare a "
                "wider dtype if these values matter"))


def mark_discontinuities(session, jumps: list[Discontinuity]) -> None:
    """Tell the recording where the clock jumped; a store without `add_discontinuity`
    (a third-party one) records without the marks."""
    add = getattr(session, "add_discontinuity", None) if jumps else None
    if add is None:
        return
    for jump in jumps:
        add(jump.stream, jump.sample, jump.before, jump.after)
