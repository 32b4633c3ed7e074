"""`hexloop sysinfo`: what a bug report needs, written to any file object (like `mne sys_info`).

Versions of hexloop, Python and every library hexloop may use (read from the installed
distributions, so nothing heavy is imported for them), the native liblsl version as pylsl and
mne-lsl load it, torch with its CUDA state, the platform, cores and memory, the default session
folder, and every `hexloop.adapters` entry point with whether it loads (and its error when not).
Each probe that fails says so on its line and the report goes on.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import TextIO

from .paths import default_session_dir
from .registry import GROUP

#: Distributions reported, in this order: the core, then each extra's.
PACKAGES = ("numpy", "attrs", "platformdirs", "pylsl", "mne-lsl", "mne", "zarr", "numcodecs",
            "torch", "scipy", "imgui-bundle", "opencv-python-headless", "pyxdf", "edfio",
            "mne-bids")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _probe(fn: Callable[[], str]) -> str:
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - a report line, never a crash
        return f"not available ({type(e).__name__}: {e})"


def _ram() -> str:
    try:
        import psutil

        total = psutil.virtual_memory().total
    except ImportError:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{total / 2**30:.1f} GiB"


def _liblsl_pylsl() -> str:
    if _version("pylsl") == "not installed":
        return "pylsl not installed"
    import pylsl

    v = pylsl.library_version()
    return f"{v // 100}.{v % 100} (through pylsl, {pylsl.library_info()})"


def _liblsl_mne_lsl() -> str:
    if _version("mne-lsl") == "not installed":
        return "mne-lsl not installed"
    from mne_lsl.lsl import library_version

    v = library_version()
    return f"{v // 100}.{v % 100} (through mne-lsl)"


def _torch() -> str:
    if _version("torch") == "not installed":
        return "not installed"
    import torch

    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return f"{torch.__version__}, CUDA {torch.version.cuda} available: {names}"
    mps = getattr(torch.backends, "mps", None)
    extra = ", MPS available" if mps is not None and mps.is_available() else ""
    return f"{torch.__version__}, CUDA not available (built for {torch.version.cuda}){extra}"


def plugin_lines(entry_points: Iterable | None = None, load: bool = True) -> list[str]:
    """One line per `hexloop.adapters` entry point: name, target, distribution, load result."""
    eps = metadata.entry_points(group=GROUP) if entry_points is None else entry_points
    lines = []
    for ep in sorted(eps, key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        origin = f"{dist.name} {dist.version}" if dist is not None else "?"
        status = "not loaded"
        if load:
            try:
                ep.load()
                status = "ok"
            except BaseException as e:  # noqa: BLE001 - a plugin may even call sys.exit
                status = f"load error: {type(e).__name__}: {e}"
        lines.append(f"  {ep.name:24} {ep.value:48} [{origin}] {status}")
    return lines or ["  (none found: reinstall hexloop)"]


def sys_info(fp: TextIO | None = None, *, load_plugins: bool = True,
             entry_points: Iterable | None = None) -> None:
    """Write the report to `fp` (default stdout); `load_plugins=False` only lists them."""
    fp = sys.stdout if fp is None else fp
    rows = [
        ("hexloop", _version("hexloop")),
        ("Python", f"{sys.version.split()[0]} ({sys.executable})"),
        ("Platform", f"{platform.platform()} {platform.machine()}"),
        ("CPU", f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"),
        ("RAM", _probe(_ram)),
    ]
    rows += [(name, _version(name)) for name in PACKAGES]
    rows += [
        ("liblsl", _probe(_liblsl_pylsl)),
        ("liblsl (mne-lsl)", _probe(_liblsl_mne_lsl)),
        ("torch/CUDA", _probe(_torch)),
        ("Sessions", _probe(lambda: f"{default_session_dir()} (default session folder)")),
    ]
    width = max(len(name) for name, _ in rows) + 1
    for name, value in rows:
        fp.write(f"{name + ':':{width}} {value}\n")
    fp.write(f"Plugins ({GROUP} entry points):\n")
    for line in plugin_lines(entry_points, load_plugins):
        fp.write(line + "\n")
