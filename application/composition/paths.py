"""Where hexloop keeps things when nobody says: the default session folder, from platformdirs.

`default_session_dir()` is `<user data dir>/hexloop/recordings` (on Linux
`~/.local/share/hexloop/recordings`, or under `$XDG_DATA_HOME`; on macOS
`~/Library/Application Support/hexloop/recordings`; on Windows `%LOCALAPPDATA%\\hexloop\\recordings`),
or `$HEXLOOP_SESSIONS` when that is set. A setup's `[store] options.base_dir` and `--out` win.
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
    import platformdirs

    return Path(platformdirs.user_data_dir("hexloop", appauthor=False)) / "recordings"
