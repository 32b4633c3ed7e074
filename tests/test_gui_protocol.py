"""The same protocol in the window (#15): the Cue panel shows the cue large, its buttons and
the keys p / r / a drive the runner, and the whole protocol (calibrate, train, online with
recording, evaluate) runs on the simulated source under imgui's test engine."""

from __future__ import annotations

import pytest

pytest.importorskip("imgui_bundle")
pytest.importorskip("torch")
pytest.importorskip("zarr")

from imgui_bundle import imgui  # noqa: E402

from hexloop.adapters.fakes import FakeMarkerOutlet  # noqa: E402
from hexloop.adapters.imgui import ImGuiRenderer  # noqa: E402
from hexloop.adapters.imgui.viewmodels.cue import cue_view  # noqa: E402
from hexloop.application.composition.protocolsetup import protocol_spec  # noqa: E402
from hexloop.application.protocol import ProtocolRunner  # noqa: E402
from hexloop.domain.protocol import HOLD, CueView  # noqa: E402
from tests.test_gui_window import display, wait  # noqa: E402,F401
from tests.test_protocol_run import built_setup, cue_names, setup_file  # noqa: E402

pytestmark = pytest.mark.timeout(180)


def test_the_cue_view_model_says_what_to_do_and_what_can_be_pressed():
    shown = cue_view(CueView(phase="calibrate", phases=("calibrate", "train"), step=HOLD,
                             cue="fist", trial=2, trials=6, remaining_s=0.84))
    assert (shown.cue.text, shown.cue.tone, shown.step, shown.countdown, shown.trial) == \
        ("FIST", "green", "hold", "0.8 s", "trial 2 of 6")
    assert shown.heading == "calibrate (1 of 2)" and shown.pause.enabled and shown.repeat.enabled
    training = cue_view(CueView(phase="train", phases=("calibrate", "train"), step="training",
                                message="training 40%"))
    assert training.cue.text == "training" and not training.pause.enabled
    assert training.abort.enabled and training.message.text == "training 40%"
    done = cue_view(CueView(phase="train", phases=("calibrate", "train"), step="done"))
    assert not done.abort.enabled and done.abort.refusal == "the protocol has ended"
    ready = cue_view(CueView(phase="calibrate", phases=("calibrate",), step="waiting",
                             paused=True))
    assert (ready.cue.text, ready.pause.label, ready.pause.enabled) == ("READY?", "Start (p)",
                                                                       True)
    paused = cue_view(CueView(phase="online", phases=("online",), step="rest", paused=True))
    assert (paused.cue.text, paused.pause.label, paused.countdown) == ("PAUSED", "Resume (p)", "")
    ramp = cue_view(CueView(phase="online", phases=("online",), step=HOLD, level=0.5), True)
    assert ramp.level == 0.5


def test_a_whole_protocol_driven_in_the_window(display, tmp_path):  # noqa: F811
    setup, built = built_setup(setup_file(tmp_path))
    app = built.app
    spec = protocol_spec(setup.section("protocol"), app.class_names)
    runner = ProtocolRunner(app, spec, built.pipeline, markers=FakeMarkerOutlet(), slug="gui",
                            start_paused=True)  # as hexloop run --protocol opens the window
    seen = {}

    def labels():
        track = app.ctx.labels
        names = app.class_names
        return [] if track is None else [names[e.class_index] for e in track.events]

    def in_hold(trial):
        v = runner.snapshot()
        return v.phase == "calibrate" and v.step == HOLD and v.trial == trial and not v.paused

    def script(t):
        assert wait(t, lambda: runner.snapshot().step == "waiting" and runner.paused, 20)
        assert app.ctx.labels is None  # nothing is cued before the user starts it
        t.item_click("//**/Start (p)")
        assert wait(t, lambda: in_hold(1), 20), runner.snapshot()
        first = runner.snapshot().cue
        t.key_press(imgui.Key.r)  # the keys act as the buttons do (clicks take longer)
        assert wait(t, lambda: labels()[:3] == [first, "rest", first], 5), labels()
        assert wait(t, lambda: in_hold(1), 5)
        t.key_press(imgui.Key.p)
        assert wait(t, lambda: runner.paused, 5)
        seen["paused labels"] = labels()
        t.item_click("//**/Resume (p)")
        assert wait(t, lambda: not runner.paused, 5)
        assert wait(t, lambda: runner.done.is_set(), 150), runner.snapshot()
        seen["final"] = runner.snapshot()

    renderer = ImGuiRenderer(size=(1100, 760), ini_path=False, script=script, fps_max=30,
                             vsync=False)
    app.run(renderer)
    assert renderer.script_status == "success", renderer.script_log
    result = runner.result
    assert result.completed, result.error
    assert result.repeated["calibrate"] == 2  # the repeat, and the trial the pause cut
    assert result.trials == {"calibrate": 11, "online": 6}
    assert seen["paused labels"][-1] == "rest" and seen["final"].step == "done"
    with app.store.read(result.calibrate) as session:
        assert session.labels.counts(session.end_time)["rest"] == 11
    with app.store.read(result.online) as session:
        assert cue_names(session)[1::2] == ["rest"] * 6
        assert session.data("predictions")[1].size > 50
    assert result.score.accuracy > 1 / len(app.class_names) + 0.35, result.score.lines()
