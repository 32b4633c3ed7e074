"""PylslMarkerOutlet: a protocol's cues as an LSL string marker stream (irregular rate), the
kind LabRecorder records beside the signals and `hexloop import` reads back as labels."""

from __future__ import annotations

import pylsl


class PylslMarkerOutlet:
    """One string channel at an irregular rate; type "Markers", source_id from the name.

    Each `push(marker, timestamp)` is one sample stamped with `timestamp` (the app's clock is
    LSL's local clock), so a recorder sees it at the time the label was recorded."""

    def __init__(self, name: str = "hexloop-cues", type: str = "Markers",
                 source_id: str | None = None):
        if not name:
            raise ValueError("an LSL marker outlet needs a non-empty stream name")
        self.name, self.type = name, type
        self.source_id = source_id if source_id is not None else f"hexloop:{name}"
        self._outlet = None
        self._closed = False

    def open(self) -> None:
        if self._outlet is not None:
            return
        info = pylsl.StreamInfo(self.name, self.type, 1, pylsl.IRREGULAR_RATE, "string",
                                self.source_id)
        info.desc().append_child("channels").append_child("channel").append_child_value(
            "label", "cue")
        self._outlet = pylsl.StreamOutlet(info)
        self._closed = False

    def push(self, marker: str, timestamp: float) -> None:
        if self._outlet is None:
            raise RuntimeError(f"marker outlet {self.name!r} is not open")
        self._outlet.push_sample([str(marker)], float(timestamp))

    def have_consumers(self) -> bool:
        return self._outlet is not None and bool(self._outlet.have_consumers())

    def close(self) -> None:
        outlet, self._outlet = self._outlet, None
        self._closed = True
        del outlet  # liblsl removes the stream when the last reference goes
