import time

import numpy as np
import pytest

from mocap.live.synthetic_feed import SyntheticLiveFeed
from mocap.metrics import evaluate_people
from mocap.poses3d import Poses3D
from mocap.skeleton import CANONICAL_JOINTS
from mocap.synthetic.studio import StudioConfig

CONFIG = StudioConfig(num_cameras=4, num_people=3, noise_px=2.0, resolution=(640, 480), seed=2)


def test_frames_processed_in_order_reconstruct_the_people():
    feed = SyntheticLiveFeed(CONFIG)
    frames = [feed.process(k, float(k)) for k in range(40)]
    last = frames[-1]
    assert sorted(last.person_ids.tolist()) == [0, 1, 2]
    assert last.xy.shape[0] == 4 and last.slot_person.shape == last.xy.shape[:2]
    assert set(np.unique(last.slot_person)) <= {-1, 0, 1, 2}
    joints = [CANONICAL_JOINTS.index(n) for n in feed.layout.joint_names]
    truth = feed.world.people_points(np.array([39.0]))[:, :, joints]  # (1, P, J, 3)
    predicted = Poses3D.from_points(last.poses[None], feed.layout, 30.0, person_id=last.person_ids)
    scores = evaluate_people(predicted, Poses3D.from_points(truth, feed.layout, 30.0))
    assert scores.matched_fraction == 1.0 and scores.mpjpe_m < 0.05


def test_rendered_images_come_with_each_frame_set():
    feed = SyntheticLiveFeed(CONFIG, render_images=True)
    frame = feed.process(5, 0.0)
    assert frame.images is not None and len(frame.images) == 4
    assert all(image is not None and image.shape == (480, 640, 3) for image in frame.images)
    assert frame.stage_ms["render"] > 0
    assert SyntheticLiveFeed(CONFIG).process(5, 0.0).images is None


def test_the_thread_publishes_in_real_time_and_stops():
    feed = SyntheticLiveFeed(CONFIG)
    assert feed.latest() is None
    feed.start()
    time.sleep(1.5)
    feed.stop()
    stats = feed.stats()
    frame = feed.latest()
    assert frame is not None and frame.latency_s >= 0
    assert stats.published + stats.dropped >= 40
    assert stats.latency_p50_ms < 100


def test_a_failing_feed_reports_its_error(monkeypatch):
    feed = SyntheticLiveFeed(CONFIG)

    def broken(index: int, capture_time_s: float) -> None:
        raise ValueError("camera unplugged")

    monkeypatch.setattr(feed, "process", broken)
    feed.start()
    time.sleep(0.2)
    feed.stop()
    with pytest.raises(RuntimeError, match="the live feed stopped: camera unplugged"):
        feed.latest()
