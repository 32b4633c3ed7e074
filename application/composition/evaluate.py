"""`hexloop evaluate SESSION --setup SETUP --model MODEL`: closed-loop replay of a recording.

Builds the setup's app (nothing starts: no thread, no LSL), loads the model into its pipeline,
reads SESSION (a session folder or `.session.zip` through the setup's store, or zarr; or a lab's
text export, read with the options of the setup's replay stream) and runs
`hexloop.application.evaluate.evaluate` on it: the online path on a simulated clock, as fast as
the CPU allows. Prints the report and saves the prediction stream beside the session as
`<SESSION>.predictions.csv` (in the current folder for a text export, or when the session's
folder cannot be written; or `--out`). Exit 0, or 2 with what to fix.

The application is imported only when the command runs (the parser is built for every command).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

REPLAY_ONLY = {"recording", "stream", "speed", "loop", "name", "clock", "max_read_s"}


@attrs.frozen
class TextSession:
    """A text recording as a RecordedSession of one stream."""

    meta: Any  # SessionMeta
    labels: Any  # LabelTrack
    _data: Any  # (channels, n) array
    _ts: Any

    def data(self, stream: str) -> tuple[Any, Any]:
        self.meta.stream(stream)  # KeyError naming the streams it has
        return self._data, self._ts


def read_session(path: str, built, registry, streams: Sequence[dict] = ()):
    """The RecordedSession at `path`: a zarr session, or a text export for the first stream."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such session folder or file")
    if p.is_dir() or p.name.endswith(".zip"):
        store = built.app.store
        if store is None or not hasattr(store, "read"):
            store = registry.load("store", "zarr")(p.parent)
        return store.read(str(p))
    import numpy as np

    from hexloop.adapters.replay import read_text_recording
    from hexloop.domain.session import SessionMeta

    first = streams[0] if streams else {}
    options = {k: v for k, v in first.get("options", {}).items() if k not in REPLAY_ONLY} \
        if first.get("source") == "replay" else {}
    name = first.get("name", "emg")
    rec = read_text_recording(p, name=name, **options)
    info = attrs.evolve(rec.info, name=name)
    meta = SessionMeta(p.stem, (info,), rec.labels.class_names)
    return TextSession(meta, rec.labels, np.ascontiguousarray(rec.data.T), rec.timestamps)


def build_offline(setup_path, command: str) -> tuple[Any, Any, Any] | None:
    """(setup, built app, registry) of a setup with a [pipeline], built headless for a command
    that works on recorded sessions; None after saying on stderr what is wrong (exit 2)."""
    from .build import build
    from .labsetup import SetupInvalid, load_setup
    from .registry import Registry

    registry = Registry.from_entry_points()
    try:
        setup = load_setup(setup_path, registry)
        built = build(setup, registry, headless=True)
    except SetupInvalid as e:
        print(e, file=sys.stderr)
        return None
    if built.pipeline is None:
        print(f"{command} needs a [pipeline] (and a [model]) in the setup file", file=sys.stderr)
        return None
    return setup, built, registry


def cmd_evaluate(args) -> int:
    from hexloop.application.evaluate import evaluate

    offline = build_offline(args.setup, "evaluate")
    if offline is None:
        return 2
    setup, built, registry = offline
    try:
        built.pipeline.load_model(args.model)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"cannot load the model {args.model}: {e}", file=sys.stderr)
        return 2
    try:
        session = read_session(args.session, built, registry, setup.section("streams"))
        from .progress import ProgressBar

        with ProgressBar("evaluating") as bar:
            result = evaluate(session, built.pipeline, progress=bar)
    except (OSError, ValueError, KeyError, LookupError, RuntimeError) as e:
        print(f"cannot evaluate {args.session}: {e}", file=sys.stderr)
        return 2
    print(result.text())
    session_path = Path(args.session)
    beside = Path(str(session_path) + ".predictions.csv")
    here = Path(beside.name)
    # beside a session; in the current folder for a text export (often a shared, read-only
    # data set) or when the session's folder cannot be written
    if args.out:
        candidates = [Path(args.out)]
    elif session_path.is_dir() or session_path.name.endswith(".zip"):
        candidates = [beside, here]
    else:
        candidates = [here]
    for out in candidates:
        try:
            result.save_csv(out)
        except OSError as e:
            problem = f"could not save the predictions to {out}: {e}"
            continue
        print(f"predictions saved to {out}")
        return 0
    print(f"{problem}; choose a writable file with --out", file=sys.stderr)
    return 2


def add_parser(sub) -> None:
    """The `evaluate` subcommand, for cli.parser()."""
    ev = sub.add_parser("evaluate", help="replay a recorded session through the online path, "
                                         "faster than real time",
                        description=__doc__.split("\n\n")[1])
    ev.add_argument("session", help="a session folder, .session.zip, or a text recording")
    ev.add_argument("--setup", required=True, help="the setup file the session runs through")
    ev.add_argument("--model", required=True, help="a saved model file")
    ev.add_argument("--out", default=None, help="where to save the prediction stream (CSV)")
    ev.set_defaults(fn=cmd_evaluate)
