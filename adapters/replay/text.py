"""Delimited text recordings as labs export them: a time column, channel columns, a label column.

Real exports have gaps (dropped packets) and repeated times (a clock coarser than the sampling).
What this loader does with them, by default (`resample=True`):

1. rows that share a time are spread evenly up to the next distinct time, keeping their order;
2. the nominal rate is the median step between rows (or `rate=` when given);
3. the rows are put on the nominal-rate grid from the first row's time: each grid sample takes
   the latest row at or before it (within half a period), so a gap repeats the last row
   (`filled` counts those samples) and two rows in one slot keep the later (`merged` counts the
   earlier ones). Every grid value is a recorded value, and label times stay where the file puts
   them.

With `resample=False` every row is kept once, with its own (spread) time, and the rate in the
StreamInfo is the nominal one.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from pathlib import Path

import attrs
import numpy as np

from hexloop.domain.labels import LabelEvent, LabelTrack
from hexloop.domain.streams import StreamInfo

LABEL_HEADERS = ("class", "label", "labels", "gesture", "target", "marker", "cue", "condition")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@attrs.frozen
class TextRecording:
    """A text recording on its (nominal-rate) time base; timestamps start at the file's first time."""

    info: StreamInfo
    data: np.ndarray  # (n, channels) in info.dtype
    timestamps: np.ndarray  # (n,) float64 seconds
    labels: LabelTrack
    rows: int  # data rows in the file
    filled: int  # grid samples with no row of their own (gaps), repeating the previous row
    merged: int  # rows dropped because a later row took the same grid slot
    path: str


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def _read_table(path: Path, delimiter: str | None) -> tuple[list[str] | None, list[str], str | None]:
    """The file read once: its header (None when the first row is all numbers), its data lines
    and their delimiter.

    Blank lines and lines starting with '#' are skipped. The delimiter is `delimiter` when
    given, else what `csv.Sniffer` finds among tab, comma and semicolon, else runs of blanks.
    """
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = [line for line in f.read().splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{path} holds no data rows")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="\t,;").delimiter
        except csv.Error:  # one column, or columns separated by blanks
            delimiter = None
    first = [f.strip() for f in (next(csv.reader(lines[:1], delimiter=delimiter))
                                 if delimiter else lines[0].split())]
    if all(_is_number(v) for v in first):
        return None, lines, delimiter
    return first, lines[1:], delimiter


def _column(spec: int | str | None, header: list[str] | None, role: str, path: Path) -> int | None:
    if spec is None or isinstance(spec, int):
        return spec
    if header is None:
        raise ValueError(f"{path}: has no header row, so give the {role} column by index")
    lowered = [h.lower() for h in header]
    if spec.lower() not in lowered:
        raise ValueError(f"{path}: no {role} column named {spec!r}; columns are {header}")
    return lowered.index(spec.lower())


def _spread_repeats(t: np.ndarray) -> tuple[np.ndarray, float]:
    """Rows sharing a time spread evenly to the next distinct time; returns times and the step."""
    distinct, first, counts = np.unique(t, return_index=True, return_counts=True)
    steps = np.diff(distinct)
    if steps.size == 0:
        return t.copy(), 0.0
    per_row = steps / counts[:-1]
    step = float(np.median(np.repeat(per_row, counts[:-1])))
    out = t.copy()
    nexts = np.append(distinct[1:], distinct[-1] + step * counts[-1])
    for start, count, here, nxt in zip(first, counts, distinct, nexts):
        if count > 1:
            out[start:start + count] = here + np.arange(count) * (nxt - here) / count
    return out, step


def _class_table(values: np.ndarray, class_names) -> tuple[tuple[str, ...], dict[str, int]]:
    """Class names and the index of each raw label value."""
    normalized = [_norm_label(v) for v in values]
    if class_names is not None:
        if isinstance(class_names, Mapping):
            mapping = {_norm_label(str(k)): str(v) for k, v in class_names.items()}
        else:
            raise TypeError("class_names must map each label value to a name, e.g. {1: 'rest'}")
        unknown = sorted(set(normalized) - set(mapping))
        if unknown:
            raise ValueError(f"label values {unknown} have no name in class_names {mapping}")
        names = tuple(dict.fromkeys(mapping.values()))
        return names, {k: names.index(v) for k, v in mapping.items()}
    distinct = list(dict.fromkeys(normalized))
    if all(_is_number(v) for v in distinct):
        distinct.sort(key=float)
    return tuple(distinct), {v: i for i, v in enumerate(distinct)}


def read_text_recording(
    path: str | os.PathLike,
    *,
    rate: float | None = None,
    time_unit: str = "auto",
    time_column: int | str | None = None,
    label_column: int | str | None = "auto",
    delimiter: str | None = None,
    class_names: Mapping | None = None,
    resample: bool = True,
    dtype: str = "float32",
    name: str | None = None,
    stream_type: str = "",
    units: str = "",
) -> TextRecording:
    """Load a delimited text recording (see the module docstring for gaps and repeated times).

    `time_unit` is "ms", "s" or "auto" (from a header naming ms or s, else ms when the median
    step is at least 0.5, which at biosignal rates can only be milliseconds). The label column
    is found by its header (class, label, gesture, ...) unless given; None means no labels.
    `class_names` maps label values to names; by default the values themselves, sorted.
    """
    path = Path(path)
    if time_unit not in ("auto", "ms", "s"):
        raise ValueError(f"time_unit must be 'auto', 'ms' or 's', got {time_unit!r}")
    header, lines, delimiter = _read_table(path, delimiter)
    width = len(header) if header is not None else len(
        next(csv.reader(lines[:1], delimiter=delimiter)) if delimiter else lines[0].split())
    if width < 2:
        raise ValueError(f"{path}: found 1 column; expected a time column and channel columns "
                         "(pass delimiter= if the columns are separated by something else)")
    t_col = _column(time_column, header, "time", path)
    if t_col is None:
        named = [i for i, h in enumerate(header or []) if "time" in h.lower()]
        t_col = named[0] if named else 0
    if label_column == "auto":
        l_col = next((i for i, h in enumerate(header or []) if h.lower() in LABEL_HEADERS), None)
    else:
        l_col = _column(label_column, header, "label", path)
    channel_cols = [i for i in range(width) if i not in (t_col, l_col)]
    if not channel_cols:
        raise ValueError(f"{path}: no channel columns besides time and label")
    try:
        numbers = np.loadtxt(lines, delimiter=delimiter, usecols=[t_col, *channel_cols],
                             dtype=np.float64, ndmin=2, quotechar='"')
        raw_labels = (np.loadtxt(lines, delimiter=delimiter, usecols=[l_col], dtype=str, ndmin=1,
                                 quotechar='"')
                      if l_col is not None else None)
    except ValueError as e:
        raise ValueError(f"{path}: cannot read the numeric columns ({e}); check the delimiter "
                         "and that every row has the same columns") from e
    if numbers.shape[0] < 2:
        raise ValueError(f"{path}: needs at least two rows to know its rate")
    times = numbers[:, 0]
    values = numbers[:, 1:]
    if not np.isfinite(times).all():
        raise ValueError(f"{path}: the time column holds non-numbers")
    backwards = np.flatnonzero(np.diff(times) < 0)
    if backwards.size:
        row = int(backwards[0]) + 2
        raise ValueError(f"{path}: time goes backwards at data row {row}; split the file into "
                         "recordings whose time only moves forward")
    unit = time_unit
    if unit == "auto":
        title = (header[t_col].lower() if header else "")
        if "ms" in title or "milli" in title:
            unit = "ms"
        elif re.search(r"(\(s\)|\[s\]|_s$|sec)", title):
            unit = "s"
        else:
            positive = np.diff(times)[np.diff(times) > 0]
            unit = "ms" if positive.size and np.median(positive) >= 0.5 else "s"
    seconds = times * (1e-3 if unit == "ms" else 1.0)
    spread, step = _spread_repeats(seconds)
    nominal = float(rate) if rate else (1.0 / step if step > 0 else 0.0)
    if not nominal > 0:
        raise ValueError(f"{path}: cannot tell the sampling rate (all rows share one time); "
                         "pass rate=")
    nominal = float(f"{nominal:.6g}")
    n_rows = len(seconds)
    if resample:
        count = int(np.floor((spread[-1] - spread[0]) * nominal + 1e-6)) + 1
        grid = spread[0] + np.arange(count) / nominal
        index = np.searchsorted(spread, grid + 0.5 / nominal, side="right") - 1
        index = np.clip(index, 0, n_rows - 1)
        distinct_rows = np.unique(index).size
        filled, merged = count - distinct_rows, n_rows - distinct_rows
        timestamps = grid
    else:
        index = np.arange(n_rows)
        filled, merged, timestamps = 0, 0, spread
    data = np.ascontiguousarray(values[index].astype(dtype))

    if raw_labels is not None:
        distinct, first_row, inverse = np.unique(raw_labels, return_index=True,
                                                 return_inverse=True)
        in_order = distinct[np.argsort(first_row)]
        names, table = _class_table(in_order, class_names)
        lookup = np.array([table[_norm_label(v)] for v in distinct], dtype=np.int64)
        classes = lookup[inverse][index]
        changes = np.concatenate(([0], np.flatnonzero(np.diff(classes)) + 1))
        events = [LabelEvent(float(timestamps[i]), int(classes[i])) for i in changes]
        labels = LabelTrack(names, events)
    else:
        labels = LabelTrack(())
    channel_names = [header[i] for i in channel_cols] if header else ()
    info = StreamInfo(
        name or re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem),
        len(channel_cols), nominal, dtype,
        channel_names=channel_names,
        units=(units,) * len(channel_cols) if units else (),
        type=stream_type,
        source_id=f"file:{path.name}",
    )
    return TextRecording(info, data, np.asarray(timestamps, np.float64), labels, n_rows,
                         int(filled), int(merged), str(path))


def _norm_label(v: str) -> str:
    v = v.strip()
    if _is_number(v) and float(v) == int(float(v)):
        return str(int(float(v)))
    return v


def load_text_recording(path: str | os.PathLike, **options):
    """(StreamInfo, data (n, ch), timestamps (n,), LabelTrack) of a text recording."""
    recording = read_text_recording(path, **options)
    return recording.info, recording.data, recording.timestamps, recording.labels
