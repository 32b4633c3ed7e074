"""Progress on the command line: a fraction callback (0.0 to 1.0) drawn on stderr.

Adapters and the application report progress as a plain callback, `progress(fraction)`
(packing, recover, verify, import, export, evaluate) or a polled `pipeline.progress` (training);
only the CLI draws it, with `ProgressBar`:

- stderr is a terminal: a tqdm bar that rewrites itself (`importing  42%|████     | 0:03<0:04`);
- stderr is not a terminal (a pipe, a CI log, a test): no bar and no carriage returns, only an
  occasional line (`importing 25%`, at each quarter, when the stage changes, and the last value
  when it closes), so logs stay readable.

tqdm is a core dependency (pyproject.toml): small, pure Python, no dependencies of its own, and
already pulled in by mne for the zarr extra; rich would bring pygments and markdown-it for a bar.
"""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

LINE_STEP = 25  # percent between lines when stderr is not a terminal


class ProgressBar:
    """`bar(fraction, stage="")` as often as you like; `bar.close()` (or a `with` block) ends it.

    `stream` defaults to the current `sys.stderr`; `tty` overrides the terminal check.
    """

    def __init__(self, label: str, stream: TextIO | None = None, tty: bool | None = None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) if tty is None else tty
        self.fraction = 0.0
        self.stage = ""
        self._bar: Any = None
        self._line: tuple[int, str] | None = None  # the last line written (percent, stage)
        self._closed = False

    def __call__(self, fraction: float, stage: str = "") -> None:
        if self._closed or not math.isfinite(fraction):
            return
        self.fraction = min(1.0, max(0.0, float(fraction)))
        self.stage = stage
        percent = int(self.fraction * 100)
        if self.tty:
            self._draw(percent)
        elif self._line is None or stage != self._line[1] or \
                percent // LINE_STEP > self._line[0] // LINE_STEP:
            self._write_line(percent)

    def _draw(self, percent: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=100, desc=self.label, file=self.stream, leave=True,
                             dynamic_ncols=True, bar_format="{desc} {percentage:3.0f}%|{bar}| "
                             "{elapsed}<{remaining}{postfix}")
        self._bar.set_postfix_str(self.stage, refresh=False)
        self._bar.n = percent
        self._bar.refresh()

    def _write_line(self, percent: int) -> None:
        stage = f" {self.stage}" if self.stage else ""
        self.stream.write(f"{self.label} {percent}%{stage}\n")
        self.stream.flush()
        self._line = (percent, self.stage)

    def close(self) -> None:
        """End the bar where it got to (a line with the last value when it was not written)."""
        if self._closed:
            return
        self._closed = True
        percent = int(self.fraction * 100)
        if self._bar is not None:
            self._bar.n = percent
            self._bar.close()
        elif not self.tty and (self._line is None or self._line[0] != percent):
            self._write_line(percent)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EachRun:
    """A fresh ProgressBar for each run of fractions from 0 to 1, for a callback called again
    and again (the store packs each session `hexloop run` records): a fraction lower than the
    last starts a new bar, 1.0 ends it. Thread-safe: packing runs where the recording stops."""

    def __init__(self, label: str, stream: TextIO | None = None):
        import threading

        self.label = label
        self.stream = stream
        self._bar: ProgressBar | None = None
        self._lock = threading.Lock()

    def __call__(self, fraction: float) -> None:
        with self._lock:
            if self._bar is not None and fraction < self._bar.fraction:
                self._bar.close()
                self._bar = None
            if self._bar is None:
                self._bar = ProgressBar(self.label, self.stream)
            self._bar(fraction)
            if fraction >= 1.0:
                self._bar.close()
                self._bar = None

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
