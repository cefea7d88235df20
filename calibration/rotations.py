"""Batched rotation conversions in numpy (Rodrigues vectors and rotation matrices).

Pure functions over leading batch axes, float64, no OpenCV needed at import time. Rodrigues
vectors follow OpenCV's convention: the direction is the rotation axis, the norm the angle in
radians, and ``matrix = exp([rvec]_x)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64


def skew(vectors: ArrayLike) -> NDArray[np.float64]:
    """Cross-product matrices ``[v]_x`` of vectors ``(..., 3)`` -> ``(..., 3, 3)``."""
    v = as_float64("vectors", vectors, (..., 3))
    out = np.zeros(v.shape[:-1] + (3, 3))
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def rodrigues_to_matrix(rvecs: ArrayLike) -> NDArray[np.float64]:
    """Rotation matrices from Rodrigues vectors: ``(..., 3)`` -> ``(..., 3, 3)``.

    Uses the series expansion near zero so that tiny angles stay exact.
    """
    r = as_float64("rvecs", rvecs, (..., 3))
    theta2 = np.sum(r * r, axis=-1)[..., None, None]
    theta = np.sqrt(theta2)
    small = theta2 < 1e-12
    safe = np.where(small, 1.0, theta)
    # sin(t)/t and (1-cos(t))/t^2, with their Taylor series where t is tiny.
    a = np.where(small, 1.0 - theta2 / 6.0, np.sin(safe) / safe)
    b = np.where(small, 0.5 - theta2 / 24.0, (1.0 - np.cos(safe)) / (safe * safe))
    k = skew(r)
    eye = np.broadcast_to(np.eye(3), k.shape)
    return eye + a * k + b * (k @ k)


def matrix_to_rodrigues(matrices: ArrayLike) -> NDArray[np.float64]:
    """Rodrigues vectors from rotation matrices: ``(..., 3, 3)`` -> ``(..., 3)``.

    Exact for angles in ``[0, pi]``, including angles at and near ``pi`` where the axis is taken
    from the symmetric part of the matrix.
    """
    m = as_float64("matrices", matrices, (..., 3, 3))
    trace = np.trace(m, axis1=-2, axis2=-1)
    # axis * 2 sin(theta) from the antisymmetric part
    w = np.stack(
        [m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]],
        axis=-1,
    )
    # atan2 stays accurate at every angle, where arccos of the trace loses digits near 0 and pi
    theta = np.arctan2(np.linalg.norm(w, axis=-1) / 2.0, (trace - 1.0) / 2.0)
    cos_t = np.cos(theta)
    sin_t = np.sin(theta)
    out = np.empty(m.shape[:-1])
    small = theta < 1e-6
    near_pi = (np.pi - theta) < 1e-3
    regular = ~small & ~near_pi
    out[small] = 0.5 * w[small]  # theta/(2 sin theta) -> 1/2
    out[regular] = (theta[regular] / (2.0 * sin_t[regular]))[..., None] * w[regular]
    if np.any(near_pi):
        mp = m[near_pi]
        # sym(R) = cos(t) I + (1 - cos(t)) n n^T, exact at every angle; the sign comes from w.
        c = cos_t[near_pi][:, None, None]
        nn = ((mp + np.swapaxes(mp, -1, -2)) / 2.0 - c * np.eye(3)) / (1.0 - c)
        col = np.argmax(np.diagonal(nn, axis1=-2, axis2=-1), axis=-1)
        axis = nn[np.arange(len(mp)), :, col]
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        wp = w[near_pi]
        sign = np.where(np.sum(axis * wp, axis=-1) < 0, -1.0, 1.0)
        out[near_pi] = (sign * theta[near_pi])[..., None] * axis
    return out


def is_rotation(matrix: NDArray[np.float64], tolerance: float = 1e-6) -> bool:
    """True when ``matrix`` (3, 3) is orthonormal with determinant +1 within ``tolerance``."""
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
        return False
    ortho = np.max(np.abs(matrix @ matrix.T - np.eye(3)))
    return bool(ortho < tolerance and abs(np.linalg.det(matrix) - 1.0) < tolerance)


def look_at(
    eye_world: ArrayLike, target_world: ArrayLike, up_world: ArrayLike = (0.0, 0.0, 1.0)
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``camera_from_world`` (R, t) of an OpenCV camera at ``eye`` looking at ``target``.

    The image's y axis points as close to ``-up`` as possible (an upright picture).

    Raises:
        ValueError: if eye and target coincide or the view direction is parallel to ``up``.
    """
    eye = as_float64("eye_world", eye_world, (3,))
    target = as_float64("target_world", target_world, (3,))
    up = as_float64("up_world", up_world, (3,))
    forward = target - eye
    norm = np.linalg.norm(forward)
    if norm < 1e-12:
        raise ValueError("look_at: eye and target are the same point")
    z = forward / norm
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("look_at: view direction is parallel to the up vector")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    rotation = np.stack([x, y, z])  # rows: camera axes in world coordinates
    return rotation, -rotation @ eye
