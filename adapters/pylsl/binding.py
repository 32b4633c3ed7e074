"""The pylsl calls behind the shared LSL source: resolve, announce, open, pull, close."""

from __future__ import annotations

import numpy as np
import pylsl
from pylsl.util import LostError as PylslLostError
from pylsl.util import TimeoutError as PylslTimeoutError

from hexloop.adapters.lsl_common import LSL_FORMATS, Announcement, xpath_literal, xpath_predicate


class PylslBinding:
    """LslBinding for pylsl; inlets never recover by themselves (the Source reconnects)."""

    lost_errors: tuple[type[BaseException], ...] = (PylslLostError,)

    def resolve(self, name, type, source_id, timeout, minimum=1):
        return pylsl.resolve_bypred(xpath_predicate(name, type, source_id), minimum, timeout)

    def resolve_all(self, timeout):
        return pylsl.resolve_streams(timeout)

    def present(self, announcement, timeout):
        query = f"uid={xpath_literal(announcement.uid)}"
        return bool(pylsl.resolve_bypred(query, 1, timeout))

    def announce(self, info) -> Announcement:
        code = info.channel_format()
        return Announcement(
            name=info.name(),
            type=info.type(),
            channel_count=info.channel_count(),
            sampling_rate=float(info.nominal_srate()),
            format=LSL_FORMATS.get(code, f"unknown format {code}"),
            source_id=info.source_id(),
            host=info.hostname(),
            created_at=float(info.created_at()),
            uid=info.uid(),
        )

    def open_inlet(self, info, *, max_buffer_s, chunk_len, clock_correction, dejitter, timeout):
        flags = (pylsl.proc_clocksync if clock_correction else 0) | (
            pylsl.proc_dejitter if dejitter else 0
        )
        inlet = pylsl.StreamInlet(
            info,
            max_buflen=int(max_buffer_s),
            max_chunklen=int(chunk_len),
            recover=False,
            processing_flags=flags,
        )
        try:
            inlet.open_stream(timeout)
        except PylslTimeoutError as exc:
            raise TimeoutError(
                f"LSL stream {info.name()!r} did not open within {timeout:g} s"
            ) from exc
        return inlet

    def channel_metadata(self, inlet, timeout):
        try:
            full = inlet.info(timeout)
        except PylslTimeoutError as exc:
            raise TimeoutError(
                f"the stream description did not arrive within {timeout:g} s"
            ) from exc
        return full.get_channel_labels(), full.get_channel_units()

    def time_correction(self, inlet, timeout):
        try:
            return inlet.time_correction(timeout)
        except PylslTimeoutError as exc:
            raise TimeoutError(f"no clock offset estimate within {timeout:g} s") from exc

    def pull(self, inlet, buffer: np.ndarray, max_samples: int):
        return inlet.pull_chunk(
            timeout=0.0, max_samples=max_samples, dest_obj=buffer, as_numpy=True
        )

    def close_inlet(self, inlet) -> None:
        inlet.close_stream()  # unsubscribe now; liblsl frees the inlet with its last reference
