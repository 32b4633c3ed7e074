"""Pure view-models of the window's panels: what each panel shows, which buttons are enabled
and, when not, why; and what a click does (`apply_*`).

Nothing here imports ImGui, so every panel's logic is unit-tested without a window. A panel is
three steps (see `adapters/imgui/panels.py`): `*_view(ctx, ...)` builds a frozen view-model from
the app context, a drawing function in `adapters/imgui/views/` shows it and returns the user's
intent (or None), and `apply_*(ctx, state, intent)` carries the intent out, starting slow work
on a worker thread (state.Tasks) so a frame never waits.
"""

from .common import Button, Text
from .pipeline import PipelineView, apply_pipeline, pipeline_views
from .recording import RecordingView, apply_recording, recording_view
from .streams import StreamRow, streams_view

__all__ = ["Button", "PipelineView", "RecordingView", "StreamRow", "Text", "apply_pipeline",
           "apply_recording", "pipeline_views", "recording_view", "streams_view"]
