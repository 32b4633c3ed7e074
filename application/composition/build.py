"""Builds a runnable App from a validated lab setup: adapters from the registry, wired to ports."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from hexloop.application import App, HeadlessRenderer, Output, Pipeline, Stream

from .featurespec import RAW, resolve_features
from .labsetup import LabSetup, SetupInvalid, SetupProblem
from .markersetup import build_markers
from .registry import Registry


@attrs.define
class Built:
    app: App
    renderer: Any
    pipeline: Pipeline | None
    model_factory: Callable[[], Any] | None


def make_extract(features: Callable[[np.ndarray], np.ndarray] | str, streams: list[str]):
    """One feature vector from the windows of `streams`, concatenated in that order; with
    features "raw", the windows themselves stacked channel-wise (for networks on raw data)."""
    if isinstance(features, str):
        if features != RAW:
            raise ValueError(f"features {features!r}: give a function, or {RAW!r} for the "
                             "windows themselves")

        def extract_raw(windows):
            return np.concatenate([windows[name] for name in streams], axis=0)

        return extract_raw

    def extract(windows):
        return np.concatenate([np.ravel(features(windows[name])) for name in streams])

    return extract


def draw_report(report, path: str) -> None:
    """report.png through the matplotlib adapter (ImportError naming the `report` extra)."""
    from hexloop.adapters.matplotlib import save_report_png

    save_report_png(report, path)


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Maker:
    """Creates adapters and app parts; a refusal (an adapter's ValueError, a missing module...)
    becomes a SetupProblem naming the key, so `hexloop run` reports them all, never a traceback."""

    def __init__(self, file: str, registry: Registry):
        self.file, self.registry = file, registry
        self.problems: list[SetupProblem] = []

    def __call__(self, where: str, factory: Callable[..., Any], /, *args, **kwargs) -> Any:
        try:
            return factory(*args, **kwargs)
        except (ValueError, TypeError, LookupError) as e:
            self.problems.append(SetupProblem(self.file, where, f"refused: {_cut(str(e))}"))
        except Exception as e:  # noqa: BLE001 - any failure to create a part is reported with its key
            self.problems.append(SetupProblem(self.file, where,
                                              f"could not be created ({type(e).__name__}: {_cut(str(e))})"))
        return None

    def adapter(self, where: str, kind: str, name: str, /, *args, **options) -> Any:
        cls = self(where, self.registry.load, kind, name)
        return None if cls is None else self(f"{where}.options", cls, *args, **options)

    def check(self) -> None:
        if self.problems:
            raise SetupInvalid(self.problems)


def build(setup: LabSetup, registry: Registry, headless: bool = False,
          duration: float | None = None) -> Built:
    """The app a validated setup describes. Every adapter is created first; any refusal raises
    SetupInvalid naming its key (all of them at once) before the app exists."""
    make = _Maker(str(setup.path), registry)
    app_cfg = setup.app
    store = None
    if setup.section("store"):
        cfg = setup.section("store")
        store = make.adapter("store", "store", cfg["adapter"], **cfg.get("options", {}))
    sources = [make.adapter(f"streams[{i}]", "source", cfg["source"], **cfg.get("options", {}))
               for i, cfg in enumerate(setup.section("streams"))]
    pipe_cfg, factory, features, transports = setup.section("pipeline"), None, None, []
    if pipe_cfg is not None:
        features = make("pipeline.features", resolve_features,
                        pipe_cfg.get("features", "emg_features"))
        model_cfg = setup.section("model")
        cls = make("model", registry.load, "model", model_cfg["adapter"])
        if cls is not None:
            factory = functools.partial(cls, **model_cfg.get("options", {}))
            make("model.options", factory)  # the model's own checks, once, before training
        transports = [make.adapter(f"outputs[{i}]", "transport", out["transport"],
                                   **out.get("options", {}))
                      for i, out in enumerate(setup.section("outputs"))]
    bridges = [make.adapter(f"bridges[{i}]", "bridge", b["adapter"], b["name"],
                            **b.get("options", {}))
               for i, b in enumerate(setup.section("bridges"))]
    marker_feeds = build_markers(setup, make)  # [[markers]]: markers become labels (#16)
    renderer = make("renderer", choose_renderer, setup, registry, headless, duration)
    make.check()

    app = make("app", App, app_cfg["name"], store=store, class_names=app_cfg.get("class_names", ()))
    make.check()
    for i, (cfg, source) in enumerate(zip(setup.section("streams"), sources, strict=True)):
        kw = {k: cfg[k] for k in ("window_ms", "buffer_ms", "conditioning") if k in cfg}
        stream = make(f"streams[{i}]", Stream, cfg["name"], source, **kw)
        if stream is not None:
            app.streams(stream)
    pipeline = None
    if pipe_cfg is not None:
        names = pipe_cfg.get("streams") or [s["name"] for s in setup.section("streams")]
        pipeline = make("pipeline", Pipeline, app, predict_hz=pipe_cfg.get("predict_hz", 50.0),
                        streams=names, step_ms=pipe_cfg.get("step_ms", 50.0),
                        training=pipe_cfg.get("training", "thread"))
        if pipeline is not None and features is not None:
            pipeline.extract(make_extract(features, names))
            pipeline.use_model(factory)
            pipeline.features_name = str(pipe_cfg.get("features", "emg_features"))
            pipeline.report_figure = draw_report  # report.png beside a saved model
            for i, (out, transport) in enumerate(zip(setup.section("outputs"), transports,
                                                     strict=True)):
                output = make(f"outputs[{i}]", Output, transport,
                              hz=out.get("hz", pipeline.predict_hz), channels=out.get("channels"),
                              stages=out.get("stages", ()),
                              name=f"output{i}", mode=out.get("mode"))
                if output is not None:
                    pipeline.outputs.append(output)
    make.check()
    if bridges:
        app.bridges(*bridges)
        app.before_run_hooks.append(lambda a: [b.start() for b in a.ctx.bridges])
    for feed in marker_feeds:
        feed.attach(app)
    return Built(app, renderer, pipeline, factory)


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
