"""Batched, confidence-weighted linear triangulation (DLT) with reprojection statistics.

For each point seen in views ``v`` at undistorted normalized coordinates ``(x_v, y_v)`` with
weight ``w_v``, the homogeneous point ``X`` minimises ``|A X|`` subject to ``|X| = 1`` where
``A`` stacks ``w_v (x_v P_v^3 - P_v^1)`` and ``w_v (y_v P_v^3 - P_v^2)`` with ``P_v = [R_v | t_v]``
(Hartley & Zisserman, *Multiple View Geometry*, 2nd ed., sec. 12.2). Working in normalized
coordinates keeps the system well conditioned without extra scaling. ``X`` is the eigenvector
of the smallest eigenvalue of the 4x4 matrix ``A^T A``, computed for all points at once.

Shapes: views are the second-to-last axis of the pixel array, ``(..., V, 2)``; any leading
batch shape (e.g. ``T, P, J``) is kept. Move the view axis there from the ``T V P J C`` order
with ``np.moveaxis(xy, 1, -2)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64, check_shape
from calibration.rig import CameraRig
from mocap.errors import ShapeError


@dataclass(frozen=True)
class TriangulationResult:
    """Triangulated points and how they were made.

    Attributes:
        points_world: (..., 3) metres; NaN where fewer than ``min_views`` usable views, where
            the solution is at infinity, or where it lies behind a view that was used.
        reprojection_error_px: (...,) mean over used views of the pixel distance between the
            observation and the reprojected point; NaN where ``points_world`` is NaN.
        view_errors_px: (..., V) per-view reprojection error; NaN for views not used.
        views_used: (..., V) True for views that contributed.
        n_views: (...,) number of views used; 0 where ``points_world`` is NaN.
    """

    points_world: NDArray[np.float64] = field(repr=False)
    reprojection_error_px: NDArray[np.float64] = field(repr=False)
    view_errors_px: NDArray[np.float64] = field(repr=False)
    views_used: NDArray[np.bool_] = field(repr=False)
    n_views: NDArray[np.int64] = field(repr=False)


def triangulate_dlt(
    rig: CameraRig,
    pixels: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    min_views: int = 2,
    min_weight: float = 0.0,
) -> TriangulationResult:
    """Triangulate points seen in the rig's views.

    Args:
        rig: cameras in the order of the view axis.
        pixels: (..., V, 2) distorted pixel coordinates; NaN where a view did not see the point.
        weights: (..., V) confidences; a view takes part when its weight is > ``min_weight``
            and its pixels are finite. ``None`` weights every view 1.
        min_views: fewest views a point needs (>= 2).
        min_weight: views with a weight at or below this are ignored.

    Returns:
        A :class:`TriangulationResult` with the leading shape of ``pixels``.

    Raises:
        ShapeError: if the view axis does not match the rig or weights do not match pixels.
        ValueError: if ``min_views < 2``.
    """
    if min_views < 2:
        raise ValueError(f"min_views must be at least 2, got {min_views}")
    px = as_float64("pixels", pixels, (..., len(rig), 2))
    batch = px.shape[:-2]
    if weights is None:
        w = np.ones(batch + (len(rig),))
    else:
        w = as_float64("weights", weights, (..., len(rig)))
        check_shape("weights", w, batch + (len(rig),))
    flat_px = px.reshape(-1, len(rig), 2)
    flat_w = np.nan_to_num(w.reshape(-1, len(rig)), nan=0.0)
    n = flat_px.shape[0]

    # (V, N, 2) normalized, undistorted coordinates
    normalized = rig.undistort_points(np.moveaxis(flat_px, 1, 0), normalized=True)
    usable = (flat_w > min_weight) & np.all(np.isfinite(np.moveaxis(normalized, 0, 1)), axis=-1)  # (N, V)
    extrinsics = np.stack([c.extrinsic_matrix[:3] for c in rig.cameras])  # (V, 3, 4)

    xn = np.nan_to_num(np.moveaxis(normalized, 0, 1))  # (N, V, 2)
    ww = np.where(usable, flat_w, 0.0)
    # rows (N, V, 2, 4): x P3 - P1 and y P3 - P2, weighted
    rows = xn[..., :, None] * extrinsics[None, :, 2:3, :] - extrinsics[None, :, 0:2, :]
    rows *= ww[..., None, None]
    normal = np.einsum("nvki,nvkj->nij", rows, rows)  # (N, 4, 4)
    count = usable.sum(axis=1)
    enough = count >= min_views
    points = np.full((n, 3), np.nan)
    if np.any(enough):
        # scale each system so eigenvalues are O(1) regardless of weights
        sub = normal[enough]
        scale = np.trace(sub, axis1=1, axis2=2)[:, None, None]
        _, vectors = np.linalg.eigh(sub / scale)
        homogeneous = vectors[:, :, 0]  # eigenvector of the smallest eigenvalue
        with np.errstate(divide="ignore", invalid="ignore"):
            solved = homogeneous[:, :3] / homogeneous[:, 3:4]
        at_infinity = np.abs(homogeneous[:, 3]) < 1e-12
        solved[at_infinity] = np.nan
        points[enough] = solved

    # reprojection in every view, in distorted pixels
    projected = np.moveaxis(rig.project(points), 0, 1)  # (N, V, 2)
    errors = np.linalg.norm(projected - flat_px, axis=-1)
    behind = usable & ~np.isfinite(projected[..., 0])
    bad = np.any(behind, axis=1) | ~np.all(np.isfinite(points), axis=1)
    points[bad] = np.nan
    used = usable & ~bad[:, None]
    view_errors = np.where(used, errors, np.nan)
    count = used.sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean_error = np.where(count > 0, np.nansum(view_errors, axis=1) / np.maximum(count, 1), np.nan)

    v = len(rig)
    return TriangulationResult(
        points_world=points.reshape(batch + (3,)),
        reprojection_error_px=mean_error.reshape(batch),
        view_errors_px=view_errors.reshape(batch + (v,)),
        views_used=used.reshape(batch + (v,)),
        n_views=count.reshape(batch),
    )


def check_views_match(rig: CameraRig, camera_names: tuple[str, ...]) -> None:
    """Raise :class:`ShapeError` unless the view names equal the rig's names in order."""
    if tuple(camera_names) != rig.names:
        raise ShapeError("camera_names", f"the rig's cameras {list(rig.names)}", str(list(camera_names)))
