"""The stream model: what a stream is (`StreamInfo`), which chunks it accepts, and what is wrong
with the ones it keeps.

A chunk is refused only when it cannot be stored at all (wrong shape, wrong channel count, not
numbers). Everything else is data and is kept: non-finite values verbatim, out-of-range values
saturated to the stream's dtype (`saturate`), timestamps that jump found and counted
(`ClockTracker`), each anomaly counted so the application can report it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np

#: Geometry above these limits is refused before anything is allocated.
MAX_CHANNELS = 4096
MAX_RATE_HZ = 100_000.0


#: A regular stream whose timestamps advance more than this many seconds beyond what its
#: sample count (and the wall time between chunks) explains has had a clock jump.
CLOCK_JUMP_S = 2.0


class GeometryError(ValueError):
    """A stream's announced geometry (channels, rate, dtype, names) is unusable."""


def _tuple_of_str(values: Iterable[object]) -> tuple[str, ...]:
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

    def __attrs_post_init__(self) -> None:
        problems = geometry_problems(self)
        if problems:
            raise GeometryError(f"stream {self.name!r}: " + "; ".join(problems))
        if not self.channel_names:
            names = tuple(f"ch{i + 1}" for i in range(self.channel_count))
            object.__setattr__(self, "channel_names", names)
        if not self.units:
            object.__setattr__(self, "units", ("",) * self.channel_count)

    @property
    def np_dtype(self) -> np.dtype[Any]:
        return np.dtype(self.dtype)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StreamInfo:
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
    info: StreamInfo, data: np.ndarray, timestamps: np.ndarray,
    last_timestamp: float | None = None,
) -> None:
    """Raise ChunkRejected unless `data` (n, channels) and `timestamps` (n,) can be stored.

    Only what cannot be stored is refused: not a 2-D numeric array, the wrong channel count,
    timestamps of the wrong shape. NaN and infinite values, values outside the stream's dtype and
    timestamps that go backwards are data: see `saturate` and `ClockTracker`. `last_timestamp`
    is accepted for compatibility and no longer refuses anything (a clock jump is kept).
    """
    name = info.name
    if not isinstance(data, np.ndarray) or data.ndim != 2:
        got = getattr(data, "shape", type(data).__name__)
        raise ChunkRejected(name, f"a 2-D array (samples, {info.channel_count})", f"{got}")
    n, ch = data.shape
    if ch != info.channel_count:
        raise ChunkRejected(name, f"{info.channel_count} channels", f"{ch} channels")
    if data.dtype.kind not in "fiub":
        raise ChunkRejected(name, f"numbers (stored as {info.dtype})", f"dtype {data.dtype}")
    timestamps = np.asarray(timestamps)
    if timestamps.shape != (n,):
        raise ChunkRejected(name, f"{n} timestamps", f"shape {timestamps.shape}")
    if n and timestamps.dtype.kind not in "fiu":
        raise ChunkRejected(name, "numeric timestamps", f"timestamps of dtype {timestamps.dtype}")


@attrs.frozen
class Saturated:
    """A chunk cast to its stream's dtype: the data and how many values needed care.

    `clipped`: values outside the dtype's range, saturated to its nearest limit.
    `non_finite`: NaN or infinite values that arrived (kept verbatim in a float stream; in an
    integer stream NaN is stored as 0 and an infinity saturates, since integers have neither).
    """

    data: np.ndarray
    clipped: int
    non_finite: int


def saturate(info: StreamInfo, data: np.ndarray) -> Saturated:
    """Cast `data` to the stream's dtype without ever wrapping around.

    A narrowing cast saturates: 100000 into int16 is stored as 32767, 1e300 into float32 as the
    largest float32, never as a wrapped number or an infinity that did not arrive. Floats into
    an integer stream are rounded to the nearest integer first. Cheap when nothing needs care:
    one `isfinite` pass for floats and one min/max for a narrowing cast.
    """
    target = info.np_dtype
    source = data.dtype
    non_finite = clipped = 0
    finite = None
    if source.kind == "f":
        finite = np.isfinite(data)
        non_finite = data.size - int(np.count_nonzero(finite))
    if source == target:
        return Saturated(data, 0, non_finite)
    if target.kind == "f":
        limit = np.finfo(target).max
        if source.kind == "f" and np.finfo(source).max > limit and data.size:
            over = finite & (np.abs(data) > limit) if non_finite else np.abs(data) > limit
            clipped = int(np.count_nonzero(over))
            if clipped:
                data = np.where(over, np.copysign(limit, data), data)
        return Saturated(data.astype(target), clipped, non_finite)
    low, high = int(np.iinfo(target).min), int(np.iinfo(target).max)
    if source.kind == "f":
        if non_finite:
            data = np.where(np.isnan(data), 0.0, data)  # integers have no NaN: stored as 0
        data = np.rint(data)
        # float limits inside the integer range (2**63 - 1 rounds up to 2**63 as a float)
        low_f, high_f = float(low), float(high)
        if int(high_f) > high:
            high_f = float(np.nextafter(high_f, 0.0))
        outside = (data < low_f) | (data > high_f)
        counted = outside & finite if finite is not None and non_finite else outside
        clipped = int(np.count_nonzero(counted))
        if outside.any():
            data = np.clip(data, low_f, high_f)
        return Saturated(data.astype(target), clipped, non_finite)
    if source.kind == "b":
        return Saturated(data.astype(target), 0, 0)
    # integer into integer: only a narrower range can wrap
    info_s = np.iinfo(source)
    if info_s.min >= low and info_s.max <= high or data.size == 0:
        return Saturated(data.astype(target), 0, 0)
    outside = (data < low) | (data > high)
    clipped = int(np.count_nonzero(outside))
    if clipped:
        data = np.clip(data, max(low, info_s.min), min(high, info_s.max))
    return Saturated(data.astype(target), clipped, 0)


@attrs.frozen
class Discontinuity:
    """A clock jump in a stream's timestamps.

    `sample`: index, in the stream's recorded samples, of the first sample after the jump;
    `before` / `after`: the timestamps either side of it (seconds).
    """

    stream: str
    sample: int
    before: float
    after: float

    @property
    def jump_s(self) -> float:
        return self.after - self.before


class ClockTracker:
    """Follows one stream's timestamps chunk by chunk: finds clock jumps, re-anchors, counts.

    A jump is a step backwards (any amount) or, for a regular stream (rate > 0), a step forward
    more than `tolerance` seconds beyond what the sample count explains and beyond the wall time
    that passed since the previous chunk (`elapsed`, so a real outage of a live device stays
    lost samples, not a jump). After a jump the anchor is the new timestamps, so a single
    outlier (+1e6 s, then normal again) is two jumps, there and back, and shuts nothing out.
    Forward gaps that are not jumps count as `lost` samples (regular streams, between chunks).
    Non-finite timestamps are kept by the caller, counted here in `non_finite` and skipped.
    """

    def __init__(self, stream: str, rate: float, tolerance: float = CLOCK_JUMP_S):
        self.stream = stream
        self.rate = float(rate)
        self.tolerance = float(tolerance)
        self.last: float | None = None  # the anchor: newest finite timestamp
        self.jumps = 0
        self.lost = 0
        self.non_finite = 0
        self._pending = 0  # samples after the anchor whose timestamps were not finite

    def feed(self, timestamps: np.ndarray, elapsed: float = 0.0,
             offset: int = 0) -> list[Discontinuity]:
        """Account for one chunk's timestamps; returns its jumps, `sample` counted from `offset`.

        `elapsed`: wall seconds since the previous chunk arrived (0 when unknown: a purely
        timestamp-based decision).
        """
        ts = np.asarray(timestamps, dtype=np.float64)
        if ts.size == 0:
            return []
        finite = np.isfinite(ts)
        index = None
        if not finite.all():
            self.non_finite += ts.size - int(np.count_nonzero(finite))
            index = np.flatnonzero(finite)
            ts = ts[index]
            if ts.size == 0:
                self._pending += len(finite)
                return []
        first = self.last is None
        stamps = ts if self.last is None else np.concatenate(([self.last], ts))
        steps = np.diff(stamps)
        jump = steps < 0
        if self.rate > 0:
            positions = np.arange(ts.size) if index is None else index
            if first:
                samples_apart = np.diff(positions)
            else:
                samples_apart = np.diff(positions, prepend=-1 - self._pending)
            excess = steps - samples_apart / self.rate
            jump |= excess > self.tolerance + max(0.0, elapsed)
            if not first and not jump[0] and steps[0] > (samples_apart[0] + 0.5) / self.rate:
                self.lost += max(0, round(steps[0] * self.rate) - int(samples_apart[0]))
        self.last = float(ts[-1])
        self._pending = 0 if index is None else len(finite) - 1 - int(index[-1])
        hits = np.flatnonzero(jump)
        if hits.size == 0:
            return []
        self.jumps += int(hits.size)
        after_pos = hits + (1 if first else 0)  # position in ts of the sample after the jump
        samples = after_pos if index is None else index[after_pos]
        return [
            Discontinuity(self.stream, offset + int(k), float(stamps[h]), float(stamps[h + 1]))
            for k, h in zip(samples, hits, strict=True)
        ]
