"""Marker streams as labels (#16): the MarkerSource contract, the marker feed's thread (markers
become labels at their own timestamps, mapped or by class name; unknown ones counted and warned
about once; a lost stream reconnected) and the [[markers]] tables `hexloop check` validates."""

from __future__ import annotations

import pytest

from hexloop.adapters.fakes import FakeMarkerSource, FakeStore
from hexloop.adapters.simulated import SimulatedSource
from hexloop.application import App, Stream, StreamStatus
from hexloop.application.composition.labsetup import SetupInvalid, check_setup
from hexloop.application.composition.registry import Registry
from hexloop.application.markers import MarkerFeed
from hexloop.ports import MarkerSource
from hexloop.ports.contracts import check_marker_source
from tests.helpers import needs_all_extras, started, wait_for

CLASSES = ("rest", "fist", "pinch")

pytestmark = pytest.mark.timeout(30)


def test_the_fake_marker_source_passes_the_contract():
    source = FakeMarkerSource()
    check_marker_source(lambda: source, source.push)
    assert isinstance(source, MarkerSource)


def test_a_marker_source_that_repeats_markers_fails_the_contract():
    class Repeating(FakeMarkerSource):
        def read(self):
            out = super().read()
            self._seen = getattr(self, "_seen", []) + out
            return list(self._seen)

    source = Repeating()
    with pytest.raises(AssertionError):
        check_marker_source(lambda: source, source.push)


def recording_app(source, **feed_options):
    app = App("markers", store=FakeStore(), class_names=CLASSES)
    app.streams(Stream("emg", SimulatedSource("sim", channels=2, rate=250.0,
                                              class_names=CLASSES)))
    feed = MarkerFeed(source, backoff_s=(0.01, 0.05), **feed_options).attach(app)
    return app, feed


def record(app):
    emg = app.ctx.streams["emg"]
    assert wait_for(lambda: emg.health.status is StreamStatus.STREAMING)
    app.start_recording(slug="m")


def warnings_of(app, feed):
    return [e.message for e in app.ctx.log.entries()
            if e.source == feed.where and e.level == "warning"]


def test_markers_become_labels_at_their_timestamps_while_recording():
    source = FakeMarkerSource("psychopy")
    app, feed = recording_app(source, mapping={"1": "fist", "2": "rest"})
    with started(app):
        record(app)
        t0 = app.clock.now()
        sent = [("1", t0 + 0.01), ("pinch", t0 + 0.02), ("2", t0 + 0.03)]
        for marker, stamp in sent:
            source.push(marker, stamp)
        assert wait_for(lambda: feed.counts.recorded == 3), feed.counts
        labels = app.ctx.labels
        app.stop_recording()
    recorded = app.store.read(app.ctx.last_summary.location).labels.events
    assert [(CLASSES[e.class_index], e.time) for e in recorded] == \
        [("fist", t0 + 0.01), ("pinch", t0 + 0.02), ("rest", t0 + 0.03)]
    assert labels.events == recorded
    assert feed.counts.unknown == 0


def test_an_unknown_marker_is_counted_and_warned_about_once_and_the_rest_recorded():
    source = FakeMarkerSource("game")
    app, feed = recording_app(source)
    with started(app):
        record(app)
        t0 = app.clock.now()
        for i, marker in enumerate(["boom", "fist", "boom", "boom", "rest"]):
            source.push(marker, t0 + i * 0.01)
        assert wait_for(lambda: feed.counts.received == 5), feed.counts
        summary = app.stop_recording()
    assert (feed.counts.unknown, feed.counts.recorded, summary.labels) == (3, 2, 2)
    unknown = [w for w in warnings_of(app, feed) if "'boom'" in w]
    assert len(unknown) == 1 and "map" in unknown[0]


def test_unknown_ignore_counts_without_warning():
    source = FakeMarkerSource("quiet")
    app, feed = recording_app(source, unknown="ignore")
    with started(app):
        record(app)
        source.push("boom", app.clock.now())
        assert wait_for(lambda: feed.counts.unknown == 1)
        app.stop_recording()
    assert warnings_of(app, feed) == []


def test_a_late_marker_is_kept_at_the_newest_labels_time_and_reported():
    source = FakeMarkerSource("late")
    app, feed = recording_app(source)
    with started(app):
        record(app)
        newest = app.mark("rest").time
        source.push("fist", newest - 0.5)
        assert wait_for(lambda: feed.counts.recorded == 1), feed.counts
        events = app.ctx.labels.events
        app.stop_recording()
    assert [(CLASSES[e.class_index], e.time) for e in events] == [("rest", newest),
                                                                  ("fist", newest)]
    assert feed.counts.late == 1 and any("older" in w for w in warnings_of(app, feed))


def test_markers_while_not_recording_are_cues():
    source = FakeMarkerSource("cues")
    app, feed = recording_app(source)
    with started(app):
        source.push("pinch", app.clock.now())
        assert wait_for(lambda: feed.counts.cued == 1), feed.counts
    assert app.cue_class == CLASSES.index("pinch")


def test_the_feed_retries_a_missing_stream_and_reconnects_a_lost_one():
    source = FakeMarkerSource("flaky", fail_connects=2)
    app, feed = recording_app(source)
    with started(app):
        record(app)
        assert wait_for(lambda: source.connects == 1)
        source.lose()
        assert wait_for(lambda: source.connects == 2)
        source.push("fist", app.clock.now())
        assert wait_for(lambda: feed.counts.recorded == 1), feed.counts
        app.stop_recording()
    errors = [e.message for e in app.ctx.log.entries()
              if e.source == feed.where and e.level == "error"]
    assert len(errors) == 1 and "cannot connect" in errors[0]  # logged once, retried
    assert any("went away" in w for w in warnings_of(app, feed))
    assert not feed._thread.is_alive()


SETUP = """
[app]
name = "m"
class_names = ["rest", "fist"]

[[streams]]
name = "emg"
source = "simulated"

[[markers]]
source = "pylsl"
options = {{ name = "PsychoPyMarkers" }}
{extra}
"""


def check(tmp_path, extra):
    path = tmp_path / "setup.toml"
    path.write_text(SETUP.format(extra=extra))
    return check_setup(path, Registry.from_entry_points())


@needs_all_extras
def test_check_accepts_a_markers_table(tmp_path):
    setup = check(tmp_path, 'map = { "1" = "fist", "2" = "rest" }\nunknown = "ignore"')
    assert setup.section("markers")[0]["map"] == {"1": "fist", "2": "rest"}


@pytest.mark.parametrize("extra, key, says", [
    ('mapp = { "1" = "fist" }', "markers[0].mapp", "did you mean 'map'"),
    ('map = { "1" = "fists" }', "markers[0].map.1", "not one of [app] class_names"),
    ('unknown = "drop"', "markers[0].unknown", '"warn" or "ignore"'),
])
def test_check_names_a_bad_markers_key(tmp_path, extra, key, says):
    with pytest.raises(SetupInvalid) as e:
        check(tmp_path, extra)
    problems = [str(p) for p in e.value.problems]
    assert any(f": {key}" in p and says in p for p in problems), problems


@pytest.mark.parametrize("old, new, key, says", [
    ('name = "PsychoPyMarkers"', 'nam = "x"', "markers[0].options.nam", "not an option"),
    ('source = "pylsl"', 'source = "nope"', "markers[0].source", "no markers adapter"),
    ('class_names = ["rest", "fist"]', "", "markers[0]", "class_names"),
])
@needs_all_extras
def test_check_names_a_bad_marker_adapter_or_a_missing_class_list(tmp_path, old, new, key, says):
    path = tmp_path / "setup.toml"
    path.write_text(SETUP.format(extra="").replace(old, new))
    with pytest.raises(SetupInvalid) as e:
        check_setup(path, Registry.from_entry_points())
    problems = [str(p) for p in e.value.problems]
    assert any(f": {key}" in p and says in p for p in problems), problems


def test_a_built_app_feeds_its_markers_table_into_the_recording(tmp_path):
    from hexloop.application.composition.build import build
    from hexloop.application.composition.labsetup import load_setup

    source = FakeMarkerSource("built")

    def fake_markers(name: str = "x"):
        source.name = name
        return source

    registry = Registry.from_entry_points()
    registry.register("markers", "fake", fake_markers)
    registry.register("store", "fake", FakeStore)
    path = tmp_path / "setup.toml"
    path.write_text(SETUP.format(extra='map = { "1" = "fist" }').replace(
        'source = "pylsl"', 'source = "fake"') + '\n[store]\nadapter = "fake"\n')
    built = build(load_setup(path, registry), registry, headless=True)
    app = built.app
    with started(app):
        assert wait_for(lambda: source.connects == 1)
        record(app)
        source.push("1", app.clock.now())
        assert wait_for(lambda: len(app.ctx.labels) == 1)
        summary = app.stop_recording()
    events = app.store.read(summary.location).labels.events
    assert [e.class_index for e in events] == [1] and source.name == "PsychoPyMarkers"
    assert not source.connected  # the feed stopped with the app


def test_markers_tables_of_any_shape_give_problems_never_a_crash():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from hexloop.application.composition.labsetup import validate

    scalars = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.floats())
    values = st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
        max_leaves=8)
    tables = st.dictionaries(st.sampled_from(["source", "options", "map", "unknown", "x"]),
                             values, max_size=4)
    registry = Registry.from_entry_points()

    @settings(max_examples=150, deadline=None)
    @given(st.one_of(values, st.lists(tables, max_size=3)), values)
    def run(markers, classes):
        data = {"app": {"name": "m", "class_names": classes},
                "streams": [{"name": "emg", "source": "simulated"}], "markers": markers}
        for problem in validate(data, "f.toml", registry, imports=False):
            assert problem.key and problem.message

    run()
