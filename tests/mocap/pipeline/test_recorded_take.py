"""The detect stage on a recorded take: frame sets follow the timestamps, gaps stay gaps."""

from types import SimpleNamespace

import numpy as np

from mocap.capture.grabber import Grabber
from mocap.capture.recorder import record_take
from mocap.capture.setup import synthetic_capture
from mocap.capture.sources import Stall
from mocap.detection.protocol import FrameSetDetections
from mocap.pipeline.detect_take import detect_take_iter
from mocap.session.store import Session, Take
from mocap.skeleton import COCO17
from mocap.synthetic.render import read_code

PLENTY = SimpleNamespace(free=10**12)


class TickReader:
    """A detector that reports the tick drawn into each frame as keypoint 0's x (and what it was shown)."""

    name = "ticks"
    needs_images = True
    layout = COCO17

    def reset(self, camera_names):
        self.views = len(camera_names)
        self.black = []

    def detect(self, images, frame_index):
        xy = np.full((self.views, 1, COCO17.num_joints, 2), np.nan)
        score = np.zeros((self.views, 1, COCO17.num_joints))
        for view, image in enumerate(images):
            if not image.any():
                self.black.append((frame_index, view))
            xy[view, 0, 0] = (read_code(image), 0.0)
            score[view, 0, 0] = 1.0
        return FrameSetDetections(xy, score)


def test_frame_sets_of_a_recorded_take_with_a_stall(tmp_path):
    from calibration.progress import drain

    session = Session.create(tmp_path / "s")
    capture = synthetic_capture(3, size=(320, 240), num_people=1, seed=2, stalls={2: [Stall(0.8, 0.5)]})
    with Grabber(capture.sources, 30.0) as grabber:
        record_take(session, grabber, seconds=1.8, name="t", disk_usage=lambda _: PLENTY)
    take = Take.open(session.takes_dir / "t")
    detector = TickReader()
    detections = drain(detect_take_iter(take, detector))
    frame_map = take.frame_map()
    assert detections.num_frames == take.info.frame_sets == frame_map.shape[0]
    ticks = detections.xy[:, :, 0, 0, 0]  # (S, V) tick shown, NaN where the camera missed the set
    missing = frame_map < 0
    assert missing[:, 2].sum() >= 10  # the stall
    assert np.all(np.isnan(ticks[missing])) and np.all(np.isfinite(ticks[~missing]))
    assert sorted(detector.black) == sorted((int(s), int(v)) for s, v in np.argwhere(missing))
    # within a set, every camera's frame was exposed within half a period of the others
    exposure = np.full(ticks.shape, np.nan)
    for v, source in enumerate(capture.sources):
        exposure[~missing[:, v], v] = [source.tick_time(int(t)) for t in ticks[~missing[:, v], v]]
    spread = np.nanmax(exposure, axis=1) - np.nanmin(exposure, axis=1)
    assert np.all(spread <= 0.5 / 30 + 1e-3)
    # and the take's timestamps say the same instants
    for v, camera in enumerate(take.camera_names):
        table = take.timestamps(camera)
        np.testing.assert_allclose(
            exposure[table.frame_set, v], table.timestamp_s + take.info.recording["capture_clock_at_start_s"], atol=2e-3
        )
