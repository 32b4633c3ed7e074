"""A whole experiment from a setup's [protocol] (#15): calibrate -> train -> online -> evaluate on
the simulated source, headless, with the cues labelled at their onset and offset and published
as markers; then `hexloop run SETUP --protocol` with an LSL marker stream a recorder can read."""

from __future__ import annotations

import io
import json
import math
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("zarr")

from hexloop.adapters.fakes import FakeMarkerOutlet  # noqa: E402
from hexloop.application.composition.build import build  # noqa: E402
from hexloop.application.composition.labsetup import load_setup  # noqa: E402
from hexloop.application.composition.protocolsetup import protocol_spec  # noqa: E402
from hexloop.application.composition.registry import Registry  # noqa: E402
from hexloop.application.protocol import ProtocolRunner  # noqa: E402
from hexloop.application.protocol_terminal import ProtocolTerminal  # noqa: E402
from hexloop.domain.protocol import schedule  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simulated.toml"
PROTOCOL = """
[protocol]
repetitions = 3
online_repetitions = 2
cue_s = 0.15
hold_s = 0.45
rest_s = 0.3
seed = 7
slug = "s01"
markers = "{markers}"
"""

pytestmark = pytest.mark.timeout(180)


def setup_file(tmp_path: Path, protocol: str = PROTOCOL) -> Path:
    tag = uuid.uuid4().hex[:8]
    text = EXAMPLE.read_text().split("\n[protocol]")[0]  # the example's own, replaced
    text = text.replace('"emg-gestures-predictions"', f'"proto-{tag}-predictions"')
    text = text.replace('"recordings"', f'"{tmp_path / "recordings"}"')
    text = text.replace("epochs = 150", "epochs = 40")
    text = text.replace('adapter = "imgui"', 'adapter = "headless"')
    path = tmp_path / "protocol.toml"
    path.write_text(text + protocol.format(markers=f"proto-{tag}-cues"))
    return path


def built_setup(path: Path):
    registry = Registry.from_entry_points()
    setup = load_setup(path, registry)
    return setup, build(setup, registry, headless=True)


def cue_names(session) -> list[str]:
    names = session.labels.class_names
    return [names[e.class_index] for e in session.labels.events]


def expected_cues(spec, phase: str) -> list[str]:
    return [name for t in schedule(spec, phase) for name in (t.class_name, spec.rest_class)]


def test_a_full_protocol_calibrates_trains_predicts_online_and_evaluates(tmp_path):
    setup, built = built_setup(setup_file(tmp_path))
    app, pipeline = built.app, built.pipeline
    spec = protocol_spec(setup.section("protocol"), app.class_names)
    assert spec.classes == ("fist", "flexion", "extension") and spec.rest_class == "rest"
    markers = FakeMarkerOutlet()
    runner = ProtocolRunner(app, spec, pipeline, markers=markers, slug="s01",
                            exit_when_done=True)
    out = io.StringIO()
    app.run(ProtocolTerminal(runner, out=out, problems=io.StringIO(), keys=io.StringIO()))

    result = runner.result
    assert result.completed, (result.error, out.getvalue())
    assert result.trials == {"calibrate": 9, "online": 6}
    assert result.repeated == {"calibrate": 0, "online": 0}
    # the terminal showed the cues, trial k of n and the streams' health, then the summary
    text = out.getvalue()
    assert "[1/4 calibrate]" in text and "trial 9 of 9" in text and "emg 2" in text
    assert "[3/4 online]" in text and "protocol summary" in text

    # calibrate: every cue labelled at its onset, the rest at its offset, in the seeded order;
    # the markers carry the same names at the same times (the labels' times, stream clock)
    with app.store.read(result.calibrate) as session:
        assert cue_names(session) == expected_cues(spec, "calibrate")
        calib_times = [e.time for e in session.labels.events]
        assert session.meta.extras["protocol"]["phase"] == "calibrate"
        counts = session.labels.counts(session.end_time)
        assert counts == {"rest": 9, "fist": 3, "flexion": 3, "extension": 3}
        emg_ts = session.timestamps("emg")
        assert emg_ts[0] <= calib_times[0] and calib_times[-1] <= emg_ts[-1]
    onsets, offsets = calib_times[0::2], calib_times[1::2]
    assert all(off - on >= spec.trial_s - 1e-3 for on, off in zip(onsets, offsets))
    assert all(on2 - off >= spec.rest_s - 1e-3 for off, on2 in zip(offsets, onsets[1:]))
    pushed = markers.markers
    assert [m for m, _ in pushed] == expected_cues(spec, "calibrate") \
        + expected_cues(spec, "online")
    assert [t for _, t in pushed[:len(calib_times)]] == calib_times
    assert markers.closed

    # train: a cross-validated report well above chance; the model saved with its report
    report = result.report
    assert report.validated and report.accuracy > report.chance + 0.3, report.summary()
    model = Path(result.model)
    assert model.exists() and (model.parent / "report.json").exists()

    # online: inputs, cues, every prediction, the model by its hash; accuracy far above chance
    with app.store.read(result.online) as session:
        assert session.stream_names[:2] == ("emg", "predictions")
        assert cue_names(session) == expected_cues(spec, "online")
        assert session.meta.extras["protocol"]["phase"] == "online"
        entry = session.meta.extras["online"]["pipelines"][0]
        assert entry["model"]["file"] == str(model)
        _, pred_ts = session.data("predictions")
        assert pred_ts.size > 50
        online_times = [e.time for e in session.labels.events]
        assert pred_ts[0] <= online_times[0] and online_times[-1] <= pred_ts[-1]
        assert [t for _, t in pushed[len(calib_times):]] == online_times
    score = result.score
    chance = 1 / len(app.class_names)
    assert score.scored > 50 and score.accuracy > chance + 0.35, score.lines()
    assert len(score.latencies) == 12 and score.missed <= 2

    summary = json.loads((model.parent / "protocol.json").read_text())
    assert summary["completed"] and summary["online"] == result.online
    assert math.isclose(summary["online_score"]["accuracy"], score.accuracy)
    assert summary["report"]["cross_validated_accuracy"] == pytest.approx(report.accuracy)


def test_hexloop_run_protocol_publishes_the_cues_as_an_lsl_marker_stream(tmp_path, capsys):
    pylsl = pytest.importorskip("pylsl")
    from hexloop.application.composition import cli

    protocol = PROTOCOL.replace("repetitions = 3", "repetitions = 1") + \
        'phases = ["calibrate"]\n'
    path = setup_file(tmp_path, protocol)
    name = load_setup(path, Registry.from_entry_points()).section("protocol")["markers"]
    got: list = []
    done = threading.Event()

    def listen():
        found = pylsl.resolve_bypred(f"name='{name}'", 1, 20.0)
        if not found:
            return
        inlet = pylsl.StreamInlet(found[0])
        info = inlet.info(5.0)
        got.append((info.type(), info.channel_format(), info.nominal_srate()))
        while True:  # until the run ended and nothing more is buffered
            sample, stamp = inlet.pull_sample(timeout=0.5)
            if sample is not None:
                got.append((sample[0], stamp))
            elif done.is_set():
                return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    code = cli.main(["run", str(path), "--protocol", "--headless"])
    done.set()
    listener.join(10)
    assert code == 0, capsys.readouterr()
    printed = capsys.readouterr().out
    assert "[1/1 calibrate]" in printed and "protocol summary" in printed
    assert "calibrate 3 trials" in printed
    assert got and got[0] == ("Markers", pylsl.cf_string, pylsl.IRREGULAR_RATE)
    setup = load_setup(path, Registry.from_entry_points())
    spec = protocol_spec(setup.section("protocol"), tuple(setup.app["class_names"]))
    names = [m for m, _ in got[1:]]  # a marker pushed before the inlet connected is not seen
    assert len(names) >= 2 and names == expected_cues(spec, "calibrate")[-len(names):]
    stamps = np.array([t for _, t in got[1:]])
    assert (np.diff(stamps) > 0).all()


RAMPS = """
[protocol]
classes = ["fist", "flexion"]
repetitions = 3
online_repetitions = 2
cue_s = 0.2
hold_s = 0.6
rest_s = 0.3
ramp_s = 0.2
slug = "ramps"
markers = ""
"""


def test_a_protocol_with_ramps_records_the_cue_level_and_trains_a_regression(tmp_path):
    from hexloop.domain.protocol import RampScore, target_level

    path = setup_file(tmp_path, RAMPS)
    path.write_text(path.read_text().replace('"torch_classifier"', '"torch_regressor"'))
    setup, built = built_setup(path)
    app = built.app
    spec = protocol_spec(setup.section("protocol"), app.class_names)
    runner = ProtocolRunner(app, spec, built.pipeline, slug="ramps", exit_when_done=True)
    assert built.pipeline.stream_names == ["emg"]  # the level is the target, never an input
    app.run(ProtocolTerminal(runner, out=io.StringIO(), problems=io.StringIO(),
                             keys=io.StringIO()))
    result = runner.result
    assert result.completed, result.error
    with app.store.read(result.calibrate) as session:
        assert session.stream_names == ("emg", "cue_level")
        level, ts = session.data("cue_level")
        assert session.info("cue_level").channel_names == ("fist", "flexion")
        names = session.labels.class_names
        events = session.labels.events
        expected = np.zeros_like(level)
        for i, event in enumerate(events):  # the level is the ramp from each cue's onset
            stop = events[i + 1].time if i + 1 < len(events) else np.inf
            name = names[event.class_index]
            if name in spec.classes:
                inside = (ts >= event.time) & (ts < stop)
                expected[spec.classes.index(name), inside] = [
                    target_level(spec, t - event.time) for t in ts[inside]]
        assert np.allclose(level, expected, atol=1e-6)
        assert level.max() == pytest.approx(1.0) and 0 < level[level > 0].min() < 1
    assert result.report.task == "regression"
    score = result.score
    assert isinstance(score, RampScore) and score.scored > 50
    assert all(r > 0.5 for r in score.correlation), score.lines()
