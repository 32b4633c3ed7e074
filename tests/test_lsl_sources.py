"""The pylsl and mne-lsl sources against real outlets on loopback: same behaviour from both."""

import time

import numpy as np
import pytest

pytest.importorskip("pylsl")
pytest.importorskip("mne_lsl")

from lsl_helpers import (  # noqa: E402
    device,
    drain,
    other,
    outlet,
    read_at_least,
    read_until_lost,
    unique,
)
from pylsl import local_clock  # noqa: E402

from hexloop.adapters.fakes import FakeStore  # noqa: E402
from hexloop.adapters.lsl_common import StreamRefused  # noqa: E402
from hexloop.adapters.mne_lsl import MneLslSource  # noqa: E402
from hexloop.adapters.pylsl import PylslSource  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402
from hexloop.ports.contracts import check_source  # noqa: E402
from hexloop.ports.source import SourceLost  # noqa: E402
from tests.helpers import wait_for  # noqa: E402

SOURCES = {"pylsl": PylslSource, "mne_lsl": MneLslSource}


@pytest.fixture(params=sorted(SOURCES))
def binding(request) -> str:
    return request.param


def make(binding: str, name: str, **options):
    options.setdefault("clock_correction", False)  # its first estimate costs ~0.6 s
    options.setdefault("ambiguity_wait_s", 0.0)  # only the twin test needs that 0.75 s
    return SOURCES[binding](name, **options)


def test_contract_against_the_simulated_device(binding):
    with device(channels=6, rate=1000.0) as dev:
        # Default options (clock correction on), less the twin check: one device here.
        make_source = lambda: SOURCES[binding](dev.name, ambiguity_wait_s=0.0)  # noqa: E731
        info = check_source(make_source, min_samples=300, timeout=5.0)
    assert (info.name, info.channel_count, info.sampling_rate) == (dev.name, 6, 1000.0)
    assert info.dtype == "float32" and info.type == "EMG"
    assert info.units == ("V",) * 6
    assert info.source_id == dev.source_id


@pytest.mark.parametrize("fmt", ["float32", "int16"])
def test_reads_the_other_bindings_outlet_exactly(binding, fmt):
    name = unique()
    labels, units = ["thumb", "index", "pinky"], ["uV", "uV", "mV"]
    with outlet(
        other(binding), name, 3, 250.0, fmt, unique("sid"), labels=labels, units=units
    ) as out:
        source = make(binding, name)
        info = source.connect(5.0)
        try:
            assert info.channel_names == tuple(labels) and info.units == tuple(units)
            assert info.dtype == fmt and info.sampling_rate == 250.0
            sent = (np.arange(300 * 3).reshape(300, 3) % 1000).astype(fmt)
            stamps = 1000.0 + np.arange(300) / 250.0
            for k in range(0, 300, 50):
                out.push(sent[k : k + 50], stamps[k : k + 50])
            data, ts = read_at_least(source, 300)
        finally:
            source.disconnect()
    assert data.dtype == np.dtype(fmt)
    np.testing.assert_array_equal(data, sent)
    np.testing.assert_array_equal(ts, stamps)
    assert source.stats.samples == 300 and source.stats.gaps == 0


def test_refuses_absurd_geometry_and_marker_streams_before_allocating(binding):
    # The rules themselves are tested in test_lsl_common; here real announcements feed them.
    wide, markers = unique("wide"), unique("markers")
    with (
        outlet(other(binding), wide, 5000, 10.0),
        outlet(other(binding), markers, 1, 0.0, "string"),
    ):
        source = make(binding, wide)
        with pytest.raises(StreamRefused, match="channel count 5000 is outside 1..4096") as refused:
            source.connect(5.0)
        assert wide in str(refused.value)
        assert not source.connected  # no inlet was made, nothing was allocated for it
        with pytest.raises(StreamRefused, match="numeric streams only"):
            make(binding, markers).connect(5.0)


def test_a_missing_stream_times_out_with_advice(binding):
    name = unique("nobody")
    source = make(binding, name)
    with pytest.raises(TimeoutError, match=name) as missing:
        source.connect(0.3)
    assert "hexloop streams" in str(missing.value)
    assert not source.connected and source.info is None


def test_two_devices_with_one_name_are_not_mixed_up(binding):
    name = unique()
    first, second = unique("sid-a"), unique("sid-b")
    with outlet(other(binding), name, 2, 100.0, source_id=first):
        with outlet(other(binding), name, 2, 100.0, source_id=second):
            with pytest.raises(StreamRefused, match="source_id=") as refused:
                SOURCES[binding](name, clock_correction=False).connect(5.0)
            assert first in str(refused.value) and second in str(refused.value)
            chosen = make(binding, name, source_id=second)
            assert chosen.connect(5.0).source_id == second
            chosen.disconnect()


def test_recovers_when_the_same_outlet_comes_back(binding):
    name, sid = unique(), unique("sid")
    source = make(binding, name, presence_check_s=0.2)
    with device(name, channels=4, rate=1000.0, source_id=sid, wait_for_consumer=True) as dev:
        first = source.connect(5.0)
        _, before = read_at_least(source, 200)
        dev.stop_publishing()  # silent but still there: stalled, not lost
        # Keep reading until the presence probe has found the outlet twice: no SourceLost.
        assert wait_for(lambda: len(source.read()[1]) >= 0 and source.stats.probes >= 2,
                        timeout=20), source.stats
        assert source.connected
    read_until_lost(source)  # the outlet left: read() says so
    assert not source.connected and source.stats.losses == 1
    with pytest.raises(TimeoutError):
        source.connect(0.2)  # nothing to reconnect to yet
    # The outage must be visible in time: the device comes back once LSL's clock has moved on.
    assert wait_for(lambda: local_clock() > before[-1] + 0.5, timeout=10)
    with device(name, channels=4, rate=1000.0, source_id=sid, wait_for_consumer=True):
        assert source.connect(5.0) == first
        _, after = read_at_least(source, 200)
    source.disconnect()
    assert after[0] - before[-1] > 0.3  # the outage is a visible jump in time
    assert source.stats.gaps >= 1 and source.stats.gap_s > 0.3
    assert source.stats.connects == 2


def test_a_stream_that_comes_back_reshaped_is_refused(binding):
    name, sid = unique(), unique("sid")
    source = make(binding, name, presence_check_s=0.2)
    with outlet(other(binding), name, 4, 100.0, source_id=sid):
        source.connect(5.0)
    read_until_lost(source)  # mne-lsl's older liblsl may leave silently: the probe notices
    with outlet(other(binding), name, 6, 100.0, source_id=sid):
        with pytest.raises(StreamRefused, match=r"different shape \(channels 4 -> 6\)"):
            source.connect(5.0)


def test_a_slow_reader_gets_recent_corrected_data(binding):
    with device(channels=8, rate=1000.0, wait_for_consumer=True) as dev:
        source = make(binding, dev.name, max_buffer_s=1.0, clock_correction=True, dejitter=True)
        source.connect(5.0)
        # The consumer stalls (reads nothing) while 1.6 s of samples are sent; the inlet keeps
        # only the newest second.
        assert wait_for(lambda: dev.samples_sent >= 1600, timeout=30)
        dev.stop_publishing()
        data, ts = drain(source)
        source.disconnect()
    total = dev.samples_sent + dev.samples_skipped
    last_sent = dev.started_at + (total - 1) / 1000.0  # the device stamps by sample count
    assert len(ts) < 1300 and dev.samples_sent >= 1600  # not the whole backlog
    # Same machine: clock-corrected, dejittered stamps stay on the sender's clock, and what is
    # kept is the newest: it ends at the last sample sent and spans about the buffer's second.
    assert ts[-1] == pytest.approx(last_sent, abs=0.02)
    assert last_sent - ts[0] < 1.3
    assert np.all(np.diff(ts) > 0)


def test_usage_errors_are_explained(binding):
    cls = SOURCES[binding]
    with pytest.raises(ValueError, match="needs a stream name"):
        cls()
    with pytest.raises(ValueError, match="timeout"):
        cls("x", timeout=0)
    source = cls("never-connected")
    assert source.info is None  # unknown until the stream is found
    with pytest.raises(SourceLost, match="not connected"):
        source.read()
    source.disconnect()  # harmless before connect


def test_the_application_stream_stalls_and_recovers():
    from hexloop.application.stream import Stream, StreamStatus

    name, sid = unique(), unique("sid")
    stream = Stream("emg", make("pylsl", name), connect_timeout=1.0, stall_s=0.3)
    store = FakeStore()
    session = store.open_session(SessionMeta("lsl-test", (StreamInfo("emg", 4, 500.0),)))
    stream.set_session(session)

    def wait(condition, timeout=6.0):
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"stream health stayed {stream.health}"
            time.sleep(0.02)

    try:
        with device(name, channels=4, rate=500.0, source_id=sid):
            stream.start()
            wait(lambda: stream.health.samples > 100)
            assert stream.health.status is StreamStatus.STREAMING
        wait(lambda: stream.health.status is StreamStatus.STALLED)  # the outlet went away
        seen = stream.health.samples
        gone = local_clock()
        wait(lambda: local_clock() > gone + 0.3)  # the device stays away a visible while
        with device(name, channels=4, rate=500.0, source_id=sid):
            wait(lambda: stream.health.samples > seen + 100)
            health = stream.health
    finally:
        stream.stop(timeout=2.0)
    assert health.status is StreamStatus.STREAMING
    assert health.reconnects >= 1
    assert health.lost > 100  # the outage shows as missing samples ...
    data, ts = store.read(session.close().location).data("emg")
    assert len(ts) == stream.health.samples and data.shape == (4, len(ts))
    assert np.diff(ts).max() > 0.3  # ... and as a jump in the recording's timestamps
