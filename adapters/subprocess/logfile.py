"""A child's stderr log: a plain file the child appends to, kept under a size bound.

The child writes straight into the file (never into a pipe the parent must drain, so a busy or
frozen parent can never block it). The supervisor bounds the size by copy-and-truncate, the way
logrotate's `copytruncate` does: the previous part goes to `<log>.1`. The bound holds whatever
the timing: the supervisor enforces it while the child runs, once more when it reaps the child
(a child may write megabytes between two polls and exit), and a log rotated for a new run keeps
only its last `max_bytes`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

_TAIL_READ_BYTES = 64 * 1024
_MAX_LINE_CHARS = 400


def _read_end(path: Path, nbytes: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            return f.read(nbytes)
    except FileNotFoundError:
        return b""


def _last_lines(raw: bytes, count: int, cut_first: bool) -> list[str]:
    lines = raw.decode("utf-8", errors="replace").splitlines()
    if cut_first and lines:
        lines = lines[1:]  # the read started mid-line
    lines = [ln if len(ln) <= _MAX_LINE_CHARS else ln[:_MAX_LINE_CHARS] + " [...]" for ln in lines]
    return lines[-count:] if count else []


class BoundedLog:
    """`path` holds the current run's output, `path.1` what was cut off (by size or a new run)."""

    def __init__(self, path: Path, max_bytes: int = 1_000_000, tail_lines: int = 20):
        if max_bytes < 1024:
            raise ValueError(f"a log bound of {max_bytes} bytes is too small; use at least 1024")
        self.path = Path(path)
        self.rotated = Path(str(self.path) + ".1")
        self.max_bytes = int(max_bytes)
        self.tail_lines = int(tail_lines)
        self._rotated_this_run = False

    def open_for_child(self) -> int:
        """Start a new run: keep the last run's log as `.1`, return an O_APPEND fd to hand over."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self.size()
        if size > self.max_bytes:  # the last run outgrew the bound: keep only its end
            self._write_rotated(_read_end(self.path, self.max_bytes))
        elif size > 0:
            os.replace(self.path, self.rotated)
        self._rotated_this_run = False
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o644)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def enforce_bound(self, final: bool = False,
                      paused: Callable[[], AbstractContextManager] | None = None) -> bool:
        """If the log outgrew its bound, move its last `max_bytes` to `.1` and empty it.

        `paused()`, given for a running child, holds the writers still (the supervisor stops
        the child's process group) from the copy to the truncate, so no line written in
        between is lost. Without it (a reaped child, or nothing to pause) the copy is taken
        again until the size holds still; `final=True` cuts even if something (a grandchild
        holding the file) still writes without pause, rather than leave the log over its bound.
        """
        if self.size() <= self.max_bytes:
            return False
        if paused is not None:
            with paused():
                self._cut(_read_end(self.path, self.max_bytes))
            return True
        # Copy, then truncate only if nothing came in meanwhile, so the child's last lines (its
        # crash message, say) are not cut off between the copy and the truncate.
        for _ in range(20):
            before = self.size()
            kept = _read_end(self.path, self.max_bytes)
            if self.size() == before:
                break
        else:
            if not final:
                return False  # the child writes without pause; try again at the next poll
        self._cut(kept)
        return True

    def _cut(self, kept: bytes) -> None:
        os.truncate(self.path, 0)  # the child's O_APPEND writes continue at the new end
        self._write_rotated(kept)
        self._rotated_this_run = True

    def _write_rotated(self, data: bytes) -> None:
        tmp = Path(str(self.rotated) + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.rotated)

    def tail(self) -> tuple[str, ...]:
        """The last `tail_lines` lines the current run wrote (reaching into `.1` if it was cut)."""
        raw = _read_end(self.path, _TAIL_READ_BYTES)
        lines = _last_lines(raw, self.tail_lines, cut_first=len(raw) == _TAIL_READ_BYTES)
        if len(lines) < self.tail_lines and self._rotated_this_run:
            older = _read_end(self.rotated, _TAIL_READ_BYTES)
            earlier = _last_lines(older, self.tail_lines - len(lines), cut_first=True)
            lines = earlier + lines
        return tuple(lines)
