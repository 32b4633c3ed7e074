"""ImGuiRenderer: the Renderer port as a docking imgui-bundle window on the main thread.

It lays out the built-in panels (streams, one signal viewer per stream, recording, pipelines,
predictions, bridges, log, status bar) plus one window per `@app.ui` function, remembers the
user's arrangement in an ini file kept outside the working directory, and returns when the
window closes or the app asks to exit. A panel that raises is logged once and the frame goes on.

Where the layout file is kept (layout_file.py) and the guard around each panel (guard.py) are
their own modules, re-exported here.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from imgui_bundle import hello_imgui, imgui, immapp

from hexloop.ports.renderer import RenderTarget

from . import panels
from .cuepanel import cue_panel
from .guard import call_guarded
from .guard import drawing as drawing
from .guard import recover as recover
from .layout_file import INI_ENV, default_ini_path
from .layout_file import user_config_dir as user_config_dir
from .state import gui_state

#: Dock spaces of the default layout (used the first time, or after View > Restore layout).
CONTROL, RECORD, PIPELINE, LOG, OUTPUT, USER, MAIN = (
    "ControlSpace", "RecordSpace", "PipelineSpace", "LogSpace", "OutputSpace", "UserSpace",
    "MainDockSpace",
)

CUE_SPACE = "CueSpace"  # a protocol's Cue panel (cuepanel.py)

ScriptFn = Callable[[Any], None]


class ImGuiRenderer:
    """The hexloop window. `App.run(ImGuiRenderer())` blocks on the main thread until it closes.

    title: window title (default "hexloop - <app name>"); size: (width, height) in pixels;
    ini_path: layout file (default: see `default_ini_path`; False keeps none); fps_idle: frame
    rate when nothing moves and no input arrives (0 renders at full rate, fit for live signals);
    fps_max: frame rate cap (0: none); vsync: wait for the monitor's refresh (off for
    benchmarks); tile_signals: one viewer above the other instead of tabs
    (default: tiled up to 4 streams); msaa: multisampling samples of the GL window (default 0:
    ImGui anti-aliases its own lines, fills and text, and under software GL each sample costs
    fill: hello_imgui's default of 8 more than doubles the frame time there). `script(test_ctx)` runs under imgui's test engine
    (tests, screenshots); with `exit_after_script` the window closes when it returns.
    """

    def __init__(
        self,
        title: str | None = None,
        size: Sequence[int] = (1440, 900),
        ini_path: str | os.PathLike | bool | None = None,
        fps_idle: float = 0.0,
        fps_max: float = 60.0,
        script: ScriptFn | None = None,
        exit_after_script: bool = True,
        vsync: bool = True,
        tile_signals: bool | None = None,
        msaa: int = 0,
    ):
        try:
            width, height = (int(v) for v in size)
        except (TypeError, ValueError):
            width = height = 0
        if min(width, height) < 200:
            raise ValueError(f"size must be (width, height) of at least 200 pixels each, "
                             f"e.g. (1440, 900); got {size!r}")
        if fps_idle < 0 or fps_max < 0:
            raise ValueError("fps_idle and fps_max must be >= 0 (0: no limit)")
        if not isinstance(msaa, int) or isinstance(msaa, bool) or not 0 <= msaa <= 16:
            raise ValueError(f"msaa must be a whole number of samples from 0 (none) to 16, "
                             f"e.g. 4; got {msaa!r}")
        self.title = title
        self.size = (width, height)
        self.ini_path = ini_path
        self.fps_idle = float(fps_idle)
        self.fps_max = float(fps_max)
        self.vsync = vsync
        self.tile_signals = tile_signals
        self.msaa = msaa
        self.script = script
        self.exit_after_script = exit_after_script
        self.frames = 0
        self.frame_times: list[float] = []  # seconds between frames, kept while `timing`
        self.timing = False
        self.script_error: BaseException | None = None
        self.script_status: str | None = None  # the test engine's verdict: "success", "error"...
        self.script_log = ""
        self.ini_file: Path | None = None  # the layout file of the last run, if any
        self._target: RenderTarget | None = None
        self._params: Any = None
        self._windows: set[str] = set()
        self._signal_spaces: dict[str, str] = {}
        self._status_at = 0.0
        self._last_frame: float | None = None

    # --- public ---------------------------------------------------------------------------
    def resolved_ini_path(self, title: str) -> Path | None:
        ini = self.ini_path
        if ini is False:
            return None
        if ini is None or ini is True:
            return default_ini_path(title)
        return Path(ini).expanduser()

    def run(self, target: RenderTarget) -> None:
        """Open the window and draw until it closes or `target.exit_requested`."""
        self._target = target
        self._windows = set()
        params = self._runner_params(target)
        addons = immapp.AddOnsParams(with_implot=True)
        try:
            if self.script is not None:
                self._run_script(params, addons)
            else:
                immapp.run(params, addons)
        finally:
            target.request_exit()
            self._finish_tasks(target.ctx)
            self._params = None
        if self.script_error is not None:
            raise self.script_error

    # --- setup ----------------------------------------------------------------------------
    def _runner_params(self, target) -> Any:
        ctx = target.ctx
        title = self.title or f"hexloop - {getattr(ctx.app, 'name', 'app')}"
        params = hello_imgui.RunnerParams()
        self._params = params
        params.app_window_params.window_title = title
        params.app_window_params.window_geometry.size = self.size
        params.app_window_params.restore_previous_geometry = True
        params.renderer_backend_options.open_gl_options.anti_aliasing_samples = self.msaa

        ini = self.resolved_ini_path(title)
        if ini is not None:
            ini = ini.resolve()
            try:
                ini.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                ctx.log.warning("gui", f"the layout will not be kept: cannot create {ini.parent} "
                                f"({e}); set {INI_ENV} to a writable file")
                ini = None
        if ini is None:
            params.ini_disable = True
        else:
            params.ini_folder_type = hello_imgui.IniFolderType.absolute_path
            params.ini_filename = str(ini)
        self.ini_file = ini

        window = params.imgui_window_params
        window.default_imgui_window_type = (
            hello_imgui.DefaultImGuiWindowType.provide_full_screen_dock_space)
        window.show_menu_bar = True
        window.show_status_bar = True
        window.show_status_fps = False  # the status panel shows it beside the state
        window.remember_status_bar_settings = False

        idling = params.fps_idling
        idling.enable_idling = self.fps_idle > 0
        idling.fps_idle = self.fps_idle
        idling.fps_max = self.fps_max
        idling.vsync_to_monitor = self.vsync

        params.callbacks.show_gui = self._each_frame
        params.callbacks.show_status = self._guarded("status bar", panels.status_bar)
        params.docking_params.docking_splits = self._splits(ctx, target)
        params.docking_params.dockable_windows = self._initial_windows(ctx, target)
        return params

    def _splits(self, ctx, target) -> list:
        def split(initial, new, direction, ratio):
            s = hello_imgui.DockingSplit()
            s.initial_dock, s.new_dock, s.direction, s.ratio = initial, new, direction, ratio
            return s

        d = imgui.Dir
        splits = [
            split(MAIN, CONTROL, d.left, 0.3),
            split(MAIN, LOG, d.down, 0.22),
            split(CONTROL, RECORD, d.down, 0.72),
            split(RECORD, PIPELINE, d.down, 0.55),
        ]
        if ctx.pipelines or target.ui_functions:
            splits.append(split(MAIN, OUTPUT, d.right, 0.3))
        if ctx.pipelines and target.ui_functions:
            splits.append(split(OUTPUT, USER, d.down, 0.5))
        if getattr(ctx, "protocol", None) is not None:  # the cue, large, above the signals
            splits.append(split(MAIN, CUE_SPACE, d.up, 0.45))
        names = list(ctx.streams)
        tile = self.tile_signals if self.tile_signals is not None else len(names) <= 4
        self._signal_spaces = {name: MAIN for name in names}
        if tile:
            previous = MAIN
            for i, name in enumerate(names[1:], start=1):
                space = f"SignalSpace{i}"
                # the new space takes all but one share of what is left above it
                splits.append(split(previous, space, d.down, (len(names) - i) / (len(names) - i + 1)))
                self._signal_spaces[name] = previous = space
        return splits

    def _window(self, label: str, space: str, fn: Callable[[Any], None]) -> Any:
        w = hello_imgui.DockableWindow()
        w.label = label
        w.dock_space_name = space
        w.gui_function = self._guarded(label, fn)
        self._windows.add(label)
        return w

    def _wanted_windows(self, ctx, target) -> list[tuple[str, str, Callable[[Any], None]]]:
        wanted: list[tuple[str, str, Callable[[Any], None]]] = [
            ("Streams", CONTROL, panels.streams_panel),
            ("Recording", RECORD, panels.recording_panel)]
        if ctx.pipelines:
            wanted.append(("Pipeline", PIPELINE, panels.pipeline_panel))
            wanted.append(("Predictions", OUTPUT, panels.predictions_panel))
        if getattr(ctx, "bridges", None):
            wanted.append(("Bridges", PIPELINE, panels.bridges_panel))
        wanted.append(("Log", LOG, panels.log_panel))
        if getattr(ctx, "protocol", None) is not None:
            wanted.append(("Cue", CUE_SPACE, cue_panel))
        for name in list(ctx.streams):
            wanted.append((f"Signals: {name}", self._signal_spaces.get(name, MAIN),
                           functools.partial(panels.signal_viewer, stream_name=name)))
        user_space = USER if ctx.pipelines else OUTPUT
        seen: dict[str, int] = {}
        for fn in target.ui_functions:
            base = getattr(fn, "__name__", "panel").replace("_", " ").strip() or "panel"
            seen[base] = seen.get(base, 0) + 1
            label = base if seen[base] == 1 else f"{base} ({seen[base]})"
            wanted.append((label, user_space, fn))
        return wanted

    def _initial_windows(self, ctx, target) -> list:
        return [self._window(label, space, fn)
                for label, space, fn in self._wanted_windows(ctx, target)]

    def _add_new_windows(self, ctx, target) -> None:
        """Streams, pipelines, bridges and ui functions registered while the window is open."""
        for label, space, fn in self._wanted_windows(ctx, target):
            if label not in self._windows:
                hello_imgui.add_dockable_window(self._window(label, space, fn), False)

    # --- per frame ------------------------------------------------------------------------
    def _each_frame(self) -> None:
        target = self._target
        if target is None:  # only run() installs this callback, after setting the target
            return
        now = time.perf_counter()
        if self.timing and self._last_frame is not None:
            self.frame_times.append(now - self._last_frame)
        self._last_frame = now
        self.frames += 1
        if target.exit_requested:
            self._params.app_shall_exit = True
            return
        ctx = target.ctx
        try:
            gui_state(ctx).fps = imgui.get_io().framerate
            if now - self._status_at >= 0.25:
                self._status_at = now
                target.status_line()
            if self.frames % 15 == 0:
                self._add_new_windows(ctx, target)
        except Exception as e:  # noqa: BLE001 - the window outlives a bad status or window
            ctx.log.error_once("gui", e)

    def _guarded(self, source: str, fn: Callable[[Any], None]) -> Callable[[], None]:
        def draw() -> None:  # the target of the run in progress, read when it draws
            target = self._target
            if target is not None:
                call_guarded(fn, target.ctx, source)

        return draw

    # --- shutdown -------------------------------------------------------------------------
    def _finish_tasks(self, ctx) -> None:
        """Let a recording that is being saved finish: nothing recorded is ever lost."""
        tasks = gui_state(ctx).tasks
        pending = tasks.running()
        if pending:
            ctx.log.info("gui", f"waiting for {', '.join(pending)} to finish")
            tasks.join()

    # --- test engine ----------------------------------------------------------------------
    def _run_script(self, params, addons) -> None:
        from imgui_bundle.imgui import test_engine

        params.use_imgui_test_engine = True
        done: dict[str, Any] = {"flag": False, "test": None}
        script, target = self.script, self._target
        assert script is not None and target is not None, "run() with a script calls this"

        def body(test_ctx) -> None:
            try:
                script(test_ctx)
            except BaseException as e:  # noqa: BLE001 - re-raised after the window closes
                self.script_error = e
            finally:
                done["flag"] = True

        def register() -> None:
            engine = hello_imgui.get_imgui_test_engine()
            io = test_engine.get_io(engine)
            io.config_run_speed = test_engine.TestRunSpeed.fast
            # a script may drive a real run for minutes (a protocol, the screenshots); its own
            # deadlines and the test's timeout bound it, not the engine's 60 s watchdog
            io.config_watchdog_warning, io.config_watchdog_kill_test = 600.0, 1800.0
            io.config_watchdog_kill_app = 3600.0
            io.config_log_to_tty = True
            test = test_engine.register_test(engine, "hexloop", "script")
            test.test_func = body
            test_engine.queue_test(engine, test)
            done["test"] = test

        def after_frame() -> None:
            if not done["flag"] or self.script_status is not None:
                return
            engine = hello_imgui.get_imgui_test_engine()
            if not test_engine.is_test_queue_empty(engine):
                return
            test = done["test"]
            self.script_status = test.output.status.name
            self.script_log = test.output.log.get_text()
            if self.exit_after_script:
                target.request_exit()

        params.callbacks.register_tests = register
        params.callbacks.before_imgui_render = after_frame
        immapp.run(params, addons)

