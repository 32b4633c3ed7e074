"""The Zarr v3 store: crash-safe recording sessions, packed `.session.zip` files, reading, MNE export.

Needs the `zarr` extra (zarr, numcodecs; mne for `to_mne`). docs/recording.md has the format.
"""

from .inspect import inspect_text
from .layout import SessionFormatError
from .packing import pack_folder, recover, repair_folder
from .reading import ZarrSession, open_session
from .recording import ZarrRecording, ZarrStore

__all__ = [
    "SessionFormatError", "ZarrRecording", "ZarrSession", "ZarrStore", "inspect_text",
    "open_session", "pack_folder", "recover", "repair_folder",
]
