"""SIGTERM (and Ctrl-C) end app.run() cleanly in a real process: cleanup runs, exit code 0, and a
recording in progress is finalized with everything acquired."""

import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(30)

SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    from hexloop.adapters.fakes import FakeStore
    from hexloop.adapters.simulated import SimulatedSource
    from hexloop.application import App, HeadlessRenderer, Stream

    record = sys.argv[1] == "record"
    store = FakeStore()
    app = App("signals", store=store, class_names=("rest", "fist"))
    emg = Stream("emg", SimulatedSource("sim", channels=2, rate=500.0), window_ms=100,
                 buffer_ms=1000)
    app.streams(emg)

    def announce():
        while emg.info is None:
            time.sleep(0.01)
        if record:
            app.start_recording(slug="signals")
            app.mark("fist")
            start = emg.health.samples
            while emg.health.samples < start + 100:
                time.sleep(0.01)
        print("ready", flush=True)

    app.before_run_hooks.append(lambda app: threading.Thread(target=announce, daemon=True).start())

    def report(app):
        print("cleanup ran", flush=True)
        summary = app.ctx.last_summary
        if summary is not None:
            session = store.read(summary.location)  # only finalized sessions can be read
            data, ts = session.data("emg")
            gaps = sorted(set((ts[1:] - ts[:-1]).round(6).tolist()))
            print(f"finalized samples={summary.samples['emg']} read={ts.size} "
                  f"labels={len(session.labels)} gaps={gaps}", flush=True)

    app.cleanup_hooks.append(report)
    app.run(HeadlessRenderer(interval=0, duration=20.0))
    print("run returned", flush=True)
    """
)


def default_sigint() -> None:
    """In the child, Ctrl-C as a terminal delivers it, also when the suite runs with SIGINT
    ignored (under nohup, as a background job): Python turns SIGINT into KeyboardInterrupt only
    when it starts with the default disposition, and an ignored one is inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_until_ready_then(sig, tmp_path, mode):
    script = tmp_path / "signals_app.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    try:
        first = proc.stdout.readline()
        assert first == "ready\n", first + proc.stderr.read()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out.splitlines(), err


def test_sigterm_ends_run_and_runs_cleanup(tmp_path):
    code, lines, err = run_until_ready_then(signal.SIGTERM, tmp_path, "idle")
    assert code == 0, err
    assert "Traceback" not in err, err
    assert lines == ["cleanup ran", "run returned"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_signal_while_recording_finalizes_the_recording(tmp_path, sig):
    code, lines, err = run_until_ready_then(sig, tmp_path, "record")
    assert code == 0, err
    assert "Traceback" not in err, err
    assert lines[0] == "cleanup ran" and lines[-1] == "run returned"
    assert lines[1].startswith("finalized "), f"the recording was not finalized: {lines}"
    fields = dict(item.split("=", 1) for item in lines[1].split()[1:])
    assert int(fields["samples"]) >= 100
    assert fields["read"] == fields["samples"]  # the summary matches what reads back
    assert fields["labels"] == "1"
    assert fields["gaps"] == "[0.002]"  # 500 Hz throughout: nothing dropped
