"""A synthetic take imported into a session, and a detector that reports the studio's detections.

The studio's simulated detections (noise, misses, occlusion) stand in for a neural detector, so
the pipeline's bookkeeping (stages, caching, resuming) is tested fast and against ground truth.
The videos are tiny stand-ins: the oracle detector reads no images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from mocap.capture.video import VideoWriter
from mocap.detection import registry
from mocap.detection.protocol import FrameSetDetections
from mocap.detections2d import Detections2D
from mocap.session.importing import import_videos
from mocap.session.store import Session, Take
from mocap.synthetic.studio import StudioConfig, SyntheticTake, generate_take

ORACLE = "studio-oracle"


class OracleDetector:
    """Detections of a synthetic take, frame set by frame set (counts its calls)."""

    name = ORACLE
    needs_images = False

    def __init__(self, detections: Detections2D) -> None:
        self.detections = detections
        self.layout = detections.layout
        self.calls = 0

    def reset(self, camera_names: Sequence[str]) -> None:
        self.calls = 0

    def detect(self, images, frame_index: int) -> FrameSetDetections:
        self.calls += 1
        return FrameSetDetections(self.detections.xy[frame_index], self.detections.score[frame_index])


@dataclass
class Studio:
    session: Session
    take: Take
    synthetic: SyntheticTake
    made: list[OracleDetector]


def write_videos(folder, names, frames):
    paths = []
    for name in names:
        path = folder / f"{name}.mkv"
        with VideoWriter(path, (64, 48), 30.0) as video:
            for i in range(frames):
                video.write(np.full((48, 64, 3), (9 * i) % 250, np.uint8))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def synthetic_take() -> SyntheticTake:
    config = StudioConfig(num_cameras=3, num_people=1, num_frames=36, noise_px=1.0, missed_rate=0.05, seed=4)
    return generate_take(config)


@pytest.fixture
def studio(tmp_path, monkeypatch, synthetic_take) -> Studio:
    made: list[OracleDetector] = []

    def factory(**options):
        detector = OracleDetector(synthetic_take.detections)
        made.append(detector)
        return detector

    monkeypatch.setitem(registry._REGISTRY, ORACLE, registry.DetectorEntry(ORACLE, "test oracle", factory))
    session = Session.create(tmp_path / "session")
    session.set_calibration(synthetic_take.rig)
    names = synthetic_take.rig.names
    videos = write_videos(tmp_path, names, synthetic_take.detections.num_frames)
    take = import_videos(session, videos, name="take_1")
    return Studio(session, take, synthetic_take, made)


class BlankDetector:
    """Reads every image (like a real backend) and finds no one: for errors about the videos."""

    name = "blank"
    needs_images = True

    def __init__(self, layout) -> None:
        self.layout = layout

    def reset(self, camera_names: Sequence[str]) -> None:
        self.views = len(camera_names)

    def detect(self, images, frame_index: int) -> FrameSetDetections:
        j = self.layout.num_joints
        return FrameSetDetections(np.full((self.views, 1, j, 2), np.nan), np.zeros((self.views, 1, j)))


@pytest.fixture
def blank_backend(monkeypatch, synthetic_take) -> str:
    entry = registry.DetectorEntry("blank", "test", lambda **_: BlankDetector(synthetic_take.detections.layout))
    monkeypatch.setitem(registry._REGISTRY, "blank", entry)
    return "blank"
