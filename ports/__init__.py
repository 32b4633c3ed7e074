"""The interfaces adapters implement, as `typing.Protocol` classes, and their contract checks."""

from .clock import Clock
from .model import Model, ModelFileError
from .renderer import Renderer, RenderTarget
from .source import Source, SourceLost
from .store import RecordedSession, RecordingSession, Store
from .transport import Transport

__all__ = [
    "Clock", "Model", "ModelFileError", "Renderer", "RenderTarget", "Source", "SourceLost",
    "RecordedSession", "RecordingSession", "Store", "Transport",
]
