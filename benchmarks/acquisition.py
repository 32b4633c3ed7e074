"""LSL acquisition benchmark: the simulated amplifier feeding a ring buffer through each binding.

For each geometry (64 ch x 2048 Hz and 408 ch x 10240 Hz) the simulated device publishes on
loopback and a reader thread does what a Stream's acquisition thread does: read(), write the
chunk into a RingBuffer, wait a moment when nothing came. Readers: a bare pylsl inlet pulling
numpy chunks (the baseline, measured in the same run), PylslSource and MneLslSource. Printed per
reader: samples received against samples sent (must be equal), the reading thread's CPU share
(time.thread_time over wall time), the latency from push to ring buffer (median, 99th
percentile, over chunks pushed after connect() returned), and CPU and p99 latency as ratios
to the baseline. The device starts its clock when the reader subscribes, so everything it sends
must arrive.

    .venv/bin/python benchmarks/acquisition.py            # ~30 s
    .venv/bin/python benchmarks/acquisition.py --seconds 10 --geometry 408x10240

Exits 1 when any reader lost or invented samples.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

LOOPBACK = Path(__file__).resolve().parents[1] / "application" / "composition" / "lsl_loopback.cfg"
os.environ.setdefault("LSLAPICFG", str(LOOPBACK))  # before any LSL library loads

import pylsl  # noqa: E402

from hexloop.adapters.mne_lsl import MneLslSource  # noqa: E402
from hexloop.adapters.pylsl import PylslSource, SimulatedLslDevice  # noqa: E402
from hexloop.application.stream import MAX_IDLE_WAIT_S  # noqa: E402
from hexloop.domain.ringbuffer import RingBuffer  # noqa: E402

GEOMETRIES = {"64x2048": (64, 2048.0), "408x10240": (408, 10240.0)}


class RawPylslReader:
    """The baseline: a plain pylsl inlet, numpy chunks, no clock correction, no checks."""

    def __init__(self, name: str):
        self.name = name
        self.inlet = None

    def connect(self, timeout: float):
        (info,) = pylsl.resolve_byprop("name", self.name, 1, timeout)
        self.inlet = pylsl.StreamInlet(info, max_buflen=5, recover=False)
        self.inlet.open_stream(timeout)
        self.max_samples = max(1, int(info.nominal_srate() * 0.5))

    def read(self):
        return self.inlet.pull_chunk(timeout=0.0, max_samples=self.max_samples, as_numpy=True)

    def disconnect(self):
        self.inlet = None


READERS = {
    "raw pylsl": RawPylslReader,
    "PylslSource": lambda name: PylslSource(name, ambiguity_wait_s=0.0),
    "MneLslSource": lambda name: MneLslSource(name, ambiguity_wait_s=0.0),
}


def run_one(reader_name: str, channels: int, rate: float, seconds: float) -> dict:
    name = f"bench-{reader_name.replace(' ', '-')}-{channels}x{int(rate)}-{os.getpid()}"
    device = SimulatedLslDevice(name, channels=channels, rate=rate, wait_for_consumer=True)
    ring = RingBuffer(int(rate * 10), channels, np.float32)
    latencies: list[float] = []
    state = {"received": 0, "cpu": 0.0, "wall": 0.0}
    stop = threading.Event()
    idle = min(MAX_IDLE_WAIT_S, max(0.0005, 8.0 / rate))  # what a Stream's acquisition thread waits

    with device:
        source = READERS[reader_name](name)
        source.connect(5.0)
        ready = time.monotonic()  # samples queued while connecting are not a latency

        def read_loop():
            cpu0, wall0 = time.thread_time(), time.monotonic()
            while not stop.is_set():
                data, ts = source.read()
                if len(ts) == 0:
                    stop.wait(idle)
                    continue
                ring.write(data, ts)
                if ts[0] >= ready:
                    latencies.append(time.monotonic() - ts[-1])
                state["received"] += len(ts)
            state["cpu"] = time.thread_time() - cpu0
            state["wall"] = time.monotonic() - wall0

        reader = threading.Thread(target=read_loop, name="bench-reader")
        reader.start()
        time.sleep(seconds)
        device.stop_publishing()
        sent = device.samples_sent
        deadline = time.monotonic() + 3.0
        while state["received"] < sent and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # anything beyond `sent` would be a bug too
        stop.set()
        reader.join()
        source.disconnect()
    lat = np.array(latencies) * 1e3
    return {
        "sent": sent,
        "received": state["received"],
        "cpu": state["cpu"] / state["wall"],
        "median_ms": float(np.median(lat)) if lat.size else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="publishing time per run")
    parser.add_argument("--geometry", choices=sorted(GEOMETRIES), action="append")
    args = parser.parse_args(argv)
    geometries = args.geometry or list(GEOMETRIES)

    header = (
        f"{'geometry':>10} {'reader':>13} {'sent':>9} {'received':>9} {'equal':>5} "
        f"{'cpu %':>6} {'lat med ms':>10} {'lat p99 ms':>10} {'cpu/raw':>7} {'p99/raw':>7}"
    )
    print(f"LSL acquisition, {args.seconds:g} s per run (LSLAPICFG={os.environ['LSLAPICFG']})")
    print(header)
    print("-" * len(header))
    all_equal = True
    for geometry in geometries:
        channels, rate = GEOMETRIES[geometry]
        baseline = None
        for reader_name in READERS:
            r = run_one(reader_name, channels, rate, args.seconds)
            baseline = baseline or r
            equal = r["received"] == r["sent"]
            all_equal &= equal
            print(
                f"{geometry:>10} {reader_name:>13} {r['sent']:>9} {r['received']:>9} "
                f"{'yes' if equal else 'NO':>5} {100 * r['cpu']:>6.1f} {r['median_ms']:>10.2f} "
                f"{r['p99_ms']:>10.2f} {r['cpu'] / baseline['cpu']:>7.2f} "
                f"{r['p99_ms'] / baseline['p99_ms']:>7.2f}",
                flush=True,
            )
    if not all_equal:
        print("FAIL: some reader did not receive exactly the samples sent", file=sys.stderr)
    return 0 if all_equal else 1


if __name__ == "__main__":
    sys.exit(main())
