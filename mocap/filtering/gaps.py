"""Gap filling of point trajectories: interpolate short runs of missing samples, never long ones.

A *gap* is a run of consecutive missing samples (any NaN component) with a valid sample on both
sides. Gaps of at most ``max_gap`` samples are filled; longer gaps, and missing samples at the start
or end of a trajectory (which would need extrapolation), stay NaN.

Methods:

* ``"linear"``: straight line between the two samples that bound the gap.
* ``"cubic"``: a cubic spline (scipy ``CubicSpline``, not-a-knot) through every valid sample of the
  *island* the gap belongs to — the stretch of the trajectory between two gaps longer than
  ``max_gap`` — so data across a long gap never shapes the fill. Islands with fewer than 4 valid
  samples fall back to linear for lack of support (logged at debug level).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64
from calibration.errors import ShapeError

log = logging.getLogger(__name__)

GapMethod = Literal["linear", "cubic"]


@dataclass(frozen=True, eq=False)
class FilledSeries:
    """A trajectory after gap filling.

    Attributes:
        values: (T, ..., C) float64; filled samples hold interpolated values, long gaps stay NaN.
        filled: (T, ...) True where a sample was missing and is now interpolated.
    """

    values: NDArray[np.float64] = field(repr=False)
    filled: NDArray[np.bool_] = field(repr=False)


def find_gaps(valid: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Interior runs of missing samples of a 1-D validity mask, as ``(start, stop)`` half-open ranges.

    Runs touching the start or the end of the series are not gaps (nothing bounds them).
    """
    valid = np.asarray(valid, dtype=bool)
    if valid.ndim != 1:
        raise ValueError(f"valid must be 1-D, got shape {valid.shape}")
    edges = np.diff(np.concatenate([[1], valid.astype(np.int8), [1]]))
    starts = np.flatnonzero(edges == -1)
    stops = np.flatnonzero(edges == 1)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if a > 0 and b < len(valid)]


def _fill_channel(values: NDArray[np.float64], max_gap: int, method: GapMethod) -> NDArray[np.bool_]:
    """Fill the short gaps of one trajectory (T, C) in place; returns the filled mask (T,)."""
    from scipy.interpolate import CubicSpline

    valid = np.all(np.isfinite(values), axis=1)
    filled = np.zeros(len(values), dtype=bool)
    gaps = find_gaps(valid)
    short = [(a, b) for a, b in gaps if b - a <= max_gap]
    if not short:
        return filled
    # islands: stretches between long gaps (or the series ends)
    cuts = [0] + [x for a, b in gaps if b - a > max_gap for x in (a, b)] + [len(values)]
    for first, last in zip(cuts[::2], cuts[1::2], strict=True):
        inside = [(a, b) for a, b in short if first <= a and b <= last]
        if not inside:
            continue
        times = np.flatnonzero(valid[first:last]) + first
        use_linear = method == "linear" or len(times) < 4
        if method == "cubic" and len(times) < 4:
            log.debug("island of %d valid samples: linear fill instead of cubic", len(times))
        spline = None if use_linear else CubicSpline(times, values[times], axis=0)
        for a, b in inside:
            t = np.arange(a, b)
            if spline is None:
                left, right = values[a - 1], values[b]
                fraction = ((t - (a - 1)) / (b - (a - 1)))[:, None]
                values[a:b] = left + fraction * (right - left)
            else:
                values[a:b] = spline(t)
            filled[a:b] = True
    return filled


def fill_gaps(series: ArrayLike, max_gap: int, method: GapMethod = "cubic") -> FilledSeries:
    """Interpolate missing samples in gaps of at most ``max_gap`` samples.

    Args:
        series: (T, ..., C) trajectories over time (e.g. (T, P, J, 3) poses); a sample is missing
            when any of its C components is NaN.
        max_gap: longest run of missing samples to fill (0 fills nothing).
        method: ``"linear"`` or ``"cubic"`` (see the module docstring).

    Returns:
        A :class:`FilledSeries`; the input is not modified.

    Raises:
        ShapeError: ``series`` is not at least 2-D.
        ValueError: ``max_gap < 0`` or an unknown method.
    """
    values = np.array(as_float64("series", series, (..., None)), copy=True)
    if values.ndim < 2:
        raise ShapeError("series", "shape (T, ..., C)", f"shape {values.shape}")
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0 samples, got {max_gap}")
    if method not in ("linear", "cubic"):
        raise ValueError(f"gap filling method must be 'linear' or 'cubic', got {method!r}")
    shape = values.shape
    flat = values.reshape(shape[0], -1, shape[-1])  # (T, K, C), a view
    filled = np.zeros(flat.shape[:2], dtype=bool)
    if max_gap > 0:
        for k in range(flat.shape[1]):
            filled[:, k] = _fill_channel(flat[:, k], max_gap, method)  # fills the view in place
    return FilledSeries(values=flat.reshape(shape), filled=filled.reshape(shape[:-1]))
