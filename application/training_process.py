"""Training in a child process (`Pipeline(..., training="process")`, `training = "process"` in a
setup's [pipeline]): for when the GIL or the core count cannot keep acquisition and predicting
on time while a model trains in a thread.

The whole training run (application/training.py: cross-validation folds, then the final fit)
happens in a fresh Python (`python -m hexloop.application.training_process`, not a fork, so no
thread or stream of the app is copied): the parent writes the training data and the model
factory to a temporary folder (pickle), the child rebuilds the model from the factory, reports
progress and learning curves as JSON lines on its stdout (what the model itself prints goes to
stderr), saves the fitted model in the model's own file format (its save()) and the report
(pickle: application/training_child.py), and the parent loads the model through a fresh `factory().load(path)`. Cancelling
kills the child. The child runs at a lower scheduling priority, so acquisition and predict
threads win the cores.

The factory must be rebuilt in the child: a setup file's model is (the registry's class, its
options); a Python-API factory must be a picklable, importable callable (a class, a
functools.partial of one, a module-level function), not a lambda, a local function or something
defined in the script run as __main__. `check_factory` refuses one that is not, saying so.
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from hexloop.domain.pipeline import TrainingData, TrainingJob, TrainingProgress
from hexloop.domain.report import LearningCurve, TrainingReport

from . import training

THREAD, PROCESS = "thread", "process"
MODES = (THREAD, PROCESS)
LOG = "child.log"
REQUEST, RESULT, MODEL = "request.pickle", "result.pickle", "model"  # as training_child
CHILD = "hexloop.application.training_child"  # the child's module (not imported here)
EXIT_WAIT_S = 30.0


class TrainingProcessError(RuntimeError):
    """The child process failed; the message says why (its error, or its last output)."""


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"training must be 'thread' or 'process', got {mode!r}")
    return str(mode)


def check_factory(factory: Callable[[], Any] | None) -> bytes:
    """The pickled factory, or TypeError saying why it cannot be rebuilt in a child process."""
    if factory is None:
        raise TypeError("training='process' trains a model made by a factory: call "
                        "pipeline.use_model(factory) (a @pipeline.train function runs only in "
                        "a thread: use training='thread')")
    try:
        data = pickle.dumps(factory, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # noqa: BLE001 - pickling raises many kinds
        raise TypeError(f"training='process' needs a model factory that can be pickled, and "
                        f"{factory!r} cannot ({type(e).__name__}: {e}): use a class, a "
                        f"functools.partial of one or a module-level function, not a lambda "
                        f"or a local function; or train with training='thread'") from None
    if b"__main__" in data:
        raise TypeError(f"training='process' rebuilds the model factory in a child process, "
                        f"which cannot import {factory!r} from the script run as __main__: "
                        f"define it in an importable module, or train with training='thread'")
    return data


def run_in_process(factory: Callable[[], Any], data: TrainingData, job: TrainingJob, *,
                   folds: int, setup: Mapping[str, Any],
                   on_curve: Callable[[str, LearningCurve], None] | None = None,
                   python: str | None = None) -> tuple[Any, TrainingReport]:
    """training.run_training(use_model's train and predict, ...) in a child process: (the
    model loaded from the child's file, its report). Raises TrainingCancelled when `job` is
    cancelled (the child is killed), TrainingProcessError when the child fails."""
    pickled = check_factory(factory)
    folder = tempfile.mkdtemp(prefix="hexloop-training-")
    try:
        with open(os.path.join(folder, REQUEST), "wb") as f:
            pickle.dump({"factory": pickled, "data": data, "folds": folds,
                         "setup": dict(setup)}, f, protocol=pickle.HIGHEST_PROTOCOL)
        with open(os.path.join(folder, LOG), "wb") as log:
            child = subprocess.Popen(
                [python or sys.executable, "-m", CHILD, folder], stdout=subprocess.PIPE,
                stderr=log, stdin=subprocess.DEVNULL, env=_child_env())
            try:
                _follow(child, job, on_curve)
                child.wait(EXIT_WAIT_S)  # it closed its progress lines: it is exiting
            finally:
                if child.poll() is None:
                    child.kill()
                child.wait()
                assert child.stdout is not None
                child.stdout.close()
        job.raise_if_cancelled()
        result_path = os.path.join(folder, RESULT)
        if child.returncode != 0 or not os.path.exists(result_path):
            raise TrainingProcessError(_failure(folder, child.returncode))
        with open(result_path, "rb") as f:
            result = pickle.load(f)
        if "error" in result:
            raise TrainingProcessError(result["error"])
        model = factory()
        model.load(os.path.join(folder, MODEL))
        report: TrainingReport = result["report"]
        training.attach(model, report)
        return model, report
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _child_env() -> dict[str, str]:
    """The parent's environment, with its import path, so the child imports what it does."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _follow(child: subprocess.Popen, job: TrainingJob,
            on_curve: Callable[[str, LearningCurve], None] | None) -> None:
    """Relay the child's progress to `job` until it exits; kill it when the job is cancelled."""
    lines: queue.Queue[bytes | None] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, name="training-process-reader", daemon=True).start()
    while True:
        if job.cancelled:
            child.kill()
            return
        try:
            line = lines.get(timeout=0.05)
        except queue.Empty:
            continue
        if line is None:
            return
        try:
            message = json.loads(line)
        except ValueError:
            continue  # not ours
        if "progress" in message:
            fields = {k: v for k, v in message["progress"].items()
                      if k in attrs.fields_dict(TrainingProgress)}
            job.report(**fields)
        elif "curve" in message and on_curve is not None:
            on_curve(message["stage"], LearningCurve.from_dict(message["curve"]))


def _failure(folder: str, returncode: int | None) -> str:
    try:
        with open(os.path.join(folder, LOG), encoding="utf-8", errors="replace") as f:
            tail = f.read()[-1500:].strip()
    except OSError:
        tail = ""
    return (f"the training process exited with code {returncode}"
            + (f"; its last output:\n{tail}" if tail else " and printed nothing"))
