"""The small ImGui widgets every panel draws with: colours for the view-models' tones, text
with a tone and a hover explanation, and the button that is disabled with a reason."""

from __future__ import annotations

from collections.abc import Callable

from imgui_bundle import imgui

from .viewmodels.common import Text
from .viewmodels.log import LEVEL_TONES, STATE_TONES
from .viewmodels.streams import STATUS_TONES

GREEN = (0.35, 0.85, 0.45, 1.0)
ORANGE = (1.0, 0.65, 0.2, 1.0)
RED = (1.0, 0.38, 0.38, 1.0)
BLUE = (0.55, 0.7, 0.95, 1.0)
GREY = (0.6, 0.6, 0.6, 1.0)
LIGHT = (0.8, 0.8, 0.8, 1.0)
TONE_COLORS = {"green": GREEN, "orange": ORANGE, "red": RED, "blue": BLUE, "grey": GREY,
               "normal": LIGHT, "muted": GREY}

STATUS_COLORS = {status: TONE_COLORS[tone] for status, tone in STATUS_TONES.items()}
STATE_COLORS = {state: TONE_COLORS[tone] for state, tone in STATE_TONES.items()}
LEVEL_COLORS = {level: TONE_COLORS[tone] for level, tone in LEVEL_TONES.items()}

#: A button function: (label, refusal) -> clicked. Drawing functions take one as `button`, so
#: the panels module decides which (tests stand a recorder in for it).
ButtonFn = Callable[[str, "str | None"], bool]


def refusable_button(label: str, refusal: str | None) -> bool:
    """A button that is disabled, with `refusal` as its tooltip, when refusal is not None."""
    imgui.begin_disabled(refusal is not None)
    clicked = imgui.button(label)
    imgui.end_disabled()
    if refusal is not None and imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled):
        imgui.set_tooltip(refusal)
    return clicked and refusal is None


def tooltip(text: str | None) -> None:
    """`text` as the tooltip of the last item, also when it is disabled."""
    if text and imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled):
        imgui.set_tooltip(text)


def show(line: Text, wrapped: bool = False) -> None:
    """A Text in its tone, with its tooltip."""
    if line.tone == "normal":
        (imgui.text_wrapped if wrapped else imgui.text)(line.text)
    elif line.tone == "muted":
        imgui.text_disabled(line.text)
    else:
        imgui.text_colored(TONE_COLORS[line.tone], line.text)
    tooltip(line.tooltip)


def clicked(button: ButtonFn, spec) -> bool:
    """Draw a view-model Button with `button`; its enabled-state tooltip too."""
    pressed = button(spec.label, spec.refusal)
    if spec.refusal is None:
        tooltip(spec.tooltip)
    return pressed
