"""CommandBridge: supervising tiny python commands (crash, restart, stderr log, stop, env)."""

import os
import signal
import sys
import threading
import time

import pytest

from hexloop.adapters.subprocess import CommandBridge
from hexloop.domain.bridges import BridgeExit
from hexloop.ports.bridge import Bridge, BridgeStartError
from hexloop.ports.bridge_contracts import check_bridge
from tests.helpers import wait_for

PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-c", code]


def wait_state(bridge, state, timeout=10.0):
    deadline = time.monotonic() + timeout
    while bridge.status.state != state and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bridge.status.state == state, bridge.status.summary()
    return bridge.status


def supervising(name: str) -> bool:
    """True while a supervisor thread of the bridge `name` is alive (one that could restart it)."""
    return any(t.name == f"bridge-{name}" and t.is_alive() for t in threading.enumerate())


def pid_alive(pid):
    """True while `pid` exists and is not a zombie (an orphan's zombie may never be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def bridges(tmp_path):
    made = []

    def make(name, argv, **kwargs):
        kwargs.setdefault("log_dir", tmp_path / "logs")
        bridge = CommandBridge(name, argv, **kwargs)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.stop(2.0)


def test_passes_the_bridge_contract(bridges):
    check_bridge(
        lambda: bridges("sleeper", py("import time; time.sleep(60)")),
        make_failing=lambda: bridges("failer", py("import sys; sys.exit(3)")),
    )


def test_crash_reports_exit_code_and_the_last_stderr_lines(bridges):
    code = (
        "import sys\n"
        "for i in range(50): print(f'line {i}', file=sys.stderr)\n"
        f"sys.exit({int(BridgeExit.MISSING_DEPENDENCY)})"
    )
    bridge = bridges("crasher", py(code), tail_lines=5)
    bridge.start()
    status = wait_state(bridge, "crashed")
    assert status.exit_code == BridgeExit.MISSING_DEPENDENCY
    assert status.stderr_tail == tuple(f"line {i}" for i in range(45, 50))
    assert "optional package" in status.detail
    assert status.pid is None
    assert status.log_path == str(bridge.log_path)
    assert bridge.stop().state == "crashed"  # stopping a crashed bridge keeps what happened


def test_traceback_of_an_uncaught_exception_reaches_the_status(bridges):
    bridge = bridges("raiser", py("raise RuntimeError('camera driver exploded')"))
    bridge.start()
    status = wait_state(bridge, "crashed")
    assert status.exit_code == 1
    assert status.stderr_tail[-1] == "RuntimeError: camera driver exploded"


def test_a_kill_from_outside_is_a_crash_with_the_signal(bridges):
    bridge = bridges("victim", py("import time; time.sleep(60)"))
    bridge.start()
    pid = wait_state(bridge, "running").pid
    os.kill(pid, signal.SIGKILL)
    status = wait_state(bridge, "crashed")
    assert status.exit_code == -signal.SIGKILL
    assert "SIGKILL" in status.summary()


def test_restarts_after_crashes_with_doubling_backoff_then_gives_up(bridges, tmp_path):
    starts = tmp_path / "starts.txt"
    code = (
        "import sys, time\n"
        f"open({str(starts)!r}, 'a').write(f'{{time.monotonic()}}\\n')\n"
        "sys.exit(4)"
    )
    bridge = bridges("flaky", py(code), restart=True, max_restarts=2, backoff_s=0.3)
    bridge.start()
    deadline = time.monotonic() + 10
    while "gave up" not in bridge.status.detail and time.monotonic() < deadline:
        time.sleep(0.02)
    status = bridge.status
    assert status.state == "crashed" and status.exit_code == 4
    assert status.restarts == 2
    assert "gave up after 2 restarts" in status.detail
    times = [float(t) for t in starts.read_text().split()]
    assert len(times) == 3  # the first run and two restarts, no more
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6, gaps  # backoff doubles


def test_stop_cancels_a_pending_restart(bridges, tmp_path):
    starts = tmp_path / "starts.txt"
    code = f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(4)"
    bridge = bridges("flaky", py(code), restart=True, backoff_s=5.0)
    bridge.start()
    deadline = time.monotonic() + 5
    while "restarting in 5s" not in bridge.status.detail and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "restarting in 5s (attempt 1 of 5)" in bridge.status.detail
    t0 = time.monotonic()
    status = bridge.stop(1.0)
    assert time.monotonic() - t0 < 5.0  # it did not sit out the 5 s backoff
    assert status.state == "crashed" and "not restarted" in status.detail
    assert not supervising("flaky")  # nothing is left that could restart it
    assert starts.read_text() == "x" and bridge.status == status


def test_a_restarted_bridge_runs_again_and_counts_restarts(bridges, tmp_path):
    first = tmp_path / "first"
    code = (
        "import os, sys, time\n"
        f"if not os.path.exists({str(first)!r}):\n"
        f"    open({str(first)!r}, 'w').close(); sys.exit(4)\n"
        "time.sleep(60)"
    )
    bridge = bridges("second-try", py(code), restart=True, backoff_s=0.1)
    bridge.start()
    deadline = time.monotonic() + 10
    while bridge.status.restarts < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    status = wait_state(bridge, "running")
    assert status.restarts == 1
    assert pid_alive(status.pid)
    stopped = bridge.stop(2.0)
    assert stopped.state == "stopped" and not pid_alive(status.pid)


def test_a_clean_exit_is_stopped_and_never_restarted(bridges):
    bridge = bridges("oneshot", py("print('done')"), restart=True, backoff_s=0.05)
    bridge.start()
    status = wait_state(bridge, "stopped")
    assert wait_for(lambda: not supervising("oneshot"))  # supervision ended
    assert bridge.status == status
    assert status.exit_code == 0 and status.restarts == 0


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout(bridges, tmp_path):
    ready = tmp_path / "ready"
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(ready)!r}, 'w').close()\n"
        "time.sleep(60)"
    )
    bridge = bridges("stubborn", py(code))
    bridge.start()
    pid = bridge.status.pid
    deadline = time.monotonic() + 10
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    t0 = time.monotonic()
    status = bridge.stop(0.5)
    assert 0.5 <= time.monotonic() - t0 < 30  # waited out the SIGTERM timeout, not the child
    assert status.state == "stopped" and status.exit_code == -signal.SIGKILL
    assert "killed" in status.detail
    assert not pid_alive(pid)


def test_stop_also_ends_the_processes_the_child_started(bridges, tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(g.pid))\n"
        "g.wait()"
    )
    bridge = bridges("wrapper", py(code))
    bridge.start()
    deadline = time.monotonic() + 10
    while (not pidfile.exists() or not pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    grandchild = int(pidfile.read_text())
    assert pid_alive(grandchild)
    assert bridge.stop(2.0).state == "stopped"
    deadline = time.monotonic() + 5
    while pid_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(grandchild)


def test_lots_of_stderr_never_blocks_the_child_and_the_log_stays_bounded(bridges, tmp_path):
    done = tmp_path / "done"
    code = (
        "import sys\n"
        "line = 'x' * 1000 + '\\n'\n"
        "for i in range(20_000): sys.stderr.write(line)\n"  # 20 MB
        "print('last words', file=sys.stderr, flush=True)\n"
        f"open({str(done)!r}, 'w').close()\n"
        "import time; time.sleep(60)"
    )
    # The supervisor looks at the log only every 30 s here: the child cannot depend on it.
    bridge = bridges("chatty", py(code), log_max_bytes=64_000, poll_s=30.0)
    bridge.start()
    deadline = time.monotonic() + 20
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done.exists(), "the child blocked writing to stderr"
    bridge.stop(2.0)

    bounded = bridges("chatty2", py(code.replace("time.sleep(60)", "pass")), log_max_bytes=64_000,
                      tail_lines=3, poll_s=0.01)
    bounded.start()
    status = wait_state(bounded, "stopped", timeout=30)
    assert status.stderr_tail[-1] == "last words"
    assert len(status.stderr_tail) == 3
    assert all(len(line) <= 410 for line in status.stderr_tail)  # long lines are clipped
    log = bounded.log_path
    rotated = log.with_name(log.name + ".1")
    assert os.path.getsize(log) <= 64_000
    assert rotated.exists() and os.path.getsize(rotated) <= 64_000


def test_the_previous_run_log_is_kept_beside_the_new_one(bridges):
    bridge = bridges("twice", py("import sys; print('run', file=sys.stderr); sys.exit(5)"))
    bridge.start()
    wait_state(bridge, "crashed")
    bridge.start()
    status = wait_state(bridge, "crashed")
    assert status.stderr_tail == ("run",)  # only the latest run's lines
    assert bridge.log_path.with_name(bridge.log_path.name + ".1").read_text() == "run\n"


def test_environment_is_inherited_and_extended(bridges, tmp_path, monkeypatch):
    out = tmp_path / "env.txt"
    monkeypatch.setenv("HEXLOOP_TEST_INHERITED", "from-parent")
    code = (
        "import os\n"
        f"open({str(out)!r}, 'w').write('|'.join(os.environ.get(k, '-') for k in "
        "('HEXLOOP_TEST_INHERITED', 'HEXLOOP_TEST_ADDED', 'LSLAPICFG')))"
    )
    bridge = bridges("env", py(code), env={"HEXLOOP_TEST_ADDED": "by-bridge"}, cwd=tmp_path)
    bridge.start()
    wait_state(bridge, "stopped")
    assert out.read_text() == f"from-parent|by-bridge|{os.environ['LSLAPICFG']}"


def test_a_missing_program_fails_start_with_a_clear_error(bridges, tmp_path):
    bridge = bridges("ghost", [str(tmp_path / "no-such-program")])
    with pytest.raises(BridgeStartError, match="ghost.*could not start.*no-such-program"):
        bridge.start()
    assert bridge.status.state == "crashed"
    assert bridge.stop().state == "crashed"


@pytest.mark.parametrize("name", ["", "has space", "../escape", "x" * 65])
def test_a_bad_name_is_refused(name):
    with pytest.raises(ValueError, match="bridge name"):
        CommandBridge(name, py("pass"))


def test_argv_must_be_a_list():
    with pytest.raises(ValueError, match="split the command"):
        CommandBridge("shell", "python -c pass")


def test_is_a_bridge():
    assert isinstance(CommandBridge("b", py("pass")), Bridge)


# -- the log bound holds whatever the timing --------------------------------------------------

MEGABYTES_THEN_EXIT = (
    "import sys\n"
    "line = 'y' * 1000 + '\\n'\n"
    "for i in range(3000): sys.stderr.write(line)\n"  # 3 MB, then exit at once
    "print('last words', file=sys.stderr, flush=True)\n"
)


def test_a_child_that_writes_megabytes_between_two_polls_and_exits_leaves_a_bounded_log(
    bridges, tmp_path
):
    """The supervisor's size check runs while the child is quiet; the child then writes 3 MB and
    exits before the next check. The bound must still hold once the bridge reports it stopped."""
    go = tmp_path / "go"
    code = (
        "import os, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.005)\n" + MEGABYTES_THEN_EXIT
    )
    bridge = bridges("burst", py(code), log_max_bytes=64_000, tail_lines=2, poll_s=0.01)
    real_enforce = bridge.log.enforce_bound
    released = []

    def enforce_then_let_the_child_burst(*args, **kwargs):
        result = real_enforce(*args, **kwargs)
        if not released and bridge.status.pid is not None:
            pid = bridge.status.pid
            released.append(pid)
            go.touch()  # after the check: the child writes everything and exits, unseen
            deadline = time.monotonic() + 20
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.005)  # until it is a zombie: it exited, the supervisor did not reap
        return result

    bridge.log.enforce_bound = enforce_then_let_the_child_burst
    bridge.start()
    status = wait_state(bridge, "stopped", timeout=30)
    assert released, "the child was never released"
    assert status.exit_code == 0
    assert os.path.getsize(bridge.log_path) <= 64_000
    rotated = bridge.log_path.with_name(bridge.log_path.name + ".1")
    assert os.path.getsize(rotated) <= 64_000
    assert status.stderr_tail[-1] == "last words"  # the end is what is kept


def test_stop_bounds_what_the_child_wrote_since_the_last_poll(bridges, tmp_path):
    done = tmp_path / "done"
    code = MEGABYTES_THEN_EXIT + f"open({str(done)!r}, 'w').close()\nimport time; time.sleep(60)"
    bridge = bridges("unpolled", py(code), log_max_bytes=64_000, poll_s=30.0)
    bridge.start()
    deadline = time.monotonic() + 20
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done.exists()
    status = bridge.stop(2.0)
    assert status.state == "stopped"
    assert os.path.getsize(bridge.log_path) <= 64_000
    assert status.stderr_tail[-1] == "last words"


def test_a_new_run_keeps_only_the_bounded_end_of_an_oversized_previous_log(tmp_path):
    from hexloop.adapters.subprocess.logfile import BoundedLog

    log = BoundedLog(tmp_path / "x.stderr.log", max_bytes=4096)
    log.path.write_bytes(b"old\n" * 100_000 + b"the end\n")  # 400 kB left by an earlier run
    os.close(log.open_for_child())
    assert log.size() == 0
    kept = log.rotated.read_bytes()
    assert len(kept) <= 4096 and kept.endswith(b"the end\n")


# -- check_bridge catches broken bridges ------------------------------------------------------

class _ScriptedBridge:
    """A fake bridge whose flaws are switched on one at a time."""

    def __init__(self, name="fake", *, stop_keeps_running=False, crash_code=None, crash_pid=None):
        from hexloop.domain.bridges import BridgeStatus

        self._Status = BridgeStatus
        self._name = name
        self._status = BridgeStatus(name)
        self.stop_keeps_running = stop_keeps_running
        self.crash_code = crash_code  # set: start() ends in 'crashed' with this exit code
        self.crash_pid = crash_pid

    @property
    def name(self):
        return self._name

    @property
    def status(self):
        return self._status

    def start(self):
        if self.crash_code is not None:
            self._status = self._Status(self._name, "crashed", self.crash_pid, self.crash_code)
            return
        if self._status.running:
            return
        self._status = self._Status(self._name, "running", None)

    def stop(self, timeout=5.0):
        if not self.stop_keeps_running and not self._status.crashed:
            self._status = self._Status(self._name, "stopped")
        return self._status


def test_check_bridge_accepts_the_well_behaved_fake():
    check_bridge(_ScriptedBridge, make_failing=lambda: _ScriptedBridge(crash_code=3))


@pytest.mark.parametrize("make,make_failing,match", [
    (lambda: _ScriptedBridge(stop_keeps_running=True), None, "after stop\\(\\) the bridge is"),
    (lambda: 42, None, "does not implement the Bridge port"),
    (_ScriptedBridge, lambda: _ScriptedBridge(crash_code=0), "non-zero exit code"),
    (_ScriptedBridge, lambda: _ScriptedBridge(crash_code=3, crash_pid=77), "must not report a pid"),
    (_ScriptedBridge, _ScriptedBridge, "a failing child left it 'running'"),
])
def test_check_bridge_catches_a_broken_bridge(make, make_failing, match):
    with pytest.raises(AssertionError, match=match):
        check_bridge(make, make_failing=make_failing, timeout=0.3)


class _LeakyBridge(CommandBridge):
    """Reports 'stopped' without ending its child: the bug check_bridge exists to catch."""

    def _terminate(self, proc, timeout):
        self.leaked = proc
        return None, "pretended to stop"


def test_check_bridge_catches_a_bridge_whose_child_survives_stop(bridges):
    made = []

    def make():
        bridge = bridges("leaky", py("import time; time.sleep(60)"))
        bridge.__class__ = _LeakyBridge
        made.append(bridge)
        return bridge

    try:
        with pytest.raises(AssertionError, match="survived stop"):
            check_bridge(make, timeout=2.0)
    finally:
        for bridge in made:
            leaked = getattr(bridge, "leaked", None)
            if leaked is not None:
                leaked.kill()
                leaked.wait(5)
