"""numba kernels of the plain weighted DLT of :mod:`mocap.triangulation.fast_cpu`: points in blocks, SIMD.

The points go through in blocks of :data:`BLOCK`. Within a block every step is one branch-free loop
over the block's points, held in small scratch arrays that stay in the L1 cache, so that LLVM
turns each loop into SIMD instructions (four or eight doubles at a time, AVX2 or AVX-512):

1. normalise: read each camera's pixels and weights (unusable views get weight 0 and harmless
   zeros; a negative weight marks its point, so the caller need not check the weights first),
   remove the intrinsics;
2. undistort: two Newton steps on OpenCV's ``k1 k2 p1 p2 k3`` model from the series inverse of its
   radial part (to r^7) less the tangential terms. An observation whose last step is longer than
   1e-7 (the stopping rule of the exact inversion,
   :func:`mocap.triangulation.kernels_numba._undistort`, after which the error left is ~ step^2)
   or whose lens Jacobian is not positive goes through that exact, damped inversion instead, so
   the result does not depend on the shortcut;
3. accumulate the weighted normal equations of the DLT (see :mod:`mocap.triangulation.linear`);
4. solve them in closed form (as :func:`mocap.triangulation.kernels_numba._solve3`);
5. reproject through the lens: per-view pixel errors and the behind-camera check.

Statuses, optional Gauss-Newton refinement (per point, :func:`~.kernels_numba._refine`) and outputs
are those of the per-point kernel, which this replaces for the plain DLT: results agree with it and
with the numpy path to round-off (~1e-12 m). Cameras with the rational or thin-prism model go
through the per-observation functions of :mod:`.kernels_numba` (still exact, not vectorised).

What makes the loops vectorise: ``error_model="numpy"`` (Python's semantics would put a
ZeroDivisionError branch on every division), selects instead of branches, contiguous scratch
arrays, and fastmath limited to ``contract`` (fused multiply-add; NaN and infinity keep their
meaning, which the NaN-in/NaN-out contract needs). Measured by ``mocap bench triangulation``.

This module imports numba and compiles on first use (cached on disk).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from mocap.triangulation.kernels_numba import LENS12, NO_LENS, _project, _refine, _undistort
from mocap.triangulation.linear import DEGENERATE_RELATIVE_DET
from mocap.triangulation.result import PointStatus

F64 = NDArray[np.float64]

#: Points per block: its scratch (about 8 rows of BLOCK doubles per camera) stays in L1/L2; 256 was best of 64-512.
BLOCK = 256

#: Blocks per unit of parallel work (each allocates its own scratch arrays).
CHUNK_BLOCKS = 16

#: A shortcut undistortion is kept when its last Newton step is shorter than this, squared.
_STEP2_LIMIT = 1e-14

_OK = int(PointStatus.OK)
_TOO_FEW = int(PointStatus.TOO_FEW_VIEWS)
_DEGENERATE = int(PointStatus.DEGENERATE)
_BEHIND = int(PointStatus.BEHIND_CAMERA)

#: In the status output: a point with a negative weight (no status: the caller raises).
NEGATIVE_WEIGHT = -1


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _newton_step(
    x: float, y: float, tx: float, ty: float, k1: float, k2: float, p1: float, p2: float, k3: float
) -> tuple[float, float, float]:
    """One Newton step towards distort(x, y) = (tx, ty) on the ``k1 k2 p1 p2 k3`` model, and the Jacobian's det."""
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    drad = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
    xy = x * y
    ex = x * radial + 2.0 * p1 * xy + p2 * (r2 + 2.0 * x * x) - tx
    ey = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * xy - ty
    cross = 2.0 * xy * drad + 2.0 * p1 * x + 2.0 * p2 * y
    j00 = radial + 2.0 * x * x * drad + 2.0 * p1 * y + 6.0 * p2 * x
    j11 = radial + 2.0 * y * y * drad + 6.0 * p1 * y + 2.0 * p2 * x
    det = j00 * j11 - cross * cross
    inv = 1.0 / det
    return x - (j11 * ex - cross * ey) * inv, y - (j00 * ey - cross * ex) * inv, det


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _normalise(pixels: F64, weights: F64, first: int, count: int, c: int, min_weight: float, k: F64, out: F64) -> None:
    """Rows of ``out``: weight (0 where unusable), intrinsics-free tx, ty (0 where unusable) of camera ``c``'s block.

    The weights are the caller's, unchecked: NaN and infinite ones make a view unusable, and a
    negative one poisons its point, ``ty`` NaN, which reaches the point's normal equations through
    the zero weight (0 x NaN); :func:`_run_blocks` checks the weights of a point whose equations
    are NaN (nothing else makes them NaN: unusable views add exact zeros) and marks it
    :data:`NEGATIVE_WEIGHT`, and the caller raises. (A count of negative weights in this loop kept
    LLVM from vectorising it.)"""
    fx, fy, cx, cy, skew = k[0], k[1], k[2], k[3], k[4]
    inv_fx, inv_fy = 1.0 / fx, 1.0 / fy
    w_out, tx_out, ty_out = out[0], out[1], out[2]
    for j in range(count):
        u, v, w = pixels[first + j, c, 0], pixels[first + j, c, 1], weights[first + j, c]
        usable = (w > min_weight) & (w < np.inf) & (abs(u) < np.inf) & (abs(v) < np.inf)
        negative = (w < 0.0) & (w > -np.inf)
        ty = (v - cy) * inv_fy
        tx = (u - cx - skew * ty) * inv_fx
        w_out[j] = w if usable else 0.0
        tx_out[j] = tx if usable else 0.0
        ty_out[j] = ty if usable else (np.nan if negative else 0.0)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _undistort_fast(count: int, tx: F64, ty: F64, d: F64, x_out: F64, y_out: F64, redo: F64) -> None:
    """Two Newton steps per observation (``k1 k2 p1 p2 k3``); ``redo`` 1 where the shortcut is not exact.

    The start, the series inverse with the tangential terms taken off, is ~1e-5 from the answer on
    common lenses (the first-order inverse alone: ~1e-3), so that strong lenses and wide views need
    the exact inversion far less often."""
    k1, k2, p1, p2, k3 = d[0], d[1], d[2], d[3], d[4]
    b2, b3 = 3.0 * k1 * k1 - k2, -12.0 * k1 * k1 * k1 + 8.0 * k1 * k2 - k3  # series inverse of the radial factor
    for j in range(count):
        a, b = tx[j], ty[j]
        r2 = a * a + b * b
        ab = a * b
        guess = 1.0 + r2 * (-k1 + r2 * (b2 + r2 * b3))
        xg = a * guess - (2.0 * p1 * ab + p2 * (r2 + 2.0 * a * a))
        yg = b * guess - (p1 * (r2 + 2.0 * b * b) + 2.0 * p2 * ab)
        x0, y0, _ = _newton_step(xg, yg, a, b, k1, k2, p1, p2, k3)
        x1, y1, det = _newton_step(x0, y0, a, b, k1, k2, p1, p2, k3)
        dx, dy = x1 - x0, y1 - y0
        x_out[j], y_out[j] = x1, y1
        exact = (dx * dx + dy * dy < _STEP2_LIMIT) & (det > 0.0)
        redo[j] = 0.0 if exact else 1.0


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _undistort_block(count: int, rows: F64, d: F64, model: int, x_out: F64, y_out: F64, redo: F64) -> None:
    """Undistorted normalized points of a camera's block; the weight row drops views with no inverse."""
    w, tx, ty = rows[0], rows[1], rows[2]
    if model == NO_LENS:
        x_out[:count] = tx[:count]
        y_out[:count] = ty[:count]
        return
    if model == LENS12:
        x_out[:count] = tx[:count]
        y_out[:count] = ty[:count]
        redo[:count] = 1.0
    else:
        _undistort_fast(count, tx, ty, d, x_out, y_out, redo)
    for j in range(count):
        if redo[j] != 0.0 and w[j] > 0.0:
            x, y, ok = _undistort(tx[j], ty[j], d, model)
            x_out[j], y_out[j] = (x, y) if ok else (0.0, 0.0)  # a dropped view must add exact zeros
            w[j] = w[j] if ok else 0.0


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _accumulate(count: int, x: F64, y: F64, w: F64, p: F64, m: F64) -> None:
    """Add one camera's rows ``x P3 - P1`` and ``y P3 - P2`` to the normal equations (rows of ``m``) and count it."""
    p00, p01, p02, p03 = p[0, 0], p[0, 1], p[0, 2], p[0, 3]
    p10, p11, p12, p13 = p[1, 0], p[1, 1], p[1, 2], p[1, 3]
    p20, p21, p22, p23 = p[2, 0], p[2, 1], p[2, 2], p[2, 3]
    m00, m01, m02, m11, m12, m22, r0, r1, r2, views = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9]
    for j in range(count):
        xx, yy, w2 = x[j], y[j], w[j] * w[j]
        counted = w[j] > 0.0
        a0, a1, a2, a3 = xx * p20 - p00, xx * p21 - p01, xx * p22 - p02, xx * p23 - p03
        b0, b1, b2, b3 = yy * p20 - p10, yy * p21 - p11, yy * p22 - p12, yy * p23 - p13
        m00[j] += w2 * (a0 * a0 + b0 * b0)
        m01[j] += w2 * (a0 * a1 + b0 * b1)
        m02[j] += w2 * (a0 * a2 + b0 * b2)
        m11[j] += w2 * (a1 * a1 + b1 * b1)
        m12[j] += w2 * (a1 * a2 + b1 * b2)
        m22[j] += w2 * (a2 * a2 + b2 * b2)
        r0[j] -= w2 * (a0 * a3 + b0 * b3)
        r1[j] -= w2 * (a1 * a3 + b1 * b3)
        r2[j] -= w2 * (a2 * a3 + b2 * b3)
        views[j] += 1.0 if counted else 0.0


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _solve_block(count: int, m: F64, solution: F64) -> None:
    """Closed-form solutions of the block's 3x3 systems (rows 0-2 of ``solution``; row 3: 1 where solvable)."""
    for j in range(count):
        m00, m01, m02, m11, m12, m22 = m[0, j], m[1, j], m[2, j], m[3, j], m[4, j], m[5, j]
        r0, r1, r2 = m[6, j], m[7, j], m[8, j]
        c00, c01, c02 = m11 * m22 - m12 * m12, m02 * m12 - m01 * m22, m01 * m12 - m11 * m02
        c11, c12, c22 = m00 * m22 - m02 * m02, m01 * m02 - m00 * m12, m00 * m11 - m01 * m01
        det = m00 * c00 + m01 * c01 + m02 * c02
        scale = (m00 + m11 + m22) / 3.0
        inv = 1.0 / det
        solution[0, j] = (c00 * r0 + c01 * r1 + c02 * r2) * inv
        solution[1, j] = (c01 * r0 + c11 * r1 + c12 * r2) * inv
        solution[2, j] = (c02 * r0 + c12 * r1 + c22 * r2) * inv
        solution[3, j] = 1.0 if det > DEGENERATE_RELATIVE_DET * scale * scale * scale else 0.0


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _reproject(
    count: int, solution: F64, rows: F64, k: F64, d: F64, model: int, p: F64, errors: F64, front: F64
) -> None:
    """Pixel error of each used view (NaN elsewhere); ``front`` drops to 0 where a used view is behind.

    The observation is the normalized ``tx, ty`` of :func:`_normalise`: the error is the difference of
    the distorted normalized projection and it, mapped to pixels by the intrinsics (linear)."""
    w, tx, ty = rows[0], rows[1], rows[2]
    fx, fy, cx, cy, skew = k[0], k[1], k[2], k[3], k[4]
    if model == LENS12:
        for j in range(count):
            zc, _, _, pu, pv = _project(solution[0, j], solution[1, j], solution[2, j], p, d, model, k)
            du, dv = pu - (fx * tx[j] + skew * ty[j] + cx), pv - (fy * ty[j] + cy)
            errors[j] = math.sqrt(du * du + dv * dv) if w[j] > 0.0 else np.nan
            front[j] = front[j] if zc > 0.0 or not w[j] > 0.0 else 0.0
        return
    k1, k2, p1, p2, k3 = d[0], d[1], d[2], d[3], d[4]
    p00, p01, p02, p03 = p[0, 0], p[0, 1], p[0, 2], p[0, 3]
    p10, p11, p12, p13 = p[1, 0], p[1, 1], p[1, 2], p[1, 3]
    p20, p21, p22, p23 = p[2, 0], p[2, 1], p[2, 2], p[2, 3]
    for j in range(count):
        px, py, pz = solution[0, j], solution[1, j], solution[2, j]
        zc = p20 * px + p21 * py + p22 * pz + p23
        inv_z = 1.0 / zc
        x = (p00 * px + p01 * py + p02 * pz + p03) * inv_z
        y = (p10 * px + p11 * py + p12 * pz + p13) * inv_z
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xy = x * y
        xd = x * radial + 2.0 * p1 * xy + p2 * (r2 + 2.0 * x * x)
        yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * xy
        ex, ey = xd - tx[j], yd - ty[j]
        du, dv = fx * ex + skew * ey, fy * ey
        error = math.sqrt(du * du + dv * dv)
        used = w[j] > 0.0
        errors[j] = error if used else np.nan
        front[j] = min(front[j], 1.0 if zc > 0.0 else (0.0 if used else 1.0))


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _run_blocks(
    first_block: int,
    last_block: int,
    pixels: F64,
    weights: F64,
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
    settings: tuple[int, float, int, float],
    points: F64,
    view_errors: F64,
    used: NDArray[np.bool_],
    status: NDArray[np.int8],
    mean_error: F64,
    n_views: NDArray[np.int64],
) -> int:
    """Triangulate the points of blocks ``first_block`` up to ``last_block`` (exclusive) into the outputs;
    returns how many points have a negative weight (marked :data:`NEGATIVE_WEIGHT`)."""
    min_views, min_weight, iterations, tolerance = settings
    n, v = weights.shape
    rows = np.empty((v, 3, BLOCK))  # per camera: weight, tx, ty
    xy = np.empty((v, 2, BLOCK))
    errors = np.empty((v, BLOCK))
    m = np.empty((10, BLOCK))
    solution = np.empty((4, BLOCK))
    front = np.empty(BLOCK)
    redo = np.empty(BLOCK)
    good = np.empty(BLOCK)
    total = np.empty(BLOCK)
    marked = 0
    for block in range(first_block, last_block):
        first = block * BLOCK
        count = min(n, first + BLOCK) - first
        m[:, :count] = 0.0
        for c in range(v):
            _normalise(pixels, weights, first, count, c, min_weight, intrinsics[c], rows[c])
            _undistort_block(count, rows[c], distortion[c], lens[c], xy[c, 0], xy[c, 1], redo)
            _accumulate(count, xy[c, 0], xy[c, 1], rows[c, 0], extrinsics[c], m)
        _solve_block(count, m, solution)
        front[:count] = 1.0
        for c in range(v):
            _reproject(count, solution, rows[c], intrinsics[c], distortion[c], lens[c], extrinsics[c], errors[c], front)
        _statuses(count, m[9], solution[3], front, min_views, status[first : first + count], good)
        for j in range(count):  # NaN normal equations (no good point): a negative weight, if the point has one
            if m[0, j] != m[0, j] and _has_negative_weight(weights, first + j):
                status[first + j] = NEGATIVE_WEIGHT
                marked += 1
        total[:count] = 0.0
        for c in range(v):
            _view_outputs(count, good, rows[c, 0], errors[c], used[c, first : first + count],
                          view_errors[c, first : first + count], total)  # fmt: skip
        _point_outputs(count, good, solution, m[9], total, points[first : first + count],
                       mean_error[first : first + count], n_views[first : first + count])  # fmt: skip
        if iterations > 0:
            for j in range(count):
                if good[j] != 0.0:
                    _refine_point(first + j, pixels, weights, intrinsics, distortion, lens, extrinsics, iterations,
                                  tolerance, points, view_errors, used, mean_error)  # fmt: skip
    return marked


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _statuses(
    count: int, views: F64, solvable: F64, front: F64, min_views: int, status: NDArray[np.int8], good: F64
) -> None:
    """Each point's status (the per-point kernel's order of tests) and ``good`` 1 where it is OK."""
    for j in range(count):
        state = _OK if front[j] != 0.0 else _BEHIND
        state = state if solvable[j] != 0.0 else _DEGENERATE
        state = state if views[j] >= min_views else _TOO_FEW
        status[j] = state
        good[j] = 1.0 if state == _OK else 0.0


@numba.njit(cache=True, error_model="numpy")
def _has_negative_weight(weights: F64, i: int) -> bool:
    """Whether point ``i`` has a negative (finite) weight."""
    row = weights[i]
    return bool(np.any((row < 0.0) & (row > -np.inf)))


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _view_outputs(
    count: int, good: F64, weight: F64, errors: F64, used: NDArray[np.bool_], view_errors: F64, total: F64
) -> None:
    """One camera's column of ``used`` and ``view_errors`` for the block; adds its errors to ``total``."""
    for j in range(count):
        counted = (good[j] != 0.0) & (weight[j] > 0.0)
        used[j] = counted
        view_errors[j] = errors[j] if counted else np.nan
        total[j] += errors[j] if counted else 0.0


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _point_outputs(
    count: int,
    good: F64,
    solution: F64,
    views: F64,
    total: F64,
    points: F64,
    mean_error: F64,
    n_views: NDArray[np.int64],
) -> None:
    """Points, mean errors and view counts of the block; NaN and 0 where the point failed."""
    for j in range(count):
        ok = good[j] != 0.0
        points[j, 0] = solution[0, j] if ok else np.nan
        points[j, 1] = solution[1, j] if ok else np.nan
        points[j, 2] = solution[2, j] if ok else np.nan
        mean_error[j] = total[j] / views[j] if ok else np.nan
        n_views[j] = int(views[j]) if ok else 0


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _refine_point(
    i: int,
    pixels: F64,
    weights: F64,
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
    iterations: int,
    tolerance: float,
    points: F64,
    view_errors: F64,
    used: NDArray[np.bool_],
    mean_error: F64,
) -> None:
    """Gauss-Newton on point ``i`` (its used views set), then its reprojection errors again."""
    px, py, pz = _refine(i, points[i, 0], points[i, 1], points[i, 2], pixels, weights, used, intrinsics, distortion,
                         lens, extrinsics, iterations, tolerance)  # fmt: skip
    total, views = 0.0, 0
    for c in range(weights.shape[1]):
        if used[c, i]:
            _, _, _, pu, pv = _project(px, py, pz, extrinsics[c], distortion[c], lens[c], intrinsics[c])
            view_errors[c, i] = math.sqrt((pu - pixels[i, c, 0]) ** 2 + (pv - pixels[i, c, 1]) ** 2)
            total += view_errors[c, i]
            views += 1
    points[i, 0], points[i, 1], points[i, 2] = px, py, pz
    mean_error[i] = total / views


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def run_blocks_serial(
    pixels: F64,
    weights: F64,
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
    settings: tuple[int, float, int, float],
    points: F64,
    view_errors: F64,
    used: NDArray[np.bool_],
    status: NDArray[np.int8],
    mean_error: F64,
    n_views: NDArray[np.int64],
) -> int:
    """All points on the calling thread (outputs as :meth:`mocap.triangulation.fast_cpu._Prepared.outputs`:
    ``view_errors`` and ``used`` view-major, (V, N)); returns how many points have a negative weight."""
    blocks = (weights.shape[0] + BLOCK - 1) // BLOCK
    return _run_blocks(0, blocks, pixels, weights, intrinsics, distortion, lens, extrinsics, settings, points,
                view_errors, used, status, mean_error, n_views)  # fmt: skip


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, parallel=True)
def run_blocks_parallel(
    pixels: F64,
    weights: F64,
    intrinsics: F64,
    distortion: F64,
    lens: NDArray[np.int64],
    extrinsics: F64,
    settings: tuple[int, float, int, float],
    points: F64,
    view_errors: F64,
    used: NDArray[np.bool_],
    status: NDArray[np.int8],
    mean_error: F64,
    n_views: NDArray[np.int64],
) -> int:
    """As :func:`run_blocks_serial`, in chunks of :data:`CHUNK_BLOCKS` blocks spread over the cores."""
    blocks = (weights.shape[0] + BLOCK - 1) // BLOCK
    chunks = (blocks + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    marked = 0
    for chunk in numba.prange(chunks):
        marked += _run_blocks(chunk * blocks // chunks, (chunk + 1) * blocks // chunks, pixels, weights, intrinsics,
                              distortion, lens, extrinsics, settings, points, view_errors, used, status,
                              mean_error, n_views)  # fmt: skip
    return marked
