"""Lab Streaming Layer through mne-lsl's low-level API (mne_lsl.lsl): a Source and a Transport.

Same behaviour and options as hexloop.adapters.pylsl, proven by the same contract checks.
"""

from hexloop.adapters._optional import optional

optional("mne_lsl", extra="lsl", purpose="hexloop.adapters.mne_lsl")

from hexloop.adapters.lsl_common import SourceStats, StreamListing, StreamRefused, list_streams_with

from .binding import MneLslBinding
from .source import MneLslSource
from .transport import MneLslTransport


def list_streams(timeout: float = 1.0) -> list[StreamListing]:
    """Every LSL stream visible within `timeout` seconds, seen through mne-lsl."""
    return list_streams_with(MneLslSource.binding, timeout)


__all__ = [
    "MneLslBinding",
    "MneLslSource",
    "MneLslTransport",
    "SourceStats",
    "StreamListing",
    "StreamRefused",
    "list_streams",
]
