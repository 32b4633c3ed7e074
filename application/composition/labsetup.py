"""Lab-setup files: a TOML description of streams, store, model, outputs, bridges and renderer.

`load_setup(path, registry)` checks everything before anything starts and reports every problem at
once, each with the file, the key and what to write instead.
"""

from __future__ import annotations

import difflib
import inspect
import tomllib
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from .registry import AdapterUnavailable, Registry


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


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be greater than 0"


def _str_list(v: Any) -> str | None:
    if not all(isinstance(x, str) for x in v):
        return "must be a list of strings, e.g. [\"rest\", \"fist\"]"
    if len(set(v)) != len(v):
        return "must not repeat a name"
    return None


# key -> (type(s), required, extra check)
Field = tuple[tuple[type, ...], bool, Callable[[Any], str | None] | None]
NUM = (int, float)
SCHEMA: dict[str, dict[str, Field]] = {
    "app": {"name": ((str,), True, None), "class_names": ((list,), False, _str_list)},
    "streams": {
        "name": ((str,), True, None), "source": ((str,), True, None),
        "options": ((dict,), False, None), "window_ms": (NUM, False, _positive),
        "buffer_ms": (NUM, False, _positive),
    },
    "store": {"adapter": ((str,), True, None), "options": ((dict,), False, None)},
    "model": {"adapter": ((str,), True, None), "options": ((dict,), False, None)},
    "pipeline": {
        "predict_hz": (NUM, False, _positive), "features": ((str,), False, None),
        "step_ms": (NUM, False, _positive), "streams": ((list,), False, _str_list),
    },
    "outputs": {
        "transport": ((str,), True, None), "hz": (NUM, False, _positive),
        "channels": ((list,), False, _str_list), "options": ((dict,), False, None),
    },
    "bridges": {
        "adapter": ((str,), True, None), "name": ((str,), True, None),
        "options": ((dict,), False, None),
    },
    "renderer": {"adapter": ((str,), True, None), "options": ((dict,), False, None)},
}
ARRAYS = {"streams", "outputs", "bridges"}  # [[streams]] etc.
ADAPTER_KEY = {"streams": ("source", "source"), "store": ("store", "adapter"),
               "model": ("model", "adapter"), "outputs": ("transport", "transport"),
               "bridges": ("bridge", "adapter"), "renderer": ("renderer", "adapter")}
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


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(sorted(choices))}"


def _check_table(file: str, where: str, table: dict, schema: dict[str, Field],
                 problems: list[SetupProblem]) -> None:
    for key, value in table.items():
        if key not in schema:
            problems.append(SetupProblem(file, f"{where}.{key}",
                                         f"unknown key; {_suggest(key, schema)}"))
            continue
        types, _, check = schema[key]
        if isinstance(value, bool) or not isinstance(value, types):
            problems.append(SetupProblem(file, f"{where}.{key}",
                                         f"must be {TYPE_NAMES[types[0]]}, got {value!r}"))
        elif check is not None and (msg := check(value)):
            problems.append(SetupProblem(file, f"{where}.{key}", f"{msg}, got {value!r}"))
    for key, (_, required, _) in schema.items():
        if required and key not in table:
            problems.append(SetupProblem(file, f"{where}.{key}", "is required"))


def _check_options(file: str, where: str, obj: Any, options: dict,
                   problems: list[SetupProblem], given: tuple[str, ...] = ()) -> None:
    """Options against the adapter's constructor; `given` are arguments the builder passes."""
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    hints = _annotations(obj)
    for key, value in options.items():
        if key not in accepted or key in given:
            problems.append(SetupProblem(file, f"{where}.options.{key}",
                                         f"not an option of this adapter; {_suggest(key, accepted)}"))
        elif (want := hints.get(key) or _default_types(params[key].default)) \
                and not any(_fits(value, t) for t in want):
            names = " or ".join(dict.fromkeys(TYPE_NAMES.get(t, t.__name__) for t in want))
            problems.append(SetupProblem(file, f"{where}.options.{key}",
                                         f"must be {names}, got {value!r}"))
    for name, p in params.items():
        if p.default is p.empty and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) \
                and name not in options and name not in given:
            problems.append(SetupProblem(file, f"{where}.options.{name}", "is required by this adapter"))


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


def validate(data: dict, file: str, registry: Registry) -> list[SetupProblem]:
    problems: list[SetupProblem] = []
    for section, value in data.items():
        if section not in SCHEMA:
            problems.append(SetupProblem(file, section, f"unknown section; {_suggest(section, SCHEMA)}"))
            continue
        tables = value if section in ARRAYS else [value]
        if section in ARRAYS and not isinstance(value, list):
            problems.append(SetupProblem(file, section, f"write it as [[{section}]] tables"))
            continue
        for i, table in enumerate(tables):
            where = f"{section}[{i}]" if section in ARRAYS else section
            if not isinstance(table, dict):
                problems.append(SetupProblem(file, where, f"must be a table, got {table!r}"))
                continue
            _check_table(file, where, table, SCHEMA[section], problems)
            if section in ADAPTER_KEY:
                kind, key = ADAPTER_KEY[section]
                name = table.get(key)
                if isinstance(name, str):
                    try:
                        obj = registry.load(kind, name)
                    except AdapterUnavailable as e:
                        problems.append(SetupProblem(file, f"{where}.{key}", str(e)))
                    else:
                        options = table.get("options", {})
                        if isinstance(options, dict):
                            given = ("name",) if section == "bridges" else ()
                            _check_options(file, where, obj, options, problems, given)
    if "app" not in data:
        problems.append(SetupProblem(file, "app", 'is required: [app] with name = "..."'))
    streams = data.get("streams", [])
    if isinstance(streams, list):
        names = [s.get("name") for s in streams if isinstance(s, dict)]
        for n in {n for n in names if names.count(n) > 1}:
            problems.append(SetupProblem(file, "streams", f"stream name {n!r} is used twice"))
        for i, s in enumerate(streams):
            if isinstance(s, dict) and isinstance(s.get("window_ms"), NUM) \
                    and isinstance(s.get("buffer_ms"), NUM) and s["window_ms"] > s["buffer_ms"]:
                problems.append(SetupProblem(file, f"streams[{i}].window_ms",
                                             "is longer than buffer_ms; make the buffer longer"))
        pipeline = data.get("pipeline")
        if isinstance(pipeline, dict) and isinstance(pipeline.get("streams"), list):
            for n in pipeline["streams"]:
                if n not in names:
                    problems.append(SetupProblem(file, "pipeline.streams",
                                                 f"no stream named {n!r}; {_suggest(str(n), names)}"))
        if not streams:
            problems.append(SetupProblem(file, "streams", "at least one [[streams]] is needed"))
    if "pipeline" in data and "model" not in data:
        problems.append(SetupProblem(file, "model", "a [pipeline] needs a [model] to train"))
    if data.get("outputs") and "pipeline" not in data:
        problems.append(SetupProblem(file, "pipeline", "[[outputs]] send predictions: add [pipeline]"))
    return problems


def load_setup(path: str | Path, registry: Registry) -> LabSetup:
    """Read and validate a setup file; raise SetupInvalid listing every problem."""
    path = Path(path)
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetupInvalid([SetupProblem(file, "-", "file not found")]) from None
    except tomllib.TOMLDecodeError as e:
        raise SetupInvalid([SetupProblem(file, "-", f"not valid TOML: {e}")]) from None
    problems = validate(data, file, registry)
    if problems:
        raise SetupInvalid(problems)
    return LabSetup(path, data)
