"""LslSource: reading one LSL stream through a binding, with reconnect and presence probing.

Owns finding the stream by identity, non-blocking pulls into a preallocated buffer, timestamp
hygiene (small steps back smoothed, gaps counted) and the lost/reconnect bookkeeping. The
binding-specific calls sit behind `LslBinding`; nothing here imports an LSL package.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, ClassVar

import attrs
import numpy as np

from hexloop.domain.streams import MAX_CHANNELS, StreamInfo
from hexloop.ports.source import SourceLost

from .discovery import Announcement, LslBinding, describe_query
from .info import StreamRefused, announced_info, refuse_if_unusable

log = logging.getLogger(__name__)

#: connect() without a timeout, and no `timeout` option: long enough for liblsl's second wave.
DEFAULT_CONNECT_TIMEOUT_S = 5.0

#: How long a first connect (no source_id known yet) listens for a second stream of that name.
#: liblsl's resolver asks in waves about 0.5 s apart and some outlets only answer the second.
AMBIGUITY_WAIT_S = 0.75

#: How long a presence probe listens for the outlet (two of liblsl's resolve waves).
PROBE_TIMEOUT_S = 1.2

#: Steps back in time up to this long are smoothed over (clock-correction updates, jitter).
REORDER_LIMIT_S = 0.05

#: Upper bound on the preallocated pull buffer, so a wide fast stream never costs gigabytes.
PULL_BUFFER_BYTES = 32 * 1024 * 1024


class _Vanished(Exception):
    """The presence probe no longer sees the outlet this inlet is connected to."""


@attrs.define
class SourceStats:
    """Counters a Stream's health or a benchmark can show."""

    samples: int = 0  # samples delivered by read()
    connects: int = 0  # successful connect() calls (the first one included)
    losses: int = 0  # times the outlet went away (SourceLost raised)
    gaps: int = 0  # timestamp jumps larger than the gap threshold
    gap_s: float = 0.0  # total time spanned by those jumps
    reordered: int = 0  # samples whose timestamp was raised by at most REORDER_LIMIT_S
    jumps_back: int = 0  # chunks whose time went back further (left for validation to refuse)
    probes: int = 0  # presence checks made while the stream was quiet


class LslSource:
    """A Source reading one LSL stream through a binding; subclasses only pick the binding.

    Identity: the stream is found by `name` (and optionally `type`, `source_id`). After the
    first connection the stream's own source_id (if it has one) is part of the identity, so a
    reconnect only accepts the same device, and its geometry must not change.

    When the outlet goes away, `read()` raises SourceLost; the acquisition thread then calls
    `connect()` again (with backoff) until a stream with the same identity is back. Samples
    pushed meanwhile never existed for us: the recording shows the gap in its timestamps and
    `stats.gaps` counts it.
    """

    binding: ClassVar[LslBinding]
    binding_name: ClassVar[str] = "lsl"

    def __init__(
        self,
        name: str | None = None,
        *,
        type: str | None = None,
        source_id: str | None = None,
        timeout: float | None = None,
        channels: int | None = None,
        rate: float | None = None,
        clock_correction: bool = True,
        dejitter: bool = False,
        max_buffer_s: float = 5.0,
        chunk_len: int = 0,
        pull_s: float = 0.5,
        gap_threshold_s: float | None = None,
        ambiguity_wait_s: float = AMBIGUITY_WAIT_S,
        presence_check_s: float = 1.0,
    ):
        if not (name or type or source_id):
            raise ValueError("an LSL source needs a stream name (or a type or source_id) to find")
        for label, value in (("timeout", timeout), ("max_buffer_s", max_buffer_s)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{label} must be a positive number of seconds, got {value}")
        if not (pull_s > 0 and math.isfinite(pull_s)):
            raise ValueError(f"pull_s must be a positive number of seconds, got {pull_s}")
        if channels is not None and not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"channels must be within 1..{MAX_CHANNELS}, got {channels}")
        if rate is not None and not (rate >= 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be >= 0 Hz (0 for irregular streams), got {rate}")
        if chunk_len < 0:
            raise ValueError(
                f"chunk_len must be >= 0 samples (0: as the sender chunks), got {chunk_len}"
            )
        self.name, self.type, self.source_id = name, type, source_id
        self.timeout = None if timeout is None else float(timeout)
        self.expected_channels, self.expected_rate = channels, rate
        self.clock_correction, self.dejitter = bool(clock_correction), bool(dejitter)
        self.max_buffer_s = float(max_buffer_s)
        self.chunk_len = int(chunk_len)
        self.pull_s = float(pull_s)
        self.gap_threshold_s = gap_threshold_s
        self.ambiguity_wait_s = float(ambiguity_wait_s)
        self.presence_check_s = float(presence_check_s)
        self.stats = SourceStats()
        self.announcement: Announcement | None = None
        self._info: StreamInfo | None = None
        self._locked_source_id: str | None = source_id
        self._inlet: Any = None
        self._buffer: np.ndarray | None = None
        self._max_samples = 0
        self._empty: tuple[np.ndarray, np.ndarray] | None = None
        self._last_ts: float | None = None  # newest timestamp ever delivered (gap counting)
        self._connection_last_ts: float | None = None  # the same, this connection only
        self._gap_s = math.inf
        # Presence probing: some outlets (older liblsl) leave without closing the connection,
        # so a quiet inlet checks in the background whether its outlet is still there.
        self._generation = 0
        self._last_data = -math.inf
        self._last_probe = -math.inf
        self._probe: threading.Thread | None = None
        self._vanished_generation = -1  # the connection a probe found gone

    # -- the Source port -------------------------------------------------------------------

    @property
    def info(self) -> StreamInfo | None:
        """The stream's info from the last connect(); None before the first (LSL only knows
        a stream's shape once it is found)."""
        return self._info

    @property
    def connected(self) -> bool:
        return self._inlet is not None

    def connect(self, timeout: float | None = None) -> StreamInfo:
        """Find the stream and subscribe within `timeout` s; TimeoutError if it is not there.

        The `timeout` option, when set, overrides the caller's value (a slow lab network needs
        longer than the application's default). Raises StreamRefused (a ValueError) for absurd
        or unexpected geometry, a string stream, several different streams matching, or a
        reconnect to a stream that changed shape.
        """
        budget = self.timeout or (DEFAULT_CONNECT_TIMEOUT_S if timeout is None else timeout)
        if not budget > 0:
            raise ValueError(f"connect timeout must be positive, got {timeout}")
        self._close_inlet()
        deadline = time.monotonic() + budget
        query = (self.name, self.type, self._locked_source_id)
        handles = self.binding.resolve(*query, budget)
        if len(handles) == 1 and not self._locked_source_id:
            # The resolver returns at the first answer; give a same-named twin a moment to
            # answer too, so two devices are never mixed up silently.
            wait = min(self.ambiguity_wait_s, max(0.0, deadline - time.monotonic()))
            if wait > 0:
                handles += self.binding.resolve(*query, wait, minimum=2)
        if not handles:
            raise TimeoutError(
                f"no LSL stream with {describe_query(*query)} appeared within {budget:g} s. "
                "Check that the device software is streaming, that the name is spelled as "
                "`hexloop streams` lists it, and that this machine can see the sender "
                "(docs/lsl.md)."
            )
        announcement, handle = self._choose(handles)
        refuse_if_unusable(announcement, self.expected_channels, self.expected_rate,
                           self._info)
        try:
            inlet = self.binding.open_inlet(
                handle,
                max_buffer_s=max(1, math.ceil(self.max_buffer_s)),
                chunk_len=self.chunk_len,
                clock_correction=self.clock_correction,
                dejitter=self.dejitter,
                timeout=max(0.05, deadline - time.monotonic()),
            )
        except self.binding.lost_errors as exc:
            raise SourceLost(f"LSL stream {announcement.name!r} went away while opening") from exc
        try:
            remaining = max(0.05, deadline - time.monotonic())
            labels, units = self.binding.channel_metadata(inlet, remaining)
            if self.clock_correction:
                # The first estimate takes a few round trips; take it here, not in read().
                self.binding.time_correction(inlet, max(0.05, deadline - time.monotonic()))
        except self.binding.lost_errors as exc:
            self.binding.close_inlet(inlet)
            raise SourceLost(
                f"LSL stream {announcement.name!r} went away while connecting"
            ) from exc
        except BaseException:
            self.binding.close_inlet(inlet)
            raise
        info = announced_info(announcement, labels, units)
        self._adopt(info, announcement, inlet)
        return info

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """What arrived since the last call, as fresh arrays; never waits."""
        inlet, buffer, empty = self._inlet, self._buffer, self._empty
        if inlet is None or buffer is None or empty is None:  # all three set by _adopt
            raise SourceLost(f"LSL stream {self._query()} is not connected; connect() first")
        try:
            if self._vanished_generation == self._generation:
                raise _Vanished
            data, ts = self.binding.pull(inlet, buffer, self._max_samples)
        except (*self.binding.lost_errors, _Vanished) as exc:  # type: ignore[misc]  # mypy reads no *
            self._close_inlet()
            self.stats.losses += 1
            log.warning("LSL stream %r went away; waiting for it to come back", self._query())
            raise SourceLost(
                f"LSL stream {self._query()} went away (sender closed, crashed or unreachable)"
            ) from exc
        n = len(ts)
        if n == 0:
            self._maybe_probe()
            return empty
        self._last_data = time.monotonic()
        data = np.array(data[:n], copy=True)  # the pull memory is reused by the next call
        ts = np.array(ts[:n], dtype=np.float64, copy=True)
        self._tidy_timestamps(ts)
        self.stats.samples += n
        return data, ts

    def disconnect(self) -> None:
        """Unsubscribe and release the inlet; the info and identity stay for a later connect."""
        self._close_inlet()

    # -- internals -------------------------------------------------------------------------

    def _query(self) -> str:
        return describe_query(self.name, self.type, self._locked_source_id)

    def _choose(self, handles: list[Any]) -> tuple[Announcement, Any]:
        found: dict[str, tuple[Announcement, Any]] = {}
        for handle in handles:
            announcement = self.binding.announce(handle)
            found.setdefault(announcement.uid or str(len(found)), (announcement, handle))
        candidates = list(found.values())
        ids = {a.source_id for a, _ in candidates}
        if len(ids) > 1 or (ids == {""} and len(candidates) > 1):
            listed = "; ".join(
                f"source_id={a.source_id!r} on {a.host or '?'}" for a, _ in candidates
            )
            raise StreamRefused(
                f"{len(candidates)} different LSL streams match {self._query()} ({listed}). "
                "Pass source_id= (or a more specific name or type) to choose one."
            )
        # Several live outlets with one source_id: a restarted sender beats a stale one.
        return max(candidates, key=lambda pair: pair[0].created_at)

    def _adopt(self, info: StreamInfo, announcement: Announcement, inlet: Any) -> None:
        dtype = info.np_dtype
        per_sample = info.channel_count * dtype.itemsize
        rate = info.sampling_rate
        wanted = math.ceil(rate * self.pull_s) if rate > 0 else 1024
        self._max_samples = max(1, min(wanted, PULL_BUFFER_BYTES // per_sample))
        buffer = self._buffer
        if (
            buffer is None
            or buffer.shape != (self._max_samples, info.channel_count)
            or buffer.dtype != dtype
        ):
            self._buffer = np.empty((self._max_samples, info.channel_count), dtype=dtype)
            empty = np.empty((0, info.channel_count), dtype=dtype)
            empty_ts = np.empty(0, dtype=np.float64)
            empty.flags.writeable = empty_ts.flags.writeable = False
            self._empty = (empty, empty_ts)
        threshold = self.gap_threshold_s
        if threshold is None:
            threshold = max(10.0 / rate, 0.05) if rate > 0 else math.inf
        self._gap_s = threshold
        if announcement.source_id:
            self._locked_source_id = announcement.source_id
        if self._info is not None:
            log.info("LSL stream %r is back (reconnect %d)", info.name, self.stats.connects)
        self._info, self.announcement, self._inlet = info, announcement, inlet
        self._last_data = self._last_probe = time.monotonic()
        self._connection_last_ts = None
        self.stats.connects += 1

    def _tidy_timestamps(self, ts: np.ndarray) -> None:
        """Smooth small steps back in time and count gaps, in place.

        Clock-correction updates and chunk jitter can step a few ms back; those samples get the
        previous timestamp. A larger step back (a sender whose clock restarted) is left alone
        for the stream's validation to refuse, loudly, rather than flattening seconds of data.
        """
        floor = self._connection_last_ts
        running = np.maximum.accumulate(ts)
        if floor is not None:
            np.maximum(running, floor, out=running)
        raised = running - ts
        worst = float(raised.max())
        if 0 < worst <= REORDER_LIMIT_S:
            self.stats.reordered += int(np.count_nonzero(raised))
            ts[:] = running
        elif worst > REORDER_LIMIT_S:
            self.stats.jumps_back += 1
            log.warning(
                "LSL stream %r: timestamps went %.3f s back; is the sender's clock reset?",
                self._query(),
                worst,
            )
        last = self._last_ts
        if last is not None and ts[0] - last > self._gap_s:
            self.stats.gaps += 1
            self.stats.gap_s += float(ts[0] - last)
        if ts.size > 1:
            steps = np.diff(ts)
            big = steps > self._gap_s
            if big.any():
                self.stats.gaps += int(np.count_nonzero(big))
                self.stats.gap_s += float(steps[big].sum())
        self._last_ts = self._connection_last_ts = float(ts[-1])

    def _maybe_probe(self) -> None:
        """Quiet for a while: ask, off this thread, whether our outlet still exists."""
        if self.presence_check_s <= 0:
            return
        now = time.monotonic()
        quiet_since = max(self._last_data, self._last_probe)
        if now - quiet_since < self.presence_check_s:
            return
        announcement = self.announcement
        if announcement is None or (self._probe is not None and self._probe.is_alive()):
            return
        self._last_probe = now
        self.stats.probes += 1
        self._probe = threading.Thread(
            target=self._check_presence,
            args=(self._generation, announcement),
            name=f"lsl-probe-{announcement.name}",
            daemon=True,
        )
        self._probe.start()

    def _check_presence(self, generation: int, announcement: Announcement) -> None:
        try:
            present = self.binding.present(announcement, PROBE_TIMEOUT_S)
        except Exception:  # a failed probe proves nothing
            log.debug("LSL presence probe failed", exc_info=True)
            return
        if not present:
            # Stamped with the probed connection, so a late answer never condemns a newer one.
            self._vanished_generation = generation

    def _close_inlet(self) -> None:
        self._generation += 1
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                self.binding.close_inlet(inlet)
            except Exception:  # closing a dead inlet must not hide why it died
                log.debug("closing the LSL inlet failed", exc_info=True)

    def __repr__(self) -> str:
        state = "connected" if self._inlet is not None else "not connected"
        return f"{type(self).__name__}({self._query()}, {state})"
