"""The Source port: where a stream's samples come from (a device, LSL, a file, a simulation)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from hexloop.domain.streams import StreamInfo


class SourceLost(ConnectionError):
    """The device or stream went away; the acquisition thread reconnects with backoff."""


@runtime_checkable
class Source(Protocol):
    """A stream's producer. All methods are called from the stream's acquisition thread only.

    `connect` may block up to `timeout`; `read` must not block for long (return what is there,
    possibly nothing, within ~50 ms); it returns a sample-major chunk `(n, channels)` in
    `info.dtype` and its `(n,)` float64 timestamps on the Clock's time base, never going back.
    Raise SourceLost when the producer disappears (the stream reconnects with backoff),
    TimeoutError when `connect` finds nothing. Optional: `poll_labels()` and `class_names` for
    labels the source carries. Test with `contracts.check_source`; docs/adapters.md.
    """

    @property
    def info(self) -> StreamInfo: ...

    def connect(self, timeout: float) -> StreamInfo:
        """Find and open the producer within `timeout` seconds (TimeoutError otherwise)."""
        ...

    def read(self) -> tuple[np.ndarray, np.ndarray]: ...

    def disconnect(self) -> None:
        """Release the producer; calling it twice is harmless."""
        ...
