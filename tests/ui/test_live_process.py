"""Live feeds in a child process (ui.live_process): frames arrive with their images through shared
memory, errors in the child become readable messages, and no process outlives the feed or the
window. The factories below run in the child, which imports this module to unpickle them."""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from calibration.rig import CameraRig
from mocap.errors import MocapError
from mocap.live.frames import LiveError, LiveFrame
from mocap.live.paced import PacedFeed
from mocap.skeleton.layouts import KeypointLayout
from mocap.synthetic.studio import StudioConfig, SyntheticWorld
from ui.live_process import ProcessFeed

SMALL = StudioConfig(seed=1, num_cameras=2, resolution=(320, 240), num_people=1, motion="procedural", fps=30.0)


class PatternFeed(PacedFeed):
    """Frame set k: every image filled with ``k % 251`` (view 0 at the rig's size, view 1 smaller,
    so that it travels in the message); ``fail_at``: make_frame raises from that frame set on."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__("pattern-feed")
        world, _rng = SyntheticWorld.create(SMALL)
        self._world = world
        self._fail_at = fail_at

    @property
    def rig(self) -> CameraRig:
        return self._world.rig

    @property
    def layout(self) -> KeypointLayout:
        return self._world.layout

    @property
    def fps(self) -> float:
        return 30.0

    def make_frame(self, index: int, capture_time_s: float) -> LiveFrame:
        if self._fail_at is not None and index >= self._fail_at:
            raise ValueError("camera unplugged")
        joints = self.layout.num_joints
        value = index % 251
        images = (np.full((240, 320, 3), value, np.uint8), np.full((120, 160, 3), value, np.uint8))
        return LiveFrame(
            index,
            capture_time_s,
            time.monotonic(),
            np.full((2, 1, joints, 2), float(index), np.float32),
            np.ones((2, 1, joints), np.float32),
            np.zeros((2, 1), np.int64),
            np.array([0], np.int32),
            np.zeros((1, joints, 3), np.float32),
            images,
        )


def pattern_feed(fail_at: int | None = None) -> PatternFeed:
    return PatternFeed(fail_at)


def no_camera() -> PatternFeed:
    raise MocapError("no camera at device:9 (is it plugged in?)")


def wait_for(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def shared_memory_names() -> set[str]:
    return set(os.listdir("/dev/shm")) if Path("/dev/shm").is_dir() else set()


def test_frames_arrive_from_the_child_with_their_images():
    before = shared_memory_names()
    feed = ProcessFeed(pattern_feed)
    try:
        assert feed.process.is_alive() and feed.pid != os.getpid()
        assert feed.rig.names == SyntheticWorld.create(SMALL)[0].rig.names and feed.fps == 30.0
        assert feed.latest() is None  # not started
        feed.start()
        frames = []
        wait_for(lambda: (frame := feed.latest()) is not None and (frames.append(frame) or len(frames) > 20))
        frame = frames[-1]
        value = frame.index % 251
        assert frame.images[0].shape == (240, 320, 3) and np.all(frame.images[0] == value)  # through the ring
        assert frame.images[1].shape == (120, 160, 3) and np.all(frame.images[1] == value)  # in the message
        assert np.all(frame.xy == frame.index) and frame.person_ids.tolist() == [0]
        assert feed.stats().published > 0 and feed.stats().latency_p50_ms >= 0
        # the frame owns its images: later frame sets written into the ring do not change them
        held = frame.images[0].copy()
        wait_for(lambda: feed.latest().index > frame.index + 2 * 4)
        np.testing.assert_array_equal(frame.images[0], held)
    finally:
        feed.stop()
    assert not feed.process.is_alive() and feed.process.exitcode == 0
    assert shared_memory_names() <= before  # the ring is gone
    feed.stop()  # twice is fine


def test_an_error_in_the_running_feed_is_raised_by_latest():
    feed = ProcessFeed(functools.partial(pattern_feed, 5))
    try:
        feed.start()
        with pytest.raises(LiveError, match=r"^the live feed stopped: camera unplugged$"):
            wait_for(lambda: feed.latest() is not None and feed.latest().index > 1000, 20.0)  # raises first
    finally:
        feed.stop()
    assert not feed.process.is_alive()


def test_an_error_while_making_the_feed_is_raised_at_once():
    message = "the live feed could not start: no camera at device:9 (is it plugged in?)"
    with pytest.raises(LiveError, match=f"^{re.escape(message)}$"):
        ProcessFeed(no_camera)
    assert not multiprocessing.active_children()


def test_a_killed_child_is_reported_with_its_exit_code():
    feed = ProcessFeed(pattern_feed)
    try:
        feed.start()
        wait_for(lambda: feed.latest() is not None)
        os.kill(feed.process.pid, signal.SIGKILL)
        feed.process.join(10)
        with pytest.raises(LiveError, match=r"process ended unexpectedly \(exit code -9\)"):
            feed.latest()
    finally:
        feed.stop()  # also unlinks the ring the killed child could not


def test_a_feed_dropped_without_stop_takes_its_child_along():
    feed = ProcessFeed(pattern_feed)
    process = feed.process
    feed.start()
    del feed
    gc.collect()
    assert not process.is_alive()


# ---------------------------------------------------------------------- in the window


@pytest.fixture
def window(qtbot):
    from ui.main_window import MainWindow

    def make(factory):
        window = MainWindow(feed_factory=factory)
        qtbot.addWidget(window)
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


@pytest.mark.gui
def test_the_demo_feed_runs_in_a_child_and_is_gone_after_close(qtbot, window):
    from ui.live_sources import demo_feed

    before = shared_memory_names()
    studio = window(demo_feed)
    studio.live.start()
    qtbot.waitUntil(lambda: studio.live.frames_shown >= 3, timeout=60_000)
    feed = studio.live.feed
    assert isinstance(feed, ProcessFeed)
    process = feed.process
    assert process.is_alive() and process.pid != os.getpid()
    # what the child rendered and reconstructed reaches the views: camera images, 2D overlays, 3D people
    tiles = studio.camera_grid.tiles
    assert len(tiles) == 4
    qtbot.waitUntil(lambda: all(t.tile.image is not None for t in tiles), timeout=30_000)
    assert tiles[0].tile.image.shape == (480, 640, 3)
    qtbot.waitUntil(lambda: len(studio.display.frame().person_ids) == 3, timeout=30_000)
    qtbot.waitUntil(lambda: len(studio.scene3d.person_labels()) == 3, timeout=10_000)
    studio.close()
    assert not process.is_alive() and process.exitcode == 0
    assert not multiprocessing.active_children()
    assert shared_memory_names() <= before


@pytest.mark.gui
def test_an_error_in_the_child_shows_as_a_message(qtbot, window):
    studio = window(functools.partial(ProcessFeed, functools.partial(pattern_feed, 8)))
    with qtbot.waitSignal(studio.live.error, timeout=60_000) as failed:
        studio.live.start()
    assert failed.args == ["the live feed stopped: camera unplugged"]
    assert studio.messages.messages()[-1].endswith("the live feed stopped: camera unplugged")
    assert studio.banner.isVisible() and "camera unplugged" in studio.banner.text.text()
    assert not studio.live.running and not studio.live_action.isChecked()
    studio.jobs.wait(10_000)
    qtbot.waitUntil(lambda: not multiprocessing.active_children(), timeout=10_000)


@pytest.mark.gui
def test_a_feed_that_cannot_start_shows_as_a_message(qtbot, window):
    studio = window(functools.partial(ProcessFeed, no_camera))
    with qtbot.waitSignal(studio.live.error, timeout=60_000) as failed:
        studio.live.start()
    assert failed.args == ["the live feed could not start: no camera at device:9 (is it plugged in?)"]
    assert not studio.live.running and not multiprocessing.active_children()


@pytest.mark.gui
def test_stopping_while_the_feed_starts_leaves_no_process(qtbot, window):
    studio = window(functools.partial(ProcessFeed, pattern_feed))
    studio.live.start()
    assert studio.live.starting
    with qtbot.waitSignal(studio.live.running_changed, timeout=60_000) as stopped:
        studio.live.toggle()  # the user clicks Live again before the feed runs
    assert stopped.args == [False]
    studio.jobs.wait(30_000)
    assert not studio.live.running and not studio.live.starting
    assert not multiprocessing.active_children()


def test_the_image_pool_reuses_memory_only_when_no_frame_holds_it():
    from ui.live_process import ImagePool

    pool = ImagePool(((4, 6, 3), (2, 3, 3)), limit=2)
    sources = [np.full((4, 6, 3), 1, np.uint8), np.full((2, 3, 3), 1, np.uint8)]
    first = pool.copy(sources)
    assert not first[0].flags.writeable and np.all(first[0] == 1)
    sources[0][:] = 2
    second = pool.copy(sources)  # the first set is held: another one
    assert np.all(first[0] == 1) and np.all(second[0] == 2)
    assert not np.shares_memory(first[0], second[0])
    memory = first[0].base
    del first
    sources[0][:] = 3
    third = pool.copy(sources)  # the first set is free again: reused
    assert third[0].base is memory and np.all(third[0] == 3) and np.all(second[0] == 2)
    beyond = pool.copy(sources)  # both pooled sets held, limit reached: new unpooled arrays
    assert not np.shares_memory(beyond[0], second[0]) and not np.shares_memory(beyond[0], third[0])
