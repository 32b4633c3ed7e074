"""App: registers streams, UI functions and bridges, runs the threads and the main-thread loop."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.pacing import MonotonicClock
from hexloop.domain.session import SessionMeta, SessionSummary
from hexloop.domain.state import Action, State, StateMachine, Transition, TransitionRefused
from hexloop.ports.renderer import Renderer
from hexloop.ports.store import Store

from .conditioning import conditioning_extras
from .context import Context, Log
from .stream import Stream

Hook = Callable[["App"], None]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _anomalies(h) -> str:
    """Kept-but-odd data in a stream's health, for the status line ("" when there is none)."""
    notes = [f"{n} {what}" for n, what in ((h.clock_jumps, "clock jumps"),
                                            (h.non_finite, "non-finite"),
                                            (h.clipped, "clipped")) if n]
    return f" ({', '.join(notes)})" if notes else ""


class App:
    """One experiment. `run()` starts acquisition, runs before-run hooks, then the renderer loop
    on the calling thread; cleanup (recording finalized, threads stopped) always follows."""

    def __init__(self, name: str, store: Store | None = None, class_names=(), clock=None,
                 log: Log | None = None):
        self.name = name
        self.store = store
        self.class_names = tuple(class_names)
        self.clock = clock or MonotonicClock()
        self.before_run_hooks: list[Hook] = []
        self.cleanup_hooks: list[Hook] = []
        self.ctx = Context(self, StateMachine(on_change=self._on_transition), log or Log())
        self._ui: list[Callable[[Context], None]] = []
        self._exit = threading.Event()
        self._running = False
        self._shut_down = False  # a run ended; the next start() forgets its exit request
        self._record_lock = threading.Lock()
        self._online: list = []  # OnlineRecording per pipeline while a session records predicting
        self.cue_class: int | None = None  # the class of the newest cue (app.cue / app.mark)
        self._cue_warned: set[str] = set()
        self.interrupted = False  # the last run() ended on Ctrl-C (KeyboardInterrupt)

    # --- registration ------------------------------------------------------------------------
    def streams(self, *streams: Stream) -> App:
        self.ctx.add_streams(streams)
        for s in streams:
            s.attach(self)
            if self._running:
                s.start()
        return self

    def ui(self, fn: Callable[[Context], None]) -> Callable[[Context], None]:
        """Decorator: `fn(ctx)` is called every frame on the main thread."""
        self._ui.append(fn)
        return fn

    def bridges(self, *bridges: Any) -> App:
        names = {b.name for b in self.ctx.bridges}
        for b in bridges:
            if b.name in names:
                raise ValueError(f"a bridge named {b.name!r} is already registered")
            names.add(b.name)
            self.ctx.bridges.append(b)
        return self

    # --- RenderTarget -------------------------------------------------------------------------
    @property
    def ui_functions(self) -> list[Callable[[Context], None]]:
        return list(self._ui)

    @property
    def exit_requested(self) -> bool:
        return self._exit.is_set()

    def request_exit(self) -> None:
        self._exit.set()

    exit = request_exit

    def status_line(self) -> str:
        parts = [self.ctx.state.value]
        for s in self.ctx.streams.values():
            h = s.health
            parts.append(f"{s.name} {h.rate_hz:.0f} Hz {h.status.value}"
                         + (f" lost {h.lost}" if h.lost else "")
                         + _anomalies(h))
        for p in self.ctx.pipelines:
            if self.ctx.state is State.TRAINING and p.progress is not None:
                stage = f" ({p.progress.stage})" if p.progress.stage else ""
                parts.append(f"training {p.progress.fraction:.0%}{stage}")
            elif getattr(p, "report", None) is not None and p.report.validated:
                parts.append(p.report.summary() + (" NEAR CHANCE: check cues, electrodes and "
                                                   "labels" if p.report.near_chance else ""))
            slow = p.health.summary()  # late/skipped ticks, overruns: slow parts are visible
            parts.append(f"{p.predictions.rate():.1f} pred/s" + (f" ({slow})" if slow else ""))
            for out in p.outputs:
                slow = out.health.summary()
                if slow:
                    parts.append(f"out {out.name}: {slow}")
        if self.ctx.recording is not None and self.ctx.recording_started is not None:
            parts.append(f"rec {time.monotonic() - self.ctx.recording_started:.0f}s")
        self.ctx.status = " | ".join(parts)
        return self.ctx.status

    # --- running -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start acquisition and run the before-run hooks (run() does this for you)."""
        if self._running:
            return
        self._running = True
        if self._shut_down:  # an exit() asked for before this run still ends it
            self._exit.clear()
            self._shut_down = False
        for s in self.ctx.streams.values():
            s.start()
        for hook in list(self.before_run_hooks):
            hook(self)

    def run(self, renderer: Renderer | None = None) -> None:
        """Run until `exit()`, Ctrl-C, SIGTERM or the window closing; cleanup always runs."""
        if renderer is None:
            from .headless import HeadlessRenderer

            renderer = HeadlessRenderer()
        restore = self._install_sigterm()
        try:
            self.start()
            renderer.run(self)
        except KeyboardInterrupt:
            self.interrupted = True  # the CLI exits 130 (#16)
            self.ctx.log.warning("app", "interrupted (Ctrl-C)")
        finally:
            self.shutdown()
            restore()

    def _install_sigterm(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, lambda *_: self.request_exit())

        def restore() -> None:
            signal.signal(signal.SIGTERM, previous)

        return restore

    def shutdown(self) -> None:
        """Finalize a recording, stop training and predicting, run cleanup hooks, stop threads.

        Once per run: a second call does nothing."""
        if self._shut_down:
            return
        self._exit.set()
        log = self.ctx.log
        if self.ctx.recording is not None:  # recording, or an online session while predicting
            try:
                self.stop_recording()
            except Exception as e:  # noqa: BLE001
                log.error("app", f"could not finalize the recording: {e}")
        if self.ctx.state is State.PREDICTING:
            self.ctx.machine.request(Action.STOP_PREDICTING)
        for hook in list(self.cleanup_hooks):
            try:
                hook(self)
            except Exception as e:  # noqa: BLE001 - every hook gets its turn
                log.error("app", f"cleanup hook {getattr(hook, '__name__', hook)} failed: {e}")
        for bridge in self.ctx.bridges:
            try:
                bridge.stop()
            except Exception as e:  # noqa: BLE001
                log.error("app", f"could not stop bridge {bridge.name}: {e}")
        deadline = time.monotonic() + 0.6
        for s in self.ctx.streams.values():  # each thread disconnects its own source
            s.stop(timeout=max(0.0, deadline - time.monotonic()))
        self._running = False
        self._shut_down = True

    def _on_transition(self, t: Transition) -> None:
        self.ctx.log.info("state", f"{t.before.value} -> {t.after.value} ({t.action.value})")

    # --- recording ---------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """True while a session records: in the `recording` state, or while predicting with
        an online session open (the state machine's recording flag)."""
        return self.ctx.machine.recording

    def recording_refusal(self, action: Action = Action.START_RECORDING,
                          record: bool = False) -> str | None:
        """Why start_recording would be refused now (or `action`, with `record`: what
        start_predicting(record=True) asks), or None. While predicting, recording is allowed: it
        opens an online session."""
        if self.store is None:
            return "no store configured: give App(store=...) or a [store] in the setup file"
        reason = self.ctx.machine.check(action, record=record)
        if reason:
            return reason
        waiting = [s.name for s in self.ctx.streams.values() if s.info is None]
        if waiting:
            return f"streams {waiting} are not connected yet: wait until they stream"
        if not self.ctx.streams:
            return "no streams to record: add one with app.streams(...)"
        return None

    def start_recording(self, slug: str = "", extras: dict | None = None) -> str:
        """Open a session in the store and record every stream; returns its location.

        While predicting it is an online session: the predictions and what each output sends
        are recorded too (application/online.py), and predicting goes on."""
        return self._open_session(Action.START_RECORDING, slug, extras)

    def _open_session(self, action: Action, slug: str, extras: dict | None,
                      record: bool = False) -> str:
        """START_RECORDING, or START_PREDICTING with record=True: the state changes, then the
        session opens with every stream it will hold; on failure the state goes back."""
        from .online import online_extras, plan_online

        with self._record_lock:
            reason = self.recording_refusal(action, record)
            if reason is not None:
                raise TransitionRefused(self.ctx.state, action, reason)
            state, store = self.ctx.state, self.store
            infos = [s.info for s in self.ctx.streams.values() if s.info is not None]
            if store is None:  # recording_refusal said so; this tells the type checker
                raise TransitionRefused(state, action, "no store configured")
            try:  # predicting, or about to: declare the online streams
                plans = (plan_online(self.ctx.pipelines, state, {i.name for i in infos})
                         if record or state is State.PREDICTING else [])
            except RuntimeError as e:
                raise TransitionRefused(state, action, str(e)) from e
            if not record:  # the session opens while recording (or predicting) already
                self.ctx.machine.request(action)
            try:
                extras = {**(extras or {}), **(online_extras(plans) if plans else {})}
                extras = conditioning_extras(self.ctx.streams.values(), extras)  # chains (#14)
                meta = SessionMeta(self.name, infos + [i for p in plans for i in p.info()],
                                   self.class_names, slug=slug,
                                   versions={"hexloop": _version("hexloop")}, extras=extras)
                session = store.open_session(meta)
            except Exception as e:
                if not record:
                    self.ctx.machine.request(Action.STOP_RECORDING)
                raise RuntimeError(f"could not open a recording session: {e}") from e
            self._bridges_record_to(session.location)
            self.ctx.recording = session
            self.ctx.recording_started = time.monotonic()
            self.ctx.labels = LabelTrack(self.class_names)
            for s in self.ctx.streams.values():  # inputs first: a recorded prediction's input
                s.set_session(session)           # samples are in the session too
            self._online = plans
            for plan in plans:
                plan.attach(session)
            if record:  # predicting starts once the session records: it holds every prediction
                try:
                    self.ctx.machine.request(action, record=True)
                except TransitionRefused:
                    self._detach()
                    self.ctx.recording = self.ctx.recording_started = None
                    session.close()
                    raise
            self.ctx.log.info("app", f"recording to {session.location}")
            return session.location

    def _detach(self) -> None:
        """Stop everything appending to the session: predictions and sends first (their input
        samples stay in the session), then the streams, then the bridges."""
        for plan in self._online:
            plan.close()
        self._online = []
        for s in self.ctx.streams.values():
            s.set_session(None)
        self._bridges_record_to(None)  # flushed into the session before it is packed

    def _bridges_record_to(self, location: str | None) -> None:
        """Point bridges that record (e.g. a webcam) into the session folder, or back out."""
        for bridge in self.ctx.bridges:
            if hasattr(bridge, "set_recording_dir"):
                try:
                    bridge.set_recording_dir(location)
                except Exception as e:  # noqa: BLE001 - a bridge never stops the recording
                    self.ctx.log.error("app", f"bridge {bridge.name} could not follow the "
                                       f"recording: {e}")

    def mark(self, label: str | int, time_s: float | None = None) -> LabelEvent:
        """Cue a class from now on (name or index); recorded with the session, and every source
        that follows cues (a simulated one) switches to it.

        Serialised with start/stop_recording, so a label never lands in a session being closed.
        """
        with self._record_lock:
            return self._mark(label, time_s)

    def _mark(self, label: str | int, time_s: float | None) -> LabelEvent:
        session = self.ctx.recording
        if session is None:
            raise TransitionRefused(self.ctx.state, Action.START_RECORDING,
                                    "labels are recorded with a session: start recording first")
        track = self.ctx.labels
        index = track.index_of(label) if isinstance(label, str) else int(label)
        event = LabelEvent(self.clock.now() if time_s is None else time_s, index)
        track.add(event)
        session.add_label(event)
        self._follow_cue(index)
        return event

    def cue(self, label: str | int) -> LabelEvent | None:
        """What a cue button does: every source that follows cues switches to the class, and
        while recording (also an online session) the label is recorded (`mark`, returned).

        Not recording, nothing is labelled: while predicting, a user sees the predictions
        follow the simulated gesture."""
        with self._record_lock:
            if self.ctx.recording is not None:
                return self._mark(label, None)
            self._follow_cue(self._class_index(label))
            return None

    def _class_index(self, label: str | int) -> int:
        names = self.class_names
        if isinstance(label, str):
            if label not in names:
                raise ValueError(f"unknown class {label!r}; known classes: {list(names)}")
            return names.index(label)
        index = int(label)
        if names and not 0 <= index < len(names):
            raise ValueError(f"class {index} is outside 0..{len(names) - 1} ({list(names)})")
        return index

    def _follow_cue(self, index: int) -> None:
        """Switch every stream's source that has `set_class` and follows cues (its
        `follow_cues`, True unless it says otherwise) to the cued class: by name when the
        source names its classes, else by index. A source that refuses is warned about once."""
        self.cue_class = index
        name = self.class_names[index] if 0 <= index < len(self.class_names) else None
        for stream in list(self.ctx.streams.values()):
            source = stream.source
            set_class = getattr(source, "set_class", None)
            if set_class is None or not getattr(source, "follow_cues", True):
                continue
            own = tuple(getattr(source, "class_names", ()) or ())
            try:
                set_class(own.index(name) if name in own else index)
            except Exception as e:  # noqa: BLE001 - a cue never fails for a simulated gesture
                key = f"{stream.name}:{index}"
                if key not in self._cue_warned:
                    self._cue_warned.add(key)
                    self.ctx.log.warning(f"stream {stream.name}", (
                        f"its source cannot follow the cue {name or index!r} ({e}); it keeps "
                        "its previous class (set follow_cues = false to leave it alone)"))

    def stop_recording(self) -> SessionSummary:
        """Detach streams, finalize the session and return its summary."""
        with self._record_lock:
            session = self.ctx.recording
            if session is None:
                raise TransitionRefused(self.ctx.state, Action.STOP_RECORDING,
                                        self.ctx.machine.check(Action.STOP_RECORDING)
                                        or "not recording")
            self._detach()
            try:
                summary = session.close()
            finally:
                self.ctx.recording = None
                self.ctx.recording_started = None
                self.ctx.machine.request(Action.STOP_RECORDING)
            self.ctx.last_summary = summary
            level = "error" if summary.error else "info"
            self.ctx.log.add(level, "app", f"session saved to {summary.location}"
                             + (f" ({summary.error})" if summary.error else ""))
            return summary
