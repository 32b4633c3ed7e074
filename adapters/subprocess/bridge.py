"""CommandBridge: supervises any command as a bridge (status, bounded stderr log, restarts)."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from hexloop.domain.bridges import BridgeStatus, bridge_name_problem, describe_exit
from hexloop.ports.bridge import BridgeStartError

from .logfile import BoundedLog

_LIVE_BRIDGES: weakref.WeakSet[CommandBridge] = weakref.WeakSet()


@atexit.register
def _stop_forgotten_bridges() -> None:
    """Last resort at interpreter exit: no child outlives an app that forgot to stop it."""
    for bridge in list(_LIVE_BRIDGES):
        try:
            bridge.stop(2.0)
        except Exception:  # noqa: BLE001 - best effort during shutdown
            pass


class CommandBridge:
    """Runs `argv` as a supervised child process; implements the Bridge port.

    - stderr goes to `<log_dir>/<name>.stderr.log` (bounded to `log_max_bytes`, the previous
      part or run in `.stderr.log.1`); stdout is discarded, stdin is /dev/null.
    - `env` entries are added to (not substituted for) this process's environment, so
      settings such as LSLAPICFG reach the child.
    - The child gets its own session: a Ctrl-C meant for the app does not kill it mid-write;
      the app stops it in order with `stop()`, which signals the child's whole process group
      (so helpers a wrapper script started go too).
    - With `restart=True`, a crash (non-zero exit or a signal nobody sent) restarts it after
      `backoff_s`, doubling up to `max_backoff_s`; it gives up after `max_restarts` crashes in a
      row. A run that lasted `stable_after_s` resets that count. A clean exit (code 0) is
      never restarted.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
        log_dir: str | os.PathLike | None = None,
        restart: bool = False,
        max_restarts: int = 5,
        backoff_s: float = 1.0,
        *,
        max_backoff_s: float = 30.0,
        stable_after_s: float = 60.0,
        log_max_bytes: int = 1_000_000,
        tail_lines: int = 20,
        poll_s: float = 0.1,
    ):
        problem = bridge_name_problem(name)
        if problem:
            raise ValueError(problem)
        if isinstance(argv, str) or not argv:
            raise ValueError(
                f"bridge {name!r}: argv must be a non-empty list of arguments, not {argv!r} "
                "(no shell is involved; split the command yourself)"
            )
        if max_restarts < 0 or backoff_s < 0 or max_backoff_s < backoff_s:
            raise ValueError(
                f"bridge {name!r}: need max_restarts >= 0 and 0 <= backoff_s <= max_backoff_s"
            )
        self._name = name
        self.argv = [str(a) for a in argv]
        self.env = dict(env or {})
        self.cwd = Path(cwd) if cwd is not None else None
        if log_dir is None:
            log_dir = tempfile.mkdtemp(prefix=f"hexloop-bridge-{name}-")
        self.log = BoundedLog(Path(log_dir) / f"{name}.stderr.log", log_max_bytes, tail_lines)
        self.restart = restart
        self.max_restarts = int(max_restarts)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.stable_after_s = float(stable_after_s)
        self.poll_s = float(poll_s)

        self._lifecycle = threading.RLock()  # serialises start() and stop() (and subclasses)
        self._state = threading.Lock()  # guards the process handle against the supervisor
        self._proc: subprocess.Popen | None = None
        self._run_stop: threading.Event | None = None  # set to end the current supervisor
        self._supervisor: threading.Thread | None = None
        self._restarts = 0
        self._crash_reason: str | None = None  # set while a restart is pending
        self._started_at = 0.0
        self._status = BridgeStatus(name, log_path=str(self.log.path))

    # -- the Bridge port ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def status(self) -> BridgeStatus:
        return self._status  # replaced whole, never mutated: reading it needs no lock

    @property
    def log_path(self) -> Path:
        return self.log.path

    def start(self) -> None:
        with self._lifecycle:
            proc = self._proc
            if proc is not None and proc.poll() is None:
                return
            self._end_supervisor()  # of a finished run, or of one waiting to restart
            with self._state:
                self._restarts = 0
                self._crash_reason = None
                proc = self._spawn(restarting=False)
                run_stop = threading.Event()
                self._run_stop = run_stop
            self._supervisor = threading.Thread(
                target=self._supervise, args=(proc, run_stop), name=f"bridge-{self._name}",
                daemon=True,
            )
            self._supervisor.start()
            _LIVE_BRIDGES.add(self)

    def stop(self, timeout: float = 5.0) -> BridgeStatus:
        with self._lifecycle:
            proc = self._end_supervisor()
            if proc is not None:
                code, detail = self._terminate(proc, timeout)
                self.log.enforce_bound(final=True)  # what it wrote since the last poll counts too
                self._publish("stopped", None, code, detail)
            elif self._crash_reason is not None:  # it crashed; cancel the restart it awaited
                self._publish(
                    "crashed", None, self._status.exit_code, f"{self._crash_reason}; not restarted"
                )
            _LIVE_BRIDGES.discard(self)
            return self._status

    # -- internals ---------------------------------------------------------------------------

    def _command(self, restarting: bool) -> list[str]:
        """The argv of the next run; subclasses adapt it (e.g. resume instead of refuse)."""
        return self.argv

    def _spawn(self, restarting: bool) -> subprocess.Popen:
        argv = self._command(restarting)
        fd = self.log.open_for_child()
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fd,
                cwd=self.cwd, env={**os.environ, **self.env}, start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            detail = f"could not start {argv[0]!r}: {exc.strerror or exc}"
            self._publish("crashed", None, None, detail)
            raise BridgeStartError(f"bridge {self._name!r} {detail}") from exc
        finally:
            os.close(fd)
        self._proc = proc
        self._started_at = time.monotonic()
        self._publish("running", proc.pid, None, "")
        return proc

    def _end_supervisor(self) -> subprocess.Popen | None:
        """End the current run's supervision; return its process (still running or not)."""
        with self._state:  # after this, the supervisor can no longer spawn a new process
            if self._run_stop is not None:
                self._run_stop.set()
            proc, self._proc = self._proc, None
            thread, self._supervisor, self._run_stop = self._supervisor, None, None
        if thread is not None:
            thread.join()
        return proc

    def _terminate(self, proc: subprocess.Popen, timeout: float) -> tuple[int | None, str]:
        """SIGTERM the child's process group (its own helpers too), SIGKILL after `timeout`."""
        if proc.poll() is not None:
            return proc.returncode, f"had already exited: it {describe_exit(proc.returncode)}"
        self._signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout)
            return proc.returncode, "stopped on request"
        except subprocess.TimeoutExpired:
            self._signal_group(proc, signal.SIGKILL)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return None, f"process {proc.pid} ignored SIGKILL for {timeout}s"
            return proc.returncode, f"did not exit within {timeout:g}s of SIGTERM; killed"

    @staticmethod
    def _signal_group(proc: subprocess.Popen, sig: int) -> None:
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)  # the child leads its own session and process group
        except ProcessLookupError:
            pass
        except PermissionError:
            proc.send_signal(sig)

    def _publish(self, state: str, pid: int | None, code: int | None, detail: str) -> None:
        self._status = BridgeStatus(
            self._name, state, pid, code, self.log.tail(), self._restarts, detail,
            str(self.log.path),
        )

    def _supervise(self, proc: subprocess.Popen, run_stop: threading.Event) -> None:
        crashes_in_a_row = 0
        last_size = -1
        while not run_stop.wait(self.poll_s):
            self.log.enforce_bound(paused=functools.partial(_paused, proc))
            code = proc.poll()
            if code is None:
                size = self.log.size()
                if size != last_size:  # keep the live tail fresh without rereading every poll
                    last_size = size
                    self._publish("running", proc.pid, None, "")
                continue
            # It exited: what it wrote after this poll's check must be bounded too (a child can
            # write megabytes between two polls and exit).
            self.log.enforce_bound(final=True)
            with self._state:
                if run_stop.is_set():
                    return  # stop() or start() took over
                self._proc = None
                ran_for = time.monotonic() - self._started_at
                if code == 0:
                    self._publish("stopped", None, code, f"exited on its own: it {describe_exit(0)}")
                    return
                crashes_in_a_row = 1 if ran_for >= self.stable_after_s else crashes_in_a_row + 1
                why = f"it {describe_exit(code)}"
                if not self.restart or crashes_in_a_row > self.max_restarts:
                    gave_up = f"; gave up after {self.max_restarts} restarts" if self.restart else ""
                    self._publish("crashed", None, code, why + gave_up)
                    return
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (crashes_in_a_row - 1))
                self._crash_reason = why
                self._publish(
                    "crashed", None, code,
                    f"{why}; restarting in {delay:g}s "
                    f"(attempt {crashes_in_a_row} of {self.max_restarts})",
                )
            if run_stop.wait(delay):
                return
            with self._state:
                if run_stop.is_set():
                    return
                self._restarts += 1
                self._crash_reason = None
                try:
                    proc = self._spawn(restarting=True)
                except BridgeStartError:
                    return  # _spawn published the reason as 'crashed'
                last_size = -1


@contextlib.contextmanager
def _paused(proc: subprocess.Popen) -> Iterator[None]:
    """The child's process group stopped (SIGSTOP) for a moment, so a line it writes can never
    fall between the copy and the truncate of its log; continued whatever happens."""
    try:
        os.killpg(proc.pid, signal.SIGSTOP)
    except (ProcessLookupError, PermissionError):
        pass  # it is gone: nothing writes
    try:
        yield
    finally:
        try:
            os.killpg(proc.pid, signal.SIGCONT)
        except (ProcessLookupError, PermissionError):
            pass
