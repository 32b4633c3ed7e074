"""ProtocolRunner: a whole experiment (calibrate -> train -> online -> evaluate) without a
developer at the keyboard, on its own thread beside the renderer.

- calibrate: records a session (slug ``<slug>-calibrate``) and cues each trial with `app.cue`,
  so the label lands in the recording at the app's clock (the stream clock) at the cue's onset,
  and the rest class at its offset; simulated sources follow the cues.
- train: trains the pipeline on the calibration session (cross-validated report), waits, and
  saves the model with its report beside it (`model_path`, default: a folder beside the session).
- online: `start_predicting(record=True)` (slug ``<slug>-online``) with the same kind of cues,
  so the online session holds the inputs, the cues, every prediction and the model's hash.
- evaluate: scores the online session against its cues (online accuracy, decision latency).

Every cue also goes out on the MarkerOutlet (an LSL marker stream) stamped with the label's
time. Keys (`key`): ``p`` pauses / resumes (a trial cut by a pause is labelled rest at once and
run again), ``r`` repeats the current trial (or the last one, in its rest) after the rest, ``a``
aborts the current phase (what it recorded is kept; the next phase goes on), ``q`` ends the
protocol. The displays draw `snapshot()` (a pure `CueView`): the terminal line
(application/protocol_terminal.py) and the GUI's Cue panel. The phases themselves are in
protocol_phases.py, what a run did in protocol_result.py.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import attrs

from hexloop.domain.protocol import (
    CUE,
    HOLD,
    REST,
    CueView,
    LevelTimeline,
    ProtocolSpec,
    schedule,
    target_level,
)

from .protocol_phases import Phases
from .protocol_result import PhaseAborted, ProtocolResult, jsonable

__all__ = ["PhaseAborted", "ProtocolResult", "ProtocolRunner"]

#: How often a wait looks at the keys (pause, repeat, abort, quit), in seconds.
TICK_S = 0.01
CONNECT_TIMEOUT_S = 30.0


class ProtocolRunner(Phases):
    """Runs `spec` on `app` (and `pipeline` for train / online) on a thread started with the app.

    `attach()` (or `ProtocolRunner(..., attach=True)`) makes it start with `app.run()` and puts
    it on `app.ctx.protocol` for the GUI's Cue panel. `done` is set when it ends; with
    `exit_when_done` the app exits then (headless runs).
    """

    def __init__(self, app: Any, spec: ProtocolSpec, pipeline: Any = None, markers: Any = None,
                 slug: str = "protocol", model_path: str | Path | None = None,
                 exit_when_done: bool = False, attach: bool = True,
                 start_paused: bool = False):
        self.app, self.spec, self.pipeline, self.markers = app, spec, pipeline, markers
        self.slug = slug
        self.model_path = Path(model_path) if model_path is not None else None
        self.exit_when_done = exit_when_done
        self.result = ProtocolResult()
        self.done = threading.Event()
        self._view = CueView(phases=spec.phases, ramps=spec.ramp_s > 0)
        self._lock = threading.Lock()
        self._paused = threading.Event()
        self._repeat = threading.Event()
        self._abort = threading.Event()
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._marker_warned = False
        self.levels = LevelTimeline(spec) if spec.ramp_s > 0 else None
        if start_paused:  # the window's user starts it (p, Start) once the participant is ready
            self._paused.set()
        if attach:
            self.attach()

    # --- wiring ------------------------------------------------------------------------------
    def attach(self) -> None:
        self.app.ctx.protocol = self
        if self.levels is not None:  # ramps: the cue level is recorded, the regression target
            from .protocol_level import LEVEL_STREAM, CueLevelSource
            from .stream import Stream

            if self.pipeline is not None and self.pipeline.stream_names is None:
                self.pipeline.stream_names = list(self.app.ctx.streams)  # not learnt from
            self.app.streams(Stream(LEVEL_STREAM, CueLevelSource(self.levels, self.app.clock),
                                    window_ms=100, buffer_ms=10_000))
        self.app.before_run_hooks.append(lambda _app: self.start())
        self.app.cleanup_hooks.append(lambda _app: self.stop())

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="protocol", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the protocol (the app is shutting down) and wait for its thread."""
        self._quit.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # --- keys and controls (any thread) ------------------------------------------------------
    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def toggle_pause(self) -> None:
        (self.resume if self._paused.is_set() else self.pause)()

    def repeat(self) -> None:
        """Run the current trial again (the last one, during its rest) after the rest."""
        self._repeat.set()

    def abort(self) -> None:
        """End the current phase now, keeping what it recorded; the next phase follows."""
        self._abort.set()

    def quit(self) -> None:
        """End the protocol: the phase running now is closed as by abort, nothing follows."""
        self._quit.set()

    KEYS = {"p": "pause / resume", "r": "repeat the trial", "a": "abort the phase",
            "q": "quit the protocol"}

    def key(self, char: str) -> bool:
        """Act on a key (p, r, a, q; case ignored); True when it was one of them."""
        action = {"p": self.toggle_pause, "r": self.repeat, "a": self.abort,
                  "q": self.quit}.get(char.lower()[:1] if char else "")
        if action is None:
            return False
        action()
        return True

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def snapshot(self) -> CueView:
        """What the displays show now; the countdown is computed at the call."""
        with self._lock:
            view, ends = self._view, self._ends
        if ends is not None and not view.paused:
            left = max(0.0, ends - time.monotonic())
            level = view.level
            if view.step in (CUE, HOLD) and self.spec.ramp_s > 0:
                level = target_level(self.spec, self._since_onset())
            view = attrs.evolve(view, remaining_s=left, level=level)
        return attrs.evolve(view, paused=self._paused.is_set(), health=self._health())

    _ends: float | None = None
    _onset: float | None = None

    def _since_onset(self) -> float:
        return time.monotonic() - self._onset if self._onset is not None else 0.0

    def _show(self, ends_in: float | None = None, **changes) -> None:
        with self._lock:
            self._view = attrs.evolve(self._view, **changes)
            self._ends = None if ends_in is None else time.monotonic() + ends_in

    def _health(self) -> str:
        parts = []
        for s in list(self.app.ctx.streams.values()):
            h = s.health
            parts.append(f"{s.name} {h.rate_hz:.0f} Hz {h.status.value}"
                         + (f" lost {h.lost}" if h.lost else ""))
        return ", ".join(parts)

    # --- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        log = self.app.ctx.log
        try:
            if self.markers is not None:
                self._open_markers()
            self._wait_connected()
            if self._paused.is_set():
                self._show(phase=self.spec.phases[0], message="press p (Start) when the "
                                                              "participant is ready")
                self._while_paused(keep_message=True)
            for phase in self.spec.phases:
                if self._quit.is_set() or self.app.exit_requested:
                    break
                self._abort.clear()
                self._show(phase=phase, step="starting", trial=0, trials=0, cue=None,
                           message="")
                log.info("protocol", f"phase {phase}")
                try:
                    getattr(self, f"_{phase}")()
                except PhaseAborted:
                    if not self._quit.is_set() and not self.app.exit_requested:
                        self.result.aborted.append(phase)
                        log.warning("protocol", f"phase {phase} aborted; what it recorded is "
                                                "kept")
            self.result.completed = not (self._quit.is_set() or self.app.exit_requested
                                         or self.result.aborted)
        except Exception as e:  # noqa: BLE001 - the summary and the log say what stopped it
            self.result.error = f"{type(e).__name__}: {e}"
            log.error("protocol", f"the protocol stopped: {self.result.error}")
        finally:
            self._finish()

    def _finish(self) -> None:
        state = "done" if self.result.completed else ("stopped" if self.result.error
                                                      else "ended")
        self._show(step=state, cue=None, message=self.result.error or "")
        if self.markers is not None:
            try:
                self.markers.close()
            except Exception as e:  # noqa: BLE001
                self.app.ctx.log.warning("protocol", f"closing the marker outlet: {e}")
        self._write_summary()
        for line in self.result.lines():
            self.app.ctx.log.info("protocol", line)
        self.done.set()
        if self.exit_when_done:
            self.app.request_exit()

    def _write_summary(self) -> None:
        if self.result.model is None:
            return
        path = Path(self.result.model).parent / "protocol.json"
        try:
            path.write_text(json.dumps(jsonable(self.result.to_dict()), indent=1))
        except (OSError, TypeError, ValueError) as e:
            self.app.ctx.log.warning("protocol", f"could not write {path}: {e}")

    def _open_markers(self) -> None:
        try:
            self.markers.open()
        except Exception as e:  # noqa: BLE001 - the labels are recorded regardless
            self.app.ctx.log.warning("protocol", f"marker outlet {self.markers.name!r} could "
                                                 f"not open ({e}); cues are recorded as labels "
                                                 "but not published")
            self.markers = None

    def _wait_connected(self) -> None:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        self._show(step="waiting", message="waiting for the streams to connect")
        while not all(s.info is not None for s in self.app.ctx.streams.values()):
            if time.monotonic() > deadline:
                raise TimeoutError("the streams did not connect within "
                                   f"{CONNECT_TIMEOUT_S:g} s: check the devices")
            self._sleep(0.05, interruptible=False)
        self._show(message="")

    # --- waiting -----------------------------------------------------------------------------
    def _sleep(self, seconds: float, interruptible: bool = True) -> None:
        """Wait `seconds`, raising _Aborted on abort / quit / exit."""
        end = time.monotonic() + seconds
        while True:
            self._check_abort(interruptible)
            left = end - time.monotonic()
            if left <= 0:
                return
            self._quit.wait(min(TICK_S, left))

    def _check_abort(self, phase_too: bool = True) -> None:
        if self._quit.is_set() or self.app.exit_requested or (phase_too and
                                                                self._abort.is_set()):
            raise PhaseAborted

    def _step(self, seconds: float, stop_on: tuple[threading.Event, ...]) -> bool:
        """Wait out a step; False when one of `stop_on` (pause, repeat) cut it short."""
        end = time.monotonic() + seconds
        while True:
            self._check_abort()
            if any(e.is_set() for e in stop_on):
                return False
            left = end - time.monotonic()
            if left <= 0:
                return True
            self._quit.wait(min(TICK_S, left))

    def _while_paused(self, keep_message: bool = False) -> None:
        if not self._paused.is_set():
            return
        if not keep_message:
            self._show(message="paused: p resumes")
        while self._paused.is_set():
            self._sleep(0.05)
        self._show(message="")

    # --- cues --------------------------------------------------------------------------------
    def _cue(self, name: str) -> float:
        """Label `name` now (when recording) and publish it: the same time for both."""
        event = self.app.cue(name)
        stamp = event.time if event is not None else self.app.clock.now()
        if self.markers is not None:
            try:
                self.markers.push(name, stamp)
            except Exception as e:  # noqa: BLE001 - the label is recorded; warn once
                if not self._marker_warned:
                    self._marker_warned = True
                    self.app.ctx.log.warning("protocol", f"marker outlet {self.markers.name!r}"
                                                         f" failed ({e}); labels are recorded")
        return stamp

    def _offset(self) -> None:
        stamp = (self._cue(self.spec.rest_class) if self.spec.rest_class and self.spec.rest_s > 0
                 else self.app.clock.now())
        if self.levels is not None:
            self.levels.close(stamp)

    def _trials(self, phase: str) -> None:
        """Cue the phase's trials; pause, repeat and abort act between and within them."""
        spec = self.spec
        trials = schedule(spec, phase)
        n, k, cued, again = len(trials), 0, 0, 0
        self.result.trials[phase] = 0
        try:
            while k < n:
                self._while_paused()
                self._repeat.clear()
                trial = trials[k]
                self._show(spec.trial_s, step=CUE if spec.cue_s > 0 else HOLD,
                           cue=trial.class_name, trial=k + 1, trials=n, level=0.0)
                self._onset = time.monotonic()
                onset = self._cue(trial.class_name)
                if self.levels is not None:
                    self.levels.open(onset, trial.class_name)
                cued += 1
                self.result.trials[phase] = cued
                whole = True
                try:
                    if spec.cue_s > 0:
                        self._show(spec.cue_s, step=CUE)
                        whole = self._step(spec.cue_s, (self._paused, self._repeat))
                    if whole:
                        self._show(spec.hold_s, step=HOLD)
                        whole = self._step(spec.hold_s, (self._paused, self._repeat))
                except PhaseAborted:  # the trial's offset is labelled before the phase ends
                    self._offset()
                    raise
                self._offset()
                self._onset = None
                if not whole and self._paused.is_set():
                    again += 1  # cut by a pause: run it again after the pause and a rest
                    self._while_paused()
                    self._show(spec.rest_s, step=REST, cue=None, level=0.0)
                    self._sleep(spec.rest_s)
                    continue
                self._show(spec.rest_s, step=REST, cue=None, level=0.0)
                self._step(spec.rest_s, (self._paused,))
                if self._repeat.is_set() or not whole:
                    again += 1
                    continue
                k += 1
        finally:
            self._onset = None
            self.result.repeated[phase] = again
