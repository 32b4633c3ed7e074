"""Draws the Recording panel from its view-model (viewmodels.recording)."""

from __future__ import annotations

from imgui_bundle import imgui

from ..viewmodels.recording import (
    SLUG_TIP,
    EditSlug,
    Mark,
    RecordingIntent,
    RecordingView,
    StartRecording,
    StopRecording,
)
from ..widgets import ORANGE, RED, ButtonFn, clicked, refusable_button, show, tooltip

ACTIVE = (0.75, 0.3, 0.3, 1.0)


def draw_recording(view: RecordingView,
                   button: ButtonFn = refusable_button) -> RecordingIntent | None:
    intent: RecordingIntent | None = None
    if view.idle:
        imgui.set_next_item_width(imgui.get_font_size() * 10)
        changed, slug = imgui.input_text_with_hint("##slug", "session name", view.slug)
        tooltip(SLUG_TIP)
        if changed:
            intent = EditSlug(slug)
        imgui.same_line()
        if clicked(button, view.record):
            intent = StartRecording(slug)
    else:
        if clicked(button, view.stop):
            intent = StopRecording()
        imgui.same_line()
        if view.saving:
            imgui.text_colored(ORANGE, "saving...")
        elif view.elapsed is not None:
            imgui.text_colored(RED, "REC")
            imgui.same_line()
            imgui.text(view.elapsed)

    if view.classes:
        imgui.separator_text("Cue a class")
        for i, spec in enumerate(view.classes):
            if i:
                imgui.same_line()
            active = view.active_class == i
            if active:
                imgui.push_style_color(imgui.Col_.button, ACTIVE)
            if clicked(button, spec):
                intent = Mark(spec.label)
            if active:
                imgui.pop_style_color()
        if view.trials:
            imgui.text_disabled(view.trials)

    imgui.separator()
    if view.destination is not None:
        imgui.text("Recording to")
        imgui.text_wrapped(view.destination)
    if view.last:
        imgui.text("Last session")
        for line in view.last:
            show(line, wrapped=True)
    if view.message is not None:
        show(view.message, wrapped=True)
    return intent
