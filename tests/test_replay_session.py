"""ReplaySource on recorded sessions: the recorded samples and labels, live, gaps kept."""

import numpy as np
import pytest

pytest.importorskip("zarr")

from hexloop.adapters.fakes import FakeClock  # noqa: E402
from hexloop.adapters.replay import ReplaySource  # noqa: E402
from hexloop.adapters.zarr import ZarrStore, open_session  # noqa: E402
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402
from hexloop.ports.contracts import check_source  # noqa: E402


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A packed session: emg 4 ch at 200 Hz with a 0.25 s dropout, force at 20 Hz, 3 labels."""
    emg = StreamInfo("emg", 4, 200.0, "int16", type="EMG")
    store = ZarrStore(tmp_path_factory.mktemp("sessions"), chunk_seconds=0.25)
    session = store.open_session(SessionMeta("r", [emg, StreamInfo("force", 1, 20.0)],
                                             class_names=("rest", "fist")))
    t = 30.0 + np.arange(600) / 200.0
    t = t[(t < 31.0) | (t >= 31.25)]  # 50 samples lost in the recording
    data = np.arange(len(t) * 4, dtype=np.int16).reshape(-1, 4)
    session.append("emg", data, t)
    tf = 30.0 + np.arange(60) / 20.0
    session.append("force", tf[:, None].astype(np.float32), tf)
    for when, k in [(30.5, 1), (31.5, 0), (32.0, 1)]:
        session.add_label(LabelEvent(when, k))
    return session.close().location, data, t


def test_a_session_replays_its_samples_with_their_gaps(recorded):
    location, data, t = recorded
    clock = FakeClock(start=1000.0)
    source = ReplaySource(location, stream="emg", name="emg", clock=clock)
    assert source.info.dtype == "int16" and source.info.type == "EMG"
    source.connect(1.0)
    clock.advance(1.1)  # inside the dropout: the samples after it are not due yet
    first = source.read()
    assert len(first[1]) == 200
    clock.advance(0.1)
    assert len(source.read()[1]) == 0
    clock.advance(5.0)
    rest = [source.read() for _ in range(4)]  # one read hands over at most 1 s of samples
    assert [len(r[1]) for r in rest] == [200, 150, 0, 0]
    got = np.concatenate([first[0]] + [r[0] for r in rest])
    ts = np.concatenate([first[1]] + [r[1] for r in rest])
    assert np.array_equal(got, data)
    assert np.allclose(ts, 1000.0 + (t - t[0]))
    assert source.finished
    events = source.poll_labels()
    assert [(round(e.time, 6), e.class_index) for e in events] == [
        (1000.5, 1), (1001.5, 0), (1002.0, 1)]
    assert source.class_names == ("rest", "fist")
    source.close()


def test_the_session_replay_passes_the_source_contract(recorded):
    location, _, _ = recorded
    check_source(lambda: ReplaySource(location, stream="force", speed=10.0, loop=True),
                 min_samples=30)
    with open_session(location) as session:  # an open session works as well as a path
        info = check_source(lambda: ReplaySource(session, stream="emg", speed=5.0),
                            min_samples=100)
        assert info.channel_count == 4


def test_a_session_with_several_streams_needs_a_choice(recorded):
    location, _, _ = recorded
    with pytest.raises(ValueError, match="choose one with stream="):
        ReplaySource(location)
    with pytest.raises(KeyError, match="no stream 'eeg'"):
        ReplaySource(location, stream="eeg")
    with pytest.raises(TypeError, match="text files only"):
        ReplaySource(location, stream="emg", time_unit="ms")
