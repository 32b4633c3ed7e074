"""The Zarr v3 store: crash-safe recording sessions, packed `.session.zip` files, reading, MNE export.

Needs the `zarr` extra (zarr, numcodecs; mne for `to_mne`). docs/recording.md has the format.
"""

from .layout import SessionFormatError
from .packing import RecoveryResult, pack_folder, recover, recover_session, repair_folder
from .reading import ReadLimitError, ZarrSession, inspect_text, open_session
from .recording import ZarrRecording, ZarrStore
from .verify import Damage, VerifyReport, verify_session

__all__ = [
    "Damage", "ReadLimitError", "RecoveryResult", "VerifyReport", "recover_session",
    "verify_session",
    "SessionFormatError", "ZarrRecording", "ZarrSession", "ZarrStore", "inspect_text",
    "open_session", "pack_folder", "recover", "repair_folder",
]
