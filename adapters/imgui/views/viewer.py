"""Draws a signal viewer: its controls (channels, window, view, raw/conditioned signal when the
stream has a conditioning chain, autoscale, stack, band), then its traces or its heat map, from
the arrays viewmodels.viewer prepared, titled with the signal they show."""

from __future__ import annotations

from typing import Any

import numpy as np
from imgui_bundle import imgui, implot

from ..state import parse_channels
from ..viewmodels.signals import choose_signal
from ..viewmodels.viewer import (
    VIEW_LABELS,
    VIEWS,
    HeatmapFrame,
    TraceFrame,
    ViewerControls,
    ranges_text,
)
from ..widgets import RED, tooltip


def draw_controls(settings: Any, controls: ViewerControls, names: tuple[str, ...]) -> None:
    """The row of controls; they edit the viewer's own settings in place."""
    channel_picker(settings, names, controls.channel_count, controls.shown)
    imgui.same_line()
    imgui.set_next_item_width(imgui.get_font_size() * 9)
    lo, hi = controls.window_range
    changed, window_s = imgui.slider_float("window", controls.window_s, lo, hi, "%.1f s",
                                           imgui.SliderFlags_.logarithmic)
    if changed:
        settings.window_s = window_s
    imgui.same_line()
    imgui.set_next_item_width(imgui.get_font_size() * 8)
    changed, view = imgui.combo("##view", controls.view, list(VIEW_LABELS))
    if changed:
        settings.view = VIEWS[view]
    tooltip("traces: each channel's min/max over time; RMS heat map: one cell per channel, "
            "laid out as the electrode grid, for hundreds of channels")
    if len(controls.signals) > 1:
        imgui.same_line()
        imgui.set_next_item_width(imgui.get_font_size() * 8)
        index = controls.signals.index(settings.signal) if settings.signal in controls.signals \
            else 0
        changed, index = imgui.combo("##signal", index, list(controls.signals))
        if changed:
            choose_signal(settings, controls.signals[index])
        tooltip("conditioned: after the stream's conditioning chain (what predict sees); "
                "raw: the samples as recorded, before it")
    imgui.same_line()
    _, settings.autoscale = imgui.checkbox("autoscale", settings.autoscale)
    if settings.view == "heatmap":
        return
    imgui.same_line()
    _, settings.stacked = imgui.checkbox("stack", settings.stacked)
    imgui.same_line()
    _, settings.band = imgui.checkbox("band", settings.band)
    tooltip("shade between each bucket's min and max (off: the two edges as lines)")


def channel_picker(settings: Any, names: tuple[str, ...], count: int, shown: int) -> None:
    if imgui.button(f"Channels ({shown}/{count})"):
        settings.channel_text = ranges_text(settings.visible(count))
        imgui.open_popup("channel picker")
    if not imgui.begin_popup("channel picker"):
        return
    if imgui.button("All"):
        settings.channels = list(range(count))
    imgui.same_line()
    if imgui.button("None"):
        settings.channels = []
    imgui.same_line()
    if imgui.button("First 8"):
        settings.channels = list(range(min(8, count)))
    imgui.set_next_item_width(imgui.get_font_size() * 12)
    entered, settings.channel_text = imgui.input_text(
        "##channels", settings.channel_text, imgui.InputTextFlags_.enter_returns_true)
    imgui.same_line()
    if imgui.button("Apply") or entered:
        try:
            settings.channels = parse_channels(settings.channel_text, count)
            settings.channel_error = ""
        except ValueError as e:
            settings.channel_error = str(e)
    tooltip("one-based channels, e.g. 1-8, 12, 20-")
    if settings.channel_error:
        imgui.text_colored(RED, settings.channel_error)
    chosen = set(settings.visible(count))
    if imgui.begin_child("list", (imgui.get_font_size() * 16, imgui.get_font_size() * 14)):
        clipper = imgui.ListClipper()
        clipper.begin(count)
        while clipper.step():
            for c in range(clipper.display_start, clipper.display_end):
                changed, on = imgui.checkbox(f"{c + 1}: {names[c]}##{c}", c in chosen)
                if changed:
                    chosen = chosen | {c} if on else chosen - {c}
                    settings.channels = sorted(chosen)
    imgui.end_child()
    imgui.end_popup()


def draw_traces(plot_id: str, frame: TraceFrame) -> None:
    """`plot_id` starts with "##"; the frame's label, if any, is the plot's title."""
    flags = implot.Flags_.no_mouse_text
    if not frame.legend:
        flags |= implot.Flags_.no_legend
    if not implot.begin_plot(frame.label + plot_id, (-1, -1), flags):
        return
    y_flags = implot.AxisFlags_.auto_fit if frame.y_autofit else implot.AxisFlags_.none
    implot.setup_axes("seconds", "", implot.AxisFlags_.none, y_flags)
    implot.setup_axis_limits(implot.ImAxis_.x1, -frame.window_s, 0.0, implot.Cond_.always)
    if frame.y_limits is not None:
        cond = implot.Cond_.always if frame.y_fixed else implot.Cond_.once
        implot.setup_axis_limits(implot.ImAxis_.y1, *frame.y_limits, cond)
    if frame.ticks is not None:
        positions, labels = frame.ticks
        implot.setup_axis_ticks(implot.ImAxis_.y1, float(positions[0]), float(positions[-1]),
                                len(labels), list(labels))
    for trace in frame.traces:
        spec = implot.Spec(line_color=implot.get_colormap_color(trace.color),
                           line_weight=trace.weight)
        if trace.strokes:
            spec.flags = implot.LineFlags_.segments
        implot.plot_line(trace.label, trace.xs, trace.ys, spec)
    implot.end_plot()


def draw_heatmap(plot_id: str, frame: HeatmapFrame) -> None:
    rows, columns = frame.values.shape
    lo, hi = frame.scale
    implot.push_colormap(implot.Colormap_.viridis)
    try:
        scale_width = imgui.get_font_size() * 5
        if implot.begin_plot(frame.label + plot_id, (-scale_width, -1),
                             implot.Flags_.no_legend | implot.Flags_.no_mouse_text
                             | implot.Flags_.equal):
            axis = implot.AxisFlags_.no_grid_lines | implot.AxisFlags_.no_tick_marks
            implot.setup_axes("", "", axis | implot.AxisFlags_.no_tick_labels,
                              axis | implot.AxisFlags_.no_tick_labels)
            implot.setup_axes_limits(0, columns, 0, rows, implot.Cond_.always)
            implot.plot_heatmap("##rms", frame.values, lo, hi, "",
                                implot.Point(0, 0), implot.Point(columns, rows))
            if implot.is_plot_hovered():
                _cell_tooltip(frame, implot.get_plot_mouse_pos())
            implot.end_plot()
        imgui.same_line()
        implot.colormap_scale(f"{frame.measure}, {frame.window_ms:g} ms", lo, hi, (-1, -1))
    finally:
        implot.pop_colormap()


def _cell_tooltip(frame: HeatmapFrame, mouse: Any) -> None:
    rows, columns = frame.values.shape
    col, row = int(np.floor(mouse.x)), rows - 1 - int(np.floor(mouse.y))
    if 0 <= col < columns and 0 <= row < rows:
        cell = row * columns + col
        if frame.names[cell]:
            value = frame.values[row, col]
            imgui.set_tooltip(f"{cell + 1}: {frame.names[cell]}  {frame.measure} {value:.3g}")
