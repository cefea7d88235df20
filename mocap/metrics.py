"""Accuracy metrics shared by tests, the demo and ``mocap bench``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64, check_shape


def joint_errors(predicted: ArrayLike, truth: ArrayLike) -> NDArray[np.float64]:
    """Euclidean error per joint, ``(..., 3)`` x2 -> ``(...)``; NaN where either side is NaN."""
    p = as_float64("predicted", predicted, (..., 3))
    t = as_float64("truth", truth, (..., 3))
    check_shape("truth", t, p.shape)
    return np.linalg.norm(p - t, axis=-1)


def mpjpe(predicted: ArrayLike, truth: ArrayLike) -> float:
    """Mean per-joint position error over joints present on both sides (units of the input).

    Returns NaN when no joint is present on both sides.
    """
    errors = joint_errors(predicted, truth)
    valid = np.isfinite(errors)
    return float(errors[valid].mean()) if np.any(valid) else float("nan")
