"""The imgui-bundle window: ImGuiRenderer (the Renderer port) and its built-in panels.

Needs the optional `imgui_bundle` package: `pip install "hexloop[gui]"`.
"""

try:
    import imgui_bundle  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in environments without imgui_bundle
    raise ImportError(
        'hexloop.adapters.imgui needs imgui-bundle, which is not installed; install it with '
        'pip install "hexloop[gui]"'
    ) from e

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
