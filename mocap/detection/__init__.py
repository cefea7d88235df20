"""2D keypoint detection: the Detector protocol, its registry and the backends.

Importing this package is cheap (no torch, cv2 or mediapipe); backends load them when created::

    from mocap.detection import create_detector
    detector = create_detector("blazepose", device="cuda", max_people=2)

Backends: ``blazepose`` (MediaPipe's pose models on our torch TFLite executor, batched across
views and people), ``mediapipe`` (MediaPipe's own legacy Pose solution, CPU reference) and
``precomputed`` (OpenPose JSON folders or ``keypoints2d.npz``).
"""

from mocap.detection.protocol import Detector, FrameSetDetections
from mocap.detection.registry import (
    UnknownDetectorError,
    create_detector,
    detector_help,
    detector_names,
    register_detector,
)

__all__ = [
    "Detector",
    "FrameSetDetections",
    "UnknownDetectorError",
    "create_detector",
    "detector_help",
    "detector_names",
    "register_detector",
]
