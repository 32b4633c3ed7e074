"""Draws the training report under Train from its view-model (viewmodels.training): the summary
and warning, the confusion matrix as an ImPlot heat map, and the learning curve (live)."""

from __future__ import annotations

from imgui_bundle import imgui, implot

from ..viewmodels.common import Text
from ..viewmodels.training import TrainingReportView
from ..widgets import TONE_COLORS, tooltip


def _wrapped(line: Text) -> None:
    """A Text in its tone, wrapped to the panel's width (a warning is a sentence)."""
    if line.tone == "muted":
        imgui.push_style_color(imgui.Col_.text, imgui.get_style_color_vec4(imgui.Col_.text_disabled))
    elif line.tone != "normal":
        imgui.push_style_color(imgui.Col_.text, TONE_COLORS[line.tone])
    imgui.text_wrapped(line.text)
    if line.tone != "normal":
        imgui.pop_style_color()
    tooltip(line.tooltip)


def draw_training_report(view: TrainingReportView | None, key: str = "") -> None:
    """Nothing when `view` is None; `key` keeps plots of several pipelines apart."""
    draw_training_summary(view)
    draw_training_plots(view, key)


def draw_training_summary(view: TrainingReportView | None) -> None:
    """The accuracy next to chance, and the warning near chance (under Train)."""
    if view is None:
        return
    _wrapped(view.summary)
    if view.warning is not None:
        _wrapped(view.warning)


def draw_training_plots(view: TrainingReportView | None, key: str = "") -> None:
    """The heat map, the learning curve and precision / recall (at the panel's end, so the
    Predict and Model buttons stay in view)."""
    if view is None or (view.heat_map is None and view.curve is None):
        return
    imgui.separator_text("Training report")
    size = imgui.get_font_size()
    heat, curve = view.heat_map, view.curve
    if heat is not None:
        n = len(heat.class_names)
        if implot.begin_plot(f"{heat.title}##heat{key}", (-1, size * (6 + 2 * n))):
            ticks = [float(i) + 0.5 for i in range(n)]
            implot.setup_axes("predicted class", "cued class",
                              implot.AxisFlags_.lock | implot.AxisFlags_.no_grid_lines,
                              implot.AxisFlags_.lock | implot.AxisFlags_.no_grid_lines)
            implot.setup_axis_ticks(implot.ImAxis_.x1, ticks, list(heat.class_names))
            implot.setup_axis_ticks(implot.ImAxis_.y1, ticks, list(reversed(heat.class_names)))
            implot.setup_axes_limits(0, n, 0, n, implot.Cond_.always)
            implot.push_colormap(implot.Colormap_.viridis)  # sequential: share of the row
            implot.plot_heatmap(f"##shares{key}", heat.shares * 100.0, 0.0, 100.0, "%.0f",
                                implot.Point(0, 0), implot.Point(n, n))
            implot.pop_colormap()
            implot.end_plot()
    if curve is not None:
        if implot.begin_plot(f"{curve.title}##curve{key}", (-1, size * 12)):
            implot.setup_axes("epoch", "loss", implot.AxisFlags_.auto_fit,
                              implot.AxisFlags_.auto_fit)
            implot.setup_legend(implot.Location_.north_east)
            implot.plot_line("training", curve.epochs, curve.train_loss)
            if (curve.val_loss == curve.val_loss).any():
                implot.plot_line("validation", curve.epochs, curve.val_loss)
            implot.end_plot()
    if view.details and imgui.tree_node(f"precision and recall per class##{key}"):
        imgui.text(view.details)
        imgui.tree_pop()
