"""An in-process simulated EMG source, paced on wall time; needs nothing installed."""

from .source import SimulatedSource

__all__ = ["SimulatedSource"]
