"""Fakes for every port, for testing the layers above; each passes its port's contract check."""

from .clock import FakeClock
from .conditioner import FakeConditioner
from .markers import FakeMarkerOutlet, FakeMarkerSource
from .model import FakeModel
from .renderer import FakeRenderer
from .source import FakeSource
from .store import FakeStore
from .transport import FakeTransport

__all__ = ["FakeClock", "FakeConditioner", "FakeMarkerOutlet", "FakeMarkerSource", "FakeModel", "FakeRenderer", "FakeSource", "FakeStore", "FakeTransport"]
