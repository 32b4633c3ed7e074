"""PylslSource: an LSL stream read through pylsl (see hexloop.adapters.lsl_common.LslSource)."""

from __future__ import annotations

from typing import ClassVar

from hexloop.adapters.lsl_common import LslSource

from .binding import PylslBinding


class PylslSource(LslSource):
    """Reads one LSL stream through pylsl.

    Options (plain keywords, as a setup file passes them): name, type, source_id, timeout,
    channels and rate (refuse a stream that does not have them), clock_correction=True,
    dejitter=False, max_buffer_s=5 (the inlet's queue; older samples are dropped),
    chunk_len=0 (transmission granularity; 0: as the sender chunks), pull_s=0.5 (most data
    one read() returns), gap_threshold_s (timestamp jump counted as a gap).
    """

    binding: ClassVar[PylslBinding] = PylslBinding()
    binding_name: ClassVar[str] = "pylsl"
