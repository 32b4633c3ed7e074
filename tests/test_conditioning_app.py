"""Conditioning in the app: raw data recorded, conditioned data in the ring buffer and windows,
the chain in the session's metadata, reset on reconnect, a chain the rate cannot take refused
naming its key, training on exactly the online conditioning; output stages on an Output."""

import time

import numpy as np
import pytest

from hexloop.adapters.fakes import FakeConditioner, FakeSource, FakeStore, FakeTransport
from hexloop.application import App, Output, Pipeline, Stream, StreamStatus
from hexloop.application.conditioning import (
    EXTRAS_KEY,
    StreamConditioning,
    condition_recording,
    conditioned_data,
)
from hexloop.domain.pipeline import Prediction
from hexloop.domain.streams import StreamInfo

RATE, CH = 1000.0, 3
EMG = [{"type": "bandpass", "low": 20, "high": 450, "order": 4},
       {"type": "notch", "freq": 50, "harmonics": 3}]


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def chunks(n_chunks: int = 40, size: int = 53, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_chunks):
        ts = 10.0 + (k * size + np.arange(size)) / RATE
        out.append(((rng.standard_normal((size, CH)) * 100).astype(np.float32), ts))
    return out


def run_recorded(conditioning, factory=None):
    """Stream the chunks while recording; return (stream, recorded session, the raw chunks)."""
    played = chunks()
    source = FakeSource(StreamInfo("emg", CH, RATE), played, block=True)
    stream = Stream("emg", source, conditioning=conditioning, conditioner_factory=factory)
    store = FakeStore()
    app = App("cond", store=store, class_names=("rest", "fist"))
    app.streams(stream)
    app.start()
    try:
        wait_for(lambda: stream.info is not None)
        location = app.start_recording()
        app.mark("rest", 10.0)
        app.mark("fist", 11.0)
        source.release.set()
        total = sum(len(t) for _, t in played)
        wait_for(lambda: stream.health.samples == total)
        app.stop_recording()
    finally:
        app.shutdown()
    return stream, store.read(location), played


def test_raw_is_recorded_the_buffer_holds_conditioned_and_the_chain_is_in_the_metadata():
    pytest.importorskip("scipy")
    stream, session, played = run_recorded(EMG)
    raw = np.concatenate([d for d, _ in played])
    data, ts = session.data("emg")
    np.testing.assert_array_equal(data, raw.T)  # raw, untouched
    want = condition_recording(raw.T, EMG, RATE)  # one offline call
    shown, shown_ts = stream.buffer.window(raw.shape[0])
    assert shown.dtype == np.float32
    np.testing.assert_allclose(shown, want, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(shown_ts, ts)
    recorded = session.meta.extras[EXTRAS_KEY]["emg"]
    assert recorded["chain"] == [dict(s) for s in StreamConditioning(EMG).specs]
    assert recorded["group_delay_s"] > 0
    np.testing.assert_allclose(conditioned_data(stream, session)[0], want)  # training's view
    raw_view, view = stream.display(raw=True), stream.display()  # the viewer's two views
    assert raw_view.maxs.max() == pytest.approx(raw.max())
    assert view.maxs.max() == pytest.approx(shown.max(), rel=1e-6)


def test_a_fake_conditioner_sees_every_chunk_and_is_reset_on_reconnect():
    made = []

    def factory(chain, rate, channels):
        made.append(FakeConditioner(channels))
        return made[-1]

    source = FakeSource(StreamInfo("emg", CH, RATE), chunks(4), fail_reads=0)
    stream = Stream("emg", source, conditioning=[{"type": "car"}], conditioner_factory=factory)
    app = App("cond")
    app.streams(stream)
    app.start()
    try:
        wait_for(lambda: stream.health.samples == 4 * 53)
        source.fail_reads = 1  # the next read loses the source: the stream reconnects
        wait_for(lambda: stream.health.reconnects >= 1 and source.connects >= 2)
        wait_for(lambda: made and made[0].resets >= 1)
    finally:
        app.shutdown()
    assert len(made) == 1 and sum(len(c) for c in made[0].chunks) == 4 * 53


def test_a_chain_the_rate_cannot_take_refuses_the_stream_naming_the_key():
    bad = [{"type": "bandpass", "low": 20, "high": 600}]  # Nyquist is 500 Hz at 1 kHz
    stream = Stream("emg", FakeSource(StreamInfo("emg", CH, RATE), chunks(2)), conditioning=bad,
                    conditioner_factory=lambda c, r, n: FakeConditioner(n))
    app = App("cond")
    app.streams(stream)
    app.start()
    try:
        wait_for(lambda: stream.health.status is StreamStatus.REFUSED)
        assert "conditioning[0].high" in stream.health.error
        assert "Nyquist" in stream.health.error
    finally:
        app.shutdown()


def test_a_malformed_chain_is_refused_when_the_stream_is_made():
    with pytest.raises(ValueError, match=r"conditioning\[0\]\.type"):
        Stream("emg", FakeSource(StreamInfo("emg", CH, RATE)), conditioning=[{"type": "x"}])


def test_training_windows_are_cut_from_the_online_conditioning():
    pytest.importorskip("scipy")
    stream, session, _ = run_recorded(EMG)
    app = App("train", class_names=("rest", "fist"))
    app.streams(stream)
    pipeline = Pipeline(app, streams=["emg"])
    pipeline.extract(lambda w: w["emg"])  # the window itself
    data = pipeline.training_data(session, step_ms=100)
    assert len(data) > 10
    shown = stream.buffer.window(10**9)[0]  # what predict saw, conditioned chunk by chunk
    n = data.x.shape[2]
    for x in data.x:
        start = int(np.argmin(np.abs(shown[0] - x[0, 0])))
        np.testing.assert_allclose(x, shown[:, start:start + n], rtol=1e-5, atol=1e-3)


def prediction(p_fist: float, tick: int) -> Prediction:
    return Prediction({"rest": 1 - p_fist, "fist": p_fist}, tick, 100.0 + tick * 0.02, 0.0)


def test_output_stages_turn_predictions_into_debounced_commands():
    transport = FakeTransport()
    out = Output(transport, hz=200, stages=[{"type": "majority", "n": 3}, {"type": "edge"}])
    out.start()
    try:
        for tick, p in enumerate([0.9, 0.9, 0.1, 0.9, 0.1, 0.1]):
            ticks = out.health.ticks
            out.push(prediction(p, tick))
            wait_for(lambda seen=ticks: out.health.ticks >= seen + 2)  # the thread saw it
    finally:
        out.stop()
    sent = [s[0] for s, _ in transport.sent]
    assert transport.channels == ["class"]
    assert sent == [1.0, 0.0]  # fist, then rest once the vote turns; each sent once


def test_output_stages_reset_when_predicting_stops():
    out = Output(FakeTransport(), stages=[{"type": "majority", "n": 5}])
    for tick in range(5):
        out.push(prediction(0.9, tick))
    out.push(None)
    out.push(prediction(0.1, 6))
    assert out._latest.values == {"class": 0.0}


def test_bad_stages_are_refused_naming_the_key():
    with pytest.raises(ValueError, match=r"stages\[0\]\.n"):
        Output(FakeTransport(), stages=[{"type": "majority", "n": 0}])


class _Broken(FakeConditioner):
    def process(self, chunk):
        raise RuntimeError("conditioner bug")


def test_a_failing_conditioner_loses_no_recording_and_shows_a_gap():
    stream, session, played = run_recorded([{"type": "car"}],
                                           factory=lambda c, r, n: _Broken(n))
    raw = np.concatenate([d for d, _ in played])
    np.testing.assert_array_equal(session.data("emg")[0], raw.T)  # every raw sample recorded
    assert np.isnan(stream.buffer.window(raw.shape[0])[0]).all()  # predict sees a gap
    assert "conditioner bug" in stream.health.error


SETUP = """
[app]
name = "checked"

[[streams]]
name = "emg"
source = "simulated"
options = {{ channels = 4, rate = 1000.0 }}
conditioning = {chain}

[model]
adapter = "torch_classifier"

[pipeline]

[[outputs]]
transport = "pylsl"
stages = {stages}
"""


@pytest.mark.parametrize("chain, stages, key", [
    ('[{ type = "bandpass", low = 20, high = 600 }]', "[]", "streams[0].conditioning[0].high"),
    ('[{ type = "bandpass", low = 450, high = 20 }]', "[]", "streams[0].conditioning[0].low"),
    ('[{ type = "notch", freq = 50, harmonics = 12 }]', "[]",
     "streams[0].conditioning[0].harmonics"),
    ("[]", '[{ type = "majority", n = 0 }]', "outputs[0].stages[0].n"),
])
def test_hexloop_check_refuses_a_bad_chain_or_stage_naming_the_key(tmp_path, capsys, chain,
                                                                  stages, key):
    from hexloop.application.composition.cli import main

    path = tmp_path / "setup.toml"
    path.write_text(SETUP.format(chain=chain, stages=stages))
    assert main(["check", str(path)]) == 2
    assert f"{path}: {key}: " in capsys.readouterr().err


def test_a_setup_builds_streams_and_outputs_with_their_chains(tmp_path):
    from hexloop.application.composition.build import build
    from hexloop.application.composition.labsetup import load_setup
    from hexloop.application.composition.registry import Registry

    pytest.importorskip("torch")
    pytest.importorskip("pylsl")
    path = tmp_path / "setup.toml"
    emg = ('[{ type = "bandpass", low = 20, high = 450, order = 4 }, '
           '{ type = "notch", freq = 50, harmonics = 3 }]')
    path.write_text(SETUP.format(chain=emg, stages='[{ type = "majority", n = 3 }]'))
    registry = Registry.from_entry_points()
    built = build(load_setup(path, registry), registry, headless=True)
    stream = built.app.ctx.streams["emg"]
    assert [s["type"] for s in stream.conditioning.specs] == ["bandpass", "notch"]
    assert built.pipeline.outputs[0].stages.chain == ({"type": "majority", "n": 3},)
