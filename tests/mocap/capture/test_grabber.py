"""The grabber: nearest-timestamp frame sets, stalls, disconnects and failures."""

import numpy as np
import pytest

from mocap.capture.grabber import Grabber
from mocap.capture.setup import synthetic_capture
from mocap.capture.sources import CaptureClock, SourceError, Stall, TimestampedFrame
from mocap.errors import MocapError

IMAGE = np.zeros((4, 4, 3), np.uint8)


class ScriptedSource:
    """Frames with given timestamps, delivered as fast as they are read (no pacing)."""

    def __init__(self, name, timestamps, fail_open=False):
        self.name = name
        self.size = (4, 4)
        self.fps = 30.0
        self.timestamps = list(timestamps)
        self.fail_open = fail_open
        self.closed = False

    def open(self, clock: CaptureClock) -> None:
        if self.fail_open:
            raise SourceError(f"camera {self.name}: cannot open device 7")

    def read(self):
        if not self.timestamps:
            return None
        index = len(self.timestamps)
        return TimestampedFrame(self.name, index, self.timestamps.pop(0), IMAGE)

    def close(self):
        self.closed = True


def collect(grabber):
    sets = []
    with grabber:
        while True:
            frame_set = grabber.get(timeout=5.0)
            if frame_set is None:
                break
            sets.append(frame_set)
        return sets, grabber.stats()


def test_frames_join_the_set_nearest_in_time():
    period = 1 / 30
    rng = np.random.default_rng(1)
    a = [k * period for k in range(60)]
    b = [k * period + 0.4 * period + rng.normal(0, 1e-4) for k in range(60)]  # 40 % of a period late
    c = [k * period - 0.3 * period for k in range(1, 60)]  # early, and starts one frame later
    sets, stats = collect(Grabber([ScriptedSource("a", a), ScriptedSource("b", b), ScriptedSource("c", c)], 30.0))
    assert len(sets) == 60
    for k, frame_set in enumerate(sets):
        assert frame_set.timestamp_s == pytest.approx(a[k])
        assert frame_set.frames[1].timestamp_s == pytest.approx(b[k])
        if k == 0:
            assert frame_set.frames[2] is None
        else:
            assert frame_set.frames[2].timestamp_s == pytest.approx(c[k - 1])
        assert frame_set.sync_error_s <= 0.5 * period
    assert stats.incomplete_sets == 1 and stats.dropped_sets == 0
    assert [c.unmatched for c in stats.cameras] == [0, 0, 0]
    assert stats.sync_error_max_s == pytest.approx(0.4 * period, abs=1e-3)


def test_a_frame_outside_the_tolerance_is_not_matched():
    period = 1 / 30
    a = [k * period for k in range(10)]
    b = [k * period for k in range(10) if k != 4] + []
    b.insert(4, 4 * period + 0.6 * period)  # too late for set 4, too early for set 5
    sets, stats = collect(Grabber([ScriptedSource("a", a), ScriptedSource("b", sorted(b))], 30.0))
    assert len(sets) == 10
    assert sets[4].frames[1] is None
    assert all(s.frames[1] is not None for i, s in enumerate(sets) if i != 4)
    assert stats.cameras[1].unmatched == 1


def test_a_camera_that_fails_to_open_is_reported_and_the_others_go_on():
    period = 1 / 30
    good = ScriptedSource("good", [k * period for k in range(20)])
    bad = ScriptedSource("bad", [], fail_open=True)
    grabber = Grabber([bad, good], 30.0)
    sets, stats = collect(grabber)
    assert len(sets) == 20 and all(s.frames[0] is None and s.frames[1] is not None for s in sets)
    assert stats.cameras[0].state == "failed" and "cannot open device 7" in stats.cameras[0].error
    assert stats.cameras[1].state == "ended" and good.closed


def test_names_must_be_unique_and_present():
    with pytest.raises(MocapError, match="repeat"):
        Grabber([ScriptedSource("a", []), ScriptedSource("a", [])], 30.0)
    with pytest.raises(MocapError, match="no capture source"):
        Grabber([], 30.0)


def test_real_time_rendered_cameras_with_a_stall_and_a_disconnect():
    """Four free-running rendered cameras for 3 s: cam_3 freezes for 1 s, cam_4 leaves at 2.2 s."""
    capture = synthetic_capture(
        4,
        size=(320, 240),
        num_people=1,
        seed=3,
        stalls={2: [Stall(1.0, 1.0)]},
        disconnects={3: 2.2},
    )
    grabber = Grabber(capture.sources, 30.0)
    sets = []
    with grabber:
        assert grabber.wait_until_started() == []
        while len(sets) < 95:
            frame_set = grabber.get(timeout=2.0)
            assert frame_set is not None
            sets.append(frame_set)
        stats = grabber.stats()
    period = 1 / 30
    # ticks a camera skipped because the machine was too busy to render them in time (a real
    # camera drops frames the same way); 0 on a quiet machine, where every check below is exact
    busy = [source.skipped for source in capture.sources]
    assert stats.dropped_sets == 0
    assert max(s.sync_error_s for s in sets) <= 0.5 * period + 1e-9
    times = np.array([s.timestamp_s for s in sets])
    assert np.all(np.diff(times) > 0.5 * period)
    assert np.sum(np.diff(times) >= 1.5 * period) <= sum(busy)
    present = np.array([[f is not None for f in s.frames] for s in sets])
    # cameras open one after another: judge from the first set every camera delivered to
    start = int(np.flatnonzero(present.all(axis=1))[0])
    assert times[start] < 1.0 - period
    sets, times, present = sets[start:], times[start:], present[start:]
    assert (~present[:, 0]).sum() <= busy[0] and (~present[:, 1]).sum() <= busy[1]  # the others keep going
    stalled = ~present[:, 2]
    # the freeze, plus at most the stall timeout
    assert 1.0 - 0.05 <= stalled.sum() * period <= 1.0 + 0.4 + busy[2] * period
    frozen = times[stalled]
    assert np.sum((frozen < 1.0 - period) | (frozen > 2.0 + 0.3)) <= busy[2]
    gone = ~present[:, 3]
    assert gone[times > 2.2 + period].all() and gone[(times > 0.3) & (times < 2.1)].sum() <= busy[3]
    assert stats.cameras[3].state == "ended" and stats.cameras[2].stalls >= 1
    # frames carry the tick they show: consecutive ticks of one camera are consecutive frames
    from mocap.synthetic.render import read_code

    first = [s.frames[0] for s in sets if s.frames[0] is not None]
    assert [read_code(f.image) for f in first] == [f.index for f in first]


def test_an_instant_the_reference_skipped_keeps_the_other_cameras_frames():
    period = 1 / 30
    a = [k * period for k in range(12) if k not in (4, 7, 8)]  # the reference skipped three frames
    b = [k * period + 0.2 * period for k in range(12)]
    sets, stats = collect(Grabber([ScriptedSource("a", a), ScriptedSource("b", b)], 30.0))
    assert len(sets) == 12
    assert [s.frames[0] is None for s in sets] == [k in (4, 7, 8) for k in range(12)]
    assert all(s.frames[1] is not None for s in sets) and stats.cameras[1].unmatched == 0
    np.testing.assert_allclose([s.timestamp_s for s in sets], np.arange(12) * period, atol=1e-9)
    assert stats.incomplete_sets == 3 and max(s.sync_error_s for s in sets) <= 0.5 * period
