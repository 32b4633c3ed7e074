"""FakeStore: sessions kept in memory, read back through the same port."""

from __future__ import annotations

import threading
import uuid

import numpy as np

from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.session import SessionMeta, SessionSummary
from hexloop.domain.streams import Discontinuity


class FakeRecording:
    def __init__(self, store: FakeStore, meta: SessionMeta, location: str):
        self.meta, self.location, self.error = meta, location, None
        self._store = store
        self._chunks: dict[str, list] = {s.name: [] for s in meta.streams}
        self._labels = LabelTrack(meta.class_names)
        self.discontinuities: list[Discontinuity] = []  # clock jumps, in the order marked
        self._lock = threading.Lock()
        self.closed = False

    def append(self, stream: str, data: np.ndarray, timestamps: np.ndarray) -> None:
        if self.closed:
            raise RuntimeError(f"session {self.location} is closed")
        with self._lock:
            self._chunks[stream].append((np.array(data), np.array(timestamps)))

    def add_discontinuity(self, stream: str, sample: int, before: float, after: float) -> None:
        if self.closed:
            raise RuntimeError(f"session {self.location} is closed")
        with self._lock:
            self.discontinuities.append(Discontinuity(stream, sample, before, after))

    def add_label(self, event: LabelEvent) -> None:
        self._labels.add(event)

    def close(self) -> SessionSummary:
        self.closed = True
        self._store.sessions[self.location] = self
        samples = {k: sum(len(t) for _, t in v) for k, v in self._chunks.items()}
        return SessionSummary(self.location, samples, len(self._labels))

    # RecordedSession side
    @property
    def labels(self) -> LabelTrack:
        return self._labels

    def data(self, stream: str) -> tuple[np.ndarray, np.ndarray]:
        info = self.meta.stream(stream)
        chunks = self._chunks[stream]
        if not chunks:
            return np.empty((info.channel_count, 0), info.np_dtype), np.empty(0)
        data = np.concatenate([d for d, _ in chunks])
        return np.ascontiguousarray(data.T), np.concatenate([t for _, t in chunks])


class FakeStore:
    def __init__(self):
        self.sessions: dict[str, FakeRecording] = {}
        self.opened: list[FakeRecording] = []

    def open_session(self, meta: SessionMeta) -> FakeRecording:
        rec = FakeRecording(self, meta, f"memory://{meta.app_name}/{uuid.uuid4().hex[:8]}")
        self.opened.append(rec)
        return rec

    def read(self, location: str) -> FakeRecording:
        try:
            return self.sessions[location]
        except KeyError:
            raise FileNotFoundError(f"no finished session at {location}") from None
