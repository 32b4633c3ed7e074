"""The simulated LSL amplifier: exact pacing, class switching (method and marker stream), CLI hook."""

import threading
import time

import numpy as np
import pytest

pytest.importorskip("pylsl")
pytest.importorskip("mne_lsl")

from lsl_helpers import device, drain, outlet, read_at_least, unique  # noqa: E402

from hexloop.adapters.pylsl import (  # noqa: E402
    PylslSource,
    SimulatedLslDevice,
    list_streams,
    run_simulator,
)
from tests.helpers import wait_for  # noqa: E402


def source_for(dev) -> PylslSource:
    source = PylslSource(dev.name, clock_correction=False, ambiguity_wait_s=0.0)
    source.connect(5.0)
    return source


def test_sends_exactly_rate_samples_per_second_in_whole_chunks():
    with device(channels=4, rate=1000.0, chunk=10, wait_for_consumer=True) as dev:
        source = source_for(dev)
        assert wait_for(lambda: dev.samples_sent >= 1000, timeout=30)
        dev.stop_publishing()
        elapsed = time.monotonic() - dev.started_at
        data, ts = drain(source)
        source.disconnect()
    sent, skipped = dev.samples_sent, dev.samples_skipped
    assert sent % 10 == 0 and skipped % 10 == 0
    assert sent + skipped <= int(elapsed * 1000)  # never ahead of its clock: no burst
    assert len(ts) == sent  # every sample arrived
    # Sample k is stamped exactly k / rate after sample 0: the clock is the sample counter
    # (a device that fell behind under load skips whole chunks, leaving a gap on the grid).
    k = np.rint((ts - dev.started_at) * 1000.0)
    np.testing.assert_allclose(ts, dev.started_at + k / 1000.0, rtol=0, atol=1e-6)
    assert np.all(np.diff(k) >= 1) and k[-1] == sent + skipped - 1
    if skipped == 0:
        np.testing.assert_array_equal(k, np.arange(sent))
    assert data.dtype == np.float32 and data.shape == (sent, 4)


def test_set_class_changes_which_channels_are_active():
    with device(channels=12, rate=1000.0, wait_for_consumer=True) as dev:
        source = source_for(dev)
        rest, _ = read_at_least(source, 400)
        dev.set_class("fist")
        assert dev.current_class == 1
        # Skip what was sent before the switch (and the chunk being generated during it).
        switched_at = dev.samples_sent + dev.chunk
        received = [len(rest)]

        def caught_up():
            received[0] += len(source.read()[1])
            return received[0] >= switched_at

        assert wait_for(caught_up, timeout=10)
        fist, _ = read_at_least(source, 400)
        source.disconnect()
    ratio = fist.std(axis=0) / rest.std(axis=0)
    assert ratio.max() > 3.0  # the fist's channels light up ...
    assert np.sort(ratio)[: 12 // 2].max() < 1.5  # ... the others stay at rest level
    with pytest.raises(ValueError, match="unknown class 'wave'"):
        dev.set_class("wave")
    with pytest.raises(ValueError, match="outside 0..3"):
        dev.set_class(7)


def test_a_marker_stream_switches_the_class():
    control = unique("ctl")
    with outlet("pylsl", control, 1, 0.0, "string") as ctl, device(control_stream=control) as dev:
        assert ctl.wait_for_consumers(5.0)  # the device subscribed to its control stream
        for marker, want in (("flexion", 2), ("1", 1), ("wave", 1), ("extension", 3)):
            ctl.outlet.push_sample([marker])
            deadline = time.monotonic() + 3.0
            while dev.current_class != want:
                assert time.monotonic() < deadline, f"{marker!r} left class {dev.current_class}"
                time.sleep(0.01)


def test_run_simulator_publishes_until_told_to_stop():
    name, stop, result = unique("sim"), threading.Event(), []
    thread = threading.Thread(
        target=lambda: result.append(run_simulator(16, 2048.0, name, 32, stop)), daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10.0  # liblsl resolves in waves ~0.5 s apart
        while not (found := [s for s in list_streams(1.0) if s.name == name]):
            assert time.monotonic() < deadline, "the simulator's stream never appeared"
        (stream,) = found
        assert (stream.channels, stream.rate, stream.type, stream.format) == (
            16,
            2048.0,
            "EMG",
            "float32",
        )
    finally:
        stop.set()
        thread.join(5.0)
    assert not thread.is_alive() and result[0] > 0
    assert name not in {s.name for s in list_streams(0.6)}  # the outlet left with it


def test_bad_settings_and_lifecycle_misuse():
    with pytest.raises(ValueError, match="channel count 5000"):
        SimulatedLslDevice("x", channels=5000)
    with pytest.raises(ValueError, match="positive rate"):
        SimulatedLslDevice("x", rate=0)
    dev = device(rate=500.0)
    with dev:
        with pytest.raises(RuntimeError, match="already started"):
            dev.start()
    dev.stop()  # twice is harmless
    assert not dev.running
