"""PylslMarkerSource: a string marker stream (PsychoPy, a game, another machine) read through
pylsl, each marker stamped on the local LSL clock (the clock correction applied), to become
labels (application/markers.py)."""

from __future__ import annotations

import logging

from pylsl.util import TimeoutError as PylslTimeoutError

from hexloop.adapters.lsl_common import Announcement, StreamRefused, describe_query
from hexloop.ports.source import SourceLost

from .binding import PylslBinding

log = logging.getLogger(__name__)


def refuse_unless_markers(a: Announcement) -> None:
    """A marker source reads string streams only (the reverse of a data Source's rule)."""
    if a.format != "string":
        raise StreamRefused(
            f"LSL stream {a.name!r} on {a.host or 'an unknown host'} carries {a.format} values; "
            "a marker source reads string marker streams only (read numeric streams as "
            "[[streams]] with source = \"pylsl\", or name the marker stream instead)"
        )


class PylslMarkerSource:
    """Reads the string stream found by `name` (`type`, `source_id` narrow it).

    `connect(timeout)` resolves it within `timeout` seconds (TimeoutError otherwise; a
    numeric stream of that name is refused with StreamRefused, a ValueError) and subscribes.
    `read()` never blocks; it returns the first channel of each sample with its timestamp,
    the clock correction applied (`clock_correction=True`), so markers from another machine
    land on this machine's LSL clock like the data streams' samples. `max_buffer_s` is how
    many seconds of markers the inlet keeps while nobody reads.
    """

    binding = PylslBinding()

    def __init__(self, name: str, type: str | None = None, source_id: str | None = None,
                 clock_correction: bool = True, max_buffer_s: int = 360):
        if not name:
            raise ValueError("a marker source needs the name of the LSL marker stream")
        if max_buffer_s <= 0:
            raise ValueError(f"max_buffer_s must be positive, got {max_buffer_s}")
        self.name, self.type, self.source_id = name, type, source_id
        self.clock_correction = bool(clock_correction)
        self.max_buffer_s = int(max_buffer_s)
        self.announcement: Announcement | None = None
        self._inlet = None

    def connect(self, timeout: float) -> None:
        self.disconnect()
        query = describe_query(self.name, self.type, self.source_id)
        found = self.binding.resolve(self.name, self.type, self.source_id, float(timeout))
        if not found:
            raise TimeoutError(f"no LSL marker stream {query} within {timeout:g} s; is the "
                               "sender running, and on this network (docs/lsl.md)?")
        announced = [self.binding.announce(h) for h in found]
        strings = [i for i, a in enumerate(announced) if a.format == "string"]
        if not strings:
            refuse_unless_markers(announced[0])
        index = strings[0]
        if len(found) > 1:
            log.warning("%d LSL streams match %s; reading the one on %s", len(found), query,
                        announced[index].host or "an unknown host")
        handle, self.announcement = found[index], announced[index]
        if self.announcement.channel_count > 1:
            log.warning("marker stream %r has %d channels; only the first is read",
                        self.name, self.announcement.channel_count)
        self._inlet = self.binding.open_inlet(
            handle, max_buffer_s=self.max_buffer_s, chunk_len=0,
            clock_correction=self.clock_correction, dejitter=False, timeout=float(timeout))
        if self.clock_correction:  # the first estimate, here: a read must never wait for it
            try:
                self.binding.time_correction(self._inlet, float(timeout))
            except TimeoutError as e:
                self.disconnect()
                raise TimeoutError(f"LSL marker stream {self.name!r}: {e}") from e

    def read(self) -> list[tuple[str, float]]:
        inlet = self._inlet
        if inlet is None:
            raise RuntimeError(f"marker source {self.name!r} is not connected")
        try:
            samples, stamps = inlet.pull_chunk(timeout=0.0)
        except self.binding.lost_errors as e:
            self.disconnect()
            raise SourceLost(f"LSL marker stream {self.name!r} went away") from e
        except PylslTimeoutError:
            return []
        return [(str(s[0]) if s else "", float(t)) for s, t in zip(samples, stamps)]

    def disconnect(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                self.binding.close_inlet(inlet)
            except Exception as e:  # noqa: BLE001 - closing never fails a disconnect
                log.debug("closing the marker inlet of %r: %s", self.name, e)
