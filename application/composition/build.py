"""Builds a runnable App from a validated lab setup: adapters from the registry, wired to ports."""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from hexloop.application import App, HeadlessRenderer, Output, Pipeline, Stream

from .labsetup import LabSetup, SetupInvalid, SetupProblem
from .registry import Registry

RAW = "raw"  # features = "raw": the windows themselves, for networks on raw data


@attrs.define
class Built:
    app: App
    renderer: Any
    pipeline: Pipeline | None
    model_factory: Callable[[], Any] | None


def resolve_features(spec: str) -> Callable[[np.ndarray], np.ndarray] | str:
    """A feature function by name in hexloop.domain.features, "package.module:function", or
    "raw" (no features: the window itself)."""
    if spec == RAW:
        return RAW
    module, _, attr = spec.rpartition(":") if ":" in spec else ("hexloop.domain.features", "", spec)
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise LookupError(
            f"feature function {spec!r} not found ({e}); use a name from hexloop.domain.features "
            "such as 'emg_features', 'package.module:function', or 'raw'"
        ) from None
    if not callable(fn):
        raise LookupError(f"feature function {spec!r} is not callable")
    return fn


def make_extract(features: Callable[[np.ndarray], np.ndarray] | str, streams: list[str]):
    """One feature vector from the windows of `streams`, concatenated in that order; with
    features "raw", the windows themselves stacked channel-wise (for networks on raw data)."""
    if features == RAW:

        def extract(windows):
            return np.concatenate([windows[name] for name in streams], axis=0)

        return extract

    def extract(windows):
        return np.concatenate([np.ravel(features(windows[name])) for name in streams])

    return extract


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build(setup: LabSetup, registry: Registry, headless: bool = False,
          duration: float | None = None) -> Built:
    file = str(setup.path)
    app_cfg = setup.app
    store = None
    if setup.section("store"):
        cfg = setup.section("store")
        store = registry.load("store", cfg["adapter"])(**cfg.get("options", {}))
    app = App(app_cfg["name"], store=store, class_names=app_cfg.get("class_names", ()))
    for cfg in setup.section("streams"):
        source = registry.load("source", cfg["source"])(**cfg.get("options", {}))
        kw = {k: cfg[k] for k in ("window_ms", "buffer_ms") if k in cfg}
        app.streams(Stream(cfg["name"], source, **kw))

    pipeline, factory = None, None
    if setup.section("pipeline") is not None:
        cfg = setup.section("pipeline")
        names = cfg.get("streams") or [s["name"] for s in setup.section("streams")]
        try:
            features = resolve_features(cfg.get("features", "emg_features"))
        except LookupError as e:
            raise SetupInvalid([SetupProblem(file, "pipeline.features", str(e))]) from None
        model_cfg = setup.section("model")
        factory = functools.partial(registry.load("model", model_cfg["adapter"]),
                                    **model_cfg.get("options", {}))
        pipeline = Pipeline(app, predict_hz=cfg.get("predict_hz", 50.0), streams=names,
                            step_ms=cfg.get("step_ms", 50.0))
        pipeline.extract(make_extract(features, names))
        pipeline.use_model(factory)
        for i, out in enumerate(setup.section("outputs")):
            transport = registry.load("transport", out["transport"])(**out.get("options", {}))
            pipeline.outputs.append(Output(transport, hz=out.get("hz", pipeline.predict_hz),
                                           channels=out.get("channels"), name=f"output{i}"))
    bridges = [registry.load("bridge", b["adapter"])(b["name"], **b.get("options", {}))
               for b in setup.section("bridges")]
    if bridges:
        app.bridges(*bridges)
        app.before_run_hooks.append(lambda a: [b.start() for b in a.ctx.bridges])
    return Built(app, choose_renderer(setup, registry, headless, duration), pipeline, factory)


def choose_renderer(setup: LabSetup, registry: Registry, headless: bool, duration: float | None):
    cfg = setup.section("renderer") or {"adapter": "imgui"}
    if headless or cfg["adapter"] == "headless" or not display_available():
        return HeadlessRenderer(duration=duration)
    return registry.load("renderer", cfg["adapter"])(**cfg.get("options", {}))


def choose_renderer_for_demo(headless: bool):
    """The window when a display and imgui-bundle are there, else the status line."""
    if not headless and display_available():
        try:
            return Registry.from_entry_points().load("renderer", "imgui")()
        except Exception:  # noqa: BLE001 - no GUI extra: fall back to the status line
            pass
    return HeadlessRenderer(interval=1.0)
