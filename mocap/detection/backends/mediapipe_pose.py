"""The ``mediapipe`` backend: MediaPipe's own legacy Pose solution, the CPU reference.

One ``mediapipe.solutions.pose.Pose`` per view (``model_complexity=1``: the only one that works
offline with the 0.10.14 wheel, which ships ``pose_landmark_full.tflite``), one person per view,
processed view after view. Its tracking is MediaPipe's own: the detector runs only when the
person is lost. Used to check the ``blazepose`` backend end to end and as the speed baseline.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from mocap.detection.protocol import Frame, FrameSetDetections
from mocap.errors import MissingFileError, ShapeError
from mocap.skeleton.layouts import BLAZEPOSE33, KeypointLayout

log = logging.getLogger(__name__)


def _close_poses(poses: list[Any]) -> None:
    while poses:
        poses.pop().close()


class MediaPipePoseDetector:
    """BlazePose-33 keypoints from MediaPipe's legacy Pose solution (one person per view).

    Args:
        static: treat frames as unrelated images (detector on every frame).
        min_detection_score: MediaPipe's ``min_detection_confidence``.
        min_presence: MediaPipe's ``min_tracking_confidence``.
        max_people: must be 1 (the legacy solution follows one person).

    Raises:
        MissingFileError: mediapipe is not installed (says what to install).
        ShapeError: ``max_people`` other than 1.
    """

    name = "mediapipe"
    layout: KeypointLayout = BLAZEPOSE33
    needs_images = True

    def __init__(
        self,
        static: bool = False,
        min_detection_score: float = 0.5,
        min_presence: float = 0.5,
        max_people: int = 1,
        **ignored: Any,
    ) -> None:
        self._poses: list[Any] = []  # mutated in place: the finalizer holds this very list
        # Close at garbage collection or at interpreter exit, before modules are torn down: a
        # Pose graph closed during interpreter finalization (a plain __del__) waits forever.
        self._finalizer = weakref.finalize(self, _close_poses, self._poses)
        try:
            import mediapipe  # noqa: F401
        except ImportError:
            raise MissingFileError("the mediapipe backend needs mediapipe: pip install mediapipe==0.10.14") from None
        if max_people != 1:
            raise ShapeError(
                "max_people", "1 for the mediapipe backend (use blazepose for several people)", str(max_people)
            )
        if ignored:
            log.info("mediapipe backend ignores options %s", ", ".join(sorted(ignored)))
        self.static = static
        self.min_detection_score = min_detection_score
        self.min_presence = min_presence

    def _new_pose(self) -> Any:
        import mediapipe as mp

        return mp.solutions.pose.Pose(
            static_image_mode=self.static,
            model_complexity=1,
            smooth_landmarks=False,
            min_detection_confidence=self.min_detection_score,
            min_tracking_confidence=self.min_presence,
        )

    def close(self) -> None:
        """Release MediaPipe's graphs (also done when the detector is collected or at exit)."""
        _close_poses(self._poses)

    def reset(self, camera_names: Sequence[str]) -> None:
        self.close()
        self._poses.extend(self._new_pose() for _ in camera_names)

    def detect(self, images: Sequence[Frame | None], frame_index: int) -> FrameSetDetections:
        if len(self._poses) != len(images):
            self.reset([str(i) for i in range(len(images))])
        joints = BLAZEPOSE33.num_joints
        xy = np.full((len(images), 1, joints, 2), np.nan, dtype=np.float32)
        score = np.zeros((len(images), 1, joints), dtype=np.float32)
        for view, (pose, image) in enumerate(zip(self._poses, images, strict=True)):
            if image is None or image.ndim != 3 or image.shape[2] != 3:
                raise ShapeError(
                    f"image of view {view}", "(H, W, 3) uint8 BGR", "None" if image is None else str(image.shape)
                )
            height, width = image.shape[:2]
            result = pose.process(np.ascontiguousarray(image[:, :, ::-1]))
            if result.pose_landmarks is None:
                continue
            marks = result.pose_landmarks.landmark
            xy[view, 0] = [[m.x * width, m.y * height] for m in marks]
            score[view, 0] = np.clip([m.visibility for m in marks], 0.0, 1.0)
        return FrameSetDetections(xy, score)
