"""The mne_lsl.lsl calls behind the shared LSL source: resolve, announce, open, pull, close."""

from __future__ import annotations

import numpy as np
from mne_lsl.lsl import StreamInlet, resolve_streams

try:  # mne-lsl does not export it; fall back to its base class if it ever moves
    from mne_lsl.lsl._utils import LostError as MneLslLostError
except ImportError:  # pragma: no cover
    MneLslLostError = RuntimeError

from hexloop.adapters.lsl_common import Announcement


def _format(sinfo) -> str:
    dtype = sinfo.dtype
    return "string" if isinstance(dtype, str) else np.dtype(dtype).name


class MneLslBinding:
    """LslBinding for mne-lsl's low-level API; inlets never recover by themselves."""

    lost_errors: tuple[type[BaseException], ...] = (MneLslLostError,)

    def resolve(self, name, type, source_id, timeout, minimum=1):
        return resolve_streams(
            max(timeout, 1e-3), name=name, stype=type, source_id=source_id, minimum=minimum
        )

    def resolve_all(self, timeout):
        return resolve_streams(max(timeout, 1e-3))

    def present(self, announcement, timeout):
        # mne-lsl resolves by name/type/source_id only: listen the whole timeout, match the uid.
        found = resolve_streams(
            timeout,
            name=announcement.name,
            source_id=announcement.source_id or None,
            minimum=1024,
        )
        return any(s.uid == announcement.uid for s in found)

    def announce(self, sinfo) -> Announcement:
        return Announcement(
            name=sinfo.name,
            type=sinfo.stype,
            channel_count=sinfo.n_channels,
            sampling_rate=float(sinfo.sfreq),
            format=_format(sinfo),
            source_id=sinfo.source_id,
            host=sinfo.hostname,
            created_at=float(sinfo.created_at),
            uid=sinfo.uid,
        )

    def open_inlet(self, sinfo, *, max_buffer_s, chunk_len, clock_correction, dejitter, timeout):
        flags = [f for f, on in (("clocksync", clock_correction), ("dejitter", dejitter)) if on]
        inlet = StreamInlet(
            sinfo,
            chunk_size=int(chunk_len),
            max_buffered=int(max_buffer_s),
            recover=False,
            processing_flags=flags or None,
        )
        inlet.open_stream(timeout)  # raises the builtin TimeoutError
        return inlet

    def channel_metadata(self, inlet, timeout):
        full = inlet.get_sinfo(timeout)
        return full.get_channel_names(), full.get_channel_units()

    def time_correction(self, inlet, timeout):
        return inlet.time_correction(timeout)

    def pull(self, inlet, buffer, max_samples):
        # mne-lsl pulls into its own preallocated buffer (reused per max_samples).
        return inlet.pull_chunk(timeout=0.0, max_samples=max_samples)

    def close_inlet(self, inlet) -> None:
        inlet.close_stream()  # unsubscribe now; liblsl frees the inlet with its last reference
