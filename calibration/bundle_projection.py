"""The projection model of bundle adjustment and its analytic derivatives
(see :mod:`calibration.bundle_adjustment`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from calibration.rotations import rodrigues_to_matrix, skew

if TYPE_CHECKING:
    from calibration.bundle_adjustment import BoardObservations


def project_corners(
    observations: BoardObservations,
    camera_vectors: NDArray[np.float64],
    board_vectors: NDArray[np.float64],
    intrinsics: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Pixels (M, 2) of every observation for camera poses (V, 6), board poses (B, 6) and intrinsics (V, 9).

    Points behind a camera project through ``z`` clamped to 1e-6 (large residuals, no NaN), which
    keeps the solver's finite differences defined.
    """
    cam_r = rodrigues_to_matrix(camera_vectors[:, :3])
    board_r = rodrigues_to_matrix(board_vectors[:, :3])
    c, b = observations.camera, observations.board
    points_ref = np.einsum("mij,mj->mi", board_r[b], observations.points_board) + board_vectors[b, 3:]
    points_cam = np.einsum("mij,mj->mi", cam_r[c], points_ref) + camera_vectors[c, 3:]
    z = np.maximum(points_cam[:, 2], 1e-6)
    x, y = points_cam[:, 0] / z, points_cam[:, 1] / z
    k = intrinsics[c]
    fx, fy, cx, cy, k1, k2, p1, p2, k3 = k.T
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.stack([fx * xd + cx, fy * yd + cy], axis=-1)


def _right_jacobians(rvecs: NDArray[np.float64], rotations: NDArray[np.float64]) -> NDArray[np.float64]:
    """``G(r) = (r r^T + (R^T - I) [r]_x) / |r|^2`` per vector (N, 3) -> (N, 3, 3); ``I`` near zero.

    With it ``d(R(r) u)/dr = -R [u]_x G(r)`` (Gallego and Yezzi 2015, a compact formula for the
    derivative of a 3-D rotation in exponential coordinates).
    """
    theta2 = np.sum(rvecs * rvecs, axis=-1)
    small = theta2 < 1e-16
    safe = np.where(small, 1.0, theta2)[:, None, None]
    outer = rvecs[:, :, None] * rvecs[:, None, :]
    skew_r = skew(rvecs)
    g = (outer + (np.swapaxes(rotations, -1, -2) - np.eye(3)) @ skew_r) / safe
    g[small] = np.eye(3)
    return np.asarray(g)


def projection_jacobians(
    observations: BoardObservations,
    camera_vectors: NDArray[np.float64],
    board_vectors: NDArray[np.float64],
    intrinsics: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Analytic derivatives of :func:`project_corners` per observation.

    Returns:
        d pixel / d camera pose (M, 2, 6), d pixel / d board pose (M, 2, 6) and
        d pixel / d intrinsics (M, 2, 9), each pose ordered (rotation vector, translation).
    """
    cam_r = rodrigues_to_matrix(camera_vectors[:, :3])
    board_r = rodrigues_to_matrix(board_vectors[:, :3])
    cam_g = _right_jacobians(camera_vectors[:, :3], cam_r)
    board_g = _right_jacobians(board_vectors[:, :3], board_r)
    c, b = observations.camera, observations.board
    p = observations.points_board
    rb_p = np.einsum("mij,mj->mi", board_r[b], p)
    points_ref = rb_p + board_vectors[b, 3:]
    rc = cam_r[c]
    points_cam = np.einsum("mij,mj->mi", rc, points_ref) + camera_vectors[c, 3:]
    z = np.maximum(points_cam[:, 2], 1e-6)
    x, y = points_cam[:, 0] / z, points_cam[:, 1] / z
    fx, fy, _, _, k1, k2, p1, p2, k3 = intrinsics[c].T
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    d_radial = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    m = len(x)
    # d pixel / d camera-frame point: diag(f) @ d distorted / d normalized @ d normalized / d point
    dist = np.empty((m, 2, 2))
    dist[:, 0, 0] = radial + 2.0 * x * x * d_radial + 2.0 * p1 * y + 6.0 * p2 * x
    dist[:, 0, 1] = 2.0 * x * y * d_radial + 2.0 * p1 * x + 2.0 * p2 * y
    dist[:, 1, 0] = dist[:, 0, 1]
    dist[:, 1, 1] = radial + 2.0 * y * y * d_radial + 6.0 * p1 * y + 2.0 * p2 * x
    dist[:, 0, :] *= fx[:, None]
    dist[:, 1, :] *= fy[:, None]
    proj = np.zeros((m, 2, 3))
    proj[:, 0, 0] = proj[:, 1, 1] = 1.0 / z
    proj[:, 0, 2] = -x / z
    proj[:, 1, 2] = -y / z
    a = dist @ proj  # (M, 2, 3)
    d_camera = np.empty((m, 2, 6))
    d_camera[:, :, :3] = -a @ rc @ skew(points_ref) @ cam_g[c]
    d_camera[:, :, 3:] = a
    a_rc = a @ rc
    d_board = np.empty((m, 2, 6))
    d_board[:, :, :3] = -a_rc @ board_r[b] @ skew(p) @ board_g[b]
    d_board[:, :, 3:] = a_rc
    d_intrinsics = np.zeros((m, 2, 9))
    d_intrinsics[:, 0, 0] = xd
    d_intrinsics[:, 1, 1] = yd
    d_intrinsics[:, 0, 2] = 1.0
    d_intrinsics[:, 1, 3] = 1.0
    for column, (dx, dy) in zip(
        (4, 5, 8, 6, 7),
        (
            (x * r2, y * r2),
            (x * r2 * r2, y * r2 * r2),
            (x * r2**3, y * r2**3),
            (2.0 * x * y, r2 + 2.0 * y * y),
            (r2 + 2.0 * x * x, 2.0 * x * y),
        ),
        strict=True,
    ):
        d_intrinsics[:, 0, column] = fx * dx
        d_intrinsics[:, 1, column] = fy * dy
    return d_camera, d_board, d_intrinsics
