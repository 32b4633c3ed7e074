"""The bridge status record and exit codes (pure domain)."""

import signal

import pytest

from hexloop.domain.bridges import BridgeExit, BridgeStatus, bridge_name_problem, describe_exit


def test_unknown_state_is_refused():
    with pytest.raises(ValueError, match="running"):
        BridgeStatus("cam", "exploded")


def test_summary_of_a_crash_names_the_exit_and_its_meaning():
    status = BridgeStatus("cam", "crashed", None, 3, ("no camera",), restarts=2, detail="x")
    line = status.summary()
    assert line.startswith("cam: crashed")
    assert "exit 3 (could not open its source" in line
    assert "2 restarts" in line and line.endswith("; x")
    assert status.crashed and not status.running


def test_summary_of_a_running_bridge_shows_its_pid_not_an_old_exit():
    line = BridgeStatus("cam", "running", 1234, exit_code=None).summary()
    assert line == "cam: running, pid 1234"


def test_exit_codes_are_distinct_and_described():
    assert len({int(c) for c in BridgeExit}) == len(BridgeExit)
    meanings = {describe_exit(int(c)) for c in BridgeExit}
    assert len(meanings) == len(BridgeExit)
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"
    assert describe_exit(99) == "exited with code 99"
    assert describe_exit(None) == "has not exited"


@pytest.mark.parametrize("name,ok", [("cam", True), ("cam_2.left-eye", True), ("", False),
                                     ("a/b", False), ("-cam", False), ("x" * 64, True),
                                     ("x" * 65, False), (3, False)])
def test_bridge_names(name, ok):
    assert (bridge_name_problem(name) is None) == ok
