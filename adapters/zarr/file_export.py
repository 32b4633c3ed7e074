"""Export a session to files other tools read, through MNE: FIF, EDF, and BIDS with mne-bids.

Each regular-rate stream becomes one file (`session.to_mne`: trials as annotations, voltages in
volts); irregular-rate streams have no place in these formats and are listed as skipped.

- `fif`: `raw.save` (MNE's own format, every channel type, float32 on disk).
- `edf`: `mne.export.export_raw(..., fmt="edf")` (needs edfio): 16-bit EDF+, so values are
  quantized to the channel's range, as EDF always is.
- `bids`: `mne_bids.write_raw_bids` (EDF inside): a BIDS dataset needs a BIDS datatype, which
  comes from the channel types. EEG, EMG, sEEG and ECoG streams (type EEG/EMG/SEEG/ECOG with
  voltage units V, mV, uV or nV) can be written; a stream whose channels are only ECG, EOG,
  respiration, bio, stim or misc (any other type, or units that are not a voltage) cannot, and
  is listed as skipped with that reason.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import attrs

from hexloop.adapters._optional import optional

FORMATS = ("fif", "edf", "bids")
SUFFIX = {"fif": "_raw.fif", "edf": ".edf"}
#: MNE channel types mne-bids can file under a BIDS datatype.
BIDS_TYPES = ("eeg", "emg", "seeg", "ecog", "dbs", "mag", "grad", "fnirs_cw_amplitude")
EXTRA = {"fif": "zarr", "edf": "export", "bids": "export"}


class ExportError(ValueError):
    """An export that cannot be done as asked; the message says what to do instead."""


@attrs.frozen
class ExportResult:
    """The files written (by stream) and the streams left out with the reason."""

    written: dict
    skipped: dict

    def text(self) -> str:
        lines = [f"{name}: {path}" for name, path in self.written.items()]
        lines += [f"{name}: not exported: {why}" for name, why in self.skipped.items()]
        return "\n".join(lines)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "stream"


def _alnum(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", name) or "x"


def session_stem(location: str | os.PathLike) -> str:
    """A session's name without `.session.zip`."""
    name = Path(location).name
    return name[: -len(".session.zip")] if name.endswith(".session.zip") else name


def bids_problem(raw) -> str | None:
    """Why a Raw cannot go into BIDS, or None."""
    types = set(raw.get_channel_types())
    if types & set(BIDS_TYPES):
        return None
    return (f"its channels are {', '.join(sorted(types))}, and BIDS files data under EEG, EMG, "
            "iEEG, MEG or NIRS only; record it with type EEG or EMG and units V, mV or uV, or "
            "export it with --format fif or edf")


def export_session(session, fmt: str, out: str | os.PathLike | None = None, *,
                   streams=None, subject: str = "01", task: str | None = None,
                   overwrite: bool = False, progress=None) -> ExportResult:
    """Write `session` (a ZarrSession) as `fmt` files; see the module docstring.
    `progress(fraction)` (0.0 to 1.0): the streams read, then each one written.

    `out`: for fif/edf a folder (default: beside the session), or a file name when one stream is
    exported; for bids the dataset's root (default `<session>-bids` beside the session).
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    mne = optional("mne", extra="zarr", purpose=f"exporting to {fmt}")
    if fmt == "edf":
        optional("edfio", extra=EXTRA[fmt], purpose="exporting to EDF")
    if fmt == "bids":
        optional("edfio", extra=EXTRA[fmt], purpose="exporting to BIDS (EDF inside)")
        mne_bids = optional("mne_bids", extra=EXTRA[fmt], purpose="exporting to BIDS")
    names = list(session.stream_names if streams is None else streams)
    unknown = [n for n in names if n not in session.stream_names]
    if unknown:
        raise ExportError(f"no stream {unknown[0]!r} in the session; it has "
                          f"{list(session.stream_names)}")
    skipped = {n: "its rate is irregular; these formats need a fixed sampling rate"
               for n in names if session.info(n).sampling_rate <= 0}
    regular = [n for n in names if n not in skipped]
    if streams is not None and skipped:
        raise ExportError(f"stream {next(iter(skipped))!r} has an irregular rate; "
                          "FIF, EDF and BIDS need a fixed one")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raws = session.to_mne(regular) if regular else {}
    steps = 1 + len(raws)
    done = _steps(progress, steps)
    stem = session_stem(session.path)
    base = Path(session.path).parent
    written = {}
    if fmt == "bids":
        root = Path(out) if out is not None else base / f"{stem}-bids"
        task = _alnum(task or session.meta.slug or "hexloop")
        for name, raw in raws.items():
            problem = bids_problem(raw)
            if problem:
                skipped[name] = problem
                continue
            path = mne_bids.BIDSPath(subject=_alnum(subject), task=task, root=root,
                                     acquisition=_alnum(name) if len(raws) > 1 else None)
            extra = {"emg_placement": "Other"} if "emg" in raw.get_channel_types() else {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                written_path = mne_bids.write_raw_bids(
                    raw, path, format="EDF", allow_preload=True, overwrite=overwrite,
                    verbose=False, **extra)
            written[name] = str(written_path.fpath)
            done()
        if not written:
            raise ExportError("nothing could be exported to BIDS: " + "; ".join(
                f"stream {n!r}: {why}" for n, why in skipped.items()))
        return ExportResult(written, skipped)
    if not raws:
        raise ExportError("the session has no regular-rate stream to export: " + "; ".join(
            f"stream {n!r}: {why}" for n, why in skipped.items()))
    target = Path(out) if out is not None else base
    as_file = target.suffix.lower() in (".fif", ".edf", ".gz")
    if as_file and len(raws) > 1:
        raise ExportError(f"{target} names one file but the session has {len(raws)} streams "
                          f"({', '.join(raws)}); give a folder as --out, or choose a stream")
    if not as_file:
        target.mkdir(parents=True, exist_ok=True)
    for name, raw in raws.items():
        path = target if as_file else target / f"{stem}-{_safe(name)}{SUFFIX[fmt]}"
        if path.exists() and not overwrite:
            raise ExportError(f"{path} exists; remove it or pass --overwrite")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FIF naming conventions, EDF's physical range note
            if fmt == "fif":
                raw.save(path, overwrite=overwrite, verbose=False)
            else:
                mne.export.export_raw(path, raw, fmt="edf", overwrite=overwrite, verbose=False)
        written[name] = str(path)
        done()
    if progress is not None:
        progress(1.0)
    return ExportResult(written, skipped)


def _steps(progress, total: int):
    """A function to call after each of `total` steps (the first is already done)."""
    count = [1]
    if progress is not None:
        progress(count[0] / total)

    def done() -> None:
        count[0] += 1
        if progress is not None:
            progress(min(1.0, count[0] / total))

    return done
