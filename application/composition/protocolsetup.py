"""A setup file's ``[protocol]`` table: checked with the rest of the file (`hexloop check`), made
into a ProtocolSpec and a ProtocolRunner for `hexloop run SETUP --protocol`.

    [protocol]
    classes = ["fist", "flexion", "extension"]   # default: the app's classes but rest_class
    repetitions = 5            # per class and recording phase (online_repetitions: online's)
    cue_s = 1.0                # the cue shown, the participant moves (labelled with the class)
    hold_s = 2.0               # the gesture held (still the class)
    rest_s = 2.0               # labelled rest_class from the cue's offset
    rest_class = "rest"
    order = "random"           # or "sequential"; random is shuffled with seed
    seed = 0
    ramp_s = 0.0               # > 0: the cue is a level ramping up and down (regression)
    phases = ["calibrate", "train", "online", "evaluate"]
    markers = "emg-gestures-cues"   # the LSL marker stream of the cues ("" for none)
    slug = "s01"               # sessions are <slug>-calibrate and <slug>-online
    model = "models/s01.model" # where train saves the model (default: beside the session)
"""

from __future__ import annotations

from typing import Any

from hexloop.domain.protocol import PHASES, ProtocolSpec

#: Keys of the table that the spec takes as they are.
SPEC_KEYS = ("repetitions", "online_repetitions", "cue_s", "hold_s", "rest_s", "rest_class",
             "order", "seed", "ramp_s", "phases")
DEFAULT_REST = "rest"


def protocol_spec(table: dict, class_names: tuple[str, ...] | list[str] = ()) -> ProtocolSpec:
    """The ProtocolSpec a (type-checked) [protocol] table describes."""
    rest = table.get("rest_class", DEFAULT_REST if DEFAULT_REST in class_names
                     or not class_names else None)
    classes = table.get("classes") or [c for c in class_names if c != rest]
    kw: dict[str, Any] = {k: table[k] for k in SPEC_KEYS if k in table}
    kw["rest_class"] = rest
    if rest is None and "rest_s" not in table:
        kw["rest_s"] = 0.0  # no rest class among the app's classes: trials back to back
    return ProtocolSpec(classes=tuple(classes), **kw)


def protocol_problems(data: dict) -> list[tuple[str, str]]:
    """(key, message) for every problem of the [protocol] table that its schema cannot see:
    classes against the app's, rest_class, phase order, and what the phases need (a [store]
    to record, a [pipeline] and [model] to train and predict). Keys of the wrong type are
    left out here (the schema reported them)."""
    table = data["protocol"]
    raw_app = data.get("app")
    app: dict[str, Any] = raw_app if isinstance(raw_app, dict) else {}
    raw_names = app.get("class_names")
    names: list[Any] = raw_names if isinstance(raw_names, list) else []
    typed = _well_typed(table)
    out: list[tuple[str, str]] = []
    if not names:
        out.append(("app.class_names", "a [protocol] cues classes: name them in [app] "
                                       "class_names = [...]"))
    try:
        spec = protocol_spec(typed, tuple(str(n) for n in names))
    except (TypeError, ValueError) as e:
        return out + [("protocol", str(e))]
    out += [(f"protocol.{key}", msg) for key, msg in spec.problems(names)]
    phases = spec.phases
    raw_model = data.get("model")
    model: dict[str, Any] = raw_model if isinstance(raw_model, dict) else {}
    if spec.ramp_s > 0 and model.get("adapter") == "torch_classifier":
        out.append(("model.adapter", "a protocol with ramps (ramp_s > 0) learns the cue level, "
                                     "a regression: use \"torch_regressor\""))
    if any(p in phases for p in ("calibrate", "online")) and not data.get("store"):
        out.append(("store", "the protocol records (calibrate, online): add a [store], e.g. "
                             "[store] adapter = \"zarr\""))
    if any(p in phases for p in ("train", "online", "evaluate")) and not data.get("pipeline"):
        out.append(("pipeline", "the protocol trains and predicts (train, online): add a "
                                "[pipeline] and a [model], or phases = [\"calibrate\"]"))
    return out


def _well_typed(table: dict) -> dict:
    """The table without the values the schema refuses (reported there, not twice here)."""
    num = (int, float)
    want = {"classes": list, "phases": list, "rest_class": str, "order": str}
    out = {}
    for key, value in table.items():
        if key in want and isinstance(value, want[key]):
            if isinstance(value, list) and not all(isinstance(v, str) for v in value):
                continue
            out[key] = value
        elif key in SPEC_KEYS and key not in want and isinstance(value, num) \
                and not isinstance(value, bool):
            out[key] = value
    return out


def marker_name(table: dict, app_name: str) -> str:
    """The LSL marker stream's name ("" for none)."""
    return str(table.get("markers", f"{app_name}-cues"))


def make_runner(built: Any, setup: Any, model_path: str | None = None,
                exit_when_done: bool = False, start_paused: bool = False) -> Any:
    """The ProtocolRunner of a built setup (attached to its app), with an LSL marker outlet when
    the setup names one and pylsl is installed (else a warning in the log)."""
    from hexloop.application.protocol import ProtocolRunner

    table = setup.section("protocol") or {}
    app = built.app
    spec = protocol_spec(table, app.class_names)
    markers = None
    name = marker_name(table, app.name)
    if name:
        try:
            from hexloop.adapters.pylsl import PylslMarkerOutlet

            markers = PylslMarkerOutlet(name)
        except ImportError as e:
            app.ctx.log.warning("protocol", f"cues are not published as LSL markers: {e}")
    model = model_path or table.get("model")
    return ProtocolRunner(app, spec, built.pipeline, markers=markers,
                          slug=str(table.get("slug", "protocol")), model_path=model,
                          exit_when_done=exit_when_done, start_paused=start_paused)


__all__ = ["PHASES", "make_runner", "marker_name", "protocol_problems", "protocol_spec",
           "run_protocol"]


def run_protocol(built: Any, setup: Any, args: Any) -> int:
    """`hexloop run SETUP --protocol`: the protocol in the window (its Cue panel) or, headless,
    with the live line in the terminal. Exit 0 when every phase ran, 1 when it stopped, 2 when
    the setup has no [protocol] or the options clash."""
    import sys

    from hexloop.application import HeadlessRenderer
    from hexloop.application.protocol_terminal import ProtocolTerminal

    if setup.section("protocol") is None:
        print("--protocol needs a [protocol] table in the setup file (docs/experiments.md)",
              file=sys.stderr)
        return 2
    if args.record:
        print("--protocol records its own sessions (<slug>-calibrate, <slug>-online): leave "
              "out --record", file=sys.stderr)
        return 2
    headless = isinstance(built.renderer, HeadlessRenderer)
    runner = make_runner(built, setup, exit_when_done=headless, start_paused=not headless)
    renderer = (ProtocolTerminal(runner, duration=args.duration) if headless
                else built.renderer)
    built.app.run(renderer)
    if not headless:
        for line in runner.result.lines():
            print(line)
    return 0 if runner.result.completed else 1
