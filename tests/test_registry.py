"""The adapter registry: entry points (hexloop's own and a third-party one), errors naming extras."""

import subprocess
import sys
import textwrap

import pytest

from hexloop.application.composition.registry import AdapterUnavailable, Registry

PLUGIN = textwrap.dedent('''
    """A third-party adapter package, as a lab would write one."""
    import numpy as np
    from hexloop.domain.streams import StreamInfo

    class ConstSource:
        def __init__(self, value: float = 1.0, channels: int = 2):
            self.value, self._info = value, StreamInfo("const", channels, 100.0)
            self.n = 0
        @property
        def info(self):
            return self._info
        def connect(self, timeout):
            return self._info
        def read(self):
            ts = self.n / 100.0 + np.arange(10) / 100.0
            self.n += 10
            return np.full((10, self._info.channel_count), self.value, np.float32), ts
        def disconnect(self):
            pass
''')


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    """A test-only distribution declaring a `source.const` entry point in hexloop's group."""
    (tmp_path / "hexloop_testplugin.py").write_text(PLUGIN)
    dist = tmp_path / "hexloop_testplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hexloop-testplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[hexloop.adapters]\nsource.const = hexloop_testplugin:ConstSource\n"
        "bogus = hexloop_testplugin:ConstSource\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_hexloop_registers_its_own_adapters_through_entry_points():
    registry = Registry.from_entry_points()
    assert "simulated" in registry.names("source")
    assert "headless" in registry.names("renderer")
    from hexloop.adapters.simulated import SimulatedSource

    assert registry.load("source", "simulated") is SimulatedSource


def test_a_third_party_entry_point_adds_an_adapter_without_changing_hexloop(plugin_path):
    from hexloop.ports.contracts import check_source

    registry = Registry.from_entry_points()
    entry = registry.entry("source", "const")
    assert entry.distribution == "hexloop-testplugin"
    assert entry.extra is None and entry.missing == []
    cls = registry.load("source", "const")
    check_source(lambda: cls(value=3.0), min_samples=30)
    assert "bogus" not in registry.names("source")  # malformed names are ignored


def test_the_adapters_command_lists_a_plugin(plugin_path):
    env_path = f"{plugin_path}"
    out = subprocess.run(
        [sys.executable, "-m", "hexloop.application.composition.cli", "adapters"],
        capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, "PYTHONPATH": env_path},
    )
    assert out.returncode == 0, out.stderr
    assert "const" in out.stdout and "hexloop_testplugin:ConstSource" in out.stdout


def test_unknown_adapter_names_the_registered_ones():
    registry = Registry.from_entry_points()
    with pytest.raises(AdapterUnavailable, match="registered source adapters: .*simulated"):
        registry.load("source", "no-such-thing")


@pytest.mark.parametrize("module,absent,extra", [
    ("hexloop.adapters.pylsl", "pylsl", "lsl"),
    ("hexloop.adapters.torch", "torch", "torch"),
    ("hexloop.adapters.opencv", "cv2", "video"),
])
def test_missing_optional_dependency_names_the_module_and_the_extra(monkeypatch, module, absent,
                                                                    extra):
    from hexloop.application.composition import registry as reg

    calls = []
    entry = reg.AdapterEntry("source", "x", f"{module}:Thing", "hexloop",
                             lambda: calls.append("loaded") or "thing")
    # Only `absent` is missing, whatever else this venv lacks (the core venv lacks them all).
    monkeypatch.setattr(reg.importlib.util, "find_spec",
                        lambda name, *a: None if name == absent else object())
    expected = rf'source adapter \'x\' needs {absent}: pip install "hexloop\[{extra}\]"'
    with pytest.raises(AdapterUnavailable, match=expected):
        entry.load()
    assert calls == []  # refused before importing anything
    assert entry.missing == [absent]
    assert entry.problem() is not None and absent in entry.problem()


def test_an_adapter_whose_dependencies_are_present_loads_through_its_loader(monkeypatch):
    from hexloop.application.composition import registry as reg

    monkeypatch.setattr(reg.importlib.util, "find_spec", lambda name, *a: object())
    entry = reg.AdapterEntry("source", "x", "hexloop.adapters.pylsl:Thing", "hexloop",
                             lambda: "thing")
    assert entry.missing == [] and entry.load() == "thing"

    def broken():
        raise ImportError("libfoo.so: cannot open shared object file")

    failing = reg.AdapterEntry("model", "y", "hexloop.adapters.torch:Net", "hexloop", broken)
    with pytest.raises(AdapterUnavailable, match=r"model adapter 'y' could not be imported "
                                                 r"\(libfoo.so.*\): pip install \"hexloop\[torch\]"):
        failing.load()


def test_an_adapter_registered_in_code_needs_no_extra(monkeypatch):
    from hexloop.application.composition import registry as reg

    registry = Registry.from_entry_points()
    registry.register("source", "pretend", object)
    monkeypatch.setattr(reg.importlib.util, "find_spec", lambda name, *a: None)
    entry = registry.entry("source", "pretend")
    assert entry.extra is None and entry.missing == []
    assert entry.load() is object


def test_register_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown adapter kind"):
        Registry().register("sauce", "x", object)


def test_reading_a_constructor_from_source_agrees_with_importing_it():
    """`hexloop check` reads adapters' parameters from source (importing nothing); for every
    adapter it can read, that must be what the imported constructor says."""
    from hexloop.application.composition.labsetup import _live_params

    registry = Registry.from_entry_points()
    compared = 0
    for entry in registry.entries():
        static = entry.static_params()
        if static is None or entry.missing:
            continue
        assert static == _live_params(entry.load()), entry.target
        compared += 1
    if not any(entry.missing for entry in registry.entries()):  # every extra installed
        assert compared >= 8  # hexloop's own sources, transports, store, models, renderers, ...
    assert compared >= 1  # the core's own (simulated, replay, headless) at least
