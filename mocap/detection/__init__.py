"""2D keypoint detection: the Detector protocol, its registry and the backends.

Importing this package is cheap (no torch, cv2 or mediapipe); backends load them when created::

    from mocap.detection import create_detector
    detector = create_detector("blazepose", device="cuda", precision="fp16", max_people=2)
    detector.reset(camera_names)
    results = detect_batch(detector, frame_sets, first_index)  # frame_sets[k][v]: BGR uint8 (H, W, 3)
    results[k].xy, results[k].score  # (V, P, J, 2) pixels (NaN: missing), (V, P, J)

Consecutive frame sets go in order (tracking); in ``static`` mode blazepose runs all views of all
frame sets of a batch through each network in one forward pass.

Backends: ``blazepose`` (MediaPipe's pose models on our torch TFLite executor, batched across
views and people), ``mediapipe`` (MediaPipe's own legacy Pose solution, CPU reference) and
``precomputed`` (OpenPose JSON folders or ``keypoints2d.npz``).
"""

from mocap.detection.protocol import Detector, FrameSetDetections, detect_batch
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
    "detect_batch",
    "detector_help",
    "detector_names",
    "register_detector",
]
