"""Replay: recorded sessions, XDF files and lab text exports played back live as a Source, and a
text loader.

Text files need only numpy; sessions need the `zarr` extra, XDF files the `xdf` extra (pyxdf).
"""

from .source import ReplaySource
from .text import TextRecording, load_text_recording, read_text_recording

__all__ = ["ReplaySource", "TextRecording", "load_text_recording", "read_text_recording"]
