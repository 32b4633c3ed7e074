"""The application layer: App, Stream, Pipeline, Output and the threads that run them."""

from .app import App
from .context import Context, Log
from .headless import HeadlessRenderer
from .output import Output
from .pipeline import Pipeline
from .stream import Stream, StreamHealth, StreamStatus

__all__ = ["App", "Context", "HeadlessRenderer", "Log", "Output", "Pipeline", "Stream",
           "StreamHealth", "StreamStatus"]
