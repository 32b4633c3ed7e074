"""The Transport port: where predictions go (an LSL outlet, a socket, a serial line)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Transport(Protocol):
    """Called from one Output thread only. `send` takes one float64 sample, one value per channel.

    `send` after `close` raises RuntimeError; `close` twice is harmless.
    """

    def open(self, channels: Sequence[str], rate: float) -> None: ...

    def send(self, sample: np.ndarray, timestamp: float) -> None: ...

    def close(self) -> None: ...
