"""Undistortion for the live path: OpenCV's iteration, checked against the exact model.

:meth:`calibration.camera.Camera.undistort_points` inverts the lens model by Newton's method in
numpy, exact to ~1e-9 px; for the few hundred keypoints of a live frame set its per-call overhead
made it half of the reconstruction time (about 2 ms per camera here). OpenCV's
``undistortPointsIter`` does the same inversion in C++ in a tenth of that (measured on the
studio's lenses: identical to 1e-10 px). OpenCV's fixed-point iteration can stop short or land on
the wrong branch for strong lenses near the image corners, so every point is **verified**: the
solution is distorted forward again (:func:`calibration.distortion.distort_with_jacobian`) and kept
only when it reproduces the input within ``1e-12`` (normalized units, ~1e-9 px) on the branch where
the model is one-to-one (Jacobian determinant > 0); any other point goes through the exact
Newton inversion. The result is therefore the exact one, only faster when OpenCV gets there.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from calibration.camera import Camera
from calibration.distortion import distort_with_jacobian

#: Largest forward-distortion residual (normalized units) for OpenCV's answer to be kept.
TOLERANCE = 1e-12


def undistort_normalized(camera: Camera, pixels: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pixels ``(..., 2)`` of ``camera`` -> undistorted normalized coordinates ``(..., 2)``.

    Same answer as ``camera.undistort_points(pixels, normalized=True)`` (module docstring): NaN
    in gives NaN out, and points the lens model cannot invert are NaN.
    """
    import cv2

    flat = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    out = np.full(flat.shape, np.nan)
    finite = np.flatnonzero(np.all(np.isfinite(flat), axis=-1))
    coefficients = np.asarray(camera.distortion, dtype=np.float64)
    if finite.size == 0:
        return out.reshape(np.shape(pixels))
    if coefficients.size == 0 or not np.any(coefficients):
        out[finite] = camera.undistort_points(flat[finite], normalized=True)
        return out.reshape(np.shape(pixels))
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-14)
    identity = np.eye(3)  # no rectification, and normalized coordinates out
    points = flat[finite].reshape(-1, 1, 2)
    solved = cv2.undistortPointsIter(points, camera.matrix, coefficients, identity, identity, criteria)
    fast = np.asarray(solved, dtype=np.float64).reshape(-1, 2)
    target = camera.pixels_to_normalized(flat[finite])  # distorted normalized coordinates
    value, jacobian = distort_with_jacobian(fast, coefficients)
    det = jacobian[:, 0, 0] * jacobian[:, 1, 1] - jacobian[:, 0, 1] * jacobian[:, 1, 0]
    with np.errstate(invalid="ignore"):
        good = (np.max(np.abs(value - target), axis=-1) < TOLERANCE) & (det > 0)
    out[finite[good]] = fast[good]
    if not np.all(good):
        out[finite[~good]] = camera.undistort_points(flat[finite[~good]], normalized=True)
    return out.reshape(np.shape(pixels))
