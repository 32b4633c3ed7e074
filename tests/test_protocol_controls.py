"""Protocol keys (#15): pause, repeat the trial, abort the phase, quit; each labelled so the
recording says what happened, the markers matching the labels; `hexloop check` on [protocol]."""

from __future__ import annotations

import io
import textwrap

import pytest

from hexloop.adapters.fakes import FakeMarkerOutlet, FakeStore
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, Stream
from hexloop.application.composition import cli
from hexloop.application.protocol import ProtocolRunner
from hexloop.application.protocol_terminal import ProtocolTerminal
from hexloop.domain.protocol import HOLD, REST, ProtocolSpec
from tests.helpers import run_in_thread, wait_for

CLASSES = ("rest", "fist", "flexion")
pytestmark = pytest.mark.timeout(60)


def make(hold_s=30.0, rest_s=0.05, markers=None, **kw):
    app = App("keys", store=FakeStore(), class_names=CLASSES)
    app.streams(Stream("emg", SimulatedSource("emg", 2, 500.0, class_names=CLASSES),
                       window_ms=50))
    spec = ProtocolSpec(classes=("fist", "flexion"), repetitions=1, cue_s=0, hold_s=hold_s,
                        rest_s=rest_s, order="sequential", phases=("calibrate",), **kw)
    runner = ProtocolRunner(app, spec, markers=markers or FakeMarkerOutlet(),
                            exit_when_done=True)
    return app, runner


def labels(app) -> list[str]:
    track = app.ctx.labels
    return [] if track is None else [CLASSES[e.class_index] for e in track.events]


def at(runner, step, trial):
    view = runner.snapshot()
    return view.step == step and view.trial == trial and not view.paused


def test_repeat_pause_and_abort_are_labelled_and_published(tmp_path):
    app, runner = make()
    thread, errors = run_in_thread(lambda: app.run(quiet(runner)))
    assert wait_for(lambda: at(runner, HOLD, 1), 10)
    assert runner.key("r")  # wrong gesture: the trial ends now, rests, and comes again
    assert wait_for(lambda: labels(app) == ["fist", "rest", "fist"] and at(runner, HOLD, 1), 5)
    assert runner.key("p")  # paused mid-trial: labelled rest at once
    assert wait_for(lambda: labels(app) == ["fist", "rest", "fist", "rest"], 5)
    assert runner.snapshot().paused and "PAUSED" in runner.snapshot().line()
    assert labels(app) == ["fist", "rest", "fist", "rest"]  # nothing more while paused
    runner.key("P")  # resume: the cut trial runs again after a rest
    assert wait_for(lambda: labels(app)[-1:] == ["fist"] and len(labels(app)) == 5, 5)
    assert runner.key("a")  # abort the phase: its offset is labelled, the recording kept
    thread.join(10)
    assert not thread.is_alive() and not errors
    assert labels(app) == ["fist", "rest", "fist", "rest", "fist", "rest"]
    result = runner.result
    assert (result.completed, result.aborted) == (False, ["calibrate"])
    assert result.trials == {"calibrate": 3} and result.repeated == {"calibrate": 2}
    assert result.calibrate is not None and app.ctx.last_summary.labels == 6
    events = app.ctx.labels.events
    assert runner.markers is not None
    assert [(CLASSES[e.class_index], e.time) for e in events] == runner.markers.markers
    assert not runner.key("x")


def test_a_repeat_during_the_rest_runs_the_last_trial_again():
    app, runner = make(hold_s=0.05, rest_s=30.0)
    thread, errors = run_in_thread(lambda: app.run(quiet(runner)))
    assert wait_for(lambda: at(runner, REST, 1), 10)
    runner.repeat()
    runner.abort()  # the rest is cut by the abort; the repeat was asked for in it
    thread.join(10)
    assert labels(app) == ["fist", "rest"] and runner.result.aborted == ["calibrate"]


def test_quit_ends_the_protocol_and_a_failing_marker_outlet_only_warns():
    markers = FakeMarkerOutlet(fail_pushes=10)
    app, runner = make(markers=markers)
    keys = Keys()
    thread, errors = run_in_thread(lambda: app.run(quiet(runner, keys)))
    assert wait_for(lambda: at(runner, HOLD, 1), 10)
    keys.typed.append("q")  # typed at the terminal
    thread.join(10)
    assert not thread.is_alive() and labels(app) == ["fist", "rest"]
    warnings = [e.message for e in app.ctx.log.entries() if e.level == "warning"
                and "marker outlet" in e.message]
    assert len(warnings) == 1 and "labels are recorded" in warnings[0]
    assert runner.result.aborted == [] and not runner.result.completed


class Keys(io.StringIO):
    """Keys typed at the terminal, for ProtocolTerminal (a tty's stdin in real runs)."""

    def __init__(self):
        super().__init__()
        self.typed: list[str] = []

    def read_key(self):
        return self.typed.pop(0) if self.typed else None


def quiet(runner, keys=None):
    return ProtocolTerminal(runner, out=io.StringIO(), problems=io.StringIO(),
                            keys=keys if keys is not None else Keys())


GOOD = """
[app]
name = "p"
class_names = ["rest", "fist", "pinch"]

[[streams]]
name = "emg"
source = "simulated"

[store]
adapter = "zarr"
"""


@pytest.mark.parametrize("table, key, words", [
    ('classes = ["fist", "kick"]', "protocol.classes", "not among the app's class_names"),
    ("repetitions = 0", "protocol.repetitions", "1..10000"),
    ("cue_s = -1", "protocol.cue_s", "0..3600"),
    ('rest_class = "nap"', "protocol.rest_class", "not among"),
    ('order = "shuffle"', "protocol.order", "random"),
    ('phases = ["calibrate", "train"]', "pipeline", "add a [pipeline]"),
    ('phases = ["online", "calibrate"]', "protocol.phases", "in that order"),
    ("seed = 1.5", "protocol.seed", "whole number"),
    ("holds = 2", "protocol.holds", "did you mean 'hold_s'"),
])
def test_hexloop_check_names_the_protocol_key_that_is_wrong(tmp_path, capsys, table, key, words):
    path = tmp_path / "setup.toml"
    path.write_text(GOOD + '\n[protocol]\nphases = ["calibrate"]\n' + table + "\n"
                    if not table.startswith("phases") else GOOD + "\n[protocol]\n" + table + "\n")
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    line = next((x for x in err.splitlines() if f": {key}:" in x), None)
    assert line is not None and words in line, err


def test_hexloop_check_accepts_a_protocol_and_says_its_phases(tmp_path, capsys):
    pytest.importorskip("zarr")  # the [store]'s extra (the core install lacks it)
    path = tmp_path / "setup.toml"
    path.write_text(GOOD + textwrap.dedent("""
        [protocol]
        repetitions = 4
        cue_s = 1
        hold_s = 2.5
        phases = ["calibrate"]
    """))
    assert cli.main(["check", str(path)]) == 0, capsys.readouterr().err
    assert "protocol calibrate" in capsys.readouterr().out


def test_run_protocol_without_a_protocol_table_says_what_to_add(tmp_path, capsys):
    path = tmp_path / "setup.toml"
    path.write_text(GOOD.split("[store]")[0] + '\n[renderer]\nadapter = "headless"\n')
    assert cli.main(["run", str(path), "--protocol", "--headless"]) == 2
    assert "--protocol needs a [protocol] table" in capsys.readouterr().err


def test_hexloop_check_says_ramps_need_a_regressor(tmp_path, capsys):
    path = tmp_path / "setup.toml"
    path.write_text(GOOD + textwrap.dedent("""
        [model]
        adapter = "torch_classifier"

        [pipeline]

        [protocol]
        classes = ["fist"]
        ramp_s = 0.5
    """))
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert ": model.adapter: a protocol with ramps" in err and "torch_regressor" in err


def test_the_app_exiting_mid_trial_keeps_the_session_and_reports_no_error():
    app, runner = make()
    thread, errors = run_in_thread(lambda: app.run(quiet(runner)))
    assert wait_for(lambda: at(runner, HOLD, 1), 10)
    app.request_exit()  # the window closed, Ctrl-C: the app and the runner both close up
    thread.join(10)
    assert not thread.is_alive() and not errors
    assert runner.done.is_set() and runner.result.error is None
    assert not runner.result.completed and runner.result.aborted == []
    assert app.ctx.last_summary is not None and app.ctx.recording is None
    assert labels(app)[0] == "fist"
