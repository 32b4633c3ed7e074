"""The interfaces adapters implement, as `typing.Protocol` classes, and their contract checks."""

from .bridge import Bridge, BridgeStartError
from .clock import Clock
from .model import Model, ModelFileError
from .renderer import Renderer, RenderTarget
from .source import Source, SourceLost
from .store import RecordedSession, RecordingSession, Store
from .transport import Transport

__all__ = [
    "Bridge", "BridgeStartError", "Clock", "Model", "ModelFileError", "Renderer", "RenderTarget", "Source", "SourceLost",
    "RecordedSession", "RecordingSession", "Store", "Transport",
]
