"""Single-person triangulation: one detection per view, triangulated into :class:`Poses3D` (no filtering).

The person is the highest-scoring slot of every view (:func:`~mocap.triangulation.observations.best_slots`);
points are made by :func:`~mocap.triangulation.triangulate.triangulate_sequence` — robust with
Gauss-Newton refinement and temporal guidance by default, or whatever ``config`` says. For the
whole pipeline with filtering use :func:`mocap.triangulation.pipeline.reconstruct`.
"""

from __future__ import annotations

from calibration.rig import CameraRig
from mocap.detections2d import Detections2D
from mocap.poses3d import Poses3D
from mocap.triangulation.observations import align_views, best_slots
from mocap.triangulation.triangulate import TriangulationConfig, triangulate_sequence

__all__ = ["align_views", "triangulate_single_person"]


def triangulate_single_person(
    rig: CameraRig,
    detections: Detections2D,
    *,
    min_views: int = 2,
    min_score: float = 0.0,
    config: TriangulationConfig | None = None,
) -> Poses3D:
    """Triangulate the best detection of every view into one person's poses (id 0).

    Args:
        rig: calibrated cameras; detections are matched to them by camera name.
        detections: (T, V, P, J) keypoints.
        min_views: views a joint needs to be reconstructed (ignored when ``config`` is given).
        min_score: keypoints with a score at or below this are ignored (ignored when ``config`` is given).
        config: the triangulation method and settings; default: robust + refinement + guidance.

    Raises:
        MismatchError: the detections lack a rig camera.
        ValueError: ``min_views < 2``.
    """
    if config is None:
        if min_views < 2:
            raise ValueError(f"min_views must be at least 2 (two rays make a point), got {min_views}")
        config = TriangulationConfig(min_views=min_views, min_score=min_score)
    observations = best_slots(align_views(rig, detections))
    pixels, weights = observations.pixels_views_last()
    result = triangulate_sequence(rig, pixels, weights, config)
    return Poses3D(
        result.points_world.astype("float32"),
        observations.person_id,
        result.reprojection_error_px,
        result.n_views,
        detections.layout,
        detections.fps,
    )
