"""ForceSensorSource honours hexloop's Source port and behaves like a force sensor."""

import threading

import numpy as np
import pytest
from hexloop.ports import Source
from hexloop.ports.contracts import check_source
from hypothesis import given, settings
from hypothesis import strategies as st

from hexloop_forcesensor import ForceSensorSource


class StepClock:
    """A clock the test moves by hand, so what is due is exact."""

    def __init__(self):
        self.t = 100.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        self.t += seconds
        return bool(interrupt is not None and interrupt.is_set())


@pytest.mark.parametrize("channels", [1, 3, 6])
def test_passes_hexloops_source_contract(channels):
    info = check_source(lambda: ForceSensorSource(channels=channels, rate=500.0), min_samples=100)
    assert info.channel_count == channels
    assert info.sampling_rate == 500.0
    assert info.channel_names[:1] == ("Fx",) and info.units[0] == "N"


def test_is_a_source_by_the_port_protocol():
    assert isinstance(ForceSensorSource(), Source)


def test_delivers_exactly_rate_samples_per_second_on_a_regular_grid():
    clock = StepClock()
    source = ForceSensorSource(rate=200.0, clock=clock)
    source.connect(1.0)
    chunks = []
    for step in (0.013, 0.5, 0.0, 0.2501, 0.2369):
        clock.t += step
        chunks.append(source.read())
    ts = np.concatenate([t for _, t in chunks])
    assert len(ts) == 200  # 1.0 s at 200 Hz: nothing lost, nothing invented
    assert np.allclose(np.diff(ts), 1 / 200.0)
    assert ts[0] == pytest.approx(100.0)


def test_a_long_pause_is_caught_up_in_bounded_chunks_without_losing_samples():
    clock = StepClock()
    source = ForceSensorSource(rate=100.0, clock=clock)
    source.connect(1.0)
    clock.t += 3.0
    sizes = [len(source.read()[1]) for _ in range(8)]
    assert max(sizes) <= 50  # MAX_READ_S of 0.5 s: a read stays quick
    assert sum(sizes) == 300


def test_follows_the_cued_grip_level():
    clock = StepClock()
    source = ForceSensorSource(rate=1000.0, amplitude=10.0, noise=0.0, levels=3, clock=clock)
    source.connect(1.0)
    for level, want in ((2, 10.0), (1, 5.0), (0, 0.0)):
        source.set_class(level)
        clock.t += 1.0
        data = np.concatenate([source.read()[0] for _ in range(3)])  # reads of at most 0.5 s
        assert len(data) == 1000
        assert data[-1, 0] == pytest.approx(want, abs=1e-3)  # settled well within a second


def test_refuses_impossible_settings_with_a_sentence():
    with pytest.raises(ValueError, match="1 to 6 channels"):
        ForceSensorSource(channels=7)
    with pytest.raises(ValueError, match="positive number of Hz"):
        ForceSensorSource(rate=0.0)
    with pytest.raises(ValueError, match="not a level"):
        ForceSensorSource(levels=3).set_class(3)


def test_read_before_connect_is_an_error_and_disconnect_twice_is_harmless():
    source = ForceSensorSource()
    with pytest.raises(RuntimeError, match="before connect"):
        source.read()
    source.connect(1.0)
    source.disconnect()
    source.disconnect()


@settings(max_examples=50, deadline=None)
@given(rate=st.floats(1.0, 5000.0), steps=st.lists(st.floats(0.0, 0.7), min_size=1, max_size=20))
def test_any_read_pattern_gives_a_time_ordered_regular_stream(rate, steps):
    clock = StepClock()
    source = ForceSensorSource(channels=2, rate=rate, clock=clock)
    source.connect(1.0)
    stamps = []
    for step in steps:
        clock.t += step
        data, ts = source.read()
        assert data.shape == (len(ts), 2) and data.dtype == np.float32
        stamps.append(ts)
    while len(stamps[-1]):  # drain what the per-read cap held back
        stamps.append(source.read()[1])
    ts = np.concatenate(stamps)
    assert len(ts) == int((clock.t - 100.0) * rate)  # every sample due, none invented
    assert np.all(np.diff(ts) > 0)
    assert np.allclose(ts - 100.0, np.arange(len(ts)) / rate)
