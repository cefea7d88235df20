"""Prior-guided triangulation: pick the views that agree with an expected position, then triangulate.

Robust triangulation of one frame cannot settle a point that only two views agree on while the
others contradict them (:attr:`~mocap.triangulation.result.PointStatus.CONTESTED`), nor see that
two wrong views agreeing by chance are wrong. Over time the answer is usually plain: the same joint
in the neighbouring frames, interpolated across the gap (:func:`mocap.filtering.gaps.fill_gaps`),
predicts where the point is. This module keeps, per point, the usable views whose observation lies
within ``threshold_px`` of the prior's projection, triangulates them (weighted DLT), re-selects the
views that agree with that solution and accepts the point when at least ``min_views`` agree.
A prior that no two views confirm leaves the point NaN (``NO_CONSENSUS``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from calibration.arrays import as_float64, check_shape
from calibration.rig import CameraRig
from mocap.triangulation.dlt import check_arguments, finish, observe, solve_subset
from mocap.triangulation.refine import refine_points
from mocap.triangulation.result import PointStatus, TriangulationResult
from mocap.triangulation.robust import ideal_errors


def triangulate_guided(
    rig: CameraRig,
    pixels: ArrayLike,
    weights: ArrayLike | None,
    prior_world: ArrayLike,
    *,
    min_views: int = 2,
    min_weight: float = 0.0,
    threshold_px: float = 20.0,
    refine: bool = False,
) -> TriangulationResult:
    """Triangulate each point from the views that agree with its prior position.

    Args:
        rig: cameras in the order of the view axis.
        pixels: (..., V, 2) distorted pixels; NaN where a view did not see the point.
        weights: (..., V) confidences >= 0, or None for 1 everywhere.
        prior_world: (..., 3) expected positions, metres; NaN where there is none (the point is
            then NaN with status ``NO_CONSENSUS``).
        min_views: fewest agreeing views a point needs (>= 2).
        min_weight: views with a weight at or below this are ignored.
        threshold_px: a view agrees when its observation is within this many pixels of the
            projection of the prior, and then of the solution.
        refine: polish by Gauss-Newton on the weighted pixel reprojection error.

    Raises:
        ShapeError: shapes that do not match the rig or each other.
        ValueError: ``min_views < 2``, ``min_weight < 0`` or a threshold that is not positive.
    """
    check_arguments(min_views, min_weight)
    if not threshold_px > 0:
        raise ValueError(f"threshold_px must be a positive number of pixels, got {threshold_px}")
    obs = observe(rig, pixels, weights, min_weight)
    prior = as_float64("prior_world", prior_world, (..., 3))
    check_shape("prior_world", prior, obs.batch_shape + (3,))
    prior = prior.reshape(-1, 3)
    focal = np.stack([c.focal_lengths for c in rig.cameras])
    agree = obs.usable & (ideal_errors(prior, obs.normalized, obs.extrinsics, focal) < threshold_px)
    points, degenerate = solve_subset(obs, agree)
    inliers = obs.usable & (ideal_errors(points, obs.normalized, obs.extrinsics, focal) < threshold_px)
    # the refit may reach views the prior missed; never drop below the prior's own agreement
    inliers = np.where((inliers.sum(axis=1) >= agree.sum(axis=1))[:, None], inliers, agree)
    points, degenerate = solve_subset(obs, inliers)

    status = np.full(len(points), PointStatus.OK, dtype=np.int8)
    status[degenerate] = PointStatus.DEGENERATE
    status[inliers.sum(axis=1) < min_views] = PointStatus.NO_CONSENSUS
    status[obs.usable.sum(axis=1) < min_views] = PointStatus.TOO_FEW_VIEWS
    ok = status == PointStatus.OK
    points[~ok] = np.nan
    inliers &= ok[:, None]
    if refine and np.any(ok):
        points[ok] = refine_points(rig, points[ok], obs.pixels[ok], obs.weights[ok], inliers[ok])
    return finish(rig, obs, points, inliers, status)
