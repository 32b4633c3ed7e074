"""Where the window's layout (the ImGui ini file) is kept: `default_ini_path` and `INI_ENV`.

Split out of renderer.py (#12); everything here is re-exported there and from
`hexloop.adapters.imgui`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

#: Environment variable naming the layout file; the `ini_path` argument wins over it.
INI_ENV = "HEXLOOP_GUI_INI"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-").lower() or "hexloop"


def user_config_dir() -> Path:
    """The per-user configuration folder for hexloop on this platform."""
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "hexloop"


def default_ini_path(title: str) -> Path | None:
    """Where the layout of a window titled `title` is kept.

    $HEXLOOP_GUI_INI if set ("none" or "off" keeps no layout file), else one file per title in
    the user config folder (~/.config/hexloop/ on Linux).
    """
    env = os.environ.get(INI_ENV)
    if env is not None and env.strip():
        if env.strip().lower() in ("none", "off", "0"):
            return None
        return Path(env).expanduser()
    return user_config_dir() / f"{_slug(title)}.ini"
