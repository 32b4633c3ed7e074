"""Export to MNE: one `mne.io.RawArray` per regular-rate stream, trials as annotations.

MNE assumes evenly spaced samples, so each label is placed at the first sample recorded at or
after its time (gaps in the recording do not shift it). Voltages given in V, mV, uV or nV are
scaled to volts, MNE's unit; other units are kept as they are on "misc" channels. Each clock
discontinuity marked while recording becomes a zero-length "clock_jump" annotation at its sample.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import numpy as np

from hexloop.adapters._optional import optional

_VOLT_SCALE = {"v": 1.0, "mv": 1e-3, "uv": 1e-6, "µv": 1e-6, "μv": 1e-6, "nv": 1e-9,
               # spelled out, as LSL apps (and so XDF files) often write them
               "volts": 1.0, "millivolts": 1e-3, "microvolts": 1e-6, "nanovolts": 1e-9}
_MNE_TYPES = {"eeg": "eeg", "emg": "emg", "ecg": "ecg", "eog": "eog", "seeg": "seeg",
              "ecog": "ecog", "resp": "resp", "bio": "bio", "stim": "stim", "misc": "misc"}


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}-{count}")
    return out


def session_to_mne(session, streams: Sequence[str] | None = None) -> dict:
    """RawArrays by stream name. Irregular-rate streams are skipped with a warning unless named."""
    mne = optional("mne", extra="zarr", purpose="exporting to MNE")

    names = list(session.stream_names if streams is None else streams)
    out = {}
    for name in names:
        info = session.info(name)
        if info.sampling_rate <= 0:
            if streams is not None:
                raise ValueError(f"stream {name!r} has an irregular rate; MNE needs a fixed one")
            warnings.warn(f"stream {name!r} has an irregular rate and is not exported to MNE",
                          stacklevel=3)
            continue
        data, ts = session.data(name)
        kind = _MNE_TYPES.get(info.type.lower(), "misc")
        values = data.astype(np.float64)
        if kind not in ("misc", "stim", "resp"):
            scales = [_VOLT_SCALE.get(unit.strip().lower()) for unit in info.units]
            if all(s is not None for s in scales):
                values *= np.asarray(scales)[:, None]
            else:
                kind = "misc"
        mne_info = mne.create_info(_unique(list(info.channel_names)), info.sampling_rate, kind)
        raw = mne.io.RawArray(values, mne_info, verbose=False)
        raw.set_meas_date(session.meta.created.astimezone(dt.UTC))
        onsets, durations, descriptions = [], [], []
        class_names = session.labels.class_names
        if ts.size:
            for trial in session.trials():
                first = int(np.searchsorted(ts, trial.start, side="left"))
                last = (ts.size if trial.stop >= ts[-1]  # the last trial keeps the last sample
                        else int(np.searchsorted(ts, trial.stop, side="left")))
                if first >= ts.size or last <= first:
                    continue
                onsets.append(first / info.sampling_rate)
                durations.append((last - first) / info.sampling_rate)
                descriptions.append(class_names[trial.class_index])
        for jump in getattr(session, "discontinuities", ()):
            if jump.stream == name and jump.sample < ts.size:
                onsets.append(jump.sample / info.sampling_rate)
                durations.append(0.0)
                descriptions.append("clock_jump")
        raw.set_annotations(mne.Annotations(onsets, durations, descriptions))
        out[name] = raw
    return out
