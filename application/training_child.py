"""The child of a training process (application/training_process.py), run as
`python -m hexloop.application.training_child FOLDER`: it reads the request (pickled factory,
training data, folds, setup), runs application/training.py's whole run, reports progress and
learning curves as JSON lines on its stdout, saves the model with its own save() and the
report (pickle). Kept apart from training_process.py, which the application package imports,
so running this module does not find it imported already.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from hexloop.application import training
from hexloop.domain.pipeline import TrainingData, TrainingJob

REQUEST, RESULT, MODEL = "request.pickle", "result.pickle", "model"
NICE = 5  # the child's scheduling priority, below the app's threads


def _predict(model: Any, features: np.ndarray) -> Mapping[str, Any]:
    """Pipeline.use_model's predict, for cross-validation in the child."""
    return dict(zip(model.output_names, np.asarray(model.predict(features)).tolist()))


def main(folder: str) -> int:
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # what the model prints goes to the log, not into the progress lines
    sys.stdout = sys.stderr
    try:
        os.nice(NICE)
    except (AttributeError, OSError):
        pass

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")

    result_path = os.path.join(folder, RESULT)
    with open(os.path.join(folder, REQUEST), "rb") as source:
        request = pickle.load(source)
    try:
        factory = pickle.loads(request["factory"])

        def train(subset: TrainingData, job: TrainingJob) -> Any:
            model = factory()
            model.fit(subset, job)
            return model

        job = TrainingJob(on_progress=lambda p: send({"progress": attrs.asdict(p)}))
        model, report = training.run_training(
            train, _predict, request["data"], job, folds=request["folds"],
            setup=request["setup"],
            on_curve=lambda stage, curve: send({"stage": stage, "curve": curve.to_dict()}))
        training.attach(model, report)
        model.save(os.path.join(folder, MODEL))
        result: dict[str, Any] = {"report": report}
    except Exception as e:  # noqa: BLE001 - the parent reports it
        result = {"error": f"{type(e).__name__}: {e}"}
    tmp = result_path + ".tmp"
    with open(tmp, "wb") as sink:
        pickle.dump(result, sink)
    os.replace(tmp, result_path)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
