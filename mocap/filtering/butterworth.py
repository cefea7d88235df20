"""Zero-phase low-pass Butterworth filtering of trajectories (offline), NaN-aware.

The filter runs forward and backward (scipy ``sosfiltfilt``), which cancels the phase (no lag)
and squares the magnitude response. By default the cutoff is where the *combined* two-pass
response is -3.01 dB (half power), the convention of biomechanics (Winter, *Biomechanics and
Motor Control of Human Movement*, 4th ed., sec. 3.4.4.3): each pass is designed with a slightly
higher cutoff so that ``|H_pass(f_c)|^2 = 2^(-1/2)``. For a digital Butterworth of order ``n``
designed with the bilinear transform, ``|H_pass(f)|^2 = 1 / (1 + (W(f) / W_p)^(2n))`` with
``W(f) = tan(pi f / fs)``, so ``W_p = W(f_c) / (sqrt(2) - 1)^(1 / (2n))``. With
``two_pass_cutoff=False`` the cutoff is the one of each pass (as in a plain ``filtfilt``), where
the combined response is -6.02 dB.

Missing samples (NaN) are never filtered across: each run of consecutive valid samples is filtered
on its own, with the edge padding shortened to fit short runs. Runs shorter than
``MIN_RUN`` samples are too short to filter and are returned unchanged. Fill short gaps first
(:mod:`mocap.filtering.gaps`) to filter across them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64
from calibration.errors import ShapeError

#: Shortest run of valid samples that is filtered.
MIN_RUN = 4


def pass_cutoff_hz(cutoff_hz: float, fps: float, order: int) -> float:
    """Cutoff of each of the two passes so the combined response is -3.01 dB at ``cutoff_hz``.

    Computed in the warped frequency ``tan(pi f / fs)`` of the bilinear transform, so the result
    stays below the Nyquist frequency for any cutoff below it.
    """
    warped = np.tan(np.pi * cutoff_hz / fps)
    corrected = warped / (np.sqrt(2.0) - 1.0) ** (1.0 / (2 * order))
    return float(np.arctan(corrected) * fps / np.pi)


def butterworth_sos(cutoff_hz: float, fps: float, order: int = 4, *, two_pass_cutoff: bool = True) -> NDArray:
    """Second-order sections of the low-pass filter run forward and backward (see the module docstring).

    Raises:
        ValueError: a cutoff that is not in (0, fps / 2), a non-positive fps or order.
    """
    from scipy.signal import butter

    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    if order < 1:
        raise ValueError(f"filter order must be >= 1, got {order}")
    if not (np.isfinite(cutoff_hz) and 0 < cutoff_hz < 0.5 * fps):
        raise ValueError(f"cutoff must be in (0, {0.5 * fps:g}) Hz (below Nyquist at {fps:g} fps), got {cutoff_hz}")
    design = pass_cutoff_hz(cutoff_hz, fps, order) if two_pass_cutoff else cutoff_hz
    return np.asarray(butter(order, design, btype="low", fs=fps, output="sos"))


def _runs(valid: NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], valid.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def butterworth_filter(
    series: ArrayLike,
    fps: float,
    cutoff_hz: float,
    order: int = 4,
    *,
    two_pass_cutoff: bool = True,
) -> NDArray[np.float64]:
    """Low-pass filter trajectories with no phase lag.

    Args:
        series: (T, ..., C) samples over time, e.g. (T, P, J, 3) poses; a sample with any NaN
            component is missing.
        fps: samples per second.
        cutoff_hz: cutoff frequency, Hz (see ``two_pass_cutoff``).
        order: order of the Butterworth design of each pass.
        two_pass_cutoff: True: -3.01 dB of the whole zero-phase filter at the cutoff; False: the
            cutoff of each pass (-6.02 dB in all).

    Returns:
        (T, ..., C) float64: filtered runs of valid samples; missing samples stay NaN, runs shorter
        than :data:`MIN_RUN` are unchanged.

    Raises:
        ShapeError: ``series`` is not at least 2-D.
        ValueError: bad fps, cutoff or order.
    """
    from scipy.signal import sosfiltfilt

    values = np.array(as_float64("series", series, (..., None)), copy=True)
    if values.ndim < 2:
        raise ShapeError("series", "shape (T, ..., C)", f"shape {values.shape}")
    sos = butterworth_sos(cutoff_hz, fps, order, two_pass_cutoff=two_pass_cutoff)
    default_pad = 3 * (2 * len(sos) + 1)  # scipy's default padlen for sosfiltfilt
    shape = values.shape
    flat = values.reshape(shape[0], -1, shape[-1])  # (T, K, C) view
    valid = np.all(np.isfinite(flat), axis=-1)  # (T, K)
    # channels with identical validity are filtered together
    patterns, inverse = np.unique(valid, axis=1, return_inverse=True)
    for p in range(patterns.shape[1]):
        columns = np.flatnonzero(inverse.ravel() == p)
        for start, stop in _runs(patterns[:, p]):
            if stop - start < MIN_RUN:
                continue
            block = flat[start:stop][:, columns]  # (n, k, C)
            pad = min(default_pad, stop - start - 1)
            flat[start:stop, columns] = sosfiltfilt(sos, block, axis=0, padlen=pad)
    return flat.reshape(shape)
