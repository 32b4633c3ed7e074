"""Contract check for the Bridge port: every bridge adapter's tests must call `check_bridge`.

Like ports/contracts.py, it raises AssertionError with a sentence saying what broke.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from hexloop.domain.bridges import BRIDGE_STATES, BridgeStatus

from .bridge import Bridge


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _wait_for(bridge: Bridge, states: tuple[str, ...], timeout: float) -> BridgeStatus:
    deadline = time.monotonic() + timeout
    status = bridge.status
    while status.state not in states and time.monotonic() < deadline:
        time.sleep(0.02)
        status = bridge.status
    return status


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_bridge(
    make: Callable[[], Bridge],
    *,
    make_failing: Callable[[], Bridge] | None = None,
    timeout: float = 10.0,
) -> None:
    """start/stop/status semantics, idempotence, thread-safe status, and crash reporting.

    `make` builds a bridge whose child keeps running until stopped; `make_failing` (optional)
    one whose child exits on its own with a non-zero code soon after it starts. When a running
    status carries a pid, that process must be gone once `stop` returns.
    """
    bridge = make()
    _require(isinstance(bridge, Bridge), f"{bridge!r} does not implement the Bridge port")
    status = bridge.status
    _require(isinstance(status, BridgeStatus), "status must be a BridgeStatus")
    _require(status.state == "stopped", f"a new bridge must be 'stopped', not {status.state!r}")
    _require(status.name == bridge.name, "status.name must equal the bridge's name")
    stopped = bridge.stop(timeout)  # stopping a stopped bridge is harmless
    _require(stopped.state == "stopped", "stop() before start() must leave it 'stopped'")

    errors: list[BaseException] = []
    done = threading.Event()

    def hammer_status() -> None:
        while not done.is_set():
            try:
                seen = bridge.status
                if seen.state not in BRIDGE_STATES:
                    raise AssertionError(f"status reported unknown state {seen.state!r}")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return
            time.sleep(0.001)

    reader = threading.Thread(target=hammer_status, daemon=True)
    reader.start()
    pids = []
    try:
        for _round in range(2):  # a stopped bridge can be started again
            t0 = time.monotonic()
            bridge.start()
            _require(time.monotonic() - t0 < timeout, "start() took longer than the timeout")
            running = _wait_for(bridge, ("running",), timeout)
            _require(running.state == "running", f"after start() the bridge is {running.state!r}")
            bridge.start()  # no-op while running
            again = bridge.status
            _require(again.state == "running", "start() on a running bridge must keep it running")
            _require(again.pid == running.pid, "start() on a running bridge must not respawn it")
            t0 = time.monotonic()
            final = bridge.stop(timeout)
            took = time.monotonic() - t0
            _require(took < 2 * timeout + 1.0, f"stop({timeout}) took {took:.1f}s")
            _require(isinstance(final, BridgeStatus), "stop() must return a BridgeStatus")
            _require(final.state == "stopped", f"after stop() the bridge is {final.state!r}")
            _require(final.pid is None, "a stopped bridge must not report a pid")
            _require(bridge.status.state == "stopped", "status disagrees with what stop() returned")
            if running.pid is not None:
                _require(not _pid_alive(running.pid), f"process {running.pid} survived stop()")
                pids.append(running.pid)
            bridge.stop(timeout)  # twice is harmless
    finally:
        done.set()
        reader.join(5.0)
        bridge.stop(timeout)
    if errors:
        raise AssertionError(f"reading status from another thread failed: {errors[0]!r}")
    _require(len(set(pids)) == len(pids), "a restarted bridge must run a new process")

    if make_failing is not None:
        failing = make_failing()
        try:
            failing.start()
            crashed = _wait_for(failing, ("crashed",), timeout)
            _require(crashed.state == "crashed", f"a failing child left it {crashed.state!r}")
            _require(
                crashed.exit_code not in (None, 0),
                f"a crashed bridge must report its non-zero exit code, got {crashed.exit_code}",
            )
            _require(crashed.pid is None, "a crashed bridge must not report a pid")
        finally:
            failing.stop(timeout)
