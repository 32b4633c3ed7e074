"""The `hexloop` command line: run, check, demo, streams, simulate, adapters, inspect, recover,
bench."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from importlib import resources

LOOPBACK_CFG = "lsl_loopback.cfg"
EXIT_INTERRUPTED = 130  # 128 + SIGINT: a run stopped by Ctrl-C (its recording is still saved)


def use_loopback_lsl() -> str:
    """Keep LSL on 127.0.0.1 unless the user chose a config; call before importing pylsl."""
    if not os.environ.get("LSLAPICFG"):
        os.environ["LSLAPICFG"] = str(resources.files(__package__) / LOOPBACK_CFG)
    return os.environ["LSLAPICFG"]


def _needs(module: str, extra: str, purpose: str) -> None:
    """Raise an ImportError naming the extra to install when `module` is missing."""
    from hexloop.adapters._optional import optional

    optional(module, extra=extra, purpose=purpose)


def _registry():
    from .registry import Registry

    return Registry.from_entry_points()


def cmd_run(args) -> int:
    from .build import build
    from .labsetup import SetupInvalid, load_setup

    registry = _registry()
    try:
        setup = load_setup(args.setup, registry)
        built = build(setup, registry, headless=args.headless, duration=args.duration)
    except SetupInvalid as e:
        print(e, file=sys.stderr)
        return 2
    app = built.app
    if args.record and app.store is None:
        print("--record needs a [store] in the setup file, e.g. [store] adapter = \"zarr\"",
              file=sys.stderr)
        return 2
    if args.model:
        if built.pipeline is None:
            print("--model needs a [pipeline] in the setup file", file=sys.stderr)
            return 2
        try:
            built.pipeline.load_model(args.model)
        except (OSError, ValueError) as e:  # ModelFileError is a ValueError
            print(f"cannot load the model {args.model}: {e}", file=sys.stderr)
            return 2
        if not getattr(args, "protocol", False):  # a protocol predicts in its online phase
            built.pipeline.start_predicting()
    packing = None
    if app.store is not None and getattr(app.store, "pack_progress", False) is None:
        from .progress import EachRun  # each recorded session's packing, on stderr

        # pack_progress: a ZarrStore option, not the Store port's (looked up above)
        packing = app.store.pack_progress = EachRun("packing")  # type: ignore[attr-defined]
    if getattr(args, "protocol", False):
        from .protocolsetup import run_protocol  # the setup's [protocol], cued (#15)

        return run_protocol(built, setup, args)
    if args.record:
        app.before_run_hooks.append(lambda a: _record_when_connected(a, args.record))
    app.run(built.renderer)
    if packing is not None:
        packing.close()
    if app.ctx.last_summary is not None:
        print(f"session saved to {app.ctx.last_summary.location}")
    if getattr(app, "interrupted", False):  # Ctrl-C: 128 + SIGINT, as shells report it
        print("interrupted (Ctrl-C); exit 130", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def cmd_check(args) -> int:
    """Validate a setup without starting anything: no adapter or feature module is imported, no
    LSL, no thread, no file written. Exit 2 listing every problem, 0 with a one-line summary."""
    from .labsetup import SetupInvalid, check_setup

    try:
        setup = check_setup(args.setup, _registry())
    except SetupInvalid as e:
        print(e, file=sys.stderr)
        return 2
    print(f"ok: {args.setup}: {setup.summary()}")
    return 0


def _record_when_connected(app, slug: str) -> None:
    """Start recording once every stream has connected; a refusal for any other reason is
    logged instead of waited on forever."""

    def wait_then_record():
        while not app.exit_requested:
            if all(s.info is not None for s in app.ctx.streams.values()):
                try:
                    app.start_recording(slug)
                except Exception as e:  # noqa: BLE001 - reported, the run goes on
                    app.ctx.log.error("record", f"--record could not start: {e}")
                return
            threading.Event().wait(0.1)

    threading.Thread(target=wait_then_record, name="record-on-connect", daemon=True).start()


def cmd_demo(args) -> int:
    use_loopback_lsl()
    from .demo import main as demo_main

    return demo_main(args)


def cmd_streams(args) -> int:
    try:
        from hexloop.adapters.pylsl import list_streams
    except ImportError as e:  # the adapter's message names the extra (adapters/_optional.py)
        print(f"listing LSL streams: {e}", file=sys.stderr)
        return 2
    streams = list_streams(timeout=args.timeout)
    if not streams:
        print(f"no LSL streams visible within {args.timeout:g} s (LSLAPICFG="
              f"{os.environ.get('LSLAPICFG', 'liblsl default')})")
        return 0
    print(streams_table(streams))
    return 0


def streams_table(streams) -> str:
    """The `hexloop streams` table; columns as wide as their longest value, so a long stream
    name or type never pushes the columns after it out of line."""
    rows = [("name", "type", "channels", "rate", "host")] + [
        (s.name, s.type, str(s.channel_count), f"{s.sampling_rate:g}", s.host) for s in streams]
    name_w, type_w, ch_w, rate_w = (max(len(r[i]) for r in rows) for i in range(4))
    return "\n".join(f"{n:{name_w}}  {t:{type_w}}  {c:>{ch_w}}  {r:>{rate_w}}  {h}".rstrip()
                     for n, t, c, r, h in rows)


def cmd_simulate(args) -> int:
    if not args.lan:
        use_loopback_lsl()
    try:
        from hexloop.adapters.pylsl import SimulatedLslDevice, run_simulator
    except ImportError as e:
        print(f"the simulated LSL device: {e}", file=sys.stderr)
        return 2
    try:  # refuse a bad rate, channel count or chunk before saying anything is published
        SimulatedLslDevice(args.name, channels=args.channels, rate=args.rate, chunk=args.chunk,
                           source_id=args.source_id, control_stream=args.control_stream)
        if args.duration is not None and not args.duration > 0:
            raise ValueError(f"--duration must be a positive number of seconds, got "
                             f"{args.duration:g}")
    except ValueError as e:
        print(f"cannot simulate: {e}", file=sys.stderr)
        return 2
    print(f"publishing {args.name!r}: {args.channels} ch at {args.rate:g} Hz "
          f"(LSLAPICFG={os.environ.get('LSLAPICFG', 'liblsl default')}); Ctrl-C to stop")
    stop = threading.Event()
    if args.duration is not None:
        threading.Timer(args.duration, stop.set).start()
    try:
        sent = run_simulator(args.channels, args.rate, args.name, args.chunk, stop,
                             source_id=args.source_id, control_stream=args.control_stream)
    except ValueError as e:
        print(f"cannot simulate: {e}", file=sys.stderr)
        return 2
    print(f"sent {sent} samples")
    return 0


def cmd_adapters(args) -> int:
    entries = _registry().entries()
    print(f"{'kind':10} {'name':18} {'extra':7} {'status':14} target")
    for e in entries:
        missing = e.missing
        status = "ready" if not missing else "missing " + ",".join(missing)
        print(f"{e.kind:10} {e.name:18} {e.extra or '-':7} {status:14} {e.target}")
    return 0


def cmd_inspect(args) -> int:
    try:
        _needs("zarr", "zarr", "reading sessions")
        from hexloop.adapters.zarr import inspect_text, verify_session
    except ImportError as e:
        print(e, file=sys.stderr)
        return 2
    try:
        if getattr(args, "verify", False):
            from .progress import ProgressBar

            with ProgressBar("verifying") as bar:
                report = verify_session(args.path, progress=bar)
            print(report.text())
            return 0 if report.ok else 1
        print(inspect_text(args.path))
    except (OSError, ValueError) as e:
        print(f"cannot read {args.path}: {e}", file=sys.stderr)
        return 2
    return 0


def cmd_recover(args) -> int:
    try:
        _needs("zarr", "zarr", "recovering sessions")
        from hexloop.adapters.zarr import recover_session
    except ImportError as e:
        print(e, file=sys.stderr)
        return 2
    from .progress import ProgressBar

    try:
        with ProgressBar("packing") as bar:
            result = recover_session(args.path, progress=bar)
    except (OSError, ValueError) as e:
        print(f"cannot recover {args.path}: {e}", file=sys.stderr)
        return 2
    print(result.message)
    return 0


def cmd_bench(args) -> int:
    use_loopback_lsl()
    from .bench import main as bench_main

    return bench_main(quick=args.quick, json_path=args.json, rows=args.rows)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hexloop", description="Closed-loop biosignal experiments.")
    _log_options(p, None)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a lab setup file",
                         description="Run a lab setup (TOML). Uses your LSL configuration.")
    run.add_argument("setup", help="the setup file, e.g. examples/simulated.toml")
    run.add_argument("--headless", action="store_true", help="no window: print a status line")
    run.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    run.add_argument("--record", metavar="SLUG", help="record from start to end (with --model: "
                     "an online session, predictions and outputs included)")
    run.add_argument("--model", metavar="PATH", help="load a saved model and predict")
    run.add_argument("--protocol", action="store_true",
                     help="run the setup's [protocol]: calibrate, train, online, evaluate, cued "
                          "on screen (keys: p pause, r repeat trial, a abort phase, q quit)")
    run.set_defaults(fn=cmd_run)

    check = sub.add_parser("check", help="validate a lab setup file without running it",
                           description="Check a lab setup (TOML): every problem at once, exit 2 "
                           "if any. Imports nothing the file names and starts nothing.")
    check.add_argument("setup", help="the setup file, e.g. examples/simulated.toml")
    check.set_defaults(fn=cmd_check)

    demo = sub.add_parser("demo", help="run the whole closed-loop experiment on simulated EMG",
                          description="Record a cued protocol from a simulated EMG device over LSL "
                          "(loopback), train a classifier, predict live and report the loop.")
    demo.add_argument("--quick", action="store_true", help="a short run (used by the tests)")
    demo.add_argument("--headless", action="store_true", help="no window even with a display")
    demo.add_argument("--out", default="recordings", help="where sessions are saved")
    demo.set_defaults(fn=cmd_demo)

    streams = sub.add_parser("streams", help="list visible LSL streams",
                             description="List the LSL streams visible from here.")
    streams.add_argument("--timeout", type=float, default=2.0, help="seconds to wait (default 2)")
    streams.set_defaults(fn=cmd_streams)

    sim = sub.add_parser("simulate", help="publish a simulated EMG device over LSL",
                         description="Publish EMG-like data over LSL, loopback-only unless --lan.")
    sim.add_argument("--channels", type=int, default=8, help="number of EMG channels (default 8)")
    sim.add_argument("--rate", type=float, default=2048.0,
                     help="sampling rate in Hz, positive (default 2048)")
    sim.add_argument("--chunk", type=int, default=0, help="samples per chunk (0: about rate/64)")
    sim.add_argument("--source-id", default=None, help="LSL source_id (default from the name)")
    sim.add_argument("--control-stream", default=None, metavar="NAME",
                     help="an LSL marker stream whose samples (class name or index) switch the gesture")
    sim.add_argument("--name", default="hexloop-sim",
                     help="the LSL stream name a setup's source resolves (default hexloop-sim)")
    sim.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    sim.add_argument("--lan", action="store_true", help="use your LSL config, not loopback")
    sim.set_defaults(fn=cmd_simulate)

    adapters = sub.add_parser("adapters", help="list registered adapters and their extras",
                              description="List adapters from the hexloop.adapters entry points.")
    adapters.set_defaults(fn=cmd_adapters)

    inspect = sub.add_parser("inspect", help="summarize a recorded session",
                             description="Streams, durations, samples, gaps, labels per class.")
    inspect.add_argument("path", help="a session folder or .session.zip")
    inspect.add_argument("--verify", action="store_true",
                         help="read every block; print what is damaged; exit 1 if anything is")
    inspect.set_defaults(fn=cmd_inspect)

    recover = sub.add_parser("recover", help="repair and pack a crashed session",
                             description="Trim streams to whole blocks, complete meta, pack.")
    recover.add_argument("path", help="the session folder left by a crash")
    recover.set_defaults(fn=cmd_recover)

    bench = sub.add_parser("bench", help="measure the performance rows against their baselines",
                           description="Run every performance row (ring buffer, acquisition, "
                           "closed loop, replay, recording, conditioning, GUI) as ratios against "
                           "baselines measured in the same run; print one table with the machine."
                           " See docs/performance.md.")
    bench.add_argument("--quick", action="store_true",
                       help="short measurements (a smoke test: under 2 minutes on 2 cores)")
    bench.add_argument("--json", metavar="PATH", help="also write the table as JSON to PATH")
    bench.add_argument("--rows", help=argparse.SUPPRESS)  # comma-separated group/row prefixes
    bench.set_defaults(fn=cmd_bench)

    from .commands_data import add_commands  # import, export, sysinfo

    add_commands(sub)
    from .train import add_parser as add_train  # train with a report (#15)

    add_train(sub)
    from .evaluate import add_parser as add_evaluate_parser

    add_evaluate_parser(sub)  # hexloop evaluate (#14)
    for command in sub.choices.values():  # the log options also after the command's name
        _log_options(command, argparse.SUPPRESS)
    return p


def _log_options(p: argparse.ArgumentParser, default) -> None:
    """--log-level and --log-file; on a command, SUPPRESS keeps what was given before it."""
    p.add_argument("--log-level", default=default, metavar="LEVEL",
                   help="debug, info, warning or error: what the log file, stderr and the GUI's "
                        "log panel keep (default: env HEXLOOP_LOG_LEVEL, else info; stderr "
                        "then shows warnings and errors only)")
    p.add_argument("--log-file", default=default, metavar="FILE",
                   help="also append the log to FILE, timestamped")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from .logconfig import LogLevelError, configure

    try:
        undo_logging = configure(args.log_level, args.log_file)
    except (LogLevelError, OSError) as e:
        print(f"hexloop: {e}", file=sys.stderr)
        return 2
    try:
        return args.fn(args)
    except KeyboardInterrupt:  # Ctrl-C outside a run's own handling (while building, reading)
        print("interrupted (Ctrl-C); exit 130", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        undo_logging()


if __name__ == "__main__":
    sys.exit(main())
