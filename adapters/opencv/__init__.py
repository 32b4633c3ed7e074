"""OpenCV webcam bridge: frames recorded to Zarr by a child process, an LSL clock stream, and
`frame_at` to find the frame shown at any moment afterwards.

Needs the `video` extra (opencv-python-headless, zarr, pylsl) in the child; importing this
package itself needs none of them.
"""

from .bridge import CHILD_MODULE, WebCamBridge
from .frames import FORMAT, RecordedFrames, frame_at, recording_frames_path

__all__ = ["CHILD_MODULE", "FORMAT", "RecordedFrames", "WebCamBridge", "frame_at",
           "recording_frames_path"]
