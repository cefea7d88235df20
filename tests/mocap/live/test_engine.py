"""The live engine on rendered synthetic cameras: known answer, latest-wins dropping, recording
while live, errors. Detectors are stand-ins (the studio's truth read from the frames), so the tests
measure the engine, not a network."""

import time
from collections.abc import Sequence

import numpy as np
import pytest

from mocap.capture.setup import synthetic_capture
from mocap.capture.sources import Stall
from mocap.detection.protocol import Frame, FrameSetDetections
from mocap.errors import MismatchError, MocapError
from mocap.live.engine import STAGES, LiveConfig, LiveEngine, LiveRecording
from mocap.live.frames import LiveError, LiveFeed
from mocap.live.studio_detector import StudioDetector
from mocap.session.store import Session
from mocap.synthetic.render import read_code

FPS = 15.0


def _capture(**options):
    return synthetic_capture(4, fps=FPS, size=(320, 240), num_people=2, seed=1, free_running=False, **options)


def _run(engine: LiveEngine, seconds: float, until=None, timeout: float = 30.0) -> None:
    """Run for ``seconds``, and on a loaded machine longer until ``until(engine)`` holds (at most ``timeout``)."""
    engine.start()
    try:
        started = time.monotonic()
        while time.monotonic() - started < timeout and engine.running:
            if time.monotonic() - started >= seconds and (until is None or until(engine)):
                break
            time.sleep(0.05)
    finally:
        engine.stop()


def _two_people(engine: LiveEngine) -> bool:
    frame = engine.latest()
    return frame is not None and len(frame.person_ids) == 2 and engine.stats().published >= 5


class SlowDetector(StudioDetector):
    """The studio detector taking ``delay_s`` per frame set (a network too slow for the cameras)."""

    delay_s = 0.25

    def detect(self, images: Sequence[Frame | None], frame_index: int) -> FrameSetDetections:
        time.sleep(self.delay_s)
        return super().detect(images, frame_index)


def test_published_poses_match_the_truth_of_the_captured_moment():
    capture = _capture()
    detector = StudioDetector(capture.renderer, capture.sources, noise_px=0.0)
    engine = LiveEngine(capture.sources, capture.rig, detector, LiveConfig(fps=FPS, smoothing=None))
    assert isinstance(engine, LiveFeed)
    _run(engine, 2.0, _two_people)
    frame = engine.latest()
    assert frame is not None and frame.images is not None
    assert sorted(frame.person_ids.tolist()) == [0, 1]
    tick = read_code(frame.images[0])
    truth = detector.truth(0, tick)  # (P, J, 3) at the moment the cameras captured
    for pose in frame.poses:
        error = min(float(np.nanmean(np.linalg.norm(pose - t, axis=-1))) for t in truth)
        assert error < 0.005
    assert frame.latency_s > 0 and frame.published_time_s > frame.capture_time_s
    assert set(STAGES) <= set(frame.stage_ms)
    assert frame.xy.shape[:2] == frame.slot_person.shape == (4, 2)
    stats = engine.stats()
    assert stats.published >= 5 and stats.latency_p50_ms > 0
    assert set(engine.stage_summary()) == set(STAGES)


def test_a_slow_detector_skips_to_the_newest_frame_set():
    capture = _capture()
    detector = SlowDetector(capture.renderer, capture.sources, noise_px=0.5)
    engine = LiveEngine(capture.sources, capture.rig, detector, LiveConfig(fps=FPS, publish_images=False))
    _run(engine, 3.0, lambda e: e.stats().published >= 2)
    stats = engine.stats()
    elapsed = stats.published / stats.fps
    assert 2 <= stats.published <= elapsed / SlowDetector.delay_s + 1
    assert engine.dropped >= stats.published  # the cameras deliver FPS sets/s, the detector 4
    assert engine.received == stats.published + engine.dropped - engine.grabber_stats().dropped_sets
    # latest wins: every set taken was the newest, so waiting time stays under one detector call
    assert engine.stage_summary()["queue"].p95_ms < 1000 * SlowDetector.delay_s + 500
    assert 0 < engine.dropped_fraction < 1


def test_recording_while_live_writes_every_frame_set(tmp_path):
    capture = _capture()
    detector = SlowDetector(capture.renderer, capture.sources, noise_px=0.5)
    detector.delay_s = 0.2
    session = Session.create(tmp_path / "session")
    recording = LiveRecording(session, name="live_take", source="synthetic")
    engine = LiveEngine(capture.sources, capture.rig, detector, LiveConfig(fps=FPS), recording=recording)
    _run(engine, 3.0, lambda e: e.stats().published >= 2)
    result = engine.recording_result
    assert result is not None and result.status == "complete"
    assert result.take.root.name == "live_take"
    # the recorder keeps every set although the live path skips most of them
    assert result.frame_sets >= engine.received - 1
    assert engine.stats().published < result.frame_sets
    assert min(result.frames.values()) >= result.frame_sets - 2


def test_a_missing_camera_is_a_blank_view_not_a_stop():
    capture = _capture(stalls={3: [Stall(0.0, 60.0)]})
    detector = StudioDetector(capture.renderer, capture.sources, noise_px=0.0)
    engine = LiveEngine(capture.sources, capture.rig, detector, LiveConfig(fps=FPS, smoothing=None))
    _run(engine, 2.0, _two_people)
    frame = engine.latest()
    assert frame is not None and len(frame.person_ids) == 2
    assert np.all(frame.score[3] == 0) and np.all(np.isnan(frame.xy[3]))


def test_a_failing_detector_is_reported_as_a_live_error():
    capture = _capture()

    class Broken(StudioDetector):
        def detect(self, images, frame_index):
            raise ValueError("network exploded")

    engine = LiveEngine(capture.sources, capture.rig, Broken(capture.renderer, capture.sources), LiveConfig(fps=FPS))
    _run(engine, 1.0)
    with pytest.raises(LiveError, match="network exploded"):
        engine.latest()
    with pytest.raises(MocapError, match="was stopped"):
        engine.start()


def test_sources_must_be_cameras_of_the_rig():
    capture = _capture()
    other = synthetic_capture(2, fps=FPS, size=(320, 240), num_people=1, seed=1)
    detector = StudioDetector(capture.renderer, capture.sources)
    with pytest.raises(MismatchError, match="not in the calibration"):
        LiveEngine(capture.sources, other.rig, detector)
