"""Bridges in the app: they follow recordings into the session and are stopped at cleanup."""

import sys
import time

from hexloop.adapters.fakes import FakeStore
from hexloop.adapters.simulated import SimulatedSource
from hexloop.adapters.subprocess import CommandBridge
from hexloop.application import App, Stream


class RecordingBridge:
    """Notes what the app asked of it, and in which order relative to the session."""

    def __init__(self, name, store):
        self.name, self.store, self.calls = name, store, []

    def set_recording_dir(self, path):
        closed = bool(self.store.opened) and self.store.opened[-1].closed
        self.calls.append((path, closed))

    def stop(self):
        self.calls.append(("stop", None))


def connected_app(store, *bridges):
    app = App("bridges", store=store)
    app.streams(Stream("s", SimulatedSource(channels=2, rate=500.0)))
    app.bridges(*bridges)
    app.start()
    deadline = time.monotonic() + 5
    while app.recording_refusal() and time.monotonic() < deadline:
        time.sleep(0.01)
    return app


def test_bridges_record_into_the_session_and_flush_before_it_closes():
    store = FakeStore()
    bridge = RecordingBridge("cam", store)
    app = connected_app(store, bridge)
    location = app.start_recording()
    assert bridge.calls == [(location, False)]
    app.stop_recording()
    assert bridge.calls[-1] == (None, False)  # detached while the session was still open
    app.shutdown()
    assert bridge.calls[-1] == ("stop", None)


def test_a_failing_bridge_never_stops_the_recording():
    store = FakeStore()
    bridge = RecordingBridge("cam", store)
    bridge.set_recording_dir = lambda path: (_ for _ in ()).throw(OSError("camera gone"))
    app = connected_app(store, bridge)
    app.start_recording()
    time.sleep(0.2)
    summary = app.stop_recording()
    assert summary.samples["s"] > 0
    assert any("cam could not follow the recording" in e.message for e in app.ctx.log.entries())
    app.shutdown()


def test_cleanup_stops_a_running_bridge_process(tmp_path):
    bridge = CommandBridge("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"],
                           log_dir=tmp_path)
    app = connected_app(FakeStore(), bridge)
    bridge.start()
    assert bridge.status.state == "running"
    pid = bridge.status.pid
    app.shutdown()
    assert bridge.status.state == "stopped"
    try:
        import os

        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
