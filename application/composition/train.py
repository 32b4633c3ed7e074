"""`hexloop train SESSION --setup SETUP [--out MODEL]`: train the setup's model on a recording.

Builds the setup's app (nothing starts: no thread, no LSL), reads SESSION as `hexloop evaluate`
does, and trains on its labelled trials with a live progress line (every cross-validation fold,
then the model that is kept; Ctrl-C cancels). Prints the training report: the cross-validated
accuracy next to chance, a plain-words warning when the model is near chance, the confusion
matrix and precision / recall per class. Saves the model (default `<app name>.model`) with
`report.json` and `report.png` beside it. Exit 0, 1 when training failed, 2 with what to fix.
"""

from __future__ import annotations

import sys
import time

POLL_S = 0.2


def print_report(pipeline, out=None) -> None:
    """The pipeline's training report for a terminal (also for the protocol runner)."""
    out = out or sys.stdout
    report = getattr(pipeline, "report", None)
    print(report.text() if report is not None else "no training report", file=out)


def _show(bar, pipeline) -> None:
    """The pipeline's training progress on the bar: its fraction, the fold or final model."""
    p = pipeline.progress
    if p is not None:
        bar(p.fraction, p.stage)


def train_and_report(pipeline, data, out=None, err=None) -> bool:
    """Train `pipeline` on `data` showing progress on `err` (a bar on a terminal, a line per
    quarter and per fold elsewhere: progress.py); True when a model came out (the bar then
    ends at 100 %)."""
    from .progress import ProgressBar

    out, err = out or sys.stdout, err or sys.stderr
    pipeline.start_training(data)
    with ProgressBar("training", stream=err) as bar:
        try:
            while not pipeline.wait_training(POLL_S):
                _show(bar, pipeline)
        except KeyboardInterrupt:
            pipeline.cancel_training()
            pipeline.wait_training(10)
        _show(bar, pipeline)
    message = pipeline.progress.message if pipeline.progress is not None else ""
    if not message.startswith("trained"):
        err.write(f"training did not produce a model: {message}\n")
        return False
    print_report(pipeline, out)
    return True


def cmd_train(args) -> int:
    from .evaluate import build_offline, read_session

    offline = build_offline(args.setup, "train")
    if offline is None:
        return 2
    setup, built, registry = offline
    pipeline = built.pipeline
    if args.folds is not None:
        pipeline.cv_folds = args.folds
    try:
        session = read_session(args.session, built, registry, setup.section("streams"))
        data = pipeline.training_data(session, target=args.target)
    except (OSError, ValueError, KeyError, LookupError, RuntimeError) as e:
        print(f"cannot train on {args.session}: {e}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    if not train_and_report(pipeline, data):
        return 1
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in built.app.name)
    path = args.out or f"{safe}.model"
    try:
        pipeline.save_model(path)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"could not save the model to {path}: {e}; use --out", file=sys.stderr)
        return 2
    print(f"model saved to {path} (report.json and report.png beside it) after "
          f"{time.monotonic() - t0:.1f} s")
    from hexloop.application.log import console_attached

    if not console_attached():  # the CLI's console handler printed them as they were logged
        for entry in built.app.ctx.log.since(0)[0]:
            if entry.level == "warning" and entry.source == pipeline.name \
                    and "report" in entry.message:
                print(f"warning: {entry.message}", file=sys.stderr)  # e.g. report.png not drawn
    return 0


def add_parser(sub) -> None:
    """The `train` subcommand, for cli.parser()."""
    tr = sub.add_parser("train", help="train the setup's model on a recorded session and report "
                                      "its cross-validated accuracy",
                        description=__doc__.split("\n\n")[1])
    tr.add_argument("session", help="a session folder, .session.zip, or a text recording")
    tr.add_argument("--setup", required=True, help="the setup file whose pipeline and model train")
    tr.add_argument("--out", default=None, help="the model file (default: <app name>.model)")
    tr.add_argument("--folds", type=int, default=None,
                    help="cross-validation folds by trial (default 5; 1 turns it off)")
    tr.add_argument("--target", default=None, metavar="STREAM",
                    help="learn this stream's values (regression) instead of the cued classes")
    tr.set_defaults(fn=cmd_train)
