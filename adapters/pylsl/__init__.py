"""Lab Streaming Layer through pylsl: a Source, a prediction Transport, a simulated amplifier.

    PylslSource("emg")                 reads a stream found by name (type=, source_id= narrow it)
    PylslTransport("predictions")      publishes one float32 sample per send()
    PylslMarkerOutlet("cues")          publishes string markers (a protocol's cues)
    PylslMarkerSource("PsychoPyMarkers")  reads a string marker stream (markers as labels)
    SimulatedLslDevice(channels=, rate=)  an EMG-like amplifier on LSL, set_class(k) to switch
    list_streams(timeout)              what is visible on the network (for `hexloop streams`)

Network settings (loopback-only for one machine, lab configs) are in docs/lsl.md.
"""

from hexloop.adapters._optional import optional

optional("pylsl", extra="lsl", purpose="hexloop.adapters.pylsl")

from hexloop.adapters.lsl_common import SourceStats, StreamListing, StreamRefused, list_streams_with

from .binding import PylslBinding
from .device import SimulatedLslDevice, run_simulator
from .marker_source import PylslMarkerSource
from .markers import PylslMarkerOutlet
from .source import PylslSource
from .transport import PylslTransport


def list_streams(timeout: float = 1.0) -> list[StreamListing]:
    """Every LSL stream visible within `timeout` seconds: name, type, channels, rate, host, ..."""
    return list_streams_with(PylslSource.binding, timeout)


__all__ = [
    "PylslBinding",
    "PylslMarkerOutlet",
    "PylslMarkerSource",
    "PylslSource",
    "PylslTransport",
    "SimulatedLslDevice",
    "SourceStats",
    "StreamListing",
    "StreamRefused",
    "list_streams",
    "run_simulator",
]
