"""Single-person reconstruction: one detection per view, triangulated into :class:`Poses3D`.

Rule for views with several detections (a single-person take with stray detections): the slot
with the highest total score is the person. On the Pose2Sim demo take (2-3 OpenPose detections
in two of four views) this agrees with an exhaustive search over slot combinations for the lowest
reprojection error on 399 of 400 view-frames. Multi-person association replaces this rule.
"""

from __future__ import annotations

import numpy as np

from calibration.rig import CameraRig
from mocap.detections2d import Detections2D
from mocap.errors import MismatchError
from mocap.poses3d import Poses3D
from mocap.triangulation.dlt import triangulate_dlt


def align_views(rig: CameraRig, detections: Detections2D) -> Detections2D:
    """Detections reordered to the rig's camera order.

    Raises:
        MismatchError: naming the cameras each side lacks.
    """
    missing = [n for n in rig.names if n not in detections.camera_names]
    if missing:
        raise MismatchError(
            f"detections lack cameras {', '.join(missing)} of the rig "
            f"(detections: {', '.join(detections.camera_names)}; rig: {', '.join(rig.names)})"
        )
    return detections.subset_views(rig.names)


def triangulate_single_person(
    rig: CameraRig, detections: Detections2D, *, min_views: int = 2, min_score: float = 0.0
) -> Poses3D:
    """Triangulate the best detection of every view into one person's poses (id 0).

    Args:
        rig: calibrated cameras; detections are matched to them by camera name.
        detections: (T, V, P, J) keypoints.
        min_views: views a joint needs to be reconstructed.
        min_score: keypoints with a score at or below this are ignored.

    Raises:
        MismatchError: the detections lack a rig camera.
    """
    aligned = align_views(rig, detections)
    best = aligned.score.sum(axis=-1).argmax(axis=-1)  # (T, V)
    xy = np.take_along_axis(aligned.xy, best[:, :, None, None, None], axis=2)[:, :, 0]  # (T, V, J, 2)
    score = np.take_along_axis(aligned.score, best[:, :, None, None], axis=2)[:, :, 0]  # (T, V, J)
    result = triangulate_dlt(
        rig, np.moveaxis(xy, 1, -2), np.moveaxis(score, 1, -1), min_views=min_views, min_weight=min_score
    )
    return Poses3D(
        result.points_world[:, None].astype(np.float32),
        np.zeros(1, dtype=np.int32),
        result.reprojection_error_px[:, None],
        result.n_views[:, None],
        detections.layout,
        detections.fps,
    )
