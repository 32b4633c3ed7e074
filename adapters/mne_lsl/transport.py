"""MneLslTransport: predictions published as a float32 LSL outlet through mne_lsl.lsl."""

from __future__ import annotations

import math

from mne_lsl.lsl import StreamInfo, StreamOutlet

from hexloop.adapters.lsl_common import LslTransport


class MneLslTransport(LslTransport):
    """One float32 sample per send(); options: name, type, source_id, max_buffer_s, channel_type."""

    binding_name = "mne_lsl"

    def _create(self, channels, rate):
        info = StreamInfo(self.name, self.type, len(channels), rate, "float32", self.source_id)
        info.set_channel_names(list(channels))
        info.set_channel_types(self.channel_type)
        # max_buffered counts seconds (regular rate) or hundreds of samples (irregular).
        return StreamOutlet(info, chunk_size=1, max_buffered=math.ceil(self.max_buffer_s))

    def _consumers(self, outlet):
        return outlet.has_consumers
