"""scipy conditioners: causal Butterworth and mains-notch filters (sosfilt with carried state),
common average reference, rectification and a moving RMS envelope, chained per stream.

Needs the `filters` extra (scipy). `build_chain` is the ConditionerFactory the application finds
through the entry point ``conditioner.scipy``.
"""

from hexloop.adapters._optional import optional

optional("scipy", extra="filters", purpose="hexloop.adapters.scipy")

from .conditioning import ScipyConditioner, build_chain, sos_for

__all__ = ["ScipyConditioner", "build_chain", "sos_for"]
