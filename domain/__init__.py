"""Pure experiment logic: buffers, states, contracts, models of streams, labels and sessions.

Only the standard library, numpy and attrs are imported here; no I/O, no adapters.
"""
