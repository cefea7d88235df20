"""Multi-view geometry for association: rays, metric scales, essential matrices, small DLT.

Everything works on **normalized, undistorted** image coordinates, computed once per take, so
that the per-frame loop never runs the iterative lens inversion.

Metric scale: an epipolar or ray distance measured in normalized image units is turned into
metres by multiplying with a view's *working distance* — the distance from the camera centre to
the point closest to all optical axes (the centre of the capture volume). Distances from
different view pairs, focal lengths and camera distances become comparable that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.rig import CameraRig
from calibration.rotations import skew
from mocap.detections2d import Detections2D


@dataclass(frozen=True, eq=False)
class ViewGeometry:
    """Per-rig constants used by association.

    Attributes:
        centers: (V, 3) camera centres, world, metres.
        rotations: (V, 3, 3) camera_from_world rotations.
        extrinsics: (V, 3, 4) ``[R | t]`` (projection matrices of normalized coordinates).
        focal_px: (V,) mean focal length, pixels (normalized units -> pixels).
        working_distance_m: (V,) camera to capture-volume centre, metres (normalized -> metres).
        essential: (V, V, 3, 3) with ``x_b^T E[a, b] x_a = 0`` for normalized homogeneous points.
    """

    centers: NDArray[np.float64] = field(repr=False)
    rotations: NDArray[np.float64] = field(repr=False)
    extrinsics: NDArray[np.float64] = field(repr=False)
    focal_px: NDArray[np.float64] = field(repr=False)
    working_distance_m: NDArray[np.float64] = field(repr=False)
    essential: NDArray[np.float64] = field(repr=False)

    @property
    def num_views(self) -> int:
        return len(self.centers)


def volume_centre(rig: CameraRig) -> NDArray[np.float64]:
    """The point closest (least squares) to every camera's optical axis, (3,) metres.

    With a single camera (or parallel axes) the point 3 m in front of the first camera is used.
    """
    centers = rig.centers_world
    axes = np.stack([c.rotation[2] for c in rig.cameras])  # optical axes in world
    normal = np.zeros((3, 3))
    rhs = np.zeros(3)
    for c, a in zip(centers, axes, strict=True):
        project_out = np.eye(3) - np.outer(a, a)
        normal += project_out
        rhs += project_out @ c
    if len(rig) < 2 or np.linalg.cond(normal) > 1e8:
        return centers[0] + 3.0 * axes[0]
    centre = np.asarray(np.linalg.solve(normal, rhs), dtype=np.float64)
    return centre


def view_geometry(rig: CameraRig) -> ViewGeometry:
    """Precompute :class:`ViewGeometry` for a rig."""
    rotations = np.stack([c.rotation for c in rig.cameras])
    translations = np.stack([c.translation for c in rig.cameras])
    centers = rig.centers_world
    centre = volume_centre(rig)
    distance = np.maximum(np.linalg.norm(centers - centre, axis=1), 0.5)
    v = len(rig)
    essential = np.zeros((v, v, 3, 3))
    for a in range(v):
        for b in range(v):
            if a != b:
                rotation = rotations[b] @ rotations[a].T
                translation = translations[b] - rotation @ translations[a]
                essential[a, b] = skew(translation) @ rotation
    return ViewGeometry(
        centers=centers,
        rotations=rotations,
        extrinsics=np.concatenate([rotations, translations[:, :, None]], axis=2),
        focal_px=np.array([c.focal_lengths.mean() for c in rig.cameras]),
        working_distance_m=distance,
        essential=essential,
    )


def normalized_detections(rig: CameraRig, detections: Detections2D) -> NDArray[np.float64]:
    """Undistorted normalized coordinates of every detection, (T, V, S, J, 2); NaN where missing."""
    xy = np.moveaxis(detections.xy.astype(np.float64), 1, 0)  # (V, T, S, J, 2)
    return np.moveaxis(rig.undistort_points(xy, normalized=True), 0, 1)


def rays_world(geometry: ViewGeometry, normalized: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit ray directions in the world for normalized points ``(..., V, S, J, 2)`` -> ``(..., V, S, J, 3)``."""
    homogeneous = np.concatenate([normalized, np.ones(normalized.shape[:-1] + (1,))], axis=-1)
    # world direction = R^T x ; R indexed by the view axis (third from last of the points)
    directions = np.einsum("vji,...vsnj->...vsni", geometry.rotations, homogeneous)
    return directions / np.linalg.norm(directions, axis=-1, keepdims=True)


def point_ray_distances(
    points: NDArray[np.float64], centers: NDArray[np.float64], rays: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Distance (metres) from world points to rays through camera centres, broadcast.

    Args:
        points: (..., 3) world points.
        centers: (..., 3) ray origins.
        rays: (..., 3) unit directions.
    """
    offset = points - centers
    along = np.sum(offset * rays, axis=-1, keepdims=True)
    return np.linalg.norm(offset - along * rays, axis=-1)


def nanmedian(values: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
    """Median over ``axis`` ignoring NaN (NaN where all are NaN); much faster than ``np.nanmedian``
    on many small rows, which goes through masked arrays."""
    ordered = np.sort(np.moveaxis(values, axis, -1), axis=-1)  # NaN sort last
    count = np.isfinite(ordered).sum(axis=-1)
    low = np.clip((count - 1) // 2, 0, None)[..., None]
    high = np.clip(count // 2, 0, ordered.shape[-1] - 1)[..., None]
    median = 0.5 * (np.take_along_axis(ordered, low, -1) + np.take_along_axis(ordered, high, -1))[..., 0]
    return np.where(count > 0, median, np.nan)


def solve_dlt(
    extrinsics: NDArray[np.float64], normalized: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Weighted linear triangulation of points in normalized coordinates.

    Each view gives two rows ``w (x P_3 - P_1)``, ``w (y P_3 - P_2)`` of the DLT system; with the
    homogeneous coordinate fixed to 1 (points at a finite distance, which people in a studio are)
    the least-squares point solves the 3 x 3 normal equations, done here in closed form (adjugate)
    for all points at once — several times faster than a batched eigen-decomposition of the 4 x 4
    system, which matters at tracking rates.

    Args:
        extrinsics: (V, 3, 4) ``[R | t]`` per view.
        normalized: (N, V, 2) normalized coordinates (any value where the weight is 0).
        weights: (N, V) >= 0; points need two views with positive weight.

    Returns:
        (N, 3) world points; NaN where fewer than two views or a degenerate (near-singular) system.
    """
    x = np.nan_to_num(normalized)
    w = np.where(np.isfinite(normalized).all(axis=-1), weights, 0.0)
    rows = x[..., :, None] * extrinsics[None, :, 2:3, :] - extrinsics[None, :, 0:2, :]  # (N, V, 2, 4)
    rows = rows * w[..., None, None]
    normal = np.einsum("nvki,nvkj->nij", rows, rows)  # (N, 4, 4)
    a, b = normal[:, :3, :3], -normal[:, :3, 3]
    # adjugate of the symmetric 3 x 3 matrix a
    c00 = a[:, 1, 1] * a[:, 2, 2] - a[:, 1, 2] * a[:, 2, 1]
    c01 = a[:, 0, 2] * a[:, 2, 1] - a[:, 0, 1] * a[:, 2, 2]
    c02 = a[:, 0, 1] * a[:, 1, 2] - a[:, 0, 2] * a[:, 1, 1]
    c11 = a[:, 0, 0] * a[:, 2, 2] - a[:, 0, 2] * a[:, 2, 0]
    c12 = a[:, 0, 2] * a[:, 1, 0] - a[:, 0, 0] * a[:, 1, 2]
    c22 = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
    det = a[:, 0, 0] * c00 + a[:, 0, 1] * c01 + a[:, 0, 2] * c02
    scale = np.einsum("nii->n", a)  # conditioning reference: det ~ scale^3 for a well-posed point
    adjugate_b = np.stack(
        [
            c00 * b[:, 0] + c01 * b[:, 1] + c02 * b[:, 2],
            c01 * b[:, 0] + c11 * b[:, 1] + c12 * b[:, 2],
            c02 * b[:, 0] + c12 * b[:, 1] + c22 * b[:, 2],
        ],
        axis=-1,
    )
    ok = ((w > 0).sum(axis=1) >= 2) & (np.abs(det) > 1e-12 * scale**3)
    with np.errstate(divide="ignore", invalid="ignore"):
        points = adjugate_b / det[:, None]
    return np.where(ok[:, None], points, np.nan)
