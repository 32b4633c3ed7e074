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
from hexloop.domain.streams import GeometryError, StreamInfo
from hexloop.ports.conditioner import Conditioner, ConditionerFactory, load_factory

#: What a conditioned ring buffer holds: float32 halves the memory of float64 at 408 x 10240
#: Hz, and is what the built-in features compute in. Offline conditioning casts the same way.
CONDITIONED_DTYPE = np.dtype(np.float32)
#: SessionMeta.extras key under which each conditioned stream's chain is recorded.
EXTRAS_KEY = "conditioning"


class ConditioningRefused(GeometryError):
    """A stream's chain cannot run on the stream as it connected (its rate, or no scipy): the
    stream shows as refused with this message until it connects with a rate that fits."""


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
        """Make the conditioner for this stream's rate and channels; ConditioningRefused naming
        the key when the rate cannot take the chain, or when no conditioner can be loaded."""
        try:
            self.chain = normalize_chain(self.specs, info.sampling_rate, self.where)
            factory = self._factory or load_factory()
            self.conditioner = factory(self.chain, info.sampling_rate, info.channel_count)
        except (ValueError, LookupError) as e:
            raise ConditioningRefused(f"stream {info.name!r} cannot be conditioned: {e}") from e
        self.rate = info.sampling_rate

    def reset(self) -> None:
        if self.conditioner is not None:
            self.conditioner.reset()

    def process(self, data: np.ndarray) -> np.ndarray:
        """(n, channels) raw samples -> conditioned, in CONDITIONED_DTYPE."""
        conditioner = self.conditioner
        if conditioner is None:
            raise RuntimeError(f"{self.where}: process() before build(): the stream has not "
                               "connected yet")
        return np.asarray(conditioner.process(data), dtype=CONDITIONED_DTYPE)

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


def conditioned_data(stream: Any, session: Any) -> tuple[np.ndarray, np.ndarray]:
    """A recorded stream (data (channels, n), timestamps) through `stream`'s own chain, if it
    has one: what training and evaluate cut windows from."""
    data, ts = session.data(stream.name)
    conditioning = getattr(stream, "conditioning", None)
    if conditioning:
        rate = session.meta.stream(stream.name).sampling_rate
        data = condition_recording(data, conditioning.specs, rate, conditioning._factory)
    return data, ts


def conditioning_extras(streams: Any, extras: Mapping[str, Any] | None) -> dict[str, Any]:
    """A session's extras with each conditioned stream's chain under EXTRAS_KEY."""
    out = dict(extras or {})
    chains = {s.name: s.conditioning.describe() for s in streams
              if getattr(s, "conditioning", None)}
    if chains:
        out[EXTRAS_KEY] = chains
    return out
