"""The shared LSL source and transport logic against a scripted binding (no LSL library needed)."""

import threading
import time
from collections import deque

import numpy as np
import pytest

from hexloop.adapters.lsl_common import (
    PULL_BUFFER_BYTES,
    Announcement,
    LslSource,
    LslTransport,
    StreamRefused,
    xpath_literal,
    xpath_predicate,
)
from hexloop.ports.contracts import check_transport
from hexloop.ports.source import SourceLost


class Lost(RuntimeError):
    pass


class Inlet:
    def __init__(self, announcement):
        self.announcement = announcement
        self.chunks: deque = deque()
        self.lost = False
        self.closed = False


class ScriptedBinding:
    """A network of Announcements; inlets serve chunks the test queues, through one buffer."""

    lost_errors = (Lost,)

    def __init__(self):
        self.streams: list[Announcement] = []
        self.metadata: dict[str, tuple] = {}
        self.inlets: list[Inlet] = []
        self.resolves = 0

    def resolve(self, name, type, source_id, timeout, minimum=1):
        self.resolves += 1
        return [
            a
            for a in self.streams
            if (name is None or a.name == name)
            and (type is None or a.type == type)
            and (source_id is None or a.source_id == source_id)
        ]

    def resolve_all(self, timeout):
        return list(self.streams)

    def present(self, announcement, timeout):
        return any(a.uid == announcement.uid for a in self.streams)

    def announce(self, handle):
        return handle

    def open_inlet(self, handle, **options):
        inlet = Inlet(handle)
        inlet.options = options
        self.inlets.append(inlet)
        return inlet

    def channel_metadata(self, inlet, timeout):
        return self.metadata.get(inlet.announcement.uid, (None, None))

    def time_correction(self, inlet, timeout):
        return 0.0

    def pull(self, inlet, buffer, max_samples):
        if inlet.lost:
            raise Lost("gone")
        if not inlet.chunks:
            return buffer[:0], np.empty(0)
        data, ts = inlet.chunks.popleft()
        n = len(ts)
        assert n <= max_samples
        buffer[:n] = data  # like liblsl: the same memory every call
        return buffer[:n], np.asarray(ts, dtype=np.float64)

    def close_inlet(self, inlet):
        inlet.closed = True


def stream(name="emg", channels=2, rate=100.0, fmt="float32", source_id="dev-1", uid="u1", **kw):
    return Announcement(
        name, kw.pop("type", "EMG"), channels, rate, fmt, source_id, "lab-pc", uid=uid, **kw
    )


@pytest.fixture
def net():
    return ScriptedBinding()


def source_on(net, *args, **options):
    cls = type("ScriptedSource", (LslSource,), {"binding": net})
    options.setdefault("ambiguity_wait_s", 0.0)
    return cls(*args, **options)


def feed(inlet, start, n, channels=2, rate=100.0):
    ts = start + np.arange(n) / rate
    inlet.chunks.append((np.full((n, channels), start, np.float32), ts))


def test_info_comes_from_the_announcement_and_description(net):
    net.streams.append(stream(channels=3))
    net.metadata["u1"] = (["a", None, "c"], ["uV", "uV", "uV"])
    info = source_on(net, "emg").connect(1.0)
    assert (info.name, info.channel_count, info.sampling_rate, info.dtype) == (
        "emg",
        3,
        100.0,
        "float32",
    )
    assert info.channel_names == ("a", "ch2", "c") and info.units == ("uV",) * 3
    assert (info.type, info.source_id) == ("EMG", "dev-1")


def test_labels_that_do_not_fit_are_ignored(net):
    net.streams.append(stream(channels=3))
    net.metadata["u1"] = (["a", "b"], None)
    info = source_on(net, "emg").connect(1.0)
    assert info.channel_names == ("ch1", "ch2", "ch3") and info.units == ("",) * 3


@pytest.mark.parametrize(
    ("announced", "fragment"),
    [
        (dict(channels=100_000), "channel count 100000 is outside 1..4096"),
        (dict(channels=0), "channel count 0"),
        (dict(rate=1e6), "sampling rate 1000000.0 Hz is outside"),
        (dict(fmt="string"), "numeric streams only"),
    ],
)
def test_absurd_streams_are_refused_before_any_inlet_exists(net, announced, fragment):
    net.streams.append(stream(**announced))
    with pytest.raises(StreamRefused, match=fragment):
        source_on(net, "emg").connect(1.0)
    assert net.inlets == []


def test_a_marker_stream_refusal_names_nothing_that_does_not_exist(net):
    net.streams.append(stream(fmt="string"))
    with pytest.raises(StreamRefused) as refused:
        source_on(net, "emg").connect(1.0)
    assert "marker inlet" not in str(refused.value)  # hexloop has no such thing to point at


def test_expectations_refuse_the_wrong_device(net):
    net.streams.append(stream(channels=4, rate=250.0))
    with pytest.raises(StreamRefused, match="4 channels but this source expects 8") as refused:
        source_on(net, "emg", channels=8, rate=2048.0).connect(1.0)
    assert "250 Hz but this source expects 2048 Hz" in str(refused.value)
    assert source_on(net, "emg", channels=4, rate=250.0).connect(1.0).channel_count == 4


def test_missing_stream_is_a_timeout(net):
    with pytest.raises(TimeoutError, match="name='emg'"):
        source_on(net, "emg").connect(0.1)


def test_twins_are_refused_and_a_restarted_sender_wins(net):
    net.streams += [stream(source_id="a", uid="1"), stream(source_id="b", uid="2")]
    with pytest.raises(StreamRefused, match="source_id='a' on lab-pc; source_id='b'"):
        source_on(net, "emg").connect(1.0)
    assert source_on(net, "emg", source_id="b").connect(1.0).source_id == "b"
    net.streams = [stream(uid="old", created_at=1.0), stream(uid="new", created_at=2.0)]
    source = source_on(net, "emg")
    source.connect(1.0)
    assert source.announcement.uid == "new"


def test_a_second_resolve_catches_a_late_twin(net):
    net.streams.append(stream(source_id="a", uid="1"))
    original = net.resolve

    def late_twin(*args, **kw):
        if net.resolves == 1:  # the twin answers only the second query
            net.streams.append(stream(source_id="b", uid="2"))
        return original(*args, **kw)

    net.resolve = late_twin
    with pytest.raises(StreamRefused, match="2 different LSL streams"):
        source_on(net, "emg", ambiguity_wait_s=0.01).connect(1.0)


def test_reads_are_fresh_arrays_not_the_reused_pull_buffer(net):
    net.streams.append(stream())
    source = source_on(net, "emg")
    source.connect(1.0)
    inlet = net.inlets[-1]
    feed(inlet, 1.0, 5)
    feed(inlet, 2.0, 5)
    first, _ = source.read()
    second, _ = source.read()
    assert np.all(first == 1.0) and np.all(second == 2.0)
    empty, ts = source.read()
    assert empty.shape == (0, 2) and ts.shape == (0,)


def test_the_pull_buffer_stays_bounded_for_wide_fast_streams(net):
    net.streams.append(stream(channels=4096, rate=100_000.0, fmt="float64"))
    source = source_on(net, "emg")
    source.connect(1.0)
    assert source._buffer.nbytes <= PULL_BUFFER_BYTES
    assert net.inlets[-1].options["max_buffer_s"] == 5  # the inlet queue stays short


def test_small_steps_back_are_smoothed_large_ones_left_for_validation(net):
    net.streams.append(stream())
    source = source_on(net, "emg")
    source.connect(1.0)
    inlet = net.inlets[-1]
    inlet.chunks.append((np.zeros((3, 2), np.float32), [1.00, 1.01, 1.02]))
    inlet.chunks.append((np.zeros((3, 2), np.float32), [1.015, 1.03, 1.025]))  # jitter
    inlet.chunks.append((np.zeros((2, 2), np.float32), [0.5, 0.51]))  # a clock reset
    source.read()
    _, ts = source.read()
    np.testing.assert_array_equal(ts, [1.02, 1.03, 1.03])
    assert source.stats.reordered == 2
    _, ts = source.read()
    np.testing.assert_array_equal(ts, [0.5, 0.51])
    assert source.stats.jumps_back == 1


def test_losing_the_outlet_raises_source_lost_and_reconnects_only_to_the_same_device(net):
    net.streams.append(stream(source_id="dev-1", uid="u1"))
    source = source_on(net, "emg")
    first = source.connect(1.0)
    feed(net.inlets[-1], 1.0, 10)
    source.read()
    net.inlets[-1].lost = True
    net.streams.clear()
    with pytest.raises(SourceLost, match="went away"):
        source.read()
    assert not source.connected and net.inlets[-1].closed and source.stats.losses == 1
    net.streams.append(stream(source_id="someone-else", uid="u2"))
    with pytest.raises(TimeoutError, match="source_id='dev-1'"):
        source.connect(0.1)
    net.streams.append(stream(source_id="dev-1", uid="u3"))
    assert source.connect(0.1) == first
    feed(net.inlets[-1], 5.0, 10)
    source.read()
    assert source.stats.gaps == 1 and source.stats.gap_s == pytest.approx(5.0 - 1.09)


def test_a_reshaped_comeback_is_refused(net):
    net.streams.append(stream(uid="u1"))
    source = source_on(net, "emg")
    source.connect(1.0)
    source.disconnect()
    net.streams = [stream(uid="u2", channels=3, rate=200.0)]
    with pytest.raises(StreamRefused, match=r"channels 2 -> 3, rate 100.0 -> 200.0"):
        source.connect(1.0)


def test_an_outlet_that_vanishes_silently_is_found_out_by_the_probe(net):
    net.streams.append(stream())
    source = source_on(net, "emg", presence_check_s=0.01)
    source.connect(1.0)
    time.sleep(0.02)
    source.read()  # quiet: a probe starts and finds the outlet
    deadline = time.monotonic() + 2.0
    while source._probe.is_alive():
        assert time.monotonic() < deadline
    assert source.connected and source.stats.probes == 1
    net.streams.clear()  # gone, but the inlet was never told
    time.sleep(0.02)
    with pytest.raises(SourceLost):
        while time.monotonic() < deadline:
            source.read()
            time.sleep(0.005)
    assert source.stats.losses == 1


def test_a_late_probe_answer_never_condemns_a_newer_connection(net):
    net.streams.append(stream())
    answer = threading.Event()
    net.present = lambda announcement, timeout: answer.wait(2.0) and False
    source = source_on(net, "emg", presence_check_s=0.01)
    source.connect(1.0)
    time.sleep(0.02)
    source.read()  # quiet: a probe of this connection starts and blocks
    probe = source._probe
    source.connect(1.0)  # a reconnect while that probe is still out
    answer.set()  # the old probe now reports its outlet gone
    probe.join(2.0)
    assert not probe.is_alive()
    source.read()  # the new connection is not blamed for it
    assert source.connected and source.stats.losses == 0


def test_usage_errors(net):
    with pytest.raises(ValueError, match="needs a stream name"):
        source_on(net)
    for bad in (
        dict(timeout=0),
        dict(max_buffer_s=-1),
        dict(pull_s=0),
        dict(channels=0),
        dict(rate=-5),
        dict(chunk_len=-1),
    ):
        with pytest.raises(ValueError):
            source_on(net, "emg", **bad)
    source = source_on(net, "emg")
    assert source.info is None
    with pytest.raises(SourceLost, match="connect"):
        source.read()


def test_xpath_quoting():
    assert xpath_predicate("a", None, "b") == "name='a' and source_id='b'"
    assert xpath_literal("it's") == '"it\'s"'
    with pytest.raises(ValueError, match="both"):
        xpath_literal('it\'s "x"')


class ListTransport(LslTransport):
    """LslTransport over a list: shows what the shared send rules hand a binding."""

    def _create(self, channels, rate):
        self.outlet_args = (channels, rate)
        return []

    def _push(self, outlet, sample, timestamp):
        outlet.append((sample.copy(), timestamp))

    def _destroy(self, outlet):
        self.destroyed = True

    def _consumers(self, outlet):
        return True


def test_transport_contract_and_wire_format():
    transport = ListTransport("pred")
    lock = threading.Lock()
    seen: list = []

    def received():
        with lock:
            new = [np.asarray(s, np.float64) for s, _ in transport._outlet or []][len(seen) :]
            seen.extend(new)
            return new

    check_transport(lambda: transport, ("a", "b"), received)
    assert transport.destroyed and transport.outlet_args == (("a", "b"), 10.0)
    transport.open(["x"], 0.0)
    transport.send(np.array([0.25]), float("nan"))  # a NaN time means "now" on the wire
    sample, stamp = transport._outlet[-1]
    assert sample.dtype == np.float32 and stamp == 0.0
    transport.close()
