"""Property-based fuzzing of the session reader (#11): random byte flips, truncations, member
removals and swaps, in a packed archive and in a folder. The reader always gives correct data
(the original, or a prefix of it with the loss reported in `problems`) or SessionFormatError;
never another exception, never wrong numbers. verify_session never raises and never calls a
session intact whose data differs.

Inside a folder nothing binds a block to its position, so two whole blocks of the same array
exchanged are a different but self-consistent session: folder swaps leave such pairs out (an
archive's manifest catches them). labels.jsonl has no checksum in a folder either, so label
contents are compared in archives only (where the zip's CRC-32 covers them).

Short by default; HEXLOOP_FULL_FUZZ=1 runs many more examples.
"""

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("zarr")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from hexloop.adapters.zarr import (  # noqa: E402
    SessionFormatError,
    ZarrStore,
    open_session,
    verify_session,
)
from hexloop.domain.labels import LabelEvent  # noqa: E402
from hexloop.domain.session import SessionMeta  # noqa: E402
from hexloop.domain.streams import StreamInfo  # noqa: E402

FULL = os.environ.get("HEXLOOP_FULL_FUZZ") == "1"
FUZZ = settings(max_examples=2000 if FULL else 60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.timeout(3600 if FULL else 120)  # the full run takes minutes

STREAMS = {"emg": np.arange(165, dtype=np.float32).reshape(55, 3) * 0.5,
           "force": np.arange(11, dtype=np.int16).reshape(11, 1) - 5}
TIMES = {"emg": 100.0 + np.arange(55) / 100.0, "force": 100.0 + np.arange(11) / 20.0}
LABELS = [LabelEvent(100.1, 1), LabelEvent(100.3, 0)]


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """The packed session and the same files as a folder (what a recording leaves)."""
    base = tmp_path_factory.mktemp("fuzz")
    session = ZarrStore(base, chunk_seconds=0.1).open_session(SessionMeta(
        "fuzz", [StreamInfo("emg", 3, 100.0), StreamInfo("force", 1, 20.0, "int16")],
        class_names=("rest", "fist")))
    for name, data in STREAMS.items():
        session.append(name, data, TIMES[name])
    for label in LABELS:
        session.add_label(label)
    archive = Path(session.close().location)
    folder = base / "folder"
    with zipfile.ZipFile(archive) as z:
        z.extractall(folder)
    (folder / "manifest.json").unlink()
    assert verify_session(archive).ok and verify_session(folder).ok
    return archive, folder


def check(path: Path, in_archive: bool) -> None:
    """The property: correct data (or a reported prefix of it) or SessionFormatError."""
    try:
        session = open_session(path)
    except SessionFormatError:
        return
    with session:
        intact = True
        for name in session.stream_names:
            if name not in STREAMS:
                continue  # a renamed stream (meta.json of a folder has no checksum)
            try:
                data, ts = session.data(name)
            except SessionFormatError:
                intact = False
                continue
            n = ts.size
            assert n <= TIMES[name].size
            assert np.array_equal(data, STREAMS[name][:n].T), f"wrong numbers in {name}"
            assert np.array_equal(ts, TIMES[name][:n]), f"wrong times in {name}"
            if n < TIMES[name].size:
                intact = False
                assert session.problems, f"{name} lost samples silently"
        labels_right = list(session.labels.events) == LABELS
        if in_archive and not labels_right:
            assert session.problems, "labels changed silently"
    report = verify_session(path)  # never raises
    if report.ok and in_archive:
        assert intact and labels_right, f"verify called a damaged archive intact: {report.text()}"
    elif report.ok:
        assert intact, f"verify called a damaged folder intact: {report.text()}"


def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="hexloop-fuzz-"))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@FUZZ
@given(where=st.floats(0, 1, exclude_max=True), xor=st.integers(1, 255))
def test_byte_flips_in_an_archive(original, where, xor):
    scratch = _scratch()
    try:
        path = scratch / "s.session.zip"
        raw = bytearray(original[0].read_bytes())
        raw[int(where * len(raw))] ^= xor
        path.write_bytes(bytes(raw))
        check(path, in_archive=True)
    finally:
        shutil.rmtree(scratch)


@FUZZ
@given(keep=st.floats(0, 1, exclude_max=True))
def test_truncated_archives(original, keep):
    scratch = _scratch()
    try:
        path = scratch / "s.session.zip"
        raw = original[0].read_bytes()
        path.write_bytes(raw[: int(keep * len(raw))])
        check(path, in_archive=True)
    finally:
        shutil.rmtree(scratch)


@FUZZ
@given(data=st.data())
def test_members_removed_or_swapped_in_an_archive(original, data):
    with zipfile.ZipFile(original[0]) as z:
        members = {name: z.read(name) for name in z.namelist()}
    names = sorted(members)
    first = data.draw(st.sampled_from(names))
    second = data.draw(st.sampled_from(names + [None]))  # None: remove `first`
    if second is None:
        del members[first]
    else:
        members[first], members[second] = members[second], members[first]
    scratch = _scratch()
    try:
        path = scratch / "s.session.zip"
        with zipfile.ZipFile(path, "w") as z:
            for name, payload in members.items():
                z.writestr(name, payload)
        check(path, in_archive=True)
    finally:
        shutil.rmtree(scratch)


def _same_array(a: str, b: str) -> bool:
    parent = Path(a).parent
    return parent == Path(b).parent and parent.name in ("data", "timestamps") and \
        "zarr.json" not in (Path(a).name, Path(b).name)


@FUZZ
@given(data=st.data())
def test_flips_truncations_removals_and_swaps_in_a_folder(original, data):
    scratch = _scratch()
    try:
        folder = scratch / "s"
        shutil.copytree(original[1], folder)
        files = _files(folder)
        target = data.draw(st.sampled_from(files))
        action = data.draw(st.sampled_from(["flip", "truncate", "remove", "swap"]))
        raw = bytearray(target.read_bytes())
        if action == "flip" and raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
            target.write_bytes(bytes(raw))
        elif action == "truncate":
            target.write_bytes(bytes(raw[: data.draw(st.integers(0, max(0, len(raw) - 1)))]))
        elif action == "remove":
            target.unlink()
        elif action == "swap":
            other = data.draw(st.sampled_from(
                [f for f in files if f != target and not _same_array(
                    target.relative_to(folder).as_posix(), f.relative_to(folder).as_posix())]))
            mine = other.read_bytes()
            other.write_bytes(bytes(raw))
            target.write_bytes(mine)
        check(folder, in_archive=False)
    finally:
        shutil.rmtree(scratch)
