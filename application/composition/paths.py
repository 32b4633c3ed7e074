"""Where hexloop keeps things when nobody says, for the commands and the reports.

The default session folder is the Zarr store's (`hexloop.adapters.zarr.location`): platformdirs'
user data folder + `hexloop/recordings`, or `$HEXLOOP_SESSIONS`. A setup's `[store]
options.base_dir` and `--out` win over it.
"""

from __future__ import annotations

from hexloop.adapters.zarr.location import SESSIONS_ENV, default_session_dir

__all__ = ["SESSIONS_ENV", "default_session_dir"]
