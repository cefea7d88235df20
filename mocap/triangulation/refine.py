"""Gauss-Newton refinement of triangulated points: minimise the weighted reprojection error in pixels.

The linear solution minimises an algebraic error (depth-scaled normalized residuals). The
maximum-likelihood point under Gaussian pixel noise minimises instead, over the views used,

    sum_v w_v^2 |pi_v(X) - u_v|^2

where ``pi_v`` is the full camera model (extrinsics, lens distortion, intrinsics) and ``u_v`` the
observed distorted pixel. Starting from the linear solution, a few Gauss-Newton steps with the
analytic 2x3 Jacobian ``K_2x2 . d(distort)/d(n) . d(n)/d(X_c) . R`` get there; the 3x3 normal
equations are solved in closed form for all points at once. A step is kept only where it lowers
a point's cost, so refinement never makes a point worse.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from calibration.distortion import distort_with_jacobian
from calibration.rig import CameraRig
from mocap.triangulation.linear import camera_points, solve_packed

_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def _residuals_and_jacobians(
    rig: CameraRig,
    points: NDArray[np.float64],
    pixels: NDArray[np.float64],
    extrinsics: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Pixel residuals (N, V, 2), Jacobians (N, V, 2, 3) d(pixel)/d(X world), in front (N, V)."""
    in_cameras = camera_points(points, extrinsics)  # (N, V, 3)
    z = in_cameras[..., 2]
    front = z > 0
    safe_z = np.where(front, z, 1.0)
    normalized = in_cameras[..., :2] / safe_z[..., None]  # (N, V, 2)
    n, v = points.shape[0], len(rig)
    residuals = np.empty((n, v, 2))
    jacobians = np.empty((n, v, 2, 3))
    for i, cam in enumerate(rig.cameras):
        distorted, d_distort = distort_with_jacobian(normalized[:, i], cam.distortion)  # (N, 2), (N, 2, 2)
        k = cam.matrix[:2, :2]  # [[fx, s], [0, fy]]
        residuals[:, i] = distorted @ k.T + cam.matrix[:2, 2] - pixels[:, i]
        # d(n)/d(X_c) = [[1/z, 0, -x/z], [0, 1/z, -y/z]]
        inv_z = 1.0 / safe_z[:, i]
        d_normalized = np.zeros((n, 2, 3))
        d_normalized[:, 0, 0] = inv_z
        d_normalized[:, 1, 1] = inv_z
        d_normalized[:, :, 2] = -normalized[:, i] * inv_z[:, None]
        jacobians[:, i] = k @ d_distort @ d_normalized @ cam.rotation
    return residuals, jacobians, front


def refine_points(
    rig: CameraRig,
    points_world: NDArray[np.float64],
    pixels: NDArray[np.float64],
    weights: NDArray[np.float64],
    views: NDArray[np.bool_],
    *,
    iterations: int = 10,
    tolerance_m: float = 1e-10,
) -> NDArray[np.float64]:
    """Refine points by Gauss-Newton on their weighted pixel reprojection error.

    Args:
        rig: the cameras of the view axis.
        points_world: (N, 3) starting points, metres; NaN points stay NaN.
        pixels: (N, V, 2) observed distorted pixels.
        weights: (N, V) confidences; each residual is scaled by its weight.
        views: (N, V) views to use per point (at least 2 for a well-posed point).
        iterations: most Gauss-Newton steps.
        tolerance_m: stop once no point moves more than this.

    Returns:
        (N, 3) refined points; a point keeps its start where a step would not lower its cost or
        its system is singular.
    """
    extrinsics = np.stack([c.extrinsic_matrix[:3] for c in rig.cameras])
    current = np.array(points_world, dtype=np.float64, copy=True)
    active = np.all(np.isfinite(current), axis=1) & (views.sum(axis=1) >= 2)
    w2 = np.where(views, weights, 0.0) ** 2  # (N, V)
    safe_pixels = np.nan_to_num(pixels)
    for _ in range(max(0, iterations)):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        residuals, jacobians, front = _residuals_and_jacobians(rig, current[idx], safe_pixels[idx], extrinsics)
        wv = np.where(front, w2[idx], 0.0)  # (n, V)
        cost = np.sum(wv * np.sum(residuals * residuals, axis=-1), axis=1)
        hessian = np.einsum("nv,nvki,nvkj->nij", wv, jacobians, jacobians)  # (n, 3, 3)
        gradient = np.einsum("nv,nvki,nvk->ni", wv, jacobians, residuals)  # (n, 3)
        packed = np.concatenate([np.stack([hessian[:, i, j] for i, j in _PAIRS], axis=-1), -gradient], axis=-1)
        step, singular = solve_packed(packed)
        candidate = current[idx] + np.nan_to_num(step)
        new_residuals, _, new_front = _residuals_and_jacobians(rig, candidate, safe_pixels[idx], extrinsics)
        new_cost = np.sum(np.where(new_front, w2[idx], 0.0) * np.sum(new_residuals**2, axis=-1), axis=1)
        # keep a step only where it lowers the cost and sees the same views in front
        better = ~singular & (new_cost <= cost) & np.all(new_front | ~views[idx], axis=1)
        current[idx[better]] = candidate[better]
        moved = np.linalg.norm(np.nan_to_num(step), axis=1)
        active[idx[~better | (moved < tolerance_m)]] = False
    return current
