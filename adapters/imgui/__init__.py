"""The imgui-bundle window: ImGuiRenderer (the Renderer port) and its built-in panels.

Needs the optional `imgui_bundle` package: `pip install "hexloop[gui]"`.
"""

from hexloop.adapters._optional import optional

optional("imgui_bundle", extra="gui", purpose="hexloop.adapters.imgui")

from . import panels
from .renderer import (
    INI_ENV,
    ImGuiRenderer,
    call_guarded,
    default_ini_path,
    drawing,
    user_config_dir,
)
from .state import GuiState, ViewerSettings, gui_state, parse_channels

__all__ = ["INI_ENV", "GuiState", "ImGuiRenderer", "ViewerSettings", "call_guarded",
           "default_ini_path", "drawing", "gui_state", "panels", "parse_channels",
           "user_config_dir"]
