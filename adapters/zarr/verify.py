"""`verify_session(path)`: read every block of a session and say what, if anything, is damaged.

It checks, for a folder or a `.session.zip`: the archive's directory and every member's CRC-32
(and the pack manifest), meta.json, every block of every stream (crc32c checksums where the
session has them, decoding, lengths of data against timestamps against meta.json's sample
counts), the timestamps (finite, in order: steps back are anomalies unless discontinuities.jsonl
records a clock jump there) and labels.jsonl. `hexloop inspect --verify PATH` prints the report;
packing runs it on the archive before it removes a folder.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import attrs
import numpy as np

from .container import Container
from .layout import LABELS_NAME, STATUS_RECORDING, SessionFormatError, decode_labels

_READ_BLOCK = 4 * 2**20


@attrs.frozen
class Damage:
    """One damaged part of a session: which stream (None: the session), samples, time, file."""

    what: str
    stream: str | None = None
    samples: tuple[int, int] | None = None
    time: tuple[float, float] | None = None
    file: str | None = None

    def key(self) -> tuple:
        """What identifies this damage independently of where the session lies."""
        return (self.stream, self.samples, self.file)

    def text(self) -> str:
        parts = [f"stream {self.stream!r}"] if self.stream else []
        if self.samples:
            parts.append(f"samples {self.samples[0]}..{self.samples[1]}")
        if self.time:
            parts.append(f"time {self.time[0]:.3f}..{self.time[1]:.3f} s")
        if self.file:
            parts.append(f"in {self.file}")
        return (" ".join(parts) + ": " if parts else "") + self.what


@attrs.frozen
class VerifyReport:
    """What `verify_session` found: `ok` when nothing is damaged (anomalies are not damage)."""

    path: str
    damaged: tuple[Damage, ...] = ()
    anomalies: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    samples: Mapping[str, int] = attrs.field(factory=dict)
    blocks: int = 0

    @property
    def ok(self) -> bool:
        return not self.damaged

    def text(self) -> str:
        lines = [f"verify   {self.path}",
                 f"checked  {len(self.samples)} streams, {sum(self.samples.values())} samples, "
                 f"{self.blocks} blocks"]
        lines += [f"DAMAGED  {d.text()}" for d in self.damaged]
        lines += [f"anomaly  {a}" for a in self.anomalies]
        lines += [f"note     {n}" for n in self.notes]
        if self.ok:
            lines.append("result   intact: every block, checksum, length and label reads back")
        else:
            lines.append(f"result   DAMAGED: {len(self.damaged)} problem(s); the rest of the "
                         "session reads normally")
        return "\n".join(lines)


def _check_members(path: Path, damaged: list[Damage]) -> None:
    """Read every member of an archive to its end, so zipfile checks its CRC-32."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                try:
                    with archive.open(info) as entry:
                        while entry.read(_READ_BLOCK):
                            pass
                except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError,
                        NotImplementedError) as e:
                    damaged.append(Damage(f"the archive member cannot be read back ({e})",
                                          file=info.filename))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        damaged.append(Damage(f"the archive cannot be opened ({e})"))


def _discontinuities(session) -> dict[str, set[int]]:
    """Samples after a recorded clock jump, per stream (discontinuities.jsonl)."""
    out: dict[str, set[int]] = {}
    for item in getattr(session, "discontinuities", []):
        out.setdefault(item.stream, set()).add(int(item.sample))
    return out


def _check_stream(session, name: str, jumps: set[int], closed: bool, damaged: list[Damage],
                  anomalies: list[str], notes: list[str], progress=None) -> int:
    """Check one stream's lengths and read every block of it; return the blocks read.
    `progress(fraction)` follows the blocks read."""
    layout = session.layout(name)
    n, length = layout.chunk_samples, session.sample_count(name)
    arrays = dict(zip(("data", "timestamps"), session._arrays[name], strict=True))
    rows = {which: array.shape[0] for which, array in arrays.items()}
    files = {"data": lambda k: f"{layout.data_path}/c.{k}.0",
             "timestamps": lambda k: f"{layout.timestamps_path}/c.{k}"}
    recorded = (session.document.get("samples") or {}).get(name) if closed else None
    if closed and rows["data"] != rows["timestamps"]:
        damaged.append(Damage(f"data holds {rows['data']} samples but timestamps "
                              f"{rows['timestamps']}", stream=name))
    if isinstance(recorded, int) and recorded != max(rows.values()):
        damaged.append(Damage(f"meta.json records {recorded} samples, the arrays hold "
                              f"{max(rows.values())}", stream=name))
    names = session._container.names()
    for which, file in files.items():
        present = [k for k in range(-(-rows[which] // n)) if file(k) in names]
        last = present[-1] if present else -1
        for k in range(-(-rows[which] // n)):
            # a recording cut off ends early (reported as such); a hole before its end is damage
            if file(k) not in names and (closed or k < last):
                damaged.append(Damage(f"the {which} block's file is missing", name,
                                      (k * n, min((k + 1) * n, rows[which])), file=file(k)))
    if not session.checksummed.get(name, False):
        notes.append(f"stream {name!r} has no block checksums (recorded before hexloop stored "
                     "them): a changed byte in a folder cannot be detected; in an archive the "
                     "zip's CRC-32 covers it")
    previous, blocks = None, 0
    for k in range(-(-length // n)):
        if progress is not None:
            progress(k * n / length)
        lo, hi = k * n, min((k + 1) * n, length)
        times = None
        for which in ("timestamps", "data"):
            try:
                values = np.asarray(arrays[which][lo:hi])
            except Exception as e:  # noqa: BLE001 - every decoding failure is damage
                span = (float(times[0]), float(times[-1])) if times is not None else None
                damaged.append(Damage(f"{type(e).__name__}: {e}", name, (lo, hi), span,
                                      files[which](k)))
                continue
            blocks += 1
            if which == "timestamps":
                times = values.astype(np.float64)
        if times is None:
            previous = None
            continue
        bad = np.flatnonzero(~np.isfinite(times))
        if bad.size:
            damaged.append(Damage(f"{bad.size} timestamps are not finite (first at sample "
                                  f"{lo + bad[0]})", name, (lo, hi),
                                  file=files["timestamps"](k)))
            times = np.where(np.isfinite(times), times, -np.inf)
        steps = np.diff(times, prepend=times[0] if previous is None else previous)
        for i in np.flatnonzero(steps < 0)[:20]:
            sample = lo + int(i)
            before = times[i - 1] if i else previous
            if sample in jumps:
                notes.append(f"stream {name!r}: clock jump recorded at sample {sample} "
                             f"({before:.3f} s -> {times[i]:.3f} s)")
            else:
                anomalies.append(f"stream {name!r}: time goes back {before - times[i]:.6f} s at "
                                 f"sample {sample} ({before:.3f} s -> {times[i]:.3f} s)")
        previous = times[-1]
    return blocks


def verify_session(path: str | os.PathLike, progress=None) -> VerifyReport:
    """Read every block of the session folder or `.session.zip` at `path` and report damage.
    `progress(fraction)` (0.0 to 1.0) follows the blocks read, stream after stream.

    Raises FileNotFoundError when nothing is there; anything else is reported, never raised.
    """
    from .reading import open_session

    path = Path(path)
    damaged: list[Damage] = []
    anomalies: list[str] = []
    notes: list[str] = []
    try:
        Container(path).close()  # the archive's directory, sizes and names
    except SessionFormatError as e:
        return VerifyReport(str(path), (Damage(str(e)),))
    if path.is_file():
        _check_members(path, damaged)
    try:
        session = open_session(path)
    except SessionFormatError as e:
        return VerifyReport(str(path), (*damaged, Damage(str(e))))
    samples, blocks = {}, 0
    with session:
        closed = session.status != STATUS_RECORDING
        if not closed:
            anomalies.append("the recording was not closed (still running, or the program was "
                             "killed); `hexloop recover` finalizes and packs it")
        for problem in session._container.problems:
            damaged.append(Damage(problem))
        try:
            raw = session._container.read(LABELS_NAME) or b""
            for problem in decode_labels(raw, session.meta.class_names)[1]:
                if closed:
                    damaged.append(Damage(problem, file=LABELS_NAME))
                else:
                    anomalies.append(problem)  # a crash can cut the last line short
        except SessionFormatError as e:
            damaged.append(Damage(str(e), file=LABELS_NAME))
        jumps = _discontinuities(session)
        for i, name in enumerate(session.stream_names):
            part = None if progress is None else (
                lambda f, i=i: progress((i + f) / len(session.stream_names)))
            if name in session._broken:
                damaged.append(Damage(session._broken[name], stream=name))
                continue
            samples[name] = session.sample_count(name)
            if session._arrays[name] is None:
                if closed:
                    damaged.append(Damage("the stream's arrays are missing", stream=name))
                continue
            blocks += _check_stream(session, name, jumps.get(name, set()), closed, damaged,
                                    anomalies, notes, part)
    if progress is not None:
        progress(1.0)
    return VerifyReport(str(path), tuple(damaged), tuple(anomalies), tuple(notes), samples,
                        blocks)
