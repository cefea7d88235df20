"""The solver's rule for missing joints (NaN): linear gap filling, ends held.

Rule (documented for users in the export docs): a joint missing in some frames is filled, per
coordinate, by linear interpolation between the nearest frames where it was reconstructed; before
its first and after its last reconstruction it holds that value. A joint missing on every frame is
not filled: required joints then make the person unsolvable (an error naming them), optional ones
are treated as absent from the layout. Bone lengths are measured on reconstructed frames only.

This is deliberately simple and local to the solver; smoothing and model-based gap filling belong to
:mod:`mocap.filtering`, which the caller may run first.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def fill_gaps(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Fill NaN runs of ``(T, C)`` per column by linear interpolation, holding the ends.

    Columns that are NaN on every frame stay NaN.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    frames = np.arange(len(out))
    for c in range(out.shape[1]):
        known = np.isfinite(out[:, c])
        if known.any() and not known.all():
            out[:, c] = np.interp(frames, frames[known], out[known, c])
    return out


def fill_point_gaps(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`fill_gaps` for points ``(T, N, 3)``: each point is filled where any coordinate is NaN."""
    t, n, _ = points.shape
    clean = np.where(np.any(np.isnan(points), axis=-1, keepdims=True), np.nan, points)
    return fill_gaps(clean.reshape(t, n * 3)).reshape(t, n, 3)
