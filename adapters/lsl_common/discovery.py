"""Finding LSL streams: what the resolver announces, the binding calls, queries and listings."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import attrs
import numpy as np

#: liblsl's channel_format codes, shared by every binding.
LSL_FORMATS = {
    1: "float32",
    2: "float64",
    3: "string",
    4: "int32",
    5: "int16",
    6: "int8",
    7: "int64",
}


class StreamListing(NamedTuple):
    """One stream visible on the network, as `hexloop streams` lists it."""

    name: str
    type: str
    channel_count: int
    sampling_rate: float  # 0: irregular
    format: str
    host: str
    source_id: str

    @property
    def channels(self) -> int:
        return self.channel_count

    @property
    def rate(self) -> float:
        return self.sampling_rate


@attrs.frozen
class Announcement:
    """What the resolver says about a stream before any inlet exists."""

    name: str
    type: str
    channel_count: int
    sampling_rate: float
    format: str  # one of LSL_FORMATS' values
    source_id: str
    host: str
    created_at: float = 0.0
    uid: str = ""

    def listing(self) -> StreamListing:
        return StreamListing(
            self.name,
            self.type,
            self.channel_count,
            self.sampling_rate,
            self.format,
            self.host,
            self.source_id,
        )


class LslBinding(Protocol):
    """The handful of calls a binding (pylsl, mne_lsl.lsl) provides to the shared code."""

    #: Exceptions the binding raises when the outlet is gone.
    lost_errors: tuple[type[BaseException], ...]

    def resolve(
        self,
        name: str | None,
        type: str | None,
        source_id: str | None,
        timeout: float,
        minimum: int = 1,
    ) -> list[Any]:
        """Streams matching every given field; returns once `minimum` are found or on timeout."""
        ...

    def resolve_all(self, timeout: float) -> list[Any]: ...

    def present(self, announcement: Announcement, timeout: float) -> bool:
        """Whether that very outlet (by uid) still answers within `timeout` (may block)."""
        ...

    def announce(self, handle: Any) -> Announcement: ...

    def open_inlet(
        self,
        handle: Any,
        *,
        max_buffer_s: int,
        chunk_len: int,
        clock_correction: bool,
        dejitter: bool,
        timeout: float,
    ) -> Any:
        """Create the inlet (recover=False) and subscribe to the data within `timeout`."""
        ...

    def channel_metadata(
        self, inlet: Any, timeout: float
    ) -> tuple[list[str | None] | None, list[str | None] | None]:
        """Channel labels and units from the full description (None where absent)."""
        ...

    def time_correction(self, inlet: Any, timeout: float) -> float: ...

    def pull(
        self, inlet: Any, buffer: np.ndarray, max_samples: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Non-blocking pull of up to max_samples; results may alias reused memory."""
        ...

    def close_inlet(self, inlet: Any) -> None: ...


def describe_query(name: str | None, type: str | None, source_id: str | None) -> str:
    parts = [f"{k}={v!r}" for k, v in (("name", name), ("type", type), ("source_id", source_id))]
    return " ".join(p for p, v in zip(parts, (name, type, source_id)) if v is not None)


def xpath_literal(value: str) -> str:
    """Quote a value for an LSL (XPath 1.0) predicate."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"LSL cannot search for {value!r}: it contains both ' and \" quotes")


def xpath_predicate(name: str | None, type: str | None, source_id: str | None) -> str:
    terms = [
        f"{field}={xpath_literal(value)}"
        for field, value in (("name", name), ("type", type), ("source_id", source_id))
        if value is not None
    ]
    return " and ".join(terms)


def list_streams_with(binding: LslBinding, timeout: float) -> list[StreamListing]:
    """Every stream visible within `timeout` seconds, sorted by name."""
    found: dict[object, StreamListing] = {}
    for handle in binding.resolve_all(timeout):
        announcement = binding.announce(handle)
        found[announcement.uid or len(found)] = announcement.listing()  # twins stay visible
    return sorted(found.values(), key=lambda s: (s.name, s.host, s.source_id))
