"""The Conditioner port: causal filters run on a stream's chunks, state carried from chunk to chunk.

A conditioner is built for one stream (rate and channel count known) from a chain of plain specs
(`hexloop.domain.conditioning`); a `ConditionerFactory` builds it. hexloop's factory is the scipy
adapter (`hexloop.adapters.scipy:build_chain`, extra `filters`), found by the entry point
``conditioner.scipy`` in the ``hexloop.adapters`` group, so the application never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

import numpy as np

GROUP = "hexloop.adapters"
DEFAULT = "scipy"


@runtime_checkable
class Conditioner(Protocol):
    """Causal: sample k of the output depends only on input samples up to k.

    `process(chunk)` takes (n, channels) samples (any real dtype, n may be 0) and returns (n,
    channels) float64, carrying filter state to the next call, so any chunking of a signal gives
    the same output as one call on all of it (within float rounding). `reset()` forgets the
    state (a reconnected source: the next chunk starts a new signal). `group_delay_s` is the
    chain's delay in seconds in its passband. Called from one thread (the stream's acquisition
    thread, or an offline replay). Test with `contracts.check_conditioner`.
    """

    def process(self, chunk: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...

    @property
    def group_delay_s(self) -> float: ...


class ConditionerFactory(Protocol):
    """Builds the conditioner a chain describes for a stream of `channels` at `rate` Hz.

    `chain` is normalized (`hexloop.domain.conditioning.normalize_chain`); a chain this factory
    cannot run raises ValueError naming the step.
    """

    def __call__(self, chain: Sequence[Mapping[str, Any]], rate: float,
                 channels: int) -> Conditioner: ...


class ConditionerUnavailable(LookupError):
    """No conditioner factory by that name, or its optional dependency is missing."""


def load_factory(name: str = DEFAULT) -> ConditionerFactory:
    """The factory registered as entry point ``conditioner.<name>`` (default: scipy)."""
    hint = ('pip install "hexloop[filters]"' if name == DEFAULT else
            f"install the package that provides conditioner {name!r}")
    found = [ep for ep in metadata.entry_points(group=GROUP) if ep.name == f"conditioner.{name}"]
    if not found:
        raise ConditionerUnavailable(
            f"no conditioner named {name!r} is registered (entry point conditioner.{name} in "
            f"{GROUP}); {hint}, or reinstall hexloop if its entry points are out of date")
    try:
        factory: ConditionerFactory = found[0].load()
        return factory
    except ImportError as e:
        raise ConditionerUnavailable(f"conditioner {name!r} could not be imported ({e}): {hint}") \
            from e
