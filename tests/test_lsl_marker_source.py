"""PylslMarkerSource on loopback LSL (#16): a string outlet's markers are read with their
timestamps on the local clock and, through the app's marker feed, recorded as labels; a numeric
stream of that name is refused; a missing one times out; a closed one is reported lost."""

from __future__ import annotations

import pytest

pylsl = pytest.importorskip("pylsl")

from lsl_helpers import unique  # noqa: E402

from hexloop.adapters.fakes import FakeStore  # noqa: E402
from hexloop.adapters.lsl_common import StreamRefused  # noqa: E402
from hexloop.adapters.pylsl import PylslMarkerSource  # noqa: E402
from hexloop.adapters.simulated import SimulatedSource  # noqa: E402
from hexloop.application import App, Stream, StreamStatus  # noqa: E402
from hexloop.application.markers import MarkerFeed  # noqa: E402
from hexloop.ports.contracts import check_marker_source  # noqa: E402
from hexloop.ports.source import SourceLost  # noqa: E402
from tests.helpers import started, wait_for  # noqa: E402

pytestmark = pytest.mark.timeout(60)

CLASSES = ("rest", "fist", "pinch")
#: The clock offset liblsl estimates on one machine is about zero; a marker keeps its stamp.
CLOCK_TOLERANCE_S = 0.005


def marker_outlet(name: str, fmt=None, channels: int = 1):
    info = pylsl.StreamInfo(name, "Markers", channels, pylsl.IRREGULAR_RATE,
                            fmt if fmt is not None else pylsl.cf_string, f"test:{name}")
    return pylsl.StreamOutlet(info)


def test_the_pylsl_marker_source_passes_the_contract():
    name = unique("mk")
    outlet = marker_outlet(name)
    check_marker_source(lambda: PylslMarkerSource(name),
                        lambda marker, stamp: outlet.push_sample([marker], stamp),
                        now=pylsl.local_clock, tolerance_s=CLOCK_TOLERANCE_S, timeout=10.0)


def test_a_numeric_stream_of_that_name_is_refused_and_a_missing_one_times_out():
    name = unique("mk-num")
    _outlet = marker_outlet(name, pylsl.cf_float32, channels=2)
    with pytest.raises(StreamRefused, match="string marker streams only"):
        PylslMarkerSource(name).connect(10.0)
    with pytest.raises(TimeoutError, match="no LSL marker stream"):
        PylslMarkerSource(unique("mk-absent")).connect(0.3)
    with pytest.raises(ValueError, match="name"):
        PylslMarkerSource("")


def test_a_closed_marker_stream_is_reported_lost():
    name = unique("mk-lost")
    outlet = marker_outlet(name)
    source = PylslMarkerSource(name)
    source.connect(10.0)
    del outlet

    def lost():
        try:
            source.read()
        except SourceLost:
            return True
        return False

    assert wait_for(lost, timeout=20.0, interval=0.05)
    with pytest.raises(RuntimeError):
        source.read()


def test_markers_from_an_lsl_outlet_are_recorded_as_labels_at_their_times():
    name = unique("mk-app")
    outlet = marker_outlet(name)
    app = App("markers", store=FakeStore(), class_names=CLASSES)
    app.streams(Stream("emg", SimulatedSource("sim", channels=2, rate=250.0,
                                              class_names=CLASSES)))
    feed = MarkerFeed(PylslMarkerSource(name), mapping={"1": "fist", "2": "rest"},
                      connect_timeout=5.0).attach(app)
    with started(app):
        emg = app.ctx.streams["emg"]
        assert wait_for(lambda: emg.health.status is StreamStatus.STREAMING)
        app.start_recording(slug="lsl")
        assert wait_for(lambda: feed.connected and outlet.have_consumers(), timeout=10.0)
        t0 = pylsl.local_clock()
        sent = [("1", t0 + 0.01), ("boom", t0 + 0.02), ("pinch", t0 + 0.03),
                ("boom", t0 + 0.04), ("2", t0 + 0.05)]
        for marker, stamp in sent:
            outlet.push_sample([marker], stamp)
        assert wait_for(lambda: feed.counts.received == len(sent), timeout=10.0), feed.counts
        summary = app.stop_recording()
    events = app.store.read(summary.location).labels.events
    assert [CLASSES[e.class_index] for e in events] == ["fist", "pinch", "rest"]
    for event, stamp in zip(events, (t0 + 0.01, t0 + 0.03, t0 + 0.05)):
        assert event.time == pytest.approx(stamp, abs=CLOCK_TOLERANCE_S)
    assert feed.counts.unknown == 2
    warned = [e.message for e in app.ctx.log.entries()
              if e.source == feed.where and "'boom'" in e.message]
    assert len(warned) == 1
