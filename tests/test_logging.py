"""One logging path (#16): adapters and the app log through `logging` under `hexloop`; the app's
Log (the GUI's log panel, the headless renderer) is a view of it; `--log-level`, `--log-file` and
HEXLOOP_LOG_LEVEL choose what is written, and only the CLI adds handlers."""

from __future__ import annotations

import io
import logging
import types

import pytest

from hexloop.adapters.lsl_common.info import clean_labels
from hexloop.application import App
from hexloop.application.composition import cli
from hexloop.application.composition.logconfig import LEVEL_ENV, configure
from hexloop.application.headless import HeadlessRenderer
from hexloop.application.log import LOGGER, ConsoleHandler, Log

ADAPTER = "hexloop.adapters.lsl_common.info"


def adapter_warning() -> None:
    """The LSL source's own warning: a stream describing 1 label for 2 channels."""
    assert clean_labels(["only-one"], 2, "ch{}", "labels", "emg-logtest") is None


def panel(app):
    """What the GUI's log panel lists (skips where imgui-bundle is not installed: the core venv)."""
    log_view = pytest.importorskip("hexloop.adapters.imgui.viewmodels.log",
                                   exc_type=ImportError).log_view
    state = types.SimpleNamespace(log_hidden_before=0.0, log_level=0, log_follow=True)
    return [f"{e.level} {e.source}: {e.message}" for e in log_view(app.ctx, state).entries]


@pytest.fixture
def clean_logger():
    """The `hexloop` logger as the CLI leaves it: no handler of ours, level unset."""
    logger = logging.getLogger(LOGGER)
    before, level = list(logger.handlers), logger.level
    yield logger
    assert [h for h in logger.handlers if isinstance(h, ConsoleHandler)] == []
    logger.handlers[:] = before
    logger.setLevel(level)


def test_an_adapter_warning_shows_in_the_apps_log_panel_and_the_log_file(tmp_path, capsys,
                                                                          clean_logger):
    app = App("logtest")
    log_file = tmp_path / "hexloop.log"
    undo = configure(None, log_file)
    try:
        adapter_warning()
        app.ctx.log.warning("protocol", "a cue came late")
    finally:
        undo()
    shown = panel(app)
    assert any(line.startswith("warning lsl_common.info: LSL stream 'emg-logtest' describes 1 "
                               "channel labels for 2 channels") for line in shown), shown
    assert "warning protocol: a cue came late" in shown
    text = log_file.read_text()
    assert "WARNING lsl_common.info: LSL stream 'emg-logtest' describes 1" in text
    assert "WARNING protocol: a cue came late" in text
    err = capsys.readouterr().err  # stderr shows each once
    assert err.count("describes 1 channel labels") == 1 and err.count("a cue came late") == 1


def test_app_error_once_reaches_caplog_once_and_the_log_keeps_it(caplog):
    app = App("logtest")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        for _ in range(3):
            app.ctx.log.error_once("callback", ValueError("boom"))
    records = [r for r in caplog.records if "boom" in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.ERROR
    assert records[0].hexloop_source == "callback" and records[0].name.startswith("hexloop.")
    assert [e.message for e in app.ctx.log.entries("error")] == ["ValueError: boom"]
    assert app.ctx.log.occurrences("callback", "ValueError: boom") == 3


def test_a_log_shows_records_once_and_only_other_apps_records_it_did_not_emit():
    first, second = Log(), Log()
    first.warning("mine", "only in the first")
    logging.getLogger(ADAPTER).warning("from an adapter")
    assert [e.message for e in first.entries()] == ["only in the first", "from an adapter"]
    assert [e.message for e in second.entries()] == ["from an adapter"]


def test_a_log_that_is_gone_leaves_no_handler_behind():
    import gc

    logger = logging.getLogger(LOGGER)
    gc.collect()  # the Logs of earlier tests
    before = len(logger.handlers)
    log = Log()
    assert len(logger.handlers) == before + 1
    del log
    gc.collect()
    assert len(logger.handlers) == before


def fake_command(args) -> int:
    """Stands in for a command: logs at every level from an adapter and from the app."""
    adapter = logging.getLogger(ADAPTER)
    adapter.debug("debug-line")
    adapter.info("info-line")
    adapter.warning("warning-line")
    App("logtest").ctx.log.info("app", "app-info-line")
    return 0


@pytest.mark.parametrize("level, kept, dropped", [
    ("debug", ["debug-line", "info-line", "warning-line", "app-info-line"], []),
    ("info", ["info-line", "warning-line", "app-info-line"], ["debug-line"]),
    ("WARNING", ["warning-line"], ["debug-line", "info-line", "app-info-line"]),
])
def test_log_level_filters_the_log_file_and_stderr(tmp_path, monkeypatch, capsys, clean_logger,
                                                   level, kept, dropped):
    monkeypatch.setattr(cli, "cmd_adapters", fake_command)
    log_file = tmp_path / "run.log"
    assert cli.main(["--log-level", level, "--log-file", str(log_file), "adapters"]) == 0
    text, err = log_file.read_text(), capsys.readouterr().err
    for line in kept:
        assert line in text and line in err
    for line in dropped:
        assert line not in text and line not in err


def test_the_log_options_also_follow_the_command(tmp_path, monkeypatch, capsys, clean_logger):
    """`hexloop run setup.toml --log-level debug` works as well as before the command; given in
    both places, the one after the command wins."""
    monkeypatch.setattr(cli, "cmd_adapters", fake_command)
    log_file = tmp_path / "after.log"
    assert cli.main(["adapters", "--log-level", "debug", "--log-file", str(log_file)]) == 0
    assert "debug-line" in log_file.read_text()
    capsys.readouterr()
    assert cli.main(["--log-level", "debug", "adapters", "--log-level", "error"]) == 0
    err = capsys.readouterr().err
    assert "warning-line" not in err and "debug-line" not in err


def test_the_environment_chooses_the_level_and_stderr_shows_warnings_by_default(
        tmp_path, monkeypatch, capsys, clean_logger):
    monkeypatch.setattr(cli, "cmd_adapters", fake_command)
    monkeypatch.delenv(LEVEL_ENV, raising=False)
    log_file = tmp_path / "run.log"
    assert cli.main(["--log-file", str(log_file), "adapters"]) == 0
    err = capsys.readouterr().err
    assert "warning-line" in err and "info-line" not in err  # the terminal: warnings
    assert "info-line" in log_file.read_text()  # the file: info by default
    monkeypatch.setenv(LEVEL_ENV, "debug")
    assert cli.main(["adapters"]) == 0
    assert "debug-line" in capsys.readouterr().err


def test_a_wrong_level_or_log_file_is_exit_2_saying_what_to_write(tmp_path, capsys, monkeypatch,
                                                                    clean_logger):
    assert cli.main(["--log-level", "loud", "adapters"]) == 2
    assert "--log-level 'loud' is not a level: use one of debug, info, warning, error" in \
        capsys.readouterr().err
    monkeypatch.setenv(LEVEL_ENV, "chatty")
    assert cli.main(["adapters"]) == 2
    assert f"{LEVEL_ENV} 'chatty' is not a level" in capsys.readouterr().err
    monkeypatch.delenv(LEVEL_ENV)
    assert cli.main(["--log-file", str(tmp_path / "no" / "such" / "dir.log"), "adapters"]) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_headless_renderer_leaves_problems_to_the_console_handler_when_there_is_one(
        clean_logger, capsys):
    """No line twice: with the CLI's console handler the renderer does not print them again."""
    app = App("logtest")
    app.before_run_hooks.append(lambda a: a.ctx.log.warning("hook", "once-only"))
    undo = configure(None)
    try:
        app.run(HeadlessRenderer(interval=0, duration=0.3, out=io.StringIO()))
    finally:
        undo()
    assert capsys.readouterr().err.count("once-only") == 1
    problems = io.StringIO()  # without the console handler it prints them itself
    app2 = App("logtest")
    app2.before_run_hooks.append(lambda a: a.ctx.log.warning("hook", "printed"))
    app2.run(HeadlessRenderer(interval=0, duration=0.3, out=io.StringIO(), problems=problems))
    assert "warning: hook: printed" in problems.getvalue()
