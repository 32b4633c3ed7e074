"""The stream model: what a stream is (`StreamInfo`) and which chunks it accepts."""

from __future__ import annotations

import attrs
import numpy as np

#: Geometry above these limits is refused before anything is allocated.
MAX_CHANNELS = 4096
MAX_RATE_HZ = 100_000.0


def _tuple_of_str(values) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@attrs.frozen
class StreamInfo:
    """A stream's identity and geometry. `sampling_rate` 0 means irregular."""

    name: str
    channel_count: int
    sampling_rate: float
    dtype: str = "float32"
    channel_names: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    units: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    type: str = ""
    source_id: str = ""

    def __attrs_post_init__(self):
        problems = geometry_problems(self)
        if problems:
            raise ValueError(f"stream {self.name!r}: " + "; ".join(problems))
        if not self.channel_names:
            names = tuple(f"ch{i + 1}" for i in range(self.channel_count))
            object.__setattr__(self, "channel_names", names)
        if not self.units:
            object.__setattr__(self, "units", ("",) * self.channel_count)

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def to_dict(self) -> dict:
        """Plain JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> StreamInfo:
        return cls(**{f.name: d[f.name] for f in attrs.fields(cls) if f.name in d})


def geometry_problems(info: StreamInfo) -> list[str]:
    """Everything wrong with a stream's announced geometry, as sentences."""
    problems = []
    if not info.name:
        problems.append("a stream needs a non-empty name")
    if not 1 <= info.channel_count <= MAX_CHANNELS:
        problems.append(
            f"channel count {info.channel_count} is outside 1..{MAX_CHANNELS}; "
            "check the device configuration"
        )
    if not (0 <= info.sampling_rate <= MAX_RATE_HZ) or info.sampling_rate != info.sampling_rate:
        problems.append(
            f"sampling rate {info.sampling_rate} Hz is outside 0..{MAX_RATE_HZ:g} "
            "(0 means irregular)"
        )
    try:
        kind = np.dtype(info.dtype).kind
        if kind not in "fiu":
            problems.append(f"dtype {info.dtype!r} is not numeric; use a float or integer type")
    except TypeError:
        problems.append(f"dtype {info.dtype!r} is not a numpy dtype")
    for field in ("channel_names", "units"):
        got = len(getattr(info, field))
        if got and got != info.channel_count:
            problems.append(f"{got} {field} given for {info.channel_count} channels")
    return problems


class ChunkRejected(ValueError):
    """A chunk that does not fit its stream; the message names the stream, expected and got."""

    def __init__(self, stream: str, expected: str, got: str):
        super().__init__(f"stream {stream!r}: expected {expected}, got {got}")
        self.stream, self.expected, self.got = stream, expected, got


def validate_chunk(
    info: StreamInfo, data: np.ndarray, timestamps: np.ndarray, last_timestamp: float | None
) -> None:
    """Raise ChunkRejected unless `data` (n, channels) and `timestamps` (n,) fit `info`."""
    name = info.name
    if not isinstance(data, np.ndarray) or data.ndim != 2:
        got = getattr(data, "shape", type(data).__name__)
        raise ChunkRejected(name, f"a 2-D array (samples, {info.channel_count})", f"{got}")
    n, ch = data.shape
    if ch != info.channel_count:
        raise ChunkRejected(name, f"{info.channel_count} channels", f"{ch} channels")
    if data.dtype.kind != info.np_dtype.kind:
        raise ChunkRejected(name, f"dtype kind of {info.dtype}", f"dtype {data.dtype}")
    timestamps = np.asarray(timestamps)
    if timestamps.shape != (n,):
        raise ChunkRejected(name, f"{n} timestamps", f"shape {timestamps.shape}")
    if n == 0:
        return
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise ChunkRejected(name, "finite values", f"{bad} NaN or infinite values")
    if not np.isfinite(timestamps).all():
        raise ChunkRejected(name, "finite timestamps", "NaN or infinite timestamps")
    if n > 1 and (np.diff(timestamps) < 0).any():
        raise ChunkRejected(name, "non-decreasing timestamps", "timestamps that go backwards")
    if last_timestamp is not None and timestamps[0] < last_timestamp:
        raise ChunkRejected(
            name,
            f"timestamps from {last_timestamp:.6f} on",
            f"a chunk starting at {timestamps[0]:.6f} (time went backwards)",
        )
