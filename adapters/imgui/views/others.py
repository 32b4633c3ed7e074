"""Draws the Predictions, Bridges and Log panels and the status bar from their view-models."""

from __future__ import annotations

from imgui_bundle import imgui, implot

from ..viewmodels.bridges import BridgeIntent, BridgeView, StartBridge, StopBridge
from ..viewmodels.log import (
    LEVELS,
    ClearLog,
    LogIntent,
    LogView,
    SetFollow,
    SetLevel,
    StatusView,
    log_line,
)
from ..viewmodels.predictions import PredictionView
from ..widgets import GREEN, TONE_COLORS, ButtonFn, clicked, refusable_button


def draw_prediction(view: PredictionView) -> None:
    if view.waiting is not None:
        imgui.push_style_color(imgui.Col_.text, imgui.get_style_color_vec4(imgui.Col_.text_disabled))
        imgui.text_wrapped(view.waiting)
        imgui.pop_style_color()
        return
    if view.raw is not None:
        imgui.text_wrapped(view.raw)
    for bar in view.bars:
        if bar.best:
            imgui.push_style_color(imgui.Col_.plot_histogram, GREEN)
        imgui.progress_bar(bar.fraction, (-1, 0), bar.label)
        if bar.best:
            imgui.pop_style_color()
    if view.series is not None:
        x, lines = view.series
        if implot.begin_plot("##values", (-1, imgui.get_font_size() * 14)):
            implot.setup_axes("seconds", "", implot.AxisFlags_.auto_fit,
                              implot.AxisFlags_.auto_fit)
            for name, y in lines.items():
                implot.plot_line(name, x, y)
            implot.end_plot()
        imgui.text(view.values)
    if view.footer:
        imgui.text_disabled(view.footer)


def draw_bridge(view: BridgeView, button: ButtonFn = refusable_button) -> BridgeIntent | None:
    intent: BridgeIntent | None = None
    imgui.text(view.name)
    imgui.same_line()
    imgui.text_colored(TONE_COLORS[view.tone], view.state)
    if view.exit is not None:
        imgui.same_line()
        imgui.text(view.exit)
    if view.detail:
        imgui.text_wrapped(view.detail)
    imgui.same_line()
    if clicked(button, view.start):
        intent = StartBridge(view.name)
    imgui.same_line()
    if clicked(button, view.stop):
        intent = StopBridge(view.name)
    if view.stderr and imgui.tree_node(f"stderr ({len(view.stderr)} lines)"):
        imgui.text_wrapped("\n".join(view.stderr))
        imgui.tree_pop()
    imgui.separator()
    return intent


def draw_log(view: LogView) -> LogIntent | None:
    intent: LogIntent | None = None
    imgui.set_next_item_width(imgui.get_font_size() * 8)
    changed, level = imgui.combo("##level", view.level, list(LEVELS))
    if changed:
        intent = SetLevel(level)
    imgui.same_line()
    changed, follow = imgui.checkbox("follow", view.follow)
    if changed:
        intent = SetFollow(follow)
    imgui.same_line()
    if imgui.button("Clear"):
        intent = ClearLog()
    entries = view.entries
    if imgui.begin_child("entries", (0, 0), imgui.ChildFlags_.borders):
        clipper = imgui.ListClipper()
        clipper.begin(len(entries))
        while clipper.step():
            for entry in entries[clipper.display_start:clipper.display_end]:
                line = log_line(entry)
                imgui.text_disabled(line.clock)
                imgui.same_line()
                imgui.text_colored(TONE_COLORS[line.tone], line.level)
                imgui.same_line()
                imgui.text(line.text)
        if view.follow and imgui.get_scroll_y() >= imgui.get_scroll_max_y() - 1:
            imgui.set_scroll_here_y(1.0)
    imgui.end_child()
    return intent


def draw_status(view: StatusView) -> None:
    imgui.text_colored(TONE_COLORS[view.tone], view.state)
    imgui.same_line()
    imgui.text(view.status)
    if view.fps:
        imgui.same_line()
        imgui.text_disabled(view.fps)
