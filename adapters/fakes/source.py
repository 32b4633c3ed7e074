"""FakeSource: plays scripted chunks, can fail or block on demand."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np

from hexloop.domain.streams import StreamInfo
from hexloop.ports.source import SourceLost


class FakeSource:
    """Returns `chunks` one per read, then empty chunks (or loops them with new timestamps).

    `fail_reads` makes that many reads raise `error` first; `block` makes read() block until
    `release` is set (to test exits while a source hangs).
    """

    def __init__(
        self,
        info: StreamInfo,
        chunks: Iterable[tuple[np.ndarray, np.ndarray]] = (),
        fail_reads: int = 0,
        error: Exception | None = None,
        block: bool = False,
        fail_connects: int = 0,
    ):
        self._info = info
        self._chunks = list(chunks)
        self.fail_reads = fail_reads
        self.fail_connects = fail_connects
        self.error = error or SourceLost("fake device unplugged")
        self.release = threading.Event()
        self.block = block
        self.connects = 0
        self.disconnects = 0
        self.reads = 0

    @classmethod
    def steady(cls, name: str = "fake", channels: int = 2, rate: float = 100.0, chunk: int = 10,
               chunks: int = 100, start: float = 0.0, **kw) -> FakeSource:
        """`chunks` chunks of a ramp (sample index in every channel) at `rate`."""
        info = StreamInfo(name, channels, rate, "float32")
        out = []
        for k in range(chunks):
            idx = np.arange(k * chunk, (k + 1) * chunk)
            data = np.repeat(idx[:, None].astype(np.float32), channels, axis=1)
            out.append((data, start + idx / rate))
        return cls(info, out, **kw)

    @property
    def info(self) -> StreamInfo:
        return self._info

    def connect(self, timeout: float) -> StreamInfo:
        self.connects += 1
        if self.fail_connects > 0:
            self.fail_connects -= 1
            raise TimeoutError(f"fake stream {self._info.name!r} not found")
        return self._info

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        self.reads += 1
        if self.block:
            self.release.wait()
        if self.fail_reads > 0:
            self.fail_reads -= 1
            raise self.error
        if self._chunks:
            return self._chunks.pop(0)
        return np.empty((0, self._info.channel_count), self._info.np_dtype), np.empty(0)

    def disconnect(self) -> None:
        self.disconnects += 1
