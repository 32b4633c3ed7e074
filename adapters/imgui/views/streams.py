"""Draws the streams table from its rows (viewmodels.streams)."""

from __future__ import annotations

from imgui_bundle import imgui

from ..viewmodels.streams import COLUMNS, EMPTY_HINT, StreamRow
from ..widgets import TONE_COLORS, show, tooltip


def draw_streams(rows: tuple[StreamRow, ...]) -> None:
    if not rows:
        imgui.text_disabled(EMPTY_HINT)
        return
    flags = (imgui.TableFlags_.row_bg | imgui.TableFlags_.borders_inner_v
             | imgui.TableFlags_.sizing_stretch_prop | imgui.TableFlags_.resizable)
    if not imgui.begin_table("streams", len(COLUMNS), flags):
        return
    widest = max(len(row.name) for row in rows)
    # Column weights from typical contents, so the rate is not the one cut short.
    samples = ("n" * min(max(widest, 4), 16), "streaming", "2048 / 2048", "Ch", "999 ms",
               "Lost", "Rejected", "Anomalies")
    for title, sample in zip(COLUMNS, samples):
        imgui.table_setup_column(title, imgui.TableColumnFlags_.width_stretch,
                                 imgui.calc_text_size(sample).x)
    imgui.table_headers_row()
    for row in rows:
        imgui.table_next_row()
        for i, cell in enumerate(row.cells):
            imgui.table_next_column()
            if i == 1:  # the status is always coloured
                imgui.text_colored(TONE_COLORS[cell.tone], cell.text)
                tooltip(cell.tooltip)
            else:
                show(cell)
    imgui.end_table()

