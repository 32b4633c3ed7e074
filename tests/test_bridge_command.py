"""CommandBridge: supervising tiny python commands (crash, restart, stderr log, stop, env)."""

import os
import signal
import sys
import time

import pytest

from hexloop.adapters.subprocess import CommandBridge
from hexloop.domain.bridges import BridgeExit
from hexloop.ports.bridge import Bridge, BridgeStartError
from hexloop.ports.bridge_contracts import check_bridge

PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-c", code]


def wait_state(bridge, state, timeout=10.0):
    deadline = time.monotonic() + timeout
    while bridge.status.state != state and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bridge.status.state == state, bridge.status.summary()
    return bridge.status


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
    assert time.monotonic() - t0 < 1.0
    assert status.state == "crashed" and "not restarted" in status.detail
    time.sleep(0.3)
    assert starts.read_text() == "x"


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
    time.sleep(0.3)
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
    assert 0.4 < time.monotonic() - t0 < 3.0
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
