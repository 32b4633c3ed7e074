"""The acquisition thread's pause after an empty read is what it can add to a sample's latency
(#13): it never exceeds `Stream.max_idle_wait_s` (1 ms by default, 5 ms before), whatever the
stream's rate, and a stream can be given a longer one to spend less CPU."""

import threading

import pytest

from hexloop.adapters.fakes import FakeSource
from hexloop.application import Stream
from hexloop.application.stream import MAX_IDLE_WAIT_S
from hexloop.domain.streams import StreamInfo
from tests.helpers import wait_for

pytestmark = pytest.mark.timeout(30)


class RecordingStop(threading.Event):
    """The stream's stop event, noting every timeout the acquisition thread waits with."""

    def __init__(self):
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout=None):
        if timeout is not None:
            self.waits.append(timeout)
        return super().wait(timeout)


@pytest.mark.parametrize("rate", [0.0, 50.0, 250.0, 2048.0, 10240.0])
@pytest.mark.parametrize("cap", [None, 0.005])
def test_an_idle_stream_waits_at_most_max_idle_wait_between_reads(rate, cap):
    source = FakeSource(StreamInfo("quiet", 2, rate, "float32"))  # connects, never delivers
    stream = Stream("quiet", source, buffer_ms=1000)
    if cap is not None:
        stream.max_idle_wait_s = cap
    stop = stream._stop = RecordingStop()
    stream.start()
    try:
        assert wait_for(lambda: len(stop.waits) >= 5, 5.0), "the thread never waited"
    finally:
        stream.stop()
    limit = cap if cap is not None else MAX_IDLE_WAIT_S
    assert MAX_IDLE_WAIT_S <= 0.001
    assert max(stop.waits[:5]) <= limit
    assert min(stop.waits[:5]) > 0  # it does wait: an idle stream does not spin a core
