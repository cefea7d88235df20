"""numba kernels of the robust mode: pair-MSAC per point, as :func:`mocap.triangulation.robust.triangulate_robust`.

Per point (see :mod:`mocap.triangulation.robust` for the method and why): undistort every usable
view, solve every pair of usable views, score each pair hypothesis by MSAC over all usable views
(ideal-pixel errors capped at the threshold), take the best pair's inliers, refit and re-evaluate
until the inlier set is stable, give the statuses of the numpy path (``CONTESTED``,
``NO_CONSENSUS``, ``DEGENERATE``, ``TOO_FEW_VIEWS``, ``BEHIND_CAMERA``), optionally refine by
Gauss-Newton, and reproject every usable view (inliers and outliers) through the lens.

View sets are bit masks (``1 << view``), so a point needs no scratch arrays: rigs of up to
:data:`MAX_VIEWS` cameras. The per-view outputs (``view_errors``, ``used``) are view-major, (V, N),
as those of the block kernels.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from mocap.triangulation.kernels_numba import _project, _refine, _solve3, _undistort
from mocap.triangulation.result import PointStatus

#: Most views a bit-mask view set holds.
MAX_VIEWS = 62

#: Points per unit of parallel work (each has its own scratch).
_CHUNK = 256

F64 = NDArray[np.float64]

_OK = int(PointStatus.OK)
_TOO_FEW = int(PointStatus.TOO_FEW_VIEWS)
_DEGENERATE = int(PointStatus.DEGENERATE)
_BEHIND = int(PointStatus.BEHIND_CAMERA)
_NO_CONSENSUS = int(PointStatus.NO_CONSENSUS)
_CONTESTED = int(PointStatus.CONTESTED)


@numba.njit(cache=True, error_model="numpy")
def _view_terms(i: int, usable: int, normalized: F64, weights: F64, extrinsics: F64, terms: F64) -> None:
    """Each usable view's terms of the weighted normal equations of point ``i`` (rows of ``terms``)."""
    for c in range(weights.shape[1]):
        if not (usable >> c) & 1:
            continue
        x, y = normalized[i, c, 0], normalized[i, c, 1]
        w2 = weights[i, c] * weights[i, c]
        p = extrinsics[c]
        a0, a1, a2, a3 = x * p[2, 0] - p[0, 0], x * p[2, 1] - p[0, 1], x * p[2, 2] - p[0, 2], x * p[2, 3] - p[0, 3]
        b0, b1, b2, b3 = y * p[2, 0] - p[1, 0], y * p[2, 1] - p[1, 1], y * p[2, 2] - p[1, 2], y * p[2, 3] - p[1, 3]
        t = terms[c]
        t[0] = w2 * (a0 * a0 + b0 * b0)
        t[1] = w2 * (a0 * a1 + b0 * b1)
        t[2] = w2 * (a0 * a2 + b0 * b2)
        t[3] = w2 * (a1 * a1 + b1 * b1)
        t[4] = w2 * (a1 * a2 + b1 * b2)
        t[5] = w2 * (a2 * a2 + b2 * b2)
        t[6] = w2 * (a0 * a3 + b0 * b3)
        t[7] = w2 * (a1 * a3 + b1 * b3)
        t[8] = w2 * (a2 * a3 + b2 * b3)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _solve_terms(views: int, terms: F64) -> tuple[float, float, float, bool]:
    """Weighted DLT (see mocap.triangulation.linear) from the views in the bit mask ``views``: their
    ``terms`` (:func:`_view_terms`, made once per point, not once per pair) summed in view order."""
    m00 = m01 = m02 = m11 = m12 = m22 = r0 = r1 = r2 = 0.0
    for c in range(terms.shape[0]):
        if not (views >> c) & 1:
            continue
        t = terms[c]
        m00 += t[0]
        m01 += t[1]
        m02 += t[2]
        m11 += t[3]
        m12 += t[4]
        m22 += t[5]
        r0 -= t[6]
        r1 -= t[7]
        r2 -= t[8]
    return _solve3(m00, m01, m02, m11, m12, m22, r0, r1, r2)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _ideal_error(px: float, py: float, pz: float, p: F64, xo: float, yo: float, fx: float, fy: float) -> float:
    """Error in ideal (undistorted) pixels against a normalized observation; inf behind the camera or NaN."""
    zc = p[2, 0] * px + p[2, 1] * py + p[2, 2] * pz + p[2, 3]
    if not zc > 0.0:
        return np.inf
    dx = ((p[0, 0] * px + p[0, 1] * py + p[0, 2] * pz + p[0, 3]) / zc - xo) * fx
    dy = ((p[1, 0] * px + p[1, 1] * py + p[1, 2] * pz + p[1, 3]) / zc - yo) * fy
    error = math.sqrt(dx * dx + dy * dy)
    return error if math.isfinite(error) else np.inf


@numba.njit(cache=True, error_model="numpy")
def _agreeing(
    i: int, px: float, py: float, pz: float, usable: int, normalized: F64, intrinsics: F64, extrinsics: F64, t: float
) -> tuple[int, int]:
    """Bit mask and count of the usable views whose ideal error is below ``t``."""
    views, count = 0, 0
    for c in range(normalized.shape[1]):
        if (usable >> c) & 1:
            k = intrinsics[c]
            if _ideal_error(px, py, pz, extrinsics[c], normalized[i, c, 0], normalized[i, c, 1], k[0], k[1]) < t:
                views |= 1 << c
                count += 1
    return views, count


@numba.njit(cache=True, error_model="numpy")
def _robust_point(
    i: int,
    pixels: F64,
    weights: F64,
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
    settings: tuple[int, float, float, bool, int, int, float],
    normalized: F64,
    terms: F64,
    points: F64,
    view_errors: F64,
    used: NDArray[np.bool_],
    status: NDArray[np.int8],
    mean_error: F64,
    n_views: NDArray[np.int64],
) -> None:
    """Robust triangulation of point ``i`` into the output arrays (``normalized``, ``terms`` (V, 9): scratch)."""
    min_views, min_weight, threshold, accept_contested, refit_rounds, iterations, tolerance = settings
    v = weights.shape[1]
    usable, n_usable = 0, 0
    for c in range(v):
        used[c, i] = False
        view_errors[c, i] = np.nan
        u, vv = pixels[i, c, 0], pixels[i, c, 1]
        if not (weights[i, c] > min_weight) or not (math.isfinite(u) and math.isfinite(vv)):
            continue
        k = intrinsics[c]
        ty = (vv - k[3]) / k[1]
        x, y, ok = _undistort((u - k[2] - k[4] * ty) / k[0], ty, distortion[c], lens[c])
        if ok:
            normalized[i, c, 0], normalized[i, c, 1] = x, y
            usable |= 1 << c
            n_usable += 1
    points[i, 0] = points[i, 1] = points[i, 2] = np.nan
    mean_error[i] = np.nan
    n_views[i] = 0
    _view_terms(i, usable, normalized, weights, extrinsics, terms)
    # hypotheses from every pair of usable views, scored by MSAC: sum of min(e^2, T^2)
    cap = threshold * threshold
    best_cost, bx, by, bz, found = np.inf, 0.0, 0.0, 0.0, False
    for a in range(v):
        if not (usable >> a) & 1:
            continue
        for b in range(a + 1, v):
            if not (usable >> b) & 1:
                continue
            hx, hy, hz, ok = _solve_terms((1 << a) | (1 << b), terms)
            if not ok:
                continue
            cost = 0.0
            for c in range(v):
                if (usable >> c) & 1:
                    k = intrinsics[c]
                    e = _ideal_error(hx, hy, hz, extrinsics[c], normalized[i, c, 0], normalized[i, c, 1], k[0], k[1])
                    cost += min(e * e, cap)
                    if cost >= best_cost:  # the terms are >= 0: this pair cannot win any more
                        break
            if cost < best_cost:
                best_cost, bx, by, bz, found = cost, hx, hy, hz, True
    inliers = 0
    if found:
        inliers, _ = _agreeing(i, bx, by, bz, usable, normalized, intrinsics, extrinsics, threshold)
    px, py, pz, solved = _solve_terms(inliers, terms)
    for _ in range(max(1, refit_rounds)):  # refit until the inlier set is stable (keep a consensus)
        refit, count = _agreeing(i, px, py, pz, usable, normalized, intrinsics, extrinsics, threshold)
        if count < 2:
            refit = inliers
        if refit == inliers:
            break
        inliers = refit
        px, py, pz, solved = _solve_terms(inliers, terms)
    count = 0
    for c in range(v):
        count += (inliers >> c) & 1
    state = _OK
    if not accept_contested and count == 2 and n_usable > 2:
        state = _CONTESTED
    if count < min_views:
        state = _NO_CONSENSUS
    if not solved and state == _OK:
        state = _DEGENERATE
    if n_usable < min_views:
        state = _TOO_FEW
    status[i] = state
    if state != _OK:
        return
    for c in range(v):
        used[c, i] = (inliers >> c) & 1 == 1
    if iterations > 0:
        px, py, pz = _refine(
            i, px, py, pz, pixels, weights, used, intrinsics, distortion, lens, extrinsics, iterations, tolerance
        )
    total = 0.0
    for c in range(v):
        if not (usable >> c) & 1:
            continue
        zc, _, _, u, vv = _project(px, py, pz, extrinsics[c], distortion[c], lens[c], intrinsics[c])
        if used[c, i] and not zc > 0.0:
            status[i] = _BEHIND
            for c2 in range(v):
                used[c2, i] = False
                view_errors[c2, i] = np.nan
            return
        du, dv = u - pixels[i, c, 0], vv - pixels[i, c, 1]
        view_errors[c, i] = math.sqrt(du * du + dv * dv)
        if used[c, i]:
            total += view_errors[c, i]
    n_views[i] = count
    mean_error[i] = total / count
    points[i, 0], points[i, 1], points[i, 2] = px, py, pz


@numba.njit(cache=True, error_model="numpy")
def run_robust_serial(
    pixels: F64,
    weights: F64,
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
    settings: tuple[int, float, float, bool, int, int, float],
    normalized: F64,
    points: F64,
    view_errors: F64,
    used: NDArray[np.bool_],
    status: NDArray[np.int8],
    mean_error: F64,
    n_views: NDArray[np.int64],
) -> None:
    terms = np.empty((weights.shape[1], 9))
    for i in range(weights.shape[0]):
        _robust_point(
            i, pixels, weights, intrinsics, distortion, lens, extrinsics, settings, normalized, terms,
            points, view_errors, used, status, mean_error, n_views,
        )  # fmt: skip


@numba.njit(cache=True, parallel=True, error_model="numpy")
def run_robust_parallel(
    pixels: F64,
    weights: F64,
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
    settings: tuple[int, float, float, bool, int, int, float],
    normalized: F64,
    points: F64,
    view_errors: F64,
    used: NDArray[np.bool_],
    status: NDArray[np.int8],
    mean_error: F64,
    n_views: NDArray[np.int64],
) -> None:
    n = weights.shape[0]
    chunks = (n + _CHUNK - 1) // _CHUNK
    for chunk in numba.prange(chunks):
        terms = np.empty((weights.shape[1], 9))
        for i in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            _robust_point(
                i, pixels, weights, intrinsics, distortion, lens, extrinsics, settings, normalized, terms,
                points, view_errors, used, status, mean_error, n_views,
            )  # fmt: skip
