"""Draws the Cue panel from its view-model (viewmodels.cue): the cue in large letters for the
participant, the countdown and trial k of n, a level bar for ramps, and the protocol's buttons;
the keys p, r, a act as the buttons do while no text field has the keyboard."""

from __future__ import annotations

from typing import Any

from imgui_bundle import imgui

from ..viewmodels.cue import KEYS, CueDisplay, ProtocolIntent, key_intent
from ..widgets import TONE_COLORS, ButtonFn, clicked, refusable_button, show

CUE_SIZE = 6.0  # the cue's letters, in multiples of the normal font size
_KEYS = {getattr(imgui.Key, k): k for k in KEYS}


def draw_cue(view: CueDisplay, button: ButtonFn = refusable_button) -> Any:
    intent = None
    imgui.text_disabled(view.heading)
    if view.trial:
        imgui.same_line()
        imgui.text(f"  {view.trial}")
    size = imgui.get_font_size()
    imgui.push_font(None, size * CUE_SIZE)
    width = imgui.calc_text_size(view.cue.text).x
    imgui.set_cursor_pos_x(max(0.0, (imgui.get_content_region_avail().x - width) / 2))
    tone = view.cue.tone
    if tone == "muted":
        imgui.text_disabled(view.cue.text)
    elif tone == "normal":
        imgui.text(view.cue.text)
    else:
        imgui.text_colored(TONE_COLORS[tone], view.cue.text)
    imgui.pop_font()
    imgui.push_font(None, size * 2)
    line = "   ".join(x for x in (view.step, view.countdown) if x)
    imgui.set_cursor_pos_x(max(0.0, (imgui.get_content_region_avail().x
                                     - imgui.calc_text_size(line).x) / 2))
    imgui.text(line)
    imgui.pop_font()
    if view.level is not None:
        imgui.progress_bar(view.level, (-1, size * 2), f"{view.level:.0%}")
    if view.message is not None:
        show(view.message, wrapped=True)
    imgui.separator()
    for spec, action in ((view.pause, "pause"), (view.repeat, "repeat"), (view.abort, "abort")):
        if clicked(button, spec):
            intent = ProtocolIntent(action)
        imgui.same_line()
    imgui.new_line()
    imgui.text_disabled(view.keys)
    if view.health:
        imgui.text_disabled(view.health)
    return intent or pressed_key()


def pressed_key() -> ProtocolIntent | None:
    """p, r, a, q pressed this frame, unless a text field is being typed in."""
    if imgui.get_io().want_text_input:
        return None
    for key, char in _KEYS.items():
        if imgui.is_key_pressed(key, False):
            return key_intent(char)
    return None
