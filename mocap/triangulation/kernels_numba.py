"""Per-point numba functions shared by the compiled triangulation kernels: one point, everything in registers.

Undistortion (Newton on OpenCV's model, as :mod:`calibration.distortion`), the closed-form 3x3
solve (as :func:`mocap.triangulation.linear.solve_packed`), projection through the lens and the
Gauss-Newton refinement of the weighted pixel reprojection error (:mod:`.refine`). Each mirrors its
numpy counterpart so results agree to round-off. The plain DLT runs them through the vectorised
block kernels of :mod:`.kernels_block_numba`, the robust mode through :mod:`.kernels_robust_numba`.

Compiled with ``error_model="numpy"``: every division here is guarded by a test of its divisor, so
Python's ZeroDivisionError checks would only cost branches.

This module imports numba and compiles on first use (cached on disk).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from mocap.triangulation.linear import DEGENERATE_RELATIVE_DET
from mocap.triangulation.result import PointStatus

F64 = NDArray[np.float64]

_OK = int(PointStatus.OK)
_TOO_FEW = int(PointStatus.TOO_FEW_VIEWS)
_DEGENERATE = int(PointStatus.DEGENERATE)
_BEHIND = int(PointStatus.BEHIND_CAMERA)

#: Lens models: none, ``k1 k2 p1 p2 k3`` only (no division, fewer terms), the full 12-coefficient model.
NO_LENS, LENS5, LENS12 = 0, 1, 2


@numba.njit(cache=True, inline="always", error_model="numpy")
def _lens(x: float, y: float, c: NDArray[np.float64], model: int) -> tuple[float, float, float, float, float, float]:
    """Distorted (xd, yd) of normalized (x, y) and the Jacobian entries j00, j01, j10, j11 (OpenCV model)."""
    if model == NO_LENS:
        return x, y, 1.0, 0.0, 0.0, 1.0
    k1, k2, p1, p2, k3 = c[0], c[1], c[2], c[3], c[4]
    r2 = x * x + y * y
    if model == LENS5:
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        drad = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
        sx = sy = s_x = s_y = 0.0
    else:
        k4, k5, k6, s1, s2, s3, s4 = c[5], c[6], c[7], c[8], c[9], c[10], c[11]
        num = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        den = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
        radial = num / den
        dnum = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
        dden = k4 + r2 * (2.0 * k5 + 3.0 * k6 * r2)
        drad = (dnum * den - num * dden) / (den * den)
        sx, sy = r2 * (s1 + s2 * r2), r2 * (s3 + s4 * r2)  # thin-prism terms
        s_x, s_y = s1 + 2.0 * s2 * r2, s3 + 2.0 * s4 * r2  # their derivatives / (2 x), / (2 y)
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x) + sx
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y + sy
    cross = 2.0 * x * y * drad + 2.0 * p1 * x + 2.0 * p2 * y
    j00 = radial + 2.0 * x * x * drad + 2.0 * p1 * y + 6.0 * p2 * x + 2.0 * x * s_x
    j01 = cross + 2.0 * y * s_x
    j10 = cross + 2.0 * x * s_y
    j11 = radial + 2.0 * y * y * drad + 6.0 * p1 * y + 2.0 * p2 * x + 2.0 * y * s_y
    return xd, yd, j00, j01, j10, j11


@numba.njit(cache=True, error_model="numpy")
def _undistort(tx: float, ty: float, c: NDArray[np.float64], model: int) -> tuple[float, float, bool]:
    """Normalized (x, y) with distort(x, y) = (tx, ty): Newton, damped as in calibration.distortion."""
    x, y = tx, ty
    if model == NO_LENS:
        return x, y, True
    for _ in range(50):
        xd, yd, j00, j01, j10, j11 = _lens(x, y, c, model)
        ex, ey = xd - tx, yd - ty
        det = j00 * j11 - j01 * j10
        if abs(ex) < 1e-13 and abs(ey) < 1e-13:
            return x, y, det > 0.0  # a folded model (det <= 0) has no unique inverse here
        if not abs(det) > 1e-12:
            break
        sx = (j11 * ex - j01 * ey) / det
        sy = (-j10 * ex + j00 * ey) / det
        step2 = sx * sx + sy * sy
        if step2 > 0.25:  # the limit is at least 0.5: only long steps need the square roots
            limit = 0.5 * (1.0 + math.sqrt(x * x + y * y))
            length = math.sqrt(step2)
            if length > limit:
                sx *= limit / length
                sy *= limit / length
        x -= sx
        y -= sy
        if step2 < 1e-14:  # Newton converges quadratically: the error left is ~ step^2, below 1e-13
            return x, y, det > 0.0
    return x, y, False


@numba.njit(cache=True, inline="always", error_model="numpy")
def _solve3(
    m00: float, m01: float, m02: float, m11: float, m12: float, m22: float, r0: float, r1: float, r2: float
) -> tuple[float, float, float, bool]:
    """Closed-form solution of the symmetric 3x3 system (as :func:`mocap.triangulation.linear.solve_packed`)."""
    c00, c01, c02 = m11 * m22 - m12 * m12, m02 * m12 - m01 * m22, m01 * m12 - m11 * m02
    c11, c12, c22 = m00 * m22 - m02 * m02, m01 * m02 - m00 * m12, m00 * m11 - m01 * m01
    det = m00 * c00 + m01 * c01 + m02 * c02
    scale = (m00 + m11 + m22) / 3.0
    if not det > DEGENERATE_RELATIVE_DET * scale * scale * scale:
        return np.nan, np.nan, np.nan, False
    inv = 1.0 / det
    x = (c00 * r0 + c01 * r1 + c02 * r2) * inv
    y = (c01 * r0 + c11 * r1 + c12 * r2) * inv
    z = (c02 * r0 + c12 * r1 + c22 * r2) * inv
    return x, y, z, True


@numba.njit(cache=True, inline="always", error_model="numpy")
def _project(
    px: float, py: float, pz: float, p: NDArray[np.float64], c: NDArray[np.float64], model: int, k: NDArray[np.float64]
) -> tuple[float, float, float, float, float]:
    """Camera depth, normalized point and its lens-distorted pixel: (z, xn, yn, u, v); NaN pixel if z <= 0."""
    zc = p[2, 0] * px + p[2, 1] * py + p[2, 2] * pz + p[2, 3]
    if not zc > 0.0:
        return zc, np.nan, np.nan, np.nan, np.nan
    xn = (p[0, 0] * px + p[0, 1] * py + p[0, 2] * pz + p[0, 3]) / zc
    yn = (p[1, 0] * px + p[1, 1] * py + p[1, 2] * pz + p[1, 3]) / zc
    xd, yd, _, _, _, _ = _lens(xn, yn, c, model)
    return zc, xn, yn, k[0] * xd + k[4] * yd + k[2], k[1] * yd + k[3]


@numba.njit(cache=True, error_model="numpy")
def _cost(
    i: int,
    px: float,
    py: float,
    pz: float,
    pixels: F64,
    weights: F64,
    used: NDArray[np.bool_],
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
) -> tuple[float, bool]:
    """Weighted squared pixel error of the used views, and whether the point is in front of all of them."""
    cost, front = 0.0, True
    for c in range(weights.shape[1]):
        if used[c, i]:
            zc, _, _, u, v = _project(px, py, pz, extrinsics[c], distortion[c], lens[c], intrinsics[c])
            if zc > 0.0:
                du, dv = u - pixels[i, c, 0], v - pixels[i, c, 1]
                cost += weights[i, c] * weights[i, c] * (du * du + dv * dv)
            else:
                front = False
    return cost, front


@numba.njit(cache=True, error_model="numpy")
def _refine(
    i: int,
    px: float,
    py: float,
    pz: float,
    pixels: F64,
    weights: F64,
    used: NDArray[np.bool_],
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
    iterations: int,
    tolerance: float,
) -> tuple[float, float, float]:
    """Gauss-Newton on the weighted pixel reprojection error (the steps of :func:`~.refine.refine_points`).

    ``used`` is view-major, (V, N), as the compiled paths' outputs (:mod:`mocap.triangulation.fast_cpu`)."""
    for _ in range(iterations):
        cost = h00 = h01 = h02 = h11 = h12 = h22 = g0 = g1 = g2 = 0.0
        for c in range(weights.shape[1]):
            if not used[c, i]:
                continue
            p, k = extrinsics[c], intrinsics[c]
            zc, xn, yn, u, v = _project(px, py, pz, p, distortion[c], lens[c], k)
            if not zc > 0.0:
                continue
            _, _, j00, j01, j10, j11 = _lens(xn, yn, distortion[c], lens[c])
            # J = K_2x2 . d(distort)/d(n) . d(n)/d(X_cam) . R, one 2x3 row pair
            a00, a01, a10, a11 = k[0] * j00 + k[4] * j10, k[0] * j01 + k[4] * j11, k[1] * j10, k[1] * j11
            b00, b01, b02 = a00 / zc, a01 / zc, -(a00 * xn + a01 * yn) / zc
            b10, b11, b12 = a10 / zc, a11 / zc, -(a10 * xn + a11 * yn) / zc
            ja0 = b00 * p[0, 0] + b01 * p[1, 0] + b02 * p[2, 0]
            ja1 = b00 * p[0, 1] + b01 * p[1, 1] + b02 * p[2, 1]
            ja2 = b00 * p[0, 2] + b01 * p[1, 2] + b02 * p[2, 2]
            jb0 = b10 * p[0, 0] + b11 * p[1, 0] + b12 * p[2, 0]
            jb1 = b10 * p[0, 1] + b11 * p[1, 1] + b12 * p[2, 1]
            jb2 = b10 * p[0, 2] + b11 * p[1, 2] + b12 * p[2, 2]
            w2 = weights[i, c] * weights[i, c]
            ru, rv = u - pixels[i, c, 0], v - pixels[i, c, 1]
            cost += w2 * (ru * ru + rv * rv)
            h00 += w2 * (ja0 * ja0 + jb0 * jb0)
            h01 += w2 * (ja0 * ja1 + jb0 * jb1)
            h02 += w2 * (ja0 * ja2 + jb0 * jb2)
            h11 += w2 * (ja1 * ja1 + jb1 * jb1)
            h12 += w2 * (ja1 * ja2 + jb1 * jb2)
            h22 += w2 * (ja2 * ja2 + jb2 * jb2)
            g0 += w2 * (ja0 * ru + jb0 * rv)
            g1 += w2 * (ja1 * ru + jb1 * rv)
            g2 += w2 * (ja2 * ru + jb2 * rv)
        sx, sy, sz, ok = _solve3(h00, h01, h02, h11, h12, h22, -g0, -g1, -g2)
        if not ok:
            break
        new_cost, front = _cost(
            i, px + sx, py + sy, pz + sz, pixels, weights, used, intrinsics, distortion, lens, extrinsics
        )
        if not (front and new_cost <= cost):  # keep a step only where it lowers the cost
            break
        px, py, pz = px + sx, py + sy, pz + sz
        if math.sqrt(sx * sx + sy * sy + sz * sz) < tolerance:
            break
    return px, py, pz
