"""Where sessions go when nobody says: the default session folder, from platformdirs.

`default_session_dir()` is `<user data dir>/hexloop/recordings` (Linux:
`~/.local/share/hexloop/recordings`, or under `$XDG_DATA_HOME`; macOS:
`~/Library/Application Support/hexloop/recordings`; Windows: `%LOCALAPPDATA%\\hexloop\\recordings`),
or `$HEXLOOP_SESSIONS` when set. A setup's `[store] options.base_dir`, and `--out` of the
commands that take one, win over both. `ZarrStore()` without a base_dir uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

SESSIONS_ENV = "HEXLOOP_SESSIONS"


def default_session_dir() -> Path:
    """The folder sessions go to when a setup or command names none (not created here)."""
    chosen = os.environ.get(SESSIONS_ENV)
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs  # a core dependency; imported here to keep package import light

    return Path(platformdirs.user_data_dir("hexloop", appauthor=False)) / "recordings"
