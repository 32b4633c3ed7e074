"""Reusable contract checks: every adapter of a port, ours or a third party's, must pass them.

Each check is a plain function raising AssertionError with a sentence saying what broke, so it
runs under pytest or anywhere else. Call them from an adapter's tests.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from hexloop.domain.labels import LabelEvent
from hexloop.domain.pipeline import TrainingCancelled, TrainingData, TrainingJob
from hexloop.domain.session import SessionMeta, SessionSummary
from hexloop.domain.streams import StreamInfo

from .clock import Clock
from .conditioner import Conditioner
from .markers import MarkerOutlet, MarkerSource
from .model import Model, ModelFileError
from .renderer import Renderer, RenderTarget
from .source import Source
from .store import Store
from .transport import Transport


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def check_clock(clock: Clock) -> None:
    """now() never goes back; sleep returns True at once when interrupted."""
    _require(isinstance(clock, Clock), f"{clock!r} does not implement the Clock port")
    a, b = clock.now(), clock.now()
    _require(b >= a, "Clock.now() went backwards")
    stop = threading.Event()
    stop.set()
    _require(clock.sleep(10.0, stop) is True, "Clock.sleep must return True when interrupted")
    _require(clock.sleep(0.0) is False, "Clock.sleep(0) must return False (not interrupted)")


def check_source(
    make: Callable[[], Source], *, min_samples: int = 1, timeout: float = 10.0
) -> StreamInfo:
    """connect() gives a valid StreamInfo; read() is quick, well-shaped and time-ordered."""
    source = make()
    _require(isinstance(source, Source), f"{source!r} does not implement the Source port")
    info = source.connect(timeout)
    try:
        _require(isinstance(info, StreamInfo), "connect() must return a StreamInfo")
        _require(source.info == info, "Source.info must equal what connect() returned")
        got, last, deadline = 0, -np.inf, time.monotonic() + timeout
        while got < min_samples:
            _require(time.monotonic() < deadline, f"only {got}/{min_samples} samples in {timeout}s")
            t0 = time.monotonic()
            data, ts = source.read()
            _require(time.monotonic() - t0 < 0.25, "read() blocked for more than 250 ms")
            _require(isinstance(data, np.ndarray) and data.ndim == 2, "read() data must be 2-D")
            _require(data.shape[1] == info.channel_count, f"read() gave {data.shape[1]} channels")
            _require(data.dtype == info.np_dtype, f"read() gave {data.dtype}, info says {info.dtype}")
            _require(ts.shape == (data.shape[0],), "read() needs one timestamp per sample")
            _require(ts.dtype == np.float64, "timestamps must be float64")
            if ts.size:
                _require(ts[0] >= last and bool(np.all(np.diff(ts) >= 0)), "timestamps went back")
                last = ts[-1]
            got += data.shape[0]
            if not ts.size:
                time.sleep(0.002)
    finally:
        source.disconnect()
    source.disconnect()  # twice is harmless
    return info


def check_transport(
    make: Callable[[], Transport],
    channels: Sequence[str] = ("a", "b"),
    received: Callable[[], list[np.ndarray]] | None = None,
) -> None:
    """open/send/close; send after close raises; `received()` (if given) sees what was sent."""
    transport = make()
    _require(isinstance(transport, Transport), f"{transport!r} does not implement Transport")
    transport.open(list(channels), 10.0)
    sent = [np.arange(len(channels), dtype=np.float64) + k for k in range(3)]
    for k, sample in enumerate(sent):
        transport.send(sample, time.monotonic() + k * 1e-3)
    if received is not None:
        deadline = time.monotonic() + 5.0
        got: list[np.ndarray] = []
        while len(got) < len(sent) and time.monotonic() < deadline:
            got += received()
            time.sleep(0.01)
        _require(len(got) >= len(sent), f"receiver saw {len(got)} of {len(sent)} samples")
        for a, b in zip(sent, got[-len(sent):]):
            _require(np.allclose(a, b), f"sent {a}, received {b}")
    transport.close()
    try:
        transport.send(sent[0], time.monotonic())
    except RuntimeError:
        pass
    else:
        raise AssertionError("send() after close() must raise RuntimeError")
    transport.close()


def check_marker_outlet(make: Callable[[], MarkerOutlet],
                        received: Callable[[], list[tuple[str, float]]] | None = None) -> None:
    """open/push/close of a protocol's cue markers; push after close raises; `received()` (if
    given) sees every marker with the timestamp it was pushed with, in order."""
    outlet = make()
    _require(isinstance(outlet, MarkerOutlet), f"{outlet!r} does not implement MarkerOutlet")
    outlet.open()
    now = time.monotonic()
    sent = [("fist", now), ("rest", now + 0.5), ("pinch \u00e9", now + 1.0)]
    for marker, stamp in sent:
        outlet.push(marker, stamp)
    if received is not None:
        deadline = time.monotonic() + 5.0
        got: list[tuple[str, float]] = []
        while len(got) < len(sent) and time.monotonic() < deadline:
            got += received()
            time.sleep(0.01)
        _require([m for m, _ in got] == [m for m, _ in sent],
                 f"pushed {[m for m, _ in sent]}, received {[m for m, _ in got]}")
        _require(all(abs(a - b) < 1e-6 for (_, a), (_, b) in zip(sent, got)),
                 f"markers must keep the timestamps they were pushed with: {sent} vs {got}")
    outlet.close()
    try:
        outlet.push("late", time.monotonic())
    except RuntimeError:
        pass
    else:
        raise AssertionError("push() after close() must raise RuntimeError")
    outlet.close()


def check_marker_source(make: Callable[[], MarkerSource], push: Callable[[str, float], None],
                        now: Callable[[], float] = time.monotonic, tolerance_s: float = 1e-6,
                        timeout: float = 5.0) -> None:
    """connect/read/disconnect of a marker source: `push(marker, timestamp)` sends a marker
    upstream (stamped on the `now` clock); `read()` returns each one once, in order, with its
    timestamp within `tolerance_s`, and never blocks; read after disconnect raises."""
    source = make()
    _require(isinstance(source, MarkerSource), f"{source!r} does not implement MarkerSource")
    source.connect(timeout)
    t0 = now()
    sent = [("fist", t0 - 0.2), ("rest", t0 - 0.1), ("pinch \u00e9", t0)]
    for marker, stamp in sent:
        push(marker, stamp)
    deadline = time.monotonic() + timeout
    got: list[tuple[str, float]] = []
    while len(got) < len(sent) and time.monotonic() < deadline:
        started = time.monotonic()
        got += source.read()
        _require(time.monotonic() - started < 1.0, "read() must not block (it took over 1 s)")
        time.sleep(0.01)
    _require([m for m, _ in got] == [m for m, _ in sent],
             f"pushed {[m for m, _ in sent]}, read {[m for m, _ in got]}")
    _require(all(isinstance(m, str) and isinstance(t, float) for m, t in got),
             f"read() must return (str, float) pairs, got {got}")
    _require(all(abs(a - b) <= tolerance_s for (_, a), (_, b) in zip(sent, got)),
             f"markers must keep their timestamps (within {tolerance_s:g} s): {sent} vs {got}")
    _require(source.read() == [], "read() must return each marker once")
    source.disconnect()
    try:
        source.read()
    except RuntimeError:
        pass
    else:
        raise AssertionError("read() after disconnect() must raise RuntimeError")
    source.disconnect()


def check_model(make: Callable[[], Model], data: TrainingData) -> None:
    """fit, predict shape, save/load round trip, refusal of a bad file, cooperative cancel."""
    model = make()
    _require(isinstance(model, Model), f"{model!r} does not implement the Model port")
    model.fit(data, TrainingJob())
    _require(tuple(model.output_names) == tuple(data.names), "output_names must follow the data")
    out = np.asarray(model.predict(data.x[0]))
    _require(out.shape == (len(data.names),), f"predict gave shape {out.shape}")
    _require(bool(np.isfinite(out).all()), "predict gave non-finite values")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model")
        model.save(path)
        other = make()
        other.load(path)
        _require(np.allclose(other.predict(data.x[0]), out, atol=1e-5), "save/load changed output")
        bad = os.path.join(tmp, "bad")
        with open(bad, "wb") as f:
            f.write(b"not a model file")
        try:
            other.load(bad)
        except ModelFileError:
            pass
        else:
            raise AssertionError("loading a corrupt file must raise ModelFileError")
        _require(np.allclose(other.predict(data.x[0]), out, atol=1e-5), "failed load changed model")
    job = TrainingJob()
    job.cancel()
    try:
        make().fit(data, job)
    except TrainingCancelled:
        pass
    else:
        raise AssertionError("fit() with a cancelled job must raise TrainingCancelled")


def check_store(make: Callable[[], Store]) -> None:
    """A session written through the port reads back equal: data, timestamps, labels."""
    store = make()
    _require(isinstance(store, Store), f"{store!r} does not implement the Store port")
    infos = (StreamInfo("emg", 3, 100.0, "float32"), StreamInfo("force", 1, 10.0, "int16"))
    meta = SessionMeta("contract", infos, class_names=("rest", "fist"))
    rng = np.random.default_rng(0)
    session = store.open_session(meta)
    written: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"emg": [], "force": []}
    t = 0.0
    for chunk in range(20):
        for info in infos:
            n = 7 + chunk % 5
            data = (rng.standard_normal((n, info.channel_count)) * 100).astype(info.np_dtype)
            ts = t + np.arange(n) / info.sampling_rate
            session.append(info.name, data, ts)
            written[info.name].append((data, ts))
        t += 0.2
        if chunk in (3, 11):
            session.add_label(LabelEvent(t, chunk % 2))
    summary = session.close()
    _require(isinstance(summary, SessionSummary), "close() must return a SessionSummary")
    back = store.read(summary.location)
    _require(back.meta.app_name == "contract", "meta.app_name did not round-trip")
    _require(tuple(back.meta.streams) == infos, "stream infos did not round-trip")
    for info in infos:
        data, ts = back.data(info.name)
        want = np.concatenate([d for d, _ in written[info.name]])
        want_ts = np.concatenate([t for _, t in written[info.name]])
        _require(summary.samples[info.name] == len(want_ts), f"{info.name}: summary count wrong")
        _require(data.dtype == info.np_dtype, f"{info.name}: dtype {data.dtype} came back")
        _require(np.array_equal(data, want.T), f"{info.name}: data did not round-trip")
        _require(np.array_equal(ts, want_ts), f"{info.name}: timestamps did not round-trip")
    _require([e.class_index for e in back.labels.events] == [1, 1], "labels did not round-trip")
    _require(back.labels.class_names == ("rest", "fist"), "class names did not round-trip")


def check_renderer(make: Callable[[], Renderer], target: RenderTarget) -> None:
    """run() returns within a second of request_exit() from another thread."""
    renderer = make()
    _require(isinstance(renderer, Renderer), f"{renderer!r} does not implement Renderer")
    timer = threading.Timer(0.3, target.request_exit)
    timer.start()
    t0 = time.monotonic()
    renderer.run(target)
    took = time.monotonic() - t0
    timer.cancel()
    _require(target.exit_requested, "run() returned before exit was requested")
    _require(took < 1.5, f"run() took {took:.2f}s to return after request_exit()")


def check_conditioner(make: Callable[[], Conditioner], channels: int, samples: int = 3000,
                      seed: int = 0) -> None:
    """Chunked equals one call, reset starts afresh, causal, well-shaped float64, a sane delay.

    `make()` builds a fresh conditioner for `channels` channels each time.
    """
    conditioner = make()
    _require(isinstance(conditioner, Conditioner), f"{conditioner!r} does not implement Conditioner")
    delay = conditioner.group_delay_s
    _require(np.isfinite(delay) and delay >= 0, f"group_delay_s must be finite and >= 0, got {delay}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, channels)) * 50
    whole = conditioner.process(x)
    _require(isinstance(whole, np.ndarray) and whole.shape == x.shape,
             f"process() gave shape {getattr(whole, 'shape', None)} for input {x.shape}")
    _require(whole.dtype == np.float64, f"process() gave {whole.dtype}; it must give float64")
    empty = make().process(np.empty((0, channels), np.float32))
    _require(empty.shape == (0, channels), f"an empty chunk gave shape {empty.shape}")
    chunked, parts, i = make(), [], 0
    while i < samples:
        n = int(rng.integers(0, 97))
        parts.append(chunked.process(x[i:i + n]))
        i += n
    scale = max(1.0, float(np.abs(whole).max()))
    _require(np.allclose(np.concatenate(parts), whole, rtol=1e-9, atol=1e-9 * scale),
             "chunk-by-chunk output differs from one call on the whole signal: state must carry")
    chunked.reset()
    _require(np.allclose(chunked.process(x), whole, rtol=1e-9, atol=1e-9 * scale),
             "after reset() the same input gave different output: reset must forget all state")
    future = x.copy()
    cut = samples // 2
    future[cut:] = rng.standard_normal((samples - cut, channels)) * 50
    _require(np.allclose(make().process(future)[:cut], whole[:cut], rtol=1e-9,
                         atol=1e-9 * scale), "output before a sample changed when later input "
                                             "changed: a conditioner must be causal")
    ints = make().process(np.round(x[:50]).astype(np.int16))
    _require(ints.dtype == np.float64 and ints.shape == (50, channels),
             "an int16 chunk must be accepted and give float64")
