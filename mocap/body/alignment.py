"""Rigid torso alignment that starts an SMPL fit: per frame, the rotation and translation that
carry the rest-pose torso onto the triangulated torso (weighted Kabsch / Umeyama without scale).

Only torso keypoints (hips, shoulders, neck, pelvis) are used: they barely move between SMPL's
T-pose and any natural pose, so the rigid fit is a good start for the orientation, including the
change from SMPL's Y-up frame to the studio's Z-up world. Frames with fewer than three usable torso
points (or collinear ones) take the solution of the nearest frame that has one.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mocap.errors import MocapError


class FitError(MocapError, ValueError):
    """The joints cannot be fitted (no usable torso, an all-NaN person, ...)."""


def weighted_kabsch(
    source: NDArray[np.float64], target: NDArray[np.float64], weights: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Rigid transforms ``target ~ R @ source + t`` per batch entry.

    Args:
        source: (B, K, 3) or (K, 3) points to move.
        target: (B, K, 3) points to reach; NaN entries must have weight 0.
        weights: (B, K) non-negative weights.

    Returns:
        ``R (B, 3, 3)``, ``t (B, 3)`` and ``ok (B,)``: False where fewer than 3 weighted points or
        a degenerate (collinear) configuration left the rotation undetermined (R = I, t = 0 there).
    """
    src = np.broadcast_to(source, target.shape)
    w = np.where(np.isfinite(target[..., 0]), weights, 0.0)
    tgt = np.where(w[..., None] > 0, target, 0.0)
    total = w.sum(axis=1)  # (B,)
    safe = np.maximum(total, 1e-12)[:, None]
    src_mean = (w[..., None] * src).sum(axis=1) / safe
    tgt_mean = (w[..., None] * tgt).sum(axis=1) / safe
    cov = np.einsum("bk,bki,bkj->bij", w, tgt - tgt_mean[:, None], src - src_mean[:, None])  # (B, 3, 3)
    u, s, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u @ vt))
    sign = np.where(sign == 0, 1.0, sign)
    d = np.ones((len(cov), 3))
    d[:, 2] = sign
    rotation = u @ (d[:, :, None] * vt)
    ok = (np.count_nonzero(w > 0, axis=1) >= 3) & (s[:, 1] > 1e-6 * np.maximum(s[:, 0], 1e-12))
    rotation[~ok] = np.eye(3)
    translation = tgt_mean - np.einsum("bij,bj->bi", rotation, src_mean)
    translation[~ok] = 0.0
    return rotation, translation, ok


def fill_from_nearest(values: NDArray[np.float64], ok: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Replace entries of ``values (T, ...)`` where ``ok`` is False by the nearest entry where it is True."""
    good = np.flatnonzero(ok)
    if len(good) == len(ok):
        return values
    frames = np.arange(len(ok))
    position = np.clip(np.searchsorted(good, frames), 1, max(len(good) - 1, 1))
    left = good[np.maximum(position - 1, 0)]
    right = good[np.minimum(position, len(good) - 1)]
    nearest = np.where(np.abs(frames - left) <= np.abs(right - frames), left, right)
    return values[nearest]


def align_torso(
    rest_points: NDArray[np.float64], observed: NDArray[np.float64], weights: NDArray[np.float64], person: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Per-frame rigid alignment of the rest torso onto the observed torso.

    Args:
        rest_points: (K, 3) torso points of the rest model (model frame).
        observed: (T, K, 3) triangulated torso points (world), NaN where missing.
        weights: (T, K) weights (0 where missing).
        person: person id, for messages.

    Returns:
        ``world_from_rest (T, 3, 3)``, ``translation (T, 3)`` (``world = R @ rest + t``) and
        ``aligned (T,)`` True where the frame had its own solution.

    Raises:
        FitError: no frame has three usable torso points.
    """
    rotation, translation, ok = weighted_kabsch(rest_points, observed, weights)
    if not np.any(ok):
        raise FitError(
            f"person {person}: no frame has 3 triangulated torso keypoints (hips, shoulders, neck); cannot fit SMPL"
        )
    return fill_from_nearest(rotation, ok), fill_from_nearest(translation, ok), ok
