"""LslTransport: predictions published as a float32 LSL outlet; a binding only creates it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from hexloop.domain.streams import MAX_CHANNELS


class LslTransport:
    """A Transport publishing one float32 LSL sample per send(); subclasses pick the binding.

    The outlet appears on open() with the given channel labels (channel type `misc`, so MNE
    clients accept it) and disappears on close().
    """

    binding_name: ClassVar[str] = "lsl"

    def __init__(
        self,
        name: str = "hexloop-predictions",
        *,
        type: str = "Predictions",
        source_id: str | None = None,
        max_buffer_s: float = 1.0,
        channel_type: str = "misc",
    ):
        if not name:
            raise ValueError("an LSL outlet needs a non-empty stream name")
        if not (max_buffer_s > 0 and math.isfinite(max_buffer_s)):
            raise ValueError(f"max_buffer_s must be a positive number, got {max_buffer_s}")
        self.name, self.type = name, type
        self.source_id = source_id if source_id is not None else f"hexloop:{name}"
        self.max_buffer_s = float(max_buffer_s)
        self.channel_type = channel_type
        self.channels: tuple[str, ...] = ()
        self._outlet: Any = None
        self._sample: np.ndarray | None = None
        self._closed = False

    def open(self, channels: Sequence[str], rate: float) -> None:
        names = tuple(str(c) for c in channels)
        if not names:
            raise ValueError(f"LSL outlet {self.name!r} needs at least one channel name")
        if len(set(names)) != len(names):
            raise ValueError(f"LSL outlet {self.name!r}: channel names repeat: {list(names)}")
        if len(names) > MAX_CHANNELS:
            raise ValueError(
                f"LSL outlet {self.name!r}: {len(names)} channels, at most {MAX_CHANNELS}"
            )
        rate = float(rate)
        if not (rate >= 0 and math.isfinite(rate)):
            raise ValueError(f"LSL outlet {self.name!r}: rate must be >= 0 Hz, got {rate}")
        if self._outlet is not None:  # reopened: the old outlet goes before the new one appears
            old, self._outlet = self._outlet, None
            self._destroy(old)
            del old
        self._outlet = self._create(names, rate)
        self.channels = names
        self._sample = np.zeros(len(names), dtype=np.float32)
        self._closed = False

    def send(self, sample: np.ndarray, timestamp: float) -> None:
        outlet, buffer = self._outlet, self._sample
        if outlet is None or buffer is None:
            state = "closed" if self._closed else "not opened yet"
            raise RuntimeError(f"send() on LSL outlet {self.name!r}, which is {state}")
        values = np.asarray(sample)
        if values.shape != buffer.shape:
            raise ValueError(
                f"LSL outlet {self.name!r} has {len(self.channels)} channels "
                f"{list(self.channels)}; got a sample of shape {values.shape}"
            )
        np.copyto(buffer, values, casting="unsafe")
        stamp = float(timestamp)
        self._push(outlet, buffer, stamp if math.isfinite(stamp) else 0.0)

    def close(self) -> None:
        outlet, self._outlet = self._outlet, None
        self._closed = True
        if outlet is not None:
            self._destroy(outlet)

    @property
    def has_consumers(self) -> bool:
        return self._outlet is not None and self._consumers(self._outlet)

    # binding hooks: a binding implements _create and _consumers
    def _create(self, channels: tuple[str, ...], rate: float) -> Any:
        raise NotImplementedError

    def _push(self, outlet: Any, sample: np.ndarray, timestamp: float) -> None:
        outlet.push_sample(sample, timestamp)  # the same call in pylsl and mne_lsl.lsl

    def _destroy(self, outlet: Any) -> None:
        """Nothing to do: an outlet vanishes from the network with its last reference."""

    def _consumers(self, outlet: Any) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        state = "open" if self._outlet is not None else "closed"
        return f"{type(self).__name__}(name={self.name!r}, {state})"
