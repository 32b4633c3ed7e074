"""The data commands of the `hexloop` CLI: import (XDF in), export (FIF, EDF, BIDS), sysinfo.

Kept out of cli.py (which registers them with `add_commands`) so each file stays short; each
command only parses its flags and calls an adapter or a report function. Exit codes: 0 done,
1 written but something was lost or left out, 2 nothing done (the message says why).
"""

from __future__ import annotations

import argparse
import sys


def cmd_import(args) -> int:
    from pathlib import Path

    from .paths import default_session_dir

    try:
        from hexloop.adapters._optional import optional

        optional("zarr", extra="zarr", purpose="writing the imported session")
        optional("pyxdf", extra="xdf", purpose="reading XDF files")
        from hexloop.adapters.xdf import read_xdf, write_recording
        from hexloop.adapters.zarr import ZarrStore
    except ImportError as e:
        print(e, file=sys.stderr)
        return 2
    path = Path(args.file)
    if path.suffix.lower() not in (".xdf", ".xdfz"):
        print(f"cannot import {path}: hexloop imports XDF files (.xdf, .xdfz); replay text "
              "files directly with the replay source", file=sys.stderr)
        return 2
    try:
        recording = read_xdf(path, classes=args.classes, markers=args.markers,
                             dejitter=args.dejitter)
    except (OSError, ValueError) as e:  # XdfError is a ValueError
        print(f"cannot import {path}: {e}", file=sys.stderr)
        return 2
    from .progress import ProgressBar

    out = Path(args.out) if args.out else default_session_dir()
    try:
        store = ZarrStore(out, durability="flush")  # the XDF file stays: a crash means re-import
        with ProgressBar("importing") as bar:
            summary = write_recording(recording, store, progress=bar)
    except (OSError, ValueError) as e:
        print(f"cannot write the session to {out}: {e}", file=sys.stderr)
        return 2
    streams = ", ".join(f"{name} ({n} samples)" for name, n in summary.samples.items())
    print(f"imported {path.name}: {streams or 'no numeric stream'}; {summary.labels} labels"
          + (f" from {recording.label_stream!r}, classes {list(recording.labels.class_names)}"
             if recording.label_stream else ""))
    print(f"session saved to {summary.location}")
    if summary.error:
        print(f"but: {summary.error}", file=sys.stderr)
        return 1
    return 0


def cmd_export(args) -> int:
    try:
        from hexloop.adapters._optional import optional

        optional("zarr", extra="zarr", purpose="reading sessions")
        from hexloop.adapters.zarr import open_session
        from hexloop.adapters.zarr.file_export import export_session
    except ImportError as e:
        print(e, file=sys.stderr)
        return 2
    from .progress import ProgressBar

    try:
        with open_session(args.session) as session, ProgressBar("exporting") as bar:
            result = export_session(session, args.format, args.out,
                                    streams=args.stream or None, subject=args.subject,
                                    task=args.task, overwrite=args.overwrite, progress=bar)
    except ImportError as e:
        print(e, file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:  # ExportError, SessionFormatError are ValueErrors
        print(f"cannot export {args.session}: {e}", file=sys.stderr)
        return 2
    print(result.text())
    return 0


def cmd_sysinfo(args) -> int:
    from .sysinfo import sys_info

    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            sys_info(f, load_plugins=not args.no_plugins)
        print(f"written to {args.out}")
    else:
        sys_info(sys.stdout, load_plugins=not args.no_plugins)
    return 0


def add_commands(sub) -> None:
    """Register import, export and sysinfo on the CLI's subparsers."""
    imp = sub.add_parser(
        "import", help="import an XDF file (LabRecorder) as a session",
        description="Write an XDF file as a hexloop session: every numeric stream bit-exact with\n"
        "its timestamps (clock offsets applied as pyxdf does), one marker stream as the labels.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="--classes: comma-separated class names in index order; a marker is its own class "
        "name,\nor MARKER=NAME maps it: --classes rest,fist  or  --classes 1=rest,2=fist,3=rest.\n"
        "Markers not listed are refused (nothing is written).")
    imp.add_argument("file", metavar="FILE.xdf", help="the XDF file")
    imp.add_argument("--out", metavar="DIR", default=None,
                     help="folder for the session (default: the user data folder, see sysinfo)")
    imp.add_argument("--classes", metavar="a,b,...", default=None,
                     help="class names in order (default: markers in order of first appearance)")
    imp.add_argument("--markers", metavar="NAME", default=None,
                     help="the string stream whose markers become labels, when there are several")
    imp.add_argument("--dejitter", action="store_true",
                     help="dejitter regular streams' timestamps (default: keep recorded stamps)")
    imp.set_defaults(fn=cmd_import)

    exp = sub.add_parser(
        "export", help="export a session to FIF, EDF or BIDS",
        description="Export a session's regular-rate streams through MNE: FIF (raw.save), EDF "
        "(mne.export), or a BIDS dataset (mne-bids; EEG, EMG, sEEG, ECoG streams only).")
    exp.add_argument("session", help="a session folder or .session.zip")
    exp.add_argument("--format", required=True, choices=("fif", "edf", "bids"))
    exp.add_argument("--out", metavar="PATH", default=None,
                     help="folder (or file, for one stream); BIDS: the dataset root")
    exp.add_argument("--stream", action="append", metavar="NAME",
                     help="export only this stream (repeat for several)")
    exp.add_argument("--subject", default="01", help="BIDS subject label (default 01)")
    exp.add_argument("--task", default=None, help="BIDS task label (default: the session slug)")
    exp.add_argument("--overwrite", action="store_true", help="replace files that exist")
    exp.set_defaults(fn=cmd_export)

    info = sub.add_parser("sysinfo", help="versions and platform, for bug reports",
                          description="hexloop, Python, library and liblsl versions, torch/CUDA, "
                          "the platform, and every adapter plugin with its load error if any.")
    info.add_argument("--out", metavar="FILE", default=None, help="write the report to FILE")
    info.add_argument("--no-plugins", action="store_true",
                      help="list plugins without importing them")
    info.set_defaults(fn=cmd_sysinfo)
