"""MneLslSource: an LSL stream read through mne_lsl.lsl (see lsl_common.LslSource)."""

from __future__ import annotations

from typing import ClassVar

from hexloop.adapters.lsl_common import LslSource

from .binding import MneLslBinding


class MneLslSource(LslSource):
    """Reads one LSL stream through mne-lsl's low-level API; same options as PylslSource.

    name, type, source_id, timeout, channels, rate, clock_correction=True, dejitter=False,
    max_buffer_s=5, chunk_len=0, pull_s=0.5, gap_threshold_s.
    """

    binding: ClassVar[MneLslBinding] = MneLslBinding()
    binding_name: ClassVar[str] = "mne_lsl"
