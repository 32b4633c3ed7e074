"""Marker streams as labels: one daemon thread per MarkerSource turns each marker into a label.

A marker equal to a class name (or mapped to one by the setup's `map`) becomes `app.mark(class,
timestamp)` while the app records, at the marker's own timestamp (stream time, the LSL clock),
so it is recorded like a GUI label; while not recording it is a cue (`app.cue`), as a cue button
is. Unknown markers are counted and warned about once each (`unknown = "ignore"`: only counted).
A marker older than the newest label is kept at the newest label's time and reported. The thread
reconnects with backoff; every problem goes to the app log, none stops the app or a recording.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import attrs

from hexloop.domain.state import TransitionRefused
from hexloop.ports.markers import MarkerSource
from hexloop.ports.source import SourceLost

UNKNOWN_CHOICES = ("warn", "ignore")
#: Distinct unknown markers remembered for warning once each; beyond, they are only counted.
MAX_DISTINCT_UNKNOWN = 100


@attrs.define
class MarkerCounts:
    """What a marker feed did with what it read."""

    received: int = 0
    recorded: int = 0  # labels recorded in a session
    cued: int = 0  # cues while not recording
    unknown: int = 0  # neither a class name nor mapped to one
    late: int = 0  # older than the newest label: recorded at that label's time
    failed: int = 0  # app.mark/cue refused (logged)


class MarkerFeed:
    """Reads `source` on its own thread and labels the app's recording with its markers.

    `mapping` maps markers to class names (`{"1": "fist"}`); a marker not in it is taken as a
    class name itself. `attach(app)` starts the thread with the app and stops it at shutdown.
    """

    def __init__(self, source: MarkerSource, mapping: Mapping[str, str] | None = None,
                 unknown: str = "warn", connect_timeout: float = 1.0, poll_s: float = 0.005,
                 backoff_s: tuple[float, float] = (0.25, 5.0)):
        if unknown not in UNKNOWN_CHOICES:
            raise ValueError(f"unknown = {unknown!r}: write \"warn\" or \"ignore\"")
        self.source = source
        self.mapping = {str(k): str(v) for k, v in (mapping or {}).items()}
        self.unknown = unknown
        self.connect_timeout, self.poll_s, self.backoff_s = connect_timeout, poll_s, backoff_s
        self.counts = MarkerCounts()
        self.connected = False
        self.where = f"markers {getattr(source, 'name', '?')}"
        self._warned: set[str] = set()
        self._app: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifetime ----------------------------------------------------------------------------
    def attach(self, app: Any) -> MarkerFeed:
        """Start with the app's run (before-run hook) and stop at its shutdown (cleanup hook)."""
        self._app = app
        app.before_run_hooks.append(lambda _app: self.start())
        app.cleanup_hooks.append(lambda _app: self.stop())
        return self

    def start(self) -> None:
        if self._app is None:
            raise RuntimeError("attach(app) the marker feed before starting it")
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.where, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 0.5) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # --- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        log = self._app.ctx.log
        low, high = self.backoff_s
        backoff = low
        try:
            while not self._stop.is_set():
                if not self.connected:
                    try:
                        self.source.connect(self.connect_timeout)
                    except Exception as e:  # noqa: BLE001 - retried with backoff, logged once
                        log.error_once(self.where, f"cannot connect ({e}); retrying")
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, high)
                        continue
                    self.connected, backoff = True, low
                    log.info(self.where, "connected: markers become labels")
                try:
                    batch = self.source.read()
                except Exception as e:  # noqa: BLE001 - a lost stream is reconnected
                    self._drop()
                    if isinstance(e, SourceLost):
                        log.warning(self.where, f"{e}; reconnecting")
                    else:
                        log.error_once(self.where, f"read failed ({type(e).__name__}: {e}); "
                                       "reconnecting")
                        self._stop.wait(backoff)
                    continue
                for marker, stamp in batch:
                    self.handle(marker, stamp)
                if not batch:
                    self._stop.wait(self.poll_s)
        finally:
            self._drop()

    def _drop(self) -> None:
        self.connected = False
        try:
            self.source.disconnect()
        except Exception as e:  # noqa: BLE001 - disconnecting never fails the thread
            self._app.ctx.log.error_once(self.where, f"disconnect failed: {e}")

    # --- one marker --------------------------------------------------------------------------
    def handle(self, marker: str, stamp: float) -> None:
        """Label (recording) or cue (not recording) the class `marker` names; never raises."""
        app, log = self._app, self._app.ctx.log
        self.counts.received += 1
        label = self.mapping.get(marker, marker)
        if label not in app.class_names:
            self.counts.unknown += 1
            if self.unknown == "warn" and marker not in self._warned \
                    and len(self._warned) < MAX_DISTINCT_UNKNOWN:
                self._warned.add(marker)
                shown = marker if len(marker) <= 60 else marker[:57] + "..."
                log.warning(self.where, (
                    f"marker {shown!r} is not a class ({', '.join(app.class_names) or 'none'}); "
                    "it is counted, not labelled (map it in the setup's [[markers]] map, or "
                    "set unknown = \"ignore\")"))
            return
        try:
            if app.ctx.recording is None:
                app.cue(label)
                self.counts.cued += 1
                return
            self._mark(label, stamp)
        except Exception as e:  # noqa: BLE001 - a marker never stops the app or a recording
            self.counts.failed += 1
            log.error_once(self.where, f"marker {label!r} not labelled: {e}")

    def _mark(self, label: str, stamp: float) -> None:
        app = self._app
        try:
            app.mark(label, stamp)
        except TransitionRefused:  # the recording stopped meanwhile: a cue then
            app.cue(label)
            self.counts.cued += 1
            return
        except ValueError:
            track = app.ctx.labels
            events = track.events if track is not None else ()
            if not events or events[-1].time <= stamp:
                raise
            newest = events[-1].time
            self.counts.late += 1
            app.ctx.log.warning(self.where, (
                f"marker {label!r} at {stamp:.3f} s is {newest - stamp:.3f} s older than the "
                "newest label; recorded at that label's time (labels stay in time order)"))
            app.mark(label, newest)
        self.counts.recorded += 1
