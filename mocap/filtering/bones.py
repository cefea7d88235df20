"""Per-person bone lengths: robust estimation over a take and soft enforcement frame by frame.

Bones are the tree edges of the keypoint layout (:attr:`KeypointLayout.bones`). A person's bones do
not change length, but triangulated joints jitter and every frame's bone lengths with them.

* **Estimation**: the median over frames of each bone's length, optionally over the frames where
  both ends are trustworthy (weight above a floor) — robust to the occasional wrong joint.
* **Soft enforcement**: position-based constraint projection (Mueller et al., *Position Based
  Dynamics*, 2007), vectorised over frames and bones. Each round moves the two ends of every bone
  along the bone so its length moves ``stiffness`` of the way to the target, split between the
  ends by their inverse weights (a joint seen by more views moves less), and averaged over the
  bones that meet at a joint (Jacobi). ``stiffness = 1`` with many rounds approaches hard
  constraints; the default keeps it soft so real measurements still dominate.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64, check_shape
from mocap.skeleton.layouts import KeypointLayout

_EPS = 1e-12


def bone_lengths(xyz: ArrayLike, layout: KeypointLayout) -> NDArray[np.float64]:
    """Length of every bone in every frame: (T, J, 3) -> (T, B), NaN where an end is missing."""
    points = as_float64("xyz", xyz, (..., layout.num_joints, 3))
    bones = np.array(layout.bones, dtype=np.int64).reshape(-1, 2)
    return np.linalg.norm(points[..., bones[:, 1], :] - points[..., bones[:, 0], :], axis=-1)


def estimate_bone_lengths(
    xyz: ArrayLike,
    layout: KeypointLayout,
    weights: ArrayLike | None = None,
    *,
    min_weight: float = 0.0,
) -> NDArray[np.float64]:
    """A person's bone lengths: the median over frames.

    Args:
        xyz: (T, J, 3) joint positions of one person, metres; NaN where missing.
        layout: the keypoint layout (its tree gives the bones).
        weights: (T, J) trust per joint (e.g. views used); a bone counts in a frame when both ends
            have a weight above ``min_weight``. None counts every frame where both ends exist.
        min_weight: see ``weights``.

    Returns:
        (B,) metres in the order of ``layout.bones``; NaN for a bone never seen.
    """
    points = as_float64("xyz", xyz, (None, layout.num_joints, 3))
    lengths = bone_lengths(points, layout)  # (T, B)
    if weights is not None:
        w = as_float64("weights", weights, (None, layout.num_joints))
        check_shape("weights", w, points.shape[:2])
        bones = np.array(layout.bones, dtype=np.int64).reshape(-1, 2)
        trusted = (w[:, bones[:, 0]] > min_weight) & (w[:, bones[:, 1]] > min_weight)
        lengths = np.where(trusted, lengths, np.nan)
    out = np.full(lengths.shape[1], np.nan)
    seen = np.any(np.isfinite(lengths), axis=0)
    if np.any(seen):
        out[seen] = np.nanmedian(lengths[:, seen], axis=0)
    return out


def enforce_bone_lengths(
    xyz: ArrayLike,
    layout: KeypointLayout,
    lengths: ArrayLike,
    *,
    stiffness: float = 0.5,
    rounds: int = 10,
    weights: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Pull every frame's bones towards the given lengths (soft constraint, see the module docstring).

    Args:
        xyz: (T, J, 3) joint positions of one person, metres; NaN joints stay NaN and do not move
            their neighbours.
        layout: the keypoint layout (its tree gives the bones).
        lengths: (B,) target lengths in the order of ``layout.bones``; NaN bones are left free.
        stiffness: in [0, 1], the fraction of each bone's length error removed per round.
        rounds: number of projection rounds.
        weights: (T, J) trust per joint (> 0); a joint moves in proportion to 1 / weight relative
            to the other end of the bone. None: equal.

    Returns:
        (T, J, 3) adjusted positions.

    Raises:
        ShapeError: shapes that do not match the layout or each other.
        ValueError: stiffness outside [0, 1] or negative rounds.
    """
    if not 0.0 <= stiffness <= 1.0:
        raise ValueError(f"stiffness must be in [0, 1], got {stiffness}")
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    points = np.array(as_float64("xyz", xyz, (None, layout.num_joints, 3)), copy=True)
    bones = np.array(layout.bones, dtype=np.int64).reshape(-1, 2)
    target = as_float64("lengths", lengths, (len(bones),))
    if weights is None:
        inverse_mass = np.ones(points.shape[:2])
    else:
        w = as_float64("weights", weights, (None, layout.num_joints))
        check_shape("weights", w, points.shape[:2])
        inverse_mass = 1.0 / np.maximum(np.nan_to_num(w), _EPS)
    parent, child = bones[:, 0], bones[:, 1]
    active_bone = np.isfinite(target)
    degree = np.zeros(layout.num_joints)
    np.add.at(degree, parent[active_bone], 1.0)
    np.add.at(degree, child[active_bone], 1.0)
    degree = np.maximum(degree, 1.0)
    for _ in range(rounds):
        delta = points[:, child] - points[:, parent]  # (T, B, 3)
        length = np.linalg.norm(delta, axis=-1)  # (T, B)
        ok = np.isfinite(length) & (length > _EPS) & active_bone
        direction = np.where(ok[..., None], delta / np.where(ok, length, 1.0)[..., None], 0.0)
        error = np.where(ok, length - target, 0.0)  # > 0: too long
        m_parent, m_child = inverse_mass[:, parent], inverse_mass[:, child]
        share = stiffness * error / (m_parent + m_child)  # (T, B)
        correction = np.zeros((layout.num_joints,) + points.shape[:1] + (3,))  # (J, T, 3): index joints first
        np.add.at(correction, parent, np.moveaxis((share * m_parent)[..., None] * direction, 1, 0))
        np.add.at(correction, child, np.moveaxis(-(share * m_child)[..., None] * direction, 1, 0))
        points += np.moveaxis(np.nan_to_num(correction), 0, 1) / degree[None, :, None]
    return points
