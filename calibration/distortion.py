"""OpenCV's lens distortion model, forward and inverse, batched in numpy.

Coefficients follow OpenCV's order ``k1, k2, p1, p2[, k3[, k4, k5, k6[, s1, s2, s3, s4]]]``
(4, 5, 8 or 12 values; an empty vector means no distortion). On normalized image coordinates
``(x, y)`` with ``r2 = x^2 + y^2``::

    radial = (1 + k1 r2 + k2 r2^2 + k3 r2^3) / (1 + k4 r2 + k5 r2^2 + k6 r2^3)
    xd = x radial + 2 p1 x y + p2 (r2 + 2 x^2) + s1 r2 + s2 r2^2
    yd = y radial + p1 (r2 + 2 y^2) + 2 p2 x y + s3 r2 + s4 r2^2

OpenCV's ``undistortPoints`` inverts this with a fixed number of fixed-point iterations, which
leaves errors of 1e-3 px and more near the corners of strongly distorted images. We invert with
Newton's method on the analytic 2x2 Jacobian until the residual is below 1e-13 (normalized), which
makes ``project`` then ``undistort`` the identity to ~1e-9 px. Points where Newton does not converge
or lands where the model folds over (Jacobian determinant <= 0) come back as NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Number of coefficients OpenCV accepts that this model implements.
SUPPORTED_LENGTHS = (0, 4, 5, 8, 12)

_NEWTON_ITERATIONS = 50
_NEWTON_TOLERANCE = 1e-13


def _padded(coefficients: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.zeros(12)
    out[: len(coefficients)] = coefficients
    return out


def _terms(xy: NDArray[np.float64], c: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = c
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    num = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    den = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
    radial = num / den
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x) + r2 * (s1 + s2 * r2)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y + r2 * (s3 + s4 * r2)
    return x, y, r2, num, den, radial, xd, yd


def distort(normalized: NDArray[np.float64], coefficients: NDArray[np.float64]) -> NDArray[np.float64]:
    """Apply distortion to normalized coordinates ``(..., 2)`` -> distorted normalized ``(..., 2)``."""
    if len(coefficients) == 0:
        return np.array(normalized, dtype=np.float64, copy=True)
    *_, xd, yd = _terms(normalized, _padded(coefficients))
    return np.stack([xd, yd], axis=-1)


def distort_with_jacobian(
    normalized: NDArray[np.float64], coefficients: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Distorted coordinates ``(..., 2)`` and their Jacobian ``d(xd, yd)/d(x, y)`` ``(..., 2, 2)``."""
    c = _padded(coefficients)
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = c
    x, y, r2, num, den, radial, xd, yd = _terms(normalized, c)
    dnum = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
    dden = k4 + r2 * (2.0 * k5 + 3.0 * k6 * r2)
    drad = (dnum * den - num * dden) / (den * den)  # d radial / d r2
    sx = s1 + 2.0 * s2 * r2  # d(s1 r2 + s2 r2^2)/d r2
    sy = s3 + 2.0 * s4 * r2
    jac = np.empty(normalized.shape[:-1] + (2, 2))
    jac[..., 0, 0] = radial + 2.0 * x * x * drad + 2.0 * p1 * y + 6.0 * p2 * x + 2.0 * x * sx
    jac[..., 0, 1] = 2.0 * x * y * drad + 2.0 * p1 * x + 2.0 * p2 * y + 2.0 * y * sx
    jac[..., 1, 0] = 2.0 * x * y * drad + 2.0 * p1 * x + 2.0 * p2 * y + 2.0 * x * sy
    jac[..., 1, 1] = radial + 2.0 * y * y * drad + 6.0 * p1 * y + 2.0 * p2 * x + 2.0 * y * sy
    return np.stack([xd, yd], axis=-1), jac


def undistort(distorted: NDArray[np.float64], coefficients: NDArray[np.float64]) -> NDArray[np.float64]:
    """Invert :func:`distort`: distorted normalized ``(..., 2)`` -> normalized ``(..., 2)``.

    NaN in gives NaN out; points that cannot be inverted (outside the region where the model is
    one-to-one) give NaN.
    """
    target = np.asarray(distorted, dtype=np.float64)
    if len(coefficients) == 0 or not np.any(coefficients):
        return np.array(target, copy=True)
    flat = target.reshape(-1, 2)
    solution = flat.copy()
    active = np.all(np.isfinite(flat), axis=-1)
    converged = np.zeros(len(flat), dtype=bool)
    for _ in range(_NEWTON_ITERATIONS):
        idx = np.flatnonzero(active & ~converged)
        if idx.size == 0:
            break
        value, jac = distort_with_jacobian(solution[idx], coefficients)
        residual = value - flat[idx]
        done = np.max(np.abs(residual), axis=-1) < _NEWTON_TOLERANCE
        converged[idx[done]] = True
        todo = ~done
        if not np.any(todo):
            break
        det = jac[todo, 0, 0] * jac[todo, 1, 1] - jac[todo, 0, 1] * jac[todo, 1, 0]
        bad = ~(np.abs(det) > 1e-12)
        det = np.where(bad, 1.0, det)
        r = residual[todo]
        step = np.stack(
            [
                (jac[todo, 1, 1] * r[:, 0] - jac[todo, 0, 1] * r[:, 1]) / det,
                (-jac[todo, 1, 0] * r[:, 0] + jac[todo, 0, 0] * r[:, 1]) / det,
            ],
            axis=-1,
        )
        # Damp long steps: Newton on a folding polynomial can jump to another branch.
        limit = 0.5 * (1.0 + np.linalg.norm(solution[idx[todo]], axis=-1, keepdims=True))
        length = np.linalg.norm(step, axis=-1, keepdims=True)
        step = np.where(length > limit, step * (limit / np.maximum(length, 1e-300)), step)
        solution[idx[todo]] -= step
        active[idx[todo][bad]] = False
    ok = converged.copy()
    if np.any(ok):
        _, jac = distort_with_jacobian(solution[ok], coefficients)
        det = jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
        ok[np.flatnonzero(ok)[det <= 0]] = False
    solution[~ok] = np.nan
    return solution.reshape(target.shape)


def max_monotonic_radius(coefficients: NDArray[np.float64], limit: float = 4.0) -> float:
    """Largest normalized radius up to ``limit`` over which the radial part stays increasing.

    Beyond it, the model folds back (two undistorted radii map to one distorted radius) and no
    inverse exists. Used to validate synthetic lenses and to warn about suspicious calibrations.
    """
    c = _padded(coefficients)
    radii = np.linspace(0.0, limit, 4001)
    xy = np.stack([radii, np.zeros_like(radii)], axis=-1)
    c_radial = c.copy()
    c_radial[2:4] = 0.0
    c_radial[8:] = 0.0
    rd = distort(xy, c_radial)[:, 0]
    rising = np.diff(rd) > 0
    if np.all(rising):
        return limit
    return float(radii[int(np.argmin(rising))])
