"""The default session folder (platformdirs) when a setup or command names none."""

from pathlib import Path

import pytest

from hexloop.adapters.zarr.location import SESSIONS_ENV, default_session_dir
from hexloop.application.composition.cli import main

SETUP = """
[app]
name = "nobase"

[[streams]]
name = "emg"
source = "simulated"
options = { channels = 2, rate = 200.0 }

[store]
adapter = "zarr"

[renderer]
adapter = "headless"
"""


def test_default_is_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(SESSIONS_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_session_dir() == tmp_path / "hexloop" / "recordings"
    monkeypatch.setenv(SESSIONS_ENV, str(tmp_path / "mine"))
    assert default_session_dir() == tmp_path / "mine"


def test_zarr_store_without_base_dir_uses_it(tmp_path, monkeypatch):
    pytest.importorskip("zarr")
    from hexloop.adapters.zarr import ZarrStore

    monkeypatch.setenv(SESSIONS_ENV, str(tmp_path / "s"))
    assert ZarrStore().base_dir == tmp_path / "s"
    assert ZarrStore(tmp_path / "given").base_dir == tmp_path / "given"


def test_a_setup_without_base_dir_checks_and_builds_with_the_default(tmp_path, monkeypatch,
                                                                      capsys):
    pytest.importorskip("zarr")
    from hexloop.application.composition.build import build
    from hexloop.application.composition.labsetup import load_setup
    from hexloop.application.composition.registry import Registry

    monkeypatch.setenv(SESSIONS_ENV, str(tmp_path / "default"))
    setup = Path(tmp_path / "s.toml")
    setup.write_text(SETUP)
    assert main(["check", str(setup)]) == 0, capsys.readouterr().err
    registry = Registry.from_entry_points()
    built = build(load_setup(setup, registry), registry, headless=True, duration=0.1)
    assert Path(built.app.store.base_dir) == tmp_path / "default"
