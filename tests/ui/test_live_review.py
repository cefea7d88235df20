"""LiveController and ReviewController with the camera grid and 3D view: the views show what
the controllers hold (live frame sets, the reviewed take's frame), and failures become messages."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mocap.errors import MissingFileError
from mocap.live.synthetic_feed import SyntheticLiveFeed
from mocap.synthetic.studio import StudioConfig
from ui.controllers.display import LIVE, REVIEW, DisplayController
from ui.controllers.live import LiveController
from ui.controllers.playback import PlaybackController
from ui.controllers.review import ReviewController
from ui.views.camera_grid import CameraGridView
from ui.views.scene3d import Scene3DView

pytestmark = pytest.mark.gui


@pytest.fixture
def display_views(qtbot):
    display = DisplayController()
    grid = CameraGridView()
    scene = Scene3DView()
    for view in (grid, scene):
        display.stage_changed.connect(view.set_stage)
        display.frame_changed.connect(view.show_frame)
        qtbot.addWidget(view)
        view.resize(400, 300)
        view.show()
    return display, grid, scene


def small_feed():
    config = StudioConfig(seed=1, num_cameras=2, resolution=(320, 240), num_people=1, motion="procedural")
    return SyntheticLiveFeed(config)


def test_live_frames_reach_the_views_with_stats(qtbot, jobs, display_views):
    display, grid, scene = display_views
    live = LiveController(display, jobs, small_feed)
    stats = []
    live.stats_changed.connect(stats.append)
    with qtbot.waitSignal(live.running_changed, timeout=10_000) as started:
        live.start()
    assert started.args == [True] and display.active == LIVE
    assert [t.name for t in grid.tiles] == list(live.feed.rig.names)
    qtbot.waitUntil(lambda: live.frames_shown >= 5, timeout=10_000)
    tile = grid.tiles[0].tile
    assert tile is not None and tile.xy is not None and "fps" in tile.status
    frame = display.frame()
    assert frame.poses.shape[1:] == (live.feed.layout.num_joints, 3)
    qtbot.waitUntil(lambda: bool(scene.person_labels()), timeout=10_000)
    assert scene.person_labels() == [f"person {i}" for i in frame.person_ids]
    qtbot.waitUntil(lambda: bool(stats), timeout=5000)
    assert stats[-1].startswith("live: ")
    with qtbot.waitSignal(live.running_changed, timeout=5000) as stopped:
        live.stop()
    assert stopped.args == [False] and not live.running
    jobs.wait(10_000)


class BrokenFeed:
    """A feed whose thread died: ``latest`` raises as SyntheticLiveFeed does."""

    def __init__(self):
        self._inner = small_feed()

    rig = property(lambda self: self._inner.rig)
    layout = property(lambda self: self._inner.layout)
    fps = property(lambda self: self._inner.fps)

    def start(self):
        pass

    def stop(self):
        pass

    def latest(self):
        raise RuntimeError("the live feed stopped: camera unplugged")

    def stats(self):
        return self._inner.stats()


def test_a_dying_feed_stops_the_live_view_with_a_message(qtbot, jobs, display_views):
    display, _grid, _scene = display_views
    live = LiveController(display, jobs, BrokenFeed)
    with qtbot.waitSignal(live.error, timeout=10_000) as failed:
        live.start()
    assert failed.args == ["the live feed stopped: camera unplugged"]
    assert not live.running


def test_review_shows_the_frame_of_the_playback(qtbot, jobs, display_views, small_take):
    display, grid, scene = display_views
    playback = PlaybackController()
    review = ReviewController(display, playback, jobs)
    review.set_take(small_take)
    assert display.active == REVIEW and playback.num_frames == small_take.num_frames
    assert len(grid.tiles) == len(small_take.rig)
    playback.seek(17)
    tile = grid.tiles[1].tile
    np.testing.assert_array_equal(tile.xy, small_take.detections.xy[17, 1])
    np.testing.assert_array_equal(tile.person, small_take.slot_person[17, 1])
    assert set(tile.person[tile.person >= 0]) <= set(small_take.person_ids)
    frame = display.frame()
    np.testing.assert_array_equal(frame.poses, small_take.poses.xyz[17][small_take.poses.person_id >= 0])
    assert len(frame.trails[0]) == 18  # frames 0..17 (trail of 2 s at 30 fps is longer than that)
    assert scene.person_labels() == [f"person {i}" for i in small_take.person_ids]


class FakeImages:
    """Images whose grey level encodes the frame number, decoded on a worker thread."""

    def __init__(self, fail=False):
        self.fail = fail
        self.threads = set()

    def images(self, frame, cancel=None):
        self.threads.add(threading.get_ident())
        if self.fail:
            raise MissingFileError("cam_0.mkv: no such file")
        return tuple(np.full((240, 320, 3), frame, np.uint8) for _ in range(3))

    def close(self):
        pass


def test_review_images_come_from_a_job_and_match_the_frame(qtbot, jobs, display_views, small_take):
    from dataclasses import replace

    display, grid, _scene = display_views
    playback = PlaybackController()
    review = ReviewController(display, playback, jobs)
    provider = FakeImages()
    review.set_take(replace(small_take, images=provider))
    playback.seek(9)
    qtbot.waitUntil(lambda: display.frame() is not None and display.frame().index == 9, timeout=5000)
    tile = grid.tiles[0].tile
    assert tile.image is not None and int(tile.image[0, 0, 0]) == 9
    np.testing.assert_array_equal(tile.xy, small_take.detections.xy[9, 0])  # overlay of the same frame
    assert threading.get_ident() not in provider.threads


def test_review_image_failure_is_reported_and_overlays_stay(qtbot, jobs, display_views, small_take):
    from dataclasses import replace

    display, grid, _scene = display_views
    playback = PlaybackController()
    review = ReviewController(display, playback, jobs)
    with qtbot.waitSignal(review.error, timeout=5000) as failed:
        review.set_take(replace(small_take, images=FakeImages(fail=True)))
    assert failed.args[0] == "cam_0.mkv: no such file (images are off for this take)"
    assert grid.tiles[0].tile is not None and grid.tiles[0].tile.image is None
    assert grid.tiles[0].tile.xy is not None


def test_review_load_error_is_a_message(qtbot, jobs, display_views, tmp_path):
    display, _grid, _scene = display_views
    review = ReviewController(display, PlaybackController(), jobs)
    with qtbot.waitSignal(review.error, timeout=5000) as failed:
        review.open_results_folder(tmp_path / "nothing")
    assert "no such folder" in failed.args[0]
    assert review.take is None


def test_live_engine_feeds_the_views(qtbot, jobs, display_views):
    """The live engine of mocap.live (rendered studio, capture, detection, tracking) behind the
    same LiveFeed protocol: its frames reach the tiles (with the camera images) and the 3D view."""
    from ui.controllers.live import engine_feed

    display, grid, scene = display_views
    live = LiveController(display, jobs, engine_feed)
    assert not scene.person_labels()
    with qtbot.waitSignal(live.running_changed, timeout=60_000) as started:
        live.start()
    assert started.args == [True] and len(grid.tiles) == 4
    qtbot.waitUntil(lambda: live.frames_shown >= 3, timeout=60_000)
    # a frame set may lack a camera that skipped a frame on a busy machine: wait for a full one
    qtbot.waitUntil(lambda: grid.tiles[0].tile.image is not None and grid.tiles[0].tile.xy is not None, timeout=60_000)
    assert grid.tiles[0].tile.image.shape == (480, 640, 3)
    qtbot.waitUntil(lambda: len(display.frame().person_ids) > 0, timeout=60_000)
    qtbot.waitUntil(lambda: bool(scene.person_labels()), timeout=10_000)
    live.stop()
    jobs.wait(60_000)


def test_live_source_can_be_swapped(qtbot, jobs, display_views):
    display, _grid, _scene = display_views
    live = LiveController(display, jobs, small_feed)
    with qtbot.waitSignal(live.running_changed, timeout=10_000):
        live.start()
    first = live.feed
    with qtbot.waitSignal(live.running_changed, timeout=10_000) as stopped:
        live.set_feed_factory(lambda: SyntheticLiveFeed(StudioConfig(seed=2, num_cameras=3, resolution=(320, 240))))
    assert stopped.args == [False] and not live.running
    with qtbot.waitSignal(live.running_changed, timeout=10_000):
        live.start()
    assert live.feed is not first and len(live.feed.rig) == 3
    live.stop()
    jobs.wait(10_000)
