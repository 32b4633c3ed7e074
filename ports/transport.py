"""The Transport port: where predictions go (an LSL outlet, a socket, a serial line)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Transport(Protocol):
    """Called from one Output thread only. `send` takes one float64 sample, one value per channel.

    `open` runs when the thread starts or on the first value, `close` when it ends. `send` runs
    inside a tick of the output's rate and must be quick: raise (an OSError) rather than block;
    the thread counts and reports the error and sends the next value. `send` after `close`
    raises RuntimeError; `close` twice is harmless. Test with `contracts.check_transport`;
    docs/adapters.md.
    """

    def open(self, channels: Sequence[str], rate: float) -> None: ...

    def send(self, sample: np.ndarray, timestamp: float) -> None: ...

    def close(self) -> None: ...
