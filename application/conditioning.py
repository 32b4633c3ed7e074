"""A stream's conditioning in the application: the chain it runs online and, identically, offline.

`StreamConditioning` holds a stream's chain (plain specs, checked when the Stream is made), builds
the Conditioner when the stream first connects (the rate is known then; a chain the rate cannot
take refuses the stream, naming the key), resets it on every reconnect, and conditions each
chunk for the ring buffer, display and predict, while raw data is what is recorded.
`condition_recording` runs the same chain over a whole recorded stream in one call: training and
`evaluate` see exactly what predict saw (the conditioners are causal with carried state, so one
call equals any chunking: tests/test_conditioning.py).

The factory is the `conditioner.scipy` entry point unless one is given (tests pass a fake):
the application never imports an adapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hexloop.domain.conditioning import describe_chain, normalize_chain
from hexloop.domain.streams import StreamInfo
from hexloop.ports.conditioner import Conditioner, ConditionerFactory, load_factory

#: What a conditioned ring buffer holds: float32 halves the memory of float64 at 408 x 10240
#: Hz, and is what the built-in features compute in. Offline conditioning casts the same way.
CONDITIONED_DTYPE = np.dtype(np.float32)
#: SessionMeta.extras key under which each conditioned stream's chain is recorded.
EXTRAS_KEY = "conditioning"


class StreamConditioning:
    """One stream's chain; `process` and `reset` run on its acquisition thread only."""

    def __init__(self, specs: Sequence[Mapping] | None, factory: ConditionerFactory | None = None,
                 where: str = "conditioning"):
        self.where = where
        self.specs = normalize_chain(list(specs or ()), None, where)  # ValueError naming the key
        self._factory = factory
        self.chain: tuple[dict, ...] = self.specs
        self.conditioner: Conditioner | None = None
        self.rate = 0.0

    def __bool__(self) -> bool:
        return bool(self.specs)

    def build(self, info: StreamInfo) -> None:
        """Make the conditioner for this stream's rate and channels (ValueError naming the key
        when the rate cannot take the chain; ConditionerUnavailable without scipy)."""
        self.chain = normalize_chain(self.specs, info.sampling_rate, self.where)
        factory = self._factory or load_factory()
        self.conditioner = factory(self.chain, info.sampling_rate, info.channel_count)
        self.rate = info.sampling_rate

    def reset(self) -> None:
        if self.conditioner is not None:
            self.conditioner.reset()

    def process(self, data: np.ndarray) -> np.ndarray:
        """(n, channels) raw samples -> conditioned, in CONDITIONED_DTYPE."""
        return np.asarray(self.conditioner.process(data), dtype=CONDITIONED_DTYPE)

    def describe(self) -> dict[str, Any]:
        """What the session metadata records: the normalized chain and its group delay."""
        delay = self.conditioner.group_delay_s if self.conditioner is not None else None
        return {"chain": [dict(s) for s in self.chain], "group_delay_s": delay,
                "summary": describe_chain(self.chain)}


def condition_recording(data: np.ndarray, specs: Sequence[Mapping], rate: float,
                        factory: ConditionerFactory | None = None) -> np.ndarray:
    """A recorded stream (channels, n) through the chain in one causal call, as the stream
    conditions it online; (channels, n) in CONDITIONED_DTYPE. An empty chain returns `data`."""
    if not specs:
        return data
    chain = normalize_chain(list(specs), rate)
    conditioner = (factory or load_factory())(chain, rate, data.shape[0])
    out = conditioner.process(np.ascontiguousarray(np.asarray(data).T))
    return np.ascontiguousarray(np.asarray(out, dtype=CONDITIONED_DTYPE).T)
