"""The interfaces adapters implement, as `typing.Protocol` classes, and their contract checks."""

from .bridge import Bridge, BridgeStartError
from .clock import Clock
from .conditioner import Conditioner, ConditionerFactory
from .markers import MarkerOutlet, MarkerSource
from .model import Model, ModelFileError
from .renderer import Renderer, RenderTarget
from .source import Source, SourceLost
from .store import RecordedSession, RecordingSession, Store
from .transport import Transport

#: The version of the port interfaces, (major, minor); docs/adapters.md, "Versioning". A change
#: that can break an existing adapter (a method added to a port, a signature or a threading rule
#: changed) raises the major, and with it hexloop's minor release while hexloop is 0.x; an
#: addition adapters may ignore (an optional hook, a new contract check) raises the minor.
PORTS_VERSION = (1, 3)  # 1.1: the Conditioner port (#14); 1.2: MarkerOutlet, check_marker_outlet (#15)
# 1.3: MarkerSource, check_marker_source (#16)

__all__ = [
    "PORTS_VERSION",
    "Bridge", "BridgeStartError", "Clock", "Conditioner", "ConditionerFactory", "MarkerOutlet", "MarkerSource", "Model", "ModelFileError", "Renderer", "RenderTarget", "Source", "SourceLost",
    "RecordedSession", "RecordingSession", "Store", "Transport",
]
