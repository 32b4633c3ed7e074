"""The bridge log's size bound never costs a line the child wrote (copy-and-truncate races)."""

import contextlib
import os

from hexloop.adapters.subprocess import logfile
from hexloop.adapters.subprocess.logfile import BoundedLog


class RacingChild:
    """Appends its last words at the worst moment: just before the log is truncated, unless
    it is paused (as SIGSTOP holds a real child), in which case it writes once continued."""

    def __init__(self, path):
        self.path, self.paused, self.pending = path, False, []

    def write(self, text: str) -> None:
        if self.paused:
            self.pending.append(text)
            return
        with open(self.path, "a") as f:
            f.write(text)

    @contextlib.contextmanager
    def pause(self):
        self.paused = True
        try:
            yield
        finally:
            self.paused = False
            for text in self.pending:
                self.write(text)
            self.pending.clear()


def racing_truncate(monkeypatch, child):
    real = os.truncate

    def truncate(path, length):
        child.write("last words\n")  # between the copy and the truncate
        real(path, length)

    monkeypatch.setattr(logfile.os, "truncate", truncate)


def test_a_line_written_between_the_copy_and_the_truncate_is_kept_when_the_child_is_paused(
        tmp_path, monkeypatch):
    log = BoundedLog(tmp_path / "child.log", max_bytes=2048, tail_lines=3)
    os.close(log.open_for_child())
    (tmp_path / "child.log").write_text("x" * 100 + "\n" * 1 + ("y" * 99 + "\n") * 40)
    child = RacingChild(tmp_path / "child.log")
    racing_truncate(monkeypatch, child)
    assert log.enforce_bound(paused=child.pause)
    assert log.tail()[-1] == "last words"
    assert log.size() <= 2048 and log.rotated.stat().st_size <= 2048


def test_without_a_pause_that_race_loses_the_line(tmp_path, monkeypatch):
    """Why the supervisor pauses a running child: the unpaused cut loses what came in between."""
    log = BoundedLog(tmp_path / "child.log", max_bytes=2048, tail_lines=3)
    os.close(log.open_for_child())
    (tmp_path / "child.log").write_text(("y" * 99 + "\n") * 40)
    child = RacingChild(tmp_path / "child.log")
    racing_truncate(monkeypatch, child)
    assert log.enforce_bound()
    assert "last words" not in log.tail()
