"""A private virtual display (Xvfb) for windows on machines without a screen: tests, benchmarks,
screenshots."""

from __future__ import annotations

import os
import select
import shutil
import subprocess


def start_xvfb(screen: str = "1920x1080x24", timeout: float = 15.0) -> tuple[subprocess.Popen, str]:
    """Start Xvfb on a free display number; (process, ":N"). RuntimeError if it cannot, or is
    not ready within `timeout` seconds."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise RuntimeError("no Xvfb: apt-get install xvfb xauth libgl1 libegl1")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", screen,
                             "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        ready, _, _ = select.select([pipe], [], [], timeout)
        number = pipe.readline().strip() if ready else ""  # its display number, once ready
    if not number:
        stop_xvfb(proc)
        raise RuntimeError(f"Xvfb did not start (exit code {proc.poll()})")
    return proc, f":{number}"


def stop_xvfb(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def private_display(screen: str = "1920x1080x24") -> subprocess.Popen | None:
    """Point DISPLAY at a new Xvfb when there is no display; its process, or None if one exists."""
    if os.environ.get("DISPLAY"):
        return None
    proc, display = start_xvfb(screen)
    os.environ["DISPLAY"] = display
    return proc
