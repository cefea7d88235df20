"""Batched, confidence-weighted linear triangulation (DLT) with reprojection statistics.

Pixels are undistorted exactly (:meth:`calibration.camera.Camera.undistort_points`), then every
point is solved from the normal equations of its weighted DLT rows (see
:mod:`mocap.triangulation.linear` for the algebra), all points at once, in float64. The solution
is reprojected through each camera's full lens model to give per-view errors in (distorted)
pixels.

Shapes: views are the second-to-last axis of the pixel array, ``(..., V, 2)``; any leading
batch shape (e.g. ``T, P, J``) is kept. Move the view axis there from the ``T V P J C`` order
with ``np.moveaxis(xy, 1, -2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64, check_shape
from calibration.rig import CameraRig
from mocap.errors import ShapeError
from mocap.triangulation.linear import (
    camera_points,
    normal_equations,
    solve_packed,
    view_coefficients,
    view_constants,
)
from mocap.triangulation.result import PointStatus, TriangulationResult


@dataclass(frozen=True, eq=False)
class Observations:
    """Flattened, undistorted observations of N points in V views (internal to this package).

    Attributes:
        batch_shape: the caller's leading shape (``N = prod(batch_shape)``).
        pixels: (N, V, 2) distorted pixels as given (NaN where missing).
        normalized: (N, V, 2) undistorted normalized coordinates; 0 where not usable.
        weights: (N, V) confidences; 0 where not usable.
        usable: (N, V) finite pixels, undistortable, weight above ``min_weight``.
        extrinsics: (V, 3, 4) ``[R | t]`` per view.
    """

    batch_shape: tuple[int, ...]
    pixels: NDArray[np.float64] = field(repr=False)
    normalized: NDArray[np.float64] = field(repr=False)
    weights: NDArray[np.float64] = field(repr=False)
    usable: NDArray[np.bool_] = field(repr=False)
    extrinsics: NDArray[np.float64] = field(repr=False)


def check_arguments(min_views: int, min_weight: float) -> None:
    """Raise ValueError for settings no triangulation can honour."""
    if min_views < 2:
        raise ValueError(f"min_views must be at least 2 (two rays make a point), got {min_views}")
    if not math.isfinite(min_weight) or min_weight < 0:
        raise ValueError(f"min_weight must be a number >= 0, got {min_weight}")


def flat_inputs(
    num_views: int, pixels: ArrayLike, weights: ArrayLike | None, clean: bool = True
) -> tuple[tuple[int, ...], NDArray[np.float64], NDArray[np.float64]]:
    """Checked, flattened inputs: (batch shape, pixels (N, V, 2), weights (N, V), NaN/inf weights as 0).

    With ``clean=False`` the weights are only reshaped: the caller treats NaN and infinite weights
    as 0 and rejects negative ones itself (the compiled DLT, as it reads them; it then calls
    :func:`clean_weights` for the error).

    Raises:
        ShapeError: the view axis is not ``num_views``, weights do not match pixels, or a weight is < 0.
    """
    px = as_float64("pixels", pixels, (..., num_views, 2))
    batch = tuple(px.shape[:-2])
    if weights is None:
        w = np.ones(batch + (num_views,))
    else:
        w = as_float64("weights", weights, (..., num_views))
        check_shape("weights", w, batch + (num_views,))
    flat_w = w.reshape(-1, num_views)
    return batch, px.reshape(-1, num_views, 2), clean_weights(flat_w) if clean else flat_w


def clean_weights(weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """``weights`` with NaN and infinities as 0 (a copy only where there are some).

    Raises:
        ShapeError: if a weight is negative, naming the smallest.
    """
    if weights.size == 0:
        return weights
    # two reductions and no temporary array in the common case (finite weights): NaN propagates
    # through min, inf shows in max
    low, high = weights.min(), weights.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        weights = np.nan_to_num(weights, nan=0.0, posinf=0.0, neginf=0.0)
        low = weights.min()
    if low < 0:
        raise ShapeError("weights", "confidences >= 0", f"min {low:g}")
    return weights


def observe(rig: CameraRig, pixels: ArrayLike, weights: ArrayLike | None, min_weight: float) -> Observations:
    """Check shapes, flatten the batch and undistort (the common first step of every triangulation).

    Raises:
        ShapeError: the view axis does not match the rig, or weights do not match pixels.
    """
    batch, flat_px, flat_w = flat_inputs(len(rig), pixels, weights)
    normalized = np.moveaxis(rig.undistort_points(np.moveaxis(flat_px, 1, 0), normalized=True), 0, 1)  # (N, V, 2)
    usable = (flat_w > min_weight) & np.all(np.isfinite(normalized), axis=-1)
    return Observations(
        batch_shape=batch,
        pixels=flat_px,
        normalized=np.where(usable[..., None], normalized, 0.0),
        weights=np.where(usable, flat_w, 0.0),
        usable=usable,
        extrinsics=np.stack([c.extrinsic_matrix[:3] for c in rig.cameras]),
    )


def reproject(
    rig: CameraRig, points_world: NDArray[np.float64], extrinsics: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Project points (N, 3) into every view through the full lens model.

    Returns:
        pixels (N, V, 2), NaN where the point is NaN or behind the camera; depth (N, V) camera z.
    """
    in_cameras = camera_points(points_world, extrinsics)  # (N, V, 3)
    pixels = np.stack([cam.project_camera_points(in_cameras[:, i]) for i, cam in enumerate(rig.cameras)], axis=1)
    return pixels, in_cameras[..., 2]


def finish(
    rig: CameraRig,
    obs: Observations,
    points: NDArray[np.float64],
    used: NDArray[np.bool_],
    status: NDArray[np.int8],
    threshold_px: float = float("nan"),
) -> TriangulationResult:
    """Reproject, reject points behind a used camera, compute errors and reshape to the batch.

    Args:
        rig: the cameras.
        obs: the observations the points were made from.
        points: (N, 3) solutions; NaN where ``status`` is not OK.
        used: (N, V) views that made each point.
        status: (N,) status so far (modified in place for points found behind a camera).
        threshold_px: the outlier threshold used (robust modes), NaN for none.
    """
    projected, depth = reproject(rig, points, obs.extrinsics)
    errors = np.linalg.norm(projected - obs.pixels, axis=-1)  # (N, V)
    with np.errstate(invalid="ignore"):
        behind = np.any(used & ~(depth > 0), axis=1) & (status == PointStatus.OK)
    status[behind] = PointStatus.BEHIND_CAMERA
    ok = status == PointStatus.OK
    points = np.where(ok[:, None], points, np.nan)
    used = used & ok[:, None]
    view_errors = np.where(obs.usable & ok[:, None], errors, np.nan)
    count = used.sum(axis=1)
    used_errors = np.where(used, errors, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_error = np.where(count > 0, used_errors.sum(axis=1) / count, np.nan)
    batch, v = obs.batch_shape, len(rig)
    return TriangulationResult(
        points_world=points.reshape(batch + (3,)),
        reprojection_error_px=mean_error.reshape(batch),
        view_errors_px=view_errors.reshape(batch + (v,)),
        views_used=used.reshape(batch + (v,)),
        n_views=count.astype(np.int64).reshape(batch),
        status=status.reshape(batch),
        threshold_px=threshold_px,
    )


def solve_subset(obs: Observations, views: NDArray[np.bool_]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Weighted linear solution from the views selected by ``views`` (N, V) -> points (N, 3), degenerate (N,)."""
    weights = np.where(views, obs.weights, 0.0)
    packed = normal_equations(view_coefficients(obs.normalized, weights), view_constants(obs.extrinsics))
    return solve_packed(packed)


def triangulate_dlt(
    rig: CameraRig,
    pixels: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    min_views: int = 2,
    min_weight: float = 0.0,
) -> TriangulationResult:
    """Triangulate points seen in the rig's views (no outlier rejection).

    Args:
        rig: cameras in the order of the view axis.
        pixels: (..., V, 2) distorted pixel coordinates; NaN where a view did not see the point.
        weights: (..., V) confidences >= 0 (NaN counts as 0); a view takes part when its weight
            is > ``min_weight`` and its pixels are finite. ``None`` weights every view 1. Each
            view's DLT rows are scaled by its weight.
        min_views: fewest views a point needs (>= 2).
        min_weight: views with a weight at or below this are ignored.

    Returns:
        A :class:`TriangulationResult` with the leading shape of ``pixels``. Points seen by too
        few views, with (nearly) parallel rays, or landing behind a camera are NaN with their
        :class:`PointStatus`.

    Raises:
        ShapeError: if the view axis does not match the rig or weights do not match pixels.
        ValueError: if ``min_views < 2`` or ``min_weight < 0``.
    """
    check_arguments(min_views, min_weight)
    obs = observe(rig, pixels, weights, min_weight)
    points, degenerate = solve_subset(obs, obs.usable)
    enough = obs.usable.sum(axis=1) >= min_views
    status = np.full(len(points), PointStatus.OK, dtype=np.int8)
    status[degenerate] = PointStatus.DEGENERATE
    status[~enough] = PointStatus.TOO_FEW_VIEWS
    return finish(rig, obs, points, obs.usable.copy(), status)


def check_views_match(rig: CameraRig, camera_names: tuple[str, ...]) -> None:
    """Raise :class:`ShapeError` unless the view names equal the rig's names in order."""
    if tuple(camera_names) != rig.names:
        raise ShapeError("camera_names", f"the rig's cameras {list(rig.names)}", str(list(camera_names)))
