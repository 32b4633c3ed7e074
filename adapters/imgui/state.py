"""What the window remembers between frames (viewer settings, text fields) and its background jobs.

Nothing here touches ImGui: panels read and write this state on the main thread, and slow
actions (finalizing a recording, preparing training data, saving a model) run as short worker
threads so no frame waits on them.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import attrs

#: Channels a viewer shows until the user picks others.
DEFAULT_VISIBLE_CHANNELS = 16


@attrs.define
class ViewerSettings:
    """One signal viewer's choices. `channels` None means the first DEFAULT_VISIBLE_CHANNELS."""

    channels: list[int] | None = None
    #: "traces": each channel's min/max over time; "heatmap": one cell per channel coloured by
    #: its RMS over the newest window (the view for hundreds of channels).
    view: str = "traces"
    #: Which version of the samples is drawn (viewmodels.signals): "conditioned" or "raw" for a
    #: stream with a conditioning chain (the first until the user picks), else "acquired".
    signal: str = "acquired"
    grid_columns: int | None = None  # heat map columns; None: from the channel count
    heat_scale: float = 0.0  # the heat map's top RMS (autoscaled)
    window_s: float | None = None  # None: the whole display buffer
    autoscale: bool = True
    stacked: bool = True
    band: bool = True
    #: "display": the acquisition thread's min/max snapshot; "raw": the whole ring buffer
    #: (a diagnostic baseline for benchmarks, never the default).
    source: str = "display"
    spacing: float = 0.0  # vertical distance between stacked channels, in signal units
    centers: Any = None  # per-channel offsets removed before stacking (ndarray)
    channel_text: str = ""  # the "1-8, 12" field of the channel picker
    channel_error: str = ""  # why the last text was refused

    def visible(self, channel_count: int) -> list[int]:
        if self.channels is None:
            return list(range(min(channel_count, DEFAULT_VISIBLE_CHANNELS)))
        return [c for c in self.channels if 0 <= c < channel_count]


def parse_channels(text: str, channel_count: int) -> list[int]:
    """Zero-based channel indices from one-based "1-8, 12, 20-" style text.

    Raises ValueError with a sentence saying what to write instead.
    """
    picked: list[int] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        try:
            start = int(lo) if lo.strip() else 1
            stop = (int(hi) if hi.strip() else channel_count) if dash else start
        except ValueError:
            raise ValueError(
                f"{part!r} is not a channel number or range; write e.g. '1-8, 12'"
            ) from None
        if not 1 <= start <= stop <= channel_count:
            raise ValueError(
                f"{part!r} is outside channels 1..{channel_count}; write e.g. '1-{channel_count}'"
            )
        picked.extend(range(start - 1, stop))
    if not picked:
        raise ValueError(f"no channels given; write e.g. '1-{min(8, channel_count)}'")
    return sorted(set(picked))


class Tasks:
    """Named one-shot worker threads; a name runs at most once at a time."""

    def __init__(self):
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self.errors: dict[str, str] = {}  # the last failure per task name, shown by panels

    def busy(self, name: str) -> bool:
        with self._lock:
            thread = self._threads.get(name)
            return thread is not None and thread.is_alive()

    def start(self, name: str, fn: Callable[[], Any], log: Any = None,
              source: str = "gui") -> bool:
        """Run `fn` on a worker thread unless `name` is still running; False if it is."""

        def run():
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - shown in the panel and the log
                text = f"{type(e).__name__}: {e}" if not _is_refusal(e) else str(e)
                self.errors[name] = text
                if log is not None:
                    log.error(source, text)

        with self._lock:
            thread = self._threads.get(name)
            if thread is not None and thread.is_alive():
                return False
            self.errors.pop(name, None)
            thread = threading.Thread(target=run, name=f"gui-{name}", daemon=True)
            self._threads[name] = thread
            thread.start()
            return True

    def join(self, timeout: float | None = None) -> list[str]:
        """Wait for every running task; the names still running after `timeout`."""
        with self._lock:
            threads = dict(self._threads)
        for thread in threads.values():
            thread.join(timeout)
        return [name for name, t in threads.items() if t.is_alive()]

    def running(self) -> list[str]:
        with self._lock:
            return [name for name, t in self._threads.items() if t.is_alive()]


def _is_refusal(error: BaseException) -> bool:
    return type(error).__name__ == "TransitionRefused"


@attrs.define
class GuiState:
    """Everything the built-in panels keep between frames for one app context."""

    viewers: dict[str, ViewerSettings] = attrs.field(factory=dict)
    tasks: Tasks = attrs.field(factory=Tasks)
    slug: str = ""
    model_paths: dict[str, str] = attrs.field(factory=dict)
    train_targets: dict[str, str | None] = attrs.field(factory=dict)  # None: cued classes
    messages: dict[str, str] = attrs.field(factory=dict)  # per pipeline: the last outcome
    log_level: int = 0  # 0 all, 1 warnings and errors, 2 errors
    log_follow: bool = True
    log_hidden_before: float = 0.0  # "Clear" hides entries older than this (time.time())
    fps: float = 0.0

    def viewer(self, stream_name: str) -> ViewerSettings:
        settings = self.viewers.get(stream_name)
        if settings is None:
            settings = self.viewers[stream_name] = ViewerSettings()
        return settings


_STATES: weakref.WeakKeyDictionary[Any, GuiState] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def gui_state(ctx: Any) -> GuiState:
    """The panel state kept for `ctx` (created on first use, dropped with the context)."""
    with _STATES_LOCK:
        state = _STATES.get(ctx)
        if state is None:
            state = _STATES[ctx] = GuiState()
        return state
