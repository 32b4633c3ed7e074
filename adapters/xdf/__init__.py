"""XDF (LabRecorder's format) through pyxdf: read a file as a session, import it into a store.

    read_xdf(path, classes=, markers=, dejitter=)   an XdfRecording (a RecordedSession)
    import_xdf(path, store, ...)                    the same, written as a session of `store`

Needs the `xdf` extra (pyxdf), imported only when a file is read; docs/formats.md.
"""

from .importing import import_xdf, write_recording
from .reading import XdfError, XdfRecording, XdfStream, parse_classes, read_xdf

__all__ = ["XdfError", "XdfRecording", "XdfStream", "import_xdf", "parse_classes", "read_xdf",
           "write_recording"]
