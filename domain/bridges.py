"""Bridge subprocess model: the status record a supervisor reports and the shared exit codes.

A bridge is a heavy source (a webcam, a camera array, an eye tracker SDK) running in its own
interpreter. This module only describes what the app may know about one; starting and watching
processes is the subprocess adapter's job.
"""

from __future__ import annotations

import enum
import re
import signal
from collections.abc import Iterable

import attrs

#: The states a bridge can be in. 'crashed' means it exited on its own with a non-zero code
#: (or was killed by a signal it did not get from its supervisor).
BRIDGE_STATES = ("running", "stopped", "crashed")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def bridge_name_problem(name: str) -> str | None:
    """Why `name` cannot name a bridge (it becomes a file name and a stream name), or None."""
    if not isinstance(name, str) or not _NAME.match(name):
        return (
            f"bridge name {name!r} must be 1-64 characters of letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (it names log files and LSL streams)"
        )
    return None


class BridgeExit(enum.IntEnum):
    """Exit codes every hexloop bridge child uses, so supervisors and people can read them."""

    OK = 0  # stopped on request (SIGTERM/SIGINT), at the end of a video file, or parent gone
    UNEXPECTED = 1  # an uncaught exception: the traceback is in the stderr log
    USAGE = 2  # bad command-line arguments (argparse's code)
    SOURCE_UNAVAILABLE = 3  # the camera/device/file/URL could not be opened
    SOURCE_FAILED = 4  # the source stopped delivering frames, or delivered unusable ones
    OUTPUT_EXISTS = 5  # the output array already exists; refusing to overwrite it
    OUTPUT_FAILED = 6  # the output could not be written (disk full, permissions)
    MISSING_DEPENDENCY = 7  # an optional package the bridge needs is not installed


_EXIT_MEANINGS = {
    BridgeExit.OK: "stopped cleanly",
    BridgeExit.UNEXPECTED: "failed with an unexpected error; see the traceback in its stderr log",
    BridgeExit.USAGE: "was started with bad arguments; see its stderr log",
    BridgeExit.SOURCE_UNAVAILABLE: (
        "could not open its source; check the device is plugged in, not used by another "
        "program, and that the index, path or URL is right"
    ),
    BridgeExit.SOURCE_FAILED: "its source stopped delivering data (unplugged, stalled or changed)",
    BridgeExit.OUTPUT_EXISTS: (
        "refused to overwrite recorded data that already exists; choose a new output path"
    ),
    BridgeExit.OUTPUT_FAILED: "could not write its output (disk full or no permission?)",
    BridgeExit.MISSING_DEPENDENCY: "misses an optional package; install hexloop's extra for it",
}


def describe_exit(code: int | None) -> str:
    """One phrase for an exit code, in the `subprocess` convention (-N: killed by signal N)."""
    if code is None:
        return "has not exited"
    if code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = f"signal {-code}"
        return f"was killed by {sig}"
    try:
        return _EXIT_MEANINGS[BridgeExit(code)]
    except ValueError:
        return f"exited with code {code}"


def _lines(lines: Iterable[str]) -> tuple[str, ...]:
    return tuple(lines)


@attrs.frozen
class BridgeStatus:
    """A snapshot of one bridge: cheap to copy, safe to hand to any thread."""

    name: str
    state: str = attrs.field(default="stopped")
    pid: int | None = None  # set while running
    exit_code: int | None = None  # of the last run that ended; -N means killed by signal N
    stderr_tail: tuple[str, ...] = attrs.field(default=(), converter=_lines)
    restarts: int = 0  # automatic restarts since the last start()
    detail: str = ""  # one sentence for people: why it stopped, when it restarts
    log_path: str | None = None  # where its stderr goes

    @state.validator
    def _check_state(self, _attribute: attrs.Attribute[str], value: str) -> None:

        if value not in BRIDGE_STATES:
            raise ValueError(f"bridge state must be one of {BRIDGE_STATES}, got {value!r}")

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def crashed(self) -> bool:
        return self.state == "crashed"

    def summary(self) -> str:
        """One line for a status bar or a log: state, pid or exit, restarts and detail."""
        parts = [f"{self.name}: {self.state}"]
        if self.pid is not None:
            parts.append(f"pid {self.pid}")
        if self.exit_code is not None and not self.running:
            parts.append(f"exit {self.exit_code} ({describe_exit(self.exit_code)})")
        if self.restarts:
            parts.append(f"{self.restarts} restart{'s' if self.restarts != 1 else ''}")
        line = ", ".join(parts)
        return f"{line}; {self.detail}" if self.detail else line
