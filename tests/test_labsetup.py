"""Lab-setup files: every problem is reported at once with file, key and what to write instead."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hexloop.application.composition.build import build
from hexloop.application.composition.labsetup import SetupInvalid, load_setup
from hexloop.application.composition.registry import Registry

GOOD = """
[app]
name = "sim-only"
class_names = ["rest", "fist"]

[[streams]]
name = "emg"
source = "simulated"
window_ms = 200
buffer_ms = 5000
options = { channels = 4, rate = 500.0 }
"""


def write(tmp_path, text, name="setup.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text):
    with pytest.raises(SetupInvalid) as info:
        load_setup(write(tmp_path, text), Registry.from_entry_points())
    return [str(p) for p in info.value.problems]


def test_a_good_setup_builds_an_app_with_its_streams(tmp_path):
    setup = load_setup(write(tmp_path, GOOD), Registry.from_entry_points())
    built = build(setup, Registry.from_entry_points(), headless=True, duration=0.1)
    assert list(built.app.ctx.streams) == ["emg"]
    stream = built.app.ctx.streams["emg"]
    assert stream.source.info.channel_count == 4 and stream.window_ms == 200
    assert built.app.class_names == ("rest", "fist")
    assert built.pipeline is None


def test_every_problem_is_reported_at_once_with_key_and_advice(tmp_path):
    found = problems(tmp_path, """
        [app]
        nme = "typo"
        class_names = ["rest", "rest"]

        [[streams]]
        name = "emg"
        source = "simulated"
        window_ms = 500
        buffer_ms = 100
        options = { channel = 4 }

        [[streams]]
        name = "emg"
        source = "no-such-source"
        window_ms = -1

        [pipelin]
        predict_hz = 50

        [[outputs]]
        transport = "nope"
        hz = "fast"
    """)
    text = "\n".join(found)
    assert all(line.startswith(str(tmp_path / "setup.toml")) for line in found)
    assert "app.nme: unknown key; did you mean 'name'?" in text
    assert "app.name: is required" in text
    assert "app.class_names: must not repeat a name" in text
    assert "streams[0].window_ms: is longer than buffer_ms" in text
    assert "streams[0].options.channel: not an option of this adapter; did you mean 'channels'?" in text
    assert "streams: stream name 'emg' is used twice" in text
    assert "streams[1].source: no source adapter named 'no-such-source'" in text
    assert "streams[1].window_ms: must be greater than 0" in text
    assert "pipelin: unknown section; did you mean 'pipeline'?" in text
    assert "outputs[0].hz: must be a number, got 'fast'" in text
    assert "outputs[0].transport: no transport adapter named 'nope'" in text
    assert "[[outputs]] send predictions: add [pipeline]" in text
    assert len(found) >= 12


@pytest.mark.parametrize("text, expected", [
    ("[app\nname=1", "not valid TOML"),
    ('[app]\nname = "x"\n', "streams: at least one [[streams]] is needed"),
    ('streams = 3\n[app]\nname = "x"\n', "write it as [[streams]] tables"),
    (GOOD + "\n[pipeline]\npredict_hz = 0\n", "pipeline.predict_hz: must be greater than 0"),
    (GOOD + "\n[pipeline]\nstreams = ['eeg']\n", "no stream named 'eeg'"),
    (GOOD + "\n[pipeline]\n", "a [pipeline] needs a [model] to train"),
    (GOOD + "\n[store]\noptions = {}\n", "store.adapter: is required"),
    (GOOD + "\n[renderer]\nadapter = 'headless'\noptions = {interval = true}\n",
     "renderer.options.interval"),
    (GOOD.replace('source = "simulated"', "source = 3"), "streams[0].source: must be a string"),
])
def test_each_kind_of_mistake(tmp_path, text, expected):
    assert any(expected in p for p in problems(tmp_path, text)), problems(tmp_path, text)


def test_a_missing_file_is_one_clear_problem(tmp_path):
    with pytest.raises(SetupInvalid, match="file not found"):
        load_setup(tmp_path / "absent.toml", Registry.from_entry_points())


def test_hexloop_run_streams_a_setup_headless_and_reports_bad_files(tmp_path):
    path = write(tmp_path, GOOD)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cli = [sys.executable, "-m", "hexloop.application.composition.cli"]
    out = subprocess.run(cli + ["run", str(path), "--headless", "--duration", "1.5"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "emg" in out.stdout and "streaming" in out.stdout
    bad = write(tmp_path, '[app]\nname = "x"\n[[streams]]\nname="a"\nsource="zzz"\n', "bad.toml")
    out = subprocess.run(cli + ["run", str(bad), "--headless"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 2
    assert "streams[0].source: no source adapter named 'zzz'" in out.stderr


@pytest.mark.parametrize("command", ["run", "check", "demo", "streams", "simulate", "adapters", "inspect",
                                     "recover"])
def test_every_command_has_help(command):
    out = subprocess.run([sys.executable, "-m", "hexloop.application.composition.cli", command,
                          "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage: hexloop " + command in out.stdout


def test_bridge_tables_pass_their_name_and_options_follow_annotations(tmp_path):
    pytest.importorskip("cv2")
    pytest.importorskip("zarr")
    ok = GOOD + '\n[[bridges]]\nadapter = "webcam"\nname = "cam"\noptions = { device = "clip.avi", fps = 30 }\n'
    load_setup(write(tmp_path, ok), Registry.from_entry_points())  # a file path is a valid device
    bad = ok.replace('device = "clip.avi"', "device = [0]").replace("fps = 30", 'fps = "30"')
    found = problems(tmp_path, bad)
    assert any("bridges[0].options.device: must be a number or a string" in p for p in found)
    assert any("bridges[0].options.fps: must be a number" in p for p in found)
    named = ok.replace("fps = 30", 'fps = 30, name = "x"')
    assert any("bridges[0].options.name: not an option" in p for p in problems(tmp_path, named))


def test_hexloop_run_starts_the_setups_bridges_and_stops_them_at_the_end(tmp_path):
    marker, pidfile = tmp_path / "started", tmp_path / "pid"
    child = (f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); "
             f"open({str(marker)!r}, 'w').close(); time.sleep(60)")
    setup = GOOD + (
        '\n[[bridges]]\nadapter = "command"\nname = "helper"\n'
        f'options = {{ argv = [{sys.executable!r}, "-c", {child!r}], log_dir = '
        f'{str(tmp_path / "logs")!r} }}\n'
    )
    out = subprocess.run([sys.executable, "-m", "hexloop.application.composition.cli", "run",
                          str(write(tmp_path, setup)), "--headless", "--duration", "2"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert marker.exists()  # the bridge ran during the run
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # and is gone after it


def _fake_registry():
    from hexloop.adapters.fakes import FakeModel, FakeStore

    registry = Registry.from_entry_points()
    registry.register("store", "fake", FakeStore)
    registry.register("model", "fake", FakeModel)
    return registry


WITH_PIPELINE = GOOD + '\n[model]\nadapter = "fake"\n\n[pipeline]\npredict_hz = 20\n'


def test_hexloop_run_refuses_a_record_or_model_it_cannot_honour(tmp_path, monkeypatch, capsys):
    from hexloop.application.composition import cli

    monkeypatch.setattr(cli, "_registry", _fake_registry)
    bare, piped = write(tmp_path, GOOD), write(tmp_path, WITH_PIPELINE, "piped.toml")
    assert cli.main(["run", str(bare), "--headless", "--duration", "5", "--record", "s01"]) == 2
    assert "--record needs a [store]" in capsys.readouterr().err
    corrupt = tmp_path / "model.json"
    corrupt.write_text("not a model")
    assert cli.main(["run", str(piped), "--headless", "--model", str(corrupt)]) == 2
    assert f"cannot load the model {corrupt}" in capsys.readouterr().err
    assert cli.main(["run", str(piped), "--headless", "--model", str(tmp_path / "none")]) == 2
    assert "cannot load the model" in capsys.readouterr().err


def test_hexloop_run_record_saves_a_session(tmp_path, monkeypatch, capsys):
    from hexloop.application.composition import cli

    monkeypatch.setattr(cli, "_registry", _fake_registry)
    stored = write(tmp_path, GOOD + '\n[store]\nadapter = "fake"\n')
    assert cli.main(["run", str(stored), "--headless", "--duration", "1", "--record", "s01"]) == 0
    assert "session saved to memory://sim-only/" in capsys.readouterr().out


def test_the_pipelines_step_ms_sets_the_hop_between_training_windows(tmp_path):
    from hexloop.adapters.fakes import FakeStore
    from hexloop.domain.labels import LabelEvent
    from hexloop.domain.session import SessionMeta
    from hexloop.domain.streams import StreamInfo

    registry = _fake_registry()
    setup = load_setup(write(tmp_path, WITH_PIPELINE + "step_ms = 100\n"), registry)
    built = build(setup, registry, headless=True)
    store = FakeStore()
    session = store.open_session(SessionMeta("sim-only", (StreamInfo("emg", 4, 500.0),),
                                             ("rest", "fist")))
    session.append("emg", np.zeros((1000, 4), np.float32), np.arange(1000) / 500.0)
    session.add_label(LabelEvent(0.0, 1))
    recorded = store.read(session.close().location)
    # 2 s at 500 Hz, 100-sample windows every 50 samples (100 ms): 19 windows, not 37 at 50 ms
    assert len(built.pipeline.training_data(recorded)) == 19
    assert len(built.pipeline.training_data(recorded, step_ms=50)) == 37

