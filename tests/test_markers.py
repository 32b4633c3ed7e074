"""The MarkerOutlet port (#15): the fake and the pylsl outlet pass its contract check; the LSL
one is a string stream at an irregular rate that an inlet (LabRecorder) reads with the
timestamps the markers were pushed with."""

from __future__ import annotations

import uuid

import pytest

from hexloop.adapters.fakes import FakeMarkerOutlet
from hexloop.ports import MarkerOutlet
from hexloop.ports.contracts import check_marker_outlet


def test_the_fake_marker_outlet_passes_the_contract():
    outlet = FakeMarkerOutlet()
    seen = 0

    def received():
        nonlocal seen
        new, seen = outlet.markers[seen:], len(outlet.markers)
        return new

    check_marker_outlet(lambda: outlet, received)
    assert isinstance(outlet, MarkerOutlet)


def test_a_marker_outlet_that_pushes_after_close_fails_the_contract():
    class Lenient(FakeMarkerOutlet):
        def push(self, marker, timestamp):
            self.markers.append((marker, timestamp))

    with pytest.raises(AssertionError, match="push\\(\\) after close\\(\\) must raise"):
        check_marker_outlet(Lenient)


def test_the_pylsl_marker_outlet_is_a_string_stream_an_inlet_reads():
    pylsl = pytest.importorskip("pylsl")
    from hexloop.adapters.pylsl import PylslMarkerOutlet

    name = f"q3-cues-{uuid.uuid4().hex[:8]}"
    outlet = PylslMarkerOutlet(name)
    outlet.open()  # the check opens it again (a no-op): the inlet connects first, as a recorder
    found = pylsl.resolve_bypred(f"name='{name}'", 1, 10.0)
    assert found, "the marker stream is not visible"
    info = found[0]
    assert (info.type(), info.channel_format(), info.nominal_srate(), info.channel_count()) == \
        ("Markers", pylsl.cf_string, pylsl.IRREGULAR_RATE, 1)
    inlet = pylsl.StreamInlet(info)
    inlet.open_stream(10.0)

    def received():
        samples, stamps = inlet.pull_chunk(timeout=0.0)
        return [(s[0], t) for s, t in zip(samples, stamps)]

    try:
        check_marker_outlet(lambda: outlet, received)
    finally:
        inlet.close_stream()
        outlet.close()
    with pytest.raises(ValueError, match="non-empty stream name"):
        PylslMarkerOutlet("")
