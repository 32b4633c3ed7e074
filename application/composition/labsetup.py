"""Lab-setup files: a TOML description of streams, store, model, outputs, bridges and renderer.

`load_setup(path, registry)` checks everything before anything starts and reports every problem at
once, each with the file, the key and what to write instead: value types and bounds
(setupbounds.py), adapter names and extras, and each adapter's options against its constructor
(which imports the adapter). `check_setup(path, registry)` (`hexloop check`) does all of it but
imports nothing: adapters are looked up by entry-point name, their modules found with
`resolve.find_module` and their constructors read from source (`resolve.static_params`), feature
functions found by reading their module's source (featurespec.py).

A setup file is trusted like code: `hexloop run` imports the modules its feature functions name.

Why not cattrs: the sections are never structured into classes. They stay the plain tables the
file holds and go, as keyword arguments, to adapter constructors that are ordinary classes of any
package, so what needs checking is a table against a small schema plus bounds, and adapter
options against a constructor's signature (loaded in run, read from source in check). cattrs
structures into attrs classes and would check neither the signatures nor the bounds, and it would
be a new dependency of the core install, where `hexloop check` must work with numpy and attrs
alone. `SCHEMA` and setupbounds.py keep every key's rule in one table instead.
"""

from __future__ import annotations

import difflib
import inspect
import os
import tomllib
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from .featurespec import features_problem
from .markersetup import markers_problems
from .registry import IN_CODE, AdapterUnavailable, Registry
from .resolve import Param
from .setupbounds import MAX_FILE_BYTES, MAX_NAME, SECTION_BOUNDS, check_value, short, show
from .signalspec import signal_path_problems


@attrs.frozen
class SetupProblem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class SetupInvalid(ValueError):
    """Every problem found in a setup file, one per line."""

    def __init__(self, problems: list[SetupProblem]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in the setup file:\n" + "\n".join(f"  {p}" for p in problems)
        )


def _name(v: Any) -> str | None:
    return None if 0 < len(v) <= MAX_NAME else f"must be 1 to {MAX_NAME} characters"


def _str_list(v: Any) -> str | None:
    if not all(isinstance(x, str) for x in v):
        return "must be a list of strings, e.g. [\"rest\", \"fist\"]"
    if not all(0 < len(x) <= MAX_NAME for x in v):
        return f"names must be 1 to {MAX_NAME} characters"
    if len(set(v)) != len(v):
        return "must not repeat a name"
    return None


def _one_of(v: Any, choices: tuple[str, ...]) -> str | None:
    return None if v in choices else "must be one of " + ", ".join(f'"{c}"' for c in choices)


# key -> (type(s), required, extra check)
Field = tuple[tuple[type, ...], bool, Callable[[Any], str | None] | None]
NUM = (int, float)
SCHEMA: dict[str, dict[str, Field]] = {
    "app": {"name": ((str,), True, _name), "class_names": ((list,), False, _str_list)},
    "streams": {
        "name": ((str,), True, _name), "source": ((str,), True, None),
        "options": ((dict,), False, None), "window_ms": (NUM, False, None),
        "buffer_ms": (NUM, False, None), "conditioning": ((list,), False, None),
    },
    "store": {"adapter": ((str,), True, None), "options": ((dict,), False, None)},
    "model": {"adapter": ((str,), True, None), "options": ((dict,), False, None)},
    "pipeline": {
        "predict_hz": (NUM, False, None), "features": ((str,), False, None),
        "step_ms": (NUM, False, None), "streams": ((list,), False, _str_list),
        "training": ((str,), False, lambda v: _one_of(v, ("thread", "process"))),
    },
    "outputs": {
        "transport": ((str,), True, None), "hz": (NUM, False, None),
        "channels": ((list,), False, _str_list), "options": ((dict,), False, None),
        "mode": ((str,), False, lambda v: _one_of(v, ("on_prediction", "fixed_rate", "auto"))),
        "stages": ((list,), False, None),
    },
    "bridges": {
        "adapter": ((str,), True, None), "name": ((str,), True, _name),
        "options": ((dict,), False, None),
    },
    "renderer": {"adapter": ((str,), True, None), "options": ((dict,), False, None)},
    "markers": {"source": ((str,), True, None), "options": ((dict,), False, None),  # #16
                "map": ((dict,), False, None), "unknown": ((str,), False, None)},
    "protocol": {  # a cue protocol (protocolsetup.py, domain/protocol.py)
        "classes": ((list,), False, _str_list), "repetitions": (NUM, False, None),
        "online_repetitions": (NUM, False, None), "cue_s": (NUM, False, None),
        "hold_s": (NUM, False, None), "rest_s": (NUM, False, None),
        "ramp_s": (NUM, False, None), "rest_class": ((str,), False, _name),
        "order": ((str,), False, None), "seed": (NUM, False, None),
        "phases": ((list,), False, _str_list), "markers": ((str,), False, None),
        "slug": ((str,), False, _name), "model": ((str,), False, None),
    },
}
ARRAYS = {"streams", "outputs", "bridges", "markers"}  # [[streams]] etc.
ADAPTER_KEY = {"streams": ("source", "source"), "store": ("store", "adapter"),
               "model": ("model", "adapter"), "outputs": ("transport", "transport"),
               "bridges": ("bridge", "adapter"), "renderer": ("renderer", "adapter"),
               "markers": ("markers", "source")}
TYPE_NAMES = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "a table",
              bool: "true or false", type(None): "left out"}


@attrs.frozen
class LabSetup:
    """A validated setup file."""

    path: Path
    data: dict[str, Any]

    @property
    def app(self) -> dict:
        return self.data.get("app", {})

    def section(self, name: str) -> Any:
        return self.data.get(name, [] if name in ARRAYS else None)

    def summary(self) -> str:
        """One line: what the setup runs (for `hexloop check`)."""
        streams = self.section("streams")
        parts = [f"app {self.app.get('name')!r}",
                 f"{len(streams)} stream(s) (" + ", ".join(
                     f"{s['name']}: {s['source']}" for s in streams) + ")"]
        for name in ("store", "model"):
            if self.section(name):
                parts.append(f"{name} {self.section(name)['adapter']}")
        if (pipeline := self.section("pipeline")) is not None:
            parts.append(f"pipeline {pipeline.get('features', 'emg_features')} at "
                         f"{pipeline.get('predict_hz', 50):g} Hz")
        if outputs := self.section("outputs"):
            parts.append(f"{len(outputs)} output(s) (" + ", ".join(o["transport"] for o in outputs) + ")")
        if bridges := self.section("bridges"):
            parts.append(f"{len(bridges)} bridge(s) (" + ", ".join(b["adapter"] for b in bridges) + ")")
        if (protocol := self.section("protocol")) is not None:
            phases = protocol.get("phases", ["calibrate", "train", "online", "evaluate"])
            parts.append(f"protocol {' -> '.join(phases)}")
        parts.append(f"renderer {(self.section('renderer') or {}).get('adapter', 'imgui')}")
        return ", ".join(parts)


def _suggest(word: str, choices) -> str:
    if len(word) <= MAX_NAME:
        close = difflib.get_close_matches(word, list(choices), n=1)
        if close:
            return f"did you mean {close[0]!r}?"
    return f"allowed: {', '.join(sorted(choices))}"


def _check_table(file: str, where: str, table: dict, section: str,
                 problems: list[SetupProblem]) -> None:
    schema = SCHEMA[section]

    def report(key: str, message: str) -> None:
        problems.append(SetupProblem(file, key, message))

    for key, value in table.items():
        if key not in schema:
            report(f"{where}.{short(key)}", f"unknown key; {_suggest(key, schema)}")
            continue
        types, _, check = schema[key]
        if isinstance(value, bool) or not isinstance(value, types):
            report(f"{where}.{key}", f"must be {TYPE_NAMES[types[0]]}, got {show(value)}")
            continue
        before = len(problems)
        check_value(f"{where}.{key}", value, report, bound=SECTION_BOUNDS.get(section, {}).get(key))
        if len(problems) == before and check is not None and (msg := check(value)):
            report(f"{where}.{key}", f"{msg}, got {show(value)}")
    for key, (_, required, _) in schema.items():
        if required and key not in table:
            problems.append(SetupProblem(file, f"{where}.{key}", "is required"))


def _live_params(obj: Any) -> list[Param] | None:
    """The keyword arguments of a loaded constructor (None: it takes **kwargs or has none)."""
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    hints = _annotations(obj)
    return [Param(n, p.default is p.empty, hints.get(n) or _default_types(p.default))
            for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _check_options(file: str, where: str, params: list[Param] | None, options: dict,
                   problems: list[SetupProblem], given: tuple[str, ...] = ()) -> None:
    """Options against the adapter's constructor parameters (from the loaded class in run, read
    from its source in check; None: cannot tell); `given` are arguments the builder passes."""
    if params is None:
        return
    by_name = {p.name: p for p in params}
    for key, value in options.items():
        if key not in by_name or key in given:
            accepted = [n for n in by_name if n not in given]
            problems.append(SetupProblem(file, f"{where}.options.{short(key)}",
                                         f"not an option of this adapter; {_suggest(key, accepted)}"))
        elif (want := by_name[key].types) and not any(_fits(value, t) for t in want):
            names = " or ".join(dict.fromkeys(TYPE_NAMES.get(t, t.__name__) for t in want))
            problems.append(SetupProblem(file, f"{where}.options.{key}",
                                         f"must be {names}, got {show(value)}"))
    for p in params:
        if p.required and p.name not in options and p.name not in given:
            problems.append(SetupProblem(file, f"{where}.options.{p.name}",
                                         "is required by this adapter"))


def _annotations(obj: Any) -> dict[str, tuple[type, ...]]:
    """Plain types an option is annotated with (a union gives several); {} if unresolvable."""
    try:
        params = inspect.signature(obj, eval_str=True).parameters
    except Exception:  # noqa: BLE001 - annotations naming things not importable here
        return {}
    out = {}
    for name, p in params.items():
        args = typing.get_args(p.annotation) if typing.get_origin(p.annotation) in (
            typing.Union, types.UnionType) else (p.annotation,)
        plain = tuple(a for a in args if a in (bool, int, float, str, list, dict))
        if plain and len(plain) == len([a for a in args if a is not type(None)]):
            out[name] = plain + ((type(None),) if type(None) in args else ())
    return out


def _default_types(default: Any) -> tuple[type, ...]:
    t = _default_type(default)
    return (t,) if t else ()


def _default_type(default: Any) -> type | None:
    """The type an option's default implies (bool, number or string), if any."""
    for t in (bool, int, float, str):
        if type(default) is t:
            return t
    return None


def _fits(value: Any, want: type) -> bool:
    if want is type(None):
        return False  # TOML has no null: leaving the option out gives the default
    if want is bool:
        return isinstance(value, bool)
    if want in (int, float):
        return isinstance(value, NUM) and not isinstance(value, bool)
    return isinstance(value, want)


def validate(data: dict, file: str, registry: Registry, imports: bool = True) -> list[SetupProblem]:
    """Every problem of a parsed setup. With `imports` (hexloop run), adapters are loaded to check
    their options against their constructors and feature functions are imported; without
    (hexloop check), nothing is imported: names are only found (resolve.py)."""
    problems: list[SetupProblem] = []
    for section, value in data.items():
        if section not in SCHEMA:
            problems.append(SetupProblem(file, short(section),
                                         f"unknown section; {_suggest(section, SCHEMA)}"))
            continue
        tables = value if section in ARRAYS else [value]
        if section in ARRAYS and not isinstance(value, list):
            problems.append(SetupProblem(file, section, f"write it as [[{section}]] tables"))
            continue
        for i, table in enumerate(tables):
            where = f"{section}[{i}]" if section in ARRAYS else section
            if not isinstance(table, dict):
                problems.append(SetupProblem(file, where, f"must be a table, got {show(table)}"))
                continue
            _check_table(file, where, table, section, problems)
            if section in ADAPTER_KEY:
                _check_adapter(file, where, section, table, registry, imports, problems)
    if "app" not in data:
        problems.append(SetupProblem(file, "app", 'is required: [app] with name = "..."'))
    streams = data.get("streams", [])
    if isinstance(streams, list):
        names = [s.get("name") for s in streams if isinstance(s, dict)]
        for n in {n for n in names if names.count(n) > 1}:
            problems.append(SetupProblem(file, "streams", f"stream name {show(n)} is used twice"))
        for i, s in enumerate(streams):
            if isinstance(s, dict) and isinstance(s.get("window_ms"), NUM) \
                    and isinstance(s.get("buffer_ms"), NUM) and s["window_ms"] > s["buffer_ms"]:
                problems.append(SetupProblem(file, f"streams[{i}].window_ms",
                                             "is longer than buffer_ms; make the buffer longer"))
        pipeline = data.get("pipeline")
        if isinstance(pipeline, dict) and isinstance(pipeline.get("features"), str):
            if msg := features_problem(pipeline["features"], imports):
                problems.append(SetupProblem(file, "pipeline.features", msg))
        if isinstance(pipeline, dict) and isinstance(pipeline.get("streams"), list):
            for n in pipeline["streams"]:
                if n not in names:
                    problems.append(SetupProblem(file, "pipeline.streams",
                                                 f"no stream named {show(n)}; {_suggest(str(n), names)}"))
        if not streams:
            problems.append(SetupProblem(file, "streams", "at least one [[streams]] is needed"))
    problems += [SetupProblem(file, key, message)  # conditioning and output stages (#14)
                 for key, message in signal_path_problems(data)]
    if "pipeline" in data and "model" not in data:
        problems.append(SetupProblem(file, "model", "a [pipeline] needs a [model] to train"))
    if data.get("outputs") and "pipeline" not in data:
        problems.append(SetupProblem(file, "pipeline", "[[outputs]] send predictions: add [pipeline]"))
    problems += [SetupProblem(file, key, msg) for key, msg in markers_problems(data)]
    if isinstance(data.get("protocol"), dict):
        from .protocolsetup import protocol_problems

        problems += [SetupProblem(file, key, msg) for key, msg in protocol_problems(data)]
    return problems


def _check_adapter(file: str, where: str, section: str, table: dict, registry: Registry,
                   imports: bool, problems: list[SetupProblem]) -> None:
    kind, key = ADAPTER_KEY[section]
    name = table.get(key)
    if not isinstance(name, str):
        return
    try:
        entry = registry.entry(kind, name[:MAX_NAME])
        if msg := entry.problem():  # unknown module or missing extra, found without importing
            raise AdapterUnavailable(msg)
        params = _live_params(entry.load()) if imports or entry.distribution == IN_CODE \
            else entry.static_params()
    except AdapterUnavailable as e:
        problems.append(SetupProblem(file, f"{where}.{key}", str(e)))
        return
    options = table.get("options", {})
    if isinstance(options, dict):
        given = ("name",) if section == "bridges" else ()
        _check_options(file, where, params, options, problems, given)


def read_setup(path: str | Path) -> dict:
    """The parsed TOML of a setup file, or SetupInvalid: missing, unreadable, too big, not UTF-8,
    not TOML, nested too deeply for the parser."""
    path = Path(path)
    file = str(path)

    def fail(message: str) -> SetupInvalid:
        return SetupInvalid([SetupProblem(file, "-", message)])

    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise fail(f"is {size} bytes: a setup file is at most {MAX_FILE_BYTES} bytes")
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as e:
        raise fail(f"cannot be read: {e.strerror or e}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"is more than {MAX_FILE_BYTES} bytes: a setup file is at most that")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise fail(f"is not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise fail(f"not valid TOML: {e}") from None
    except RecursionError:
        raise fail("not valid TOML: nested too deeply to read") from None


def load_setup(path: str | Path, registry: Registry, imports: bool = True) -> LabSetup:
    """Read and validate a setup file; raise SetupInvalid listing every problem. `imports=False`
    imports nothing the file names (see `check_setup`)."""
    data = read_setup(path)
    problems = validate(data, str(path), registry, imports)
    if problems:
        raise SetupInvalid(problems)
    return LabSetup(Path(path), data)


def check_setup(path: str | Path, registry: Registry) -> LabSetup:
    """`hexloop check`: the problems `load_setup` finds, importing nothing the file names.
    Adapter options are checked against constructors read from source; where the source cannot
    tell (e.g. **kwargs), only `hexloop run` checks them against the loaded constructor."""
    return load_setup(path, registry, imports=False)
