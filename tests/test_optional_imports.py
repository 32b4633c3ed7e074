"""The one helper for optional imports: what a missing extra says, and that adapters use it."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from hexloop.adapters import _optional
from hexloop.adapters._optional import install_hint, missing_message, optional, pip_name

ROOT = Path(__file__).resolve().parents[1]


def hide(monkeypatch, *names):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name.split(".")[0] in names:
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(_optional.importlib.util, "find_spec", find_spec)


def test_a_missing_module_names_the_pip_package_and_the_extra(monkeypatch):
    hide(monkeypatch, "imgui_bundle")
    with pytest.raises(ImportError) as e:
        optional("imgui_bundle", extra="gui", purpose="hexloop.adapters.imgui")
    message = str(e.value)
    assert "imgui-bundle" in message  # the pip name, not the import name
    assert 'pip install "hexloop[gui]"' in message
    assert message.startswith("hexloop.adapters.imgui needs")
    assert e.value.name == "imgui_bundle"


def test_without_an_extra_the_package_itself_is_named(monkeypatch):
    hide(monkeypatch, "cv2")
    with pytest.raises(ImportError, match="pip install opencv-python-headless"):
        optional("cv2")


def test_raise_error_false_probes(monkeypatch):
    hide(monkeypatch, "torch")
    assert optional("torch", extra="torch", raise_error=False) is None
    assert optional("json") is sys.modules["json"]


def test_a_broken_present_module_keeps_its_own_error_and_the_hint(tmp_path, monkeypatch):
    (tmp_path / "hexloop_broken_mod.py").write_text("raise ImportError('libfoo.so missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as e:
        optional("hexloop_broken_mod", extra="video")
    assert "libfoo.so missing" in str(e.value) and 'hexloop[video]' in str(e.value)


@pytest.mark.parametrize("module, pip", [("cv2", "opencv-python-headless"), ("mne_lsl", "mne-lsl"),
                                         ("imgui_bundle", "imgui-bundle"), ("pyxdf", "pyxdf"),
                                         ("zarr.codecs", "zarr")])
def test_pip_names(module, pip):
    assert pip_name(module) == pip


def test_hints():
    assert install_hint("zarr", "zarr") == 'pip install "hexloop[zarr]"'
    assert "module mne_bids" in missing_message("mne_bids", "export")


def test_adapter_packages_raise_the_helpers_message_when_their_module_is_missing():
    """Importing an adapter package with its dependency hidden says which extra to install."""
    code = ("import sys; sys.modules['imgui_bundle'] = None\n"
            "import importlib.util as u; real = u.find_spec\n"
            "u.find_spec = lambda n, *a, **k: None if n == 'imgui_bundle' else real(n, *a, **k)\n"
            "import hexloop.adapters.imgui\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0
    assert 'pip install "hexloop[gui]"' in out.stderr and "imgui-bundle" in out.stderr


def test_no_adapter_package_hand_writes_the_guard_any_more():
    copies = [p.relative_to(ROOT) for p in (ROOT / "adapters").rglob("*.py")
              if p.name != "_optional.py" and "except ImportError" in p.read_text()
              and "hexloop[" in p.read_text()]
    assert not copies, f"use hexloop.adapters._optional.optional in {copies}"
