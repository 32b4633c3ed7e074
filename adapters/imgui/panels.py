"""The built-in panels of the hexloop window, each a plain function of the app context.

Each panel is three steps: a pure view-model says what to show and which buttons are enabled
and, when not, why (adapters/imgui/viewmodels/, no ImGui); a thin drawing function shows it and
returns what the user asked for (adapters/imgui/views/); and the panel carries that out.
Panels run on the main thread between ImGui's new_frame and render. They only read what other
threads publish (stream health, display snapshots, predictions, the log) and start slow work
on short worker threads (state.Tasks), so a frame never waits on disk or training.
Buttons the state machine would refuse are drawn disabled with a tooltip saying why.
"""

from __future__ import annotations

from typing import Any

from imgui_bundle import imgui, implot  # noqa: F401 - scripts and tests reach ImPlot here

from .state import ViewerSettings, gui_state, parse_channels
from .viewmodels.bridges import apply_bridge, bridge_views
from .viewmodels.log import apply_log, log_view, status_view
from .viewmodels.pipeline import apply_pipeline, pipeline_view
from .viewmodels.predictions import prediction_view
from .viewmodels.recording import apply_recording, recording_view
from .viewmodels.signals import signal_choices, signal_label
from .viewmodels.streams import streams_view
from .viewmodels.viewer import (
    MAX_CHANNEL_LABELS,
    MIN_POINTS,
    PIXELS_PER_POINT,
    POINT_BUDGET,
    fold_buckets,
    heatmap_view,
    points_per_channel,
    trace_frame,
    update_scale,
    viewer_controls,
    viewer_data,
    viewer_message,
)
from .views.others import draw_bridge, draw_log, draw_prediction, draw_status
from .views.pipeline import draw_pipeline
from .views.recording import draw_recording
from .views.streams import draw_streams
from .views.viewer import draw_controls, draw_heatmap, draw_traces
from .widgets import (
    BLUE,
    GREEN,
    GREY,
    LEVEL_COLORS,
    ORANGE,
    RED,
    STATE_COLORS,
    STATUS_COLORS,
    refusable_button,
)

__all__ = ["BLUE", "GREEN", "GREY", "LEVEL_COLORS", "MAX_CHANNEL_LABELS", "MIN_POINTS", "ORANGE",
           "PIXELS_PER_POINT", "POINT_BUDGET", "RED", "STATE_COLORS", "STATUS_COLORS",
           "ViewerSettings", "bridges_panel", "fold_buckets", "log_panel",
           "parse_channels", "pipeline_panel", "points_per_channel", "predictions_panel",
           "recording_panel", "refusable_button", "signal_viewer", "status_bar",
           "streams_panel", "viewer_data"]

_update_scale = update_scale  # the name tests and older scripts know


def _titled(name: str, several: bool):
    imgui.push_id(name)
    if several:
        imgui.separator_text(name)


def streams_panel(ctx: Any) -> None:
    """One row per stream: status (a refusal's reason as tooltip), measured and nominal rate,
    channels, age, lost and rejected, and the anomalies kept (clock jumps, non-finite, clipped)."""
    draw_streams(streams_view(ctx.streams))


def recording_panel(ctx: Any) -> None:
    """Record/Stop, one button per class label, elapsed time and where the session goes."""
    state = gui_state(ctx)
    intent = draw_recording(recording_view(ctx, state), button=refusable_button)
    if intent is not None:
        apply_recording(ctx, state, intent)


def pipeline_panel(ctx: Any) -> None:
    """Per pipeline: Train (progress, Cancel), Predict on/off, Save and Load the model."""
    if not ctx.pipelines:
        imgui.text_disabled("No pipeline: create one with Pipeline(app, ...).")
        return
    state = gui_state(ctx)
    for pipeline in list(ctx.pipelines):
        view = pipeline_view(ctx, state, pipeline)
        _titled(view.name, view.titled)
        try:
            intent = draw_pipeline(view, button=refusable_button)
        finally:
            imgui.pop_id()
        if intent is not None:
            apply_pipeline(ctx, state, intent)


def predictions_panel(ctx: Any) -> None:
    """Class probabilities as bars (the winner highlighted), or regression values over time."""
    if not ctx.pipelines:
        imgui.text_disabled("No pipeline.")
        return
    for pipeline in list(ctx.pipelines):
        view = prediction_view(ctx, pipeline)
        _titled(view.name, view.titled)
        try:
            draw_prediction(view)
        finally:
            imgui.pop_id()


def bridges_panel(ctx: Any) -> None:
    """Each bridge: state, exit code and its last stderr lines, with Start and Stop."""
    state = gui_state(ctx)
    views = bridge_views(ctx, state)
    if not views:
        imgui.text_disabled("No bridges.")
        return
    for view in views:
        imgui.push_id(view.name)
        try:
            intent = draw_bridge(view, button=refusable_button)
        finally:
            imgui.pop_id()
        if intent is not None:
            apply_bridge(ctx, state, intent)


def log_panel(ctx: Any) -> None:
    """The app log, newest last, filtered by level; follows new entries unless scrolled up."""
    state = gui_state(ctx)
    intent = draw_log(log_view(ctx, state))
    if intent is not None:
        apply_log(state, intent)


def status_bar(ctx: Any) -> None:
    """The experiment state, the app's status line and frames per second."""
    draw_status(status_view(ctx, gui_state(ctx).fps))


def signal_viewer(ctx: Any, stream_name: str) -> None:
    """One stream's chosen channels over a scrolling time window: min/max traces, or an RMS
    heat map laid out as the electrode grid."""
    stream = ctx.streams.get(stream_name)
    message = viewer_message(stream, stream_name)
    if message is not None:
        imgui.text_disabled(message)
        return
    info = stream.info
    settings = gui_state(ctx).viewer(stream_name)
    controls = viewer_controls(settings, info.channel_count, stream.buffer_ms / 1000.0,
                               signal_choices(stream))
    draw_controls(settings, controls, info.channel_names)
    channels = settings.visible(info.channel_count)
    if not channels:
        imgui.text_disabled("No channels selected: pick some with the Channels button.")
        return
    if settings.view == "heatmap":
        frame = heatmap_view(stream, settings, info.channel_names, channels)
        if isinstance(frame, str):
            imgui.text_disabled(frame)
        else:
            draw_heatmap(f"##{stream_name}", frame)
        return
    got = viewer_data(stream, settings, channels)
    if got is None:
        imgui.text_disabled("No samples yet.")
        return
    traces = trace_frame(settings, info.channel_names, channels, got, controls.window_s,
                         imgui.get_content_region_avail(), signal_label(stream, settings))
    if isinstance(traces, str):
        imgui.text_disabled(traces)
    else:
        draw_traces(f"##{stream_name}", traces)
