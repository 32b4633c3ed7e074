"""One helper for the optional dependencies (the extras): `optional(name, extra=...)`.

An adapter calls it where it needs the module, inside its package's `__init__` or a
constructor, never at the top of `domain/` or `ports/`. A missing module raises an ImportError
naming the pip package and the hexloop extra that installs it:

    hexloop.adapters.imgui needs imgui-bundle (module imgui_bundle), which is not installed;
    install it with: pip install "hexloop[gui]"

Lives in `hexloop.adapters` (not in a technology's subpackage) so every adapter can import it
without importing another technology; it imports nothing outside the standard library.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Literal, overload

#: Import names whose pip distribution is called something else.
PIP_NAMES = {
    "cv2": "opencv-python-headless",
    "imgui_bundle": "imgui-bundle",
    "mne_lsl": "mne-lsl",
    "mne_bids": "mne-bids",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
}


def pip_name(module: str) -> str:
    """The pip package that provides the top-level module `module`."""
    root = module.split(".")[0]
    return PIP_NAMES.get(root, root)


def install_hint(extra: str | None, module: str) -> str:
    """What to type: `pip install "hexloop[extra]"` (quoted for every shell), or the package
    itself when no extra provides it."""
    if extra:
        return f'pip install "hexloop[{extra}]"'
    return f"pip install {pip_name(module)}"


def missing_message(name: str, extra: str | None = None, purpose: str | None = None) -> str:
    """The sentence an ImportError for a missing `name` carries."""
    who = purpose or "hexloop"
    return (f"{who} needs {pip_name(name)} (module {name}), which is not installed; "
            f"install it with: {install_hint(extra, name)}")


def is_available(name: str) -> bool:
    """Whether `name` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken __spec__
        return False


@overload
def optional(name: str, extra: str | None = None, *, purpose: str | None = None,
             raise_error: Literal[True] = True) -> ModuleType: ...
@overload
def optional(name: str, extra: str | None = None, *, purpose: str | None = None,
             raise_error: bool) -> ModuleType | None: ...


def optional(name: str, extra: str | None = None, *, purpose: str | None = None,
             raise_error: bool = True) -> ModuleType | None:
    """Import the optional module `name`, or raise an ImportError that says what to install.

    `extra` is the hexloop extra providing it (`"gui"` for imgui_bundle); `purpose` names who
    needs it (`"hexloop.adapters.imgui"`). With `raise_error=False` a missing module gives None
    (for probing, e.g. `hexloop sysinfo`). An error raised while importing a module that is
    present propagates with its own message, followed by the same hint.
    """
    if not is_available(name):
        if not raise_error:
            return None
        raise ImportError(missing_message(name, extra, purpose), name=name)
    try:
        return importlib.import_module(name)
    except ImportError as e:
        if not raise_error:
            return None
        raise ImportError(f"{purpose or 'hexloop'} could not import {name} ({e}); reinstall it "
                          f"with: {install_hint(extra, name)}", name=name) from e
