"""Accuracy metrics shared by tests, the demo and ``mocap bench``.

* **MPJPE**: mean Euclidean error over joints present on both sides.
* **PCP** (percentage of correct parts), the Shelf/Campus convention (Belagiannis et al., CVPR
  2014, as evaluated by MVPose and VoxelPose): a limb is correct when the mean error of its two end
  joints is at most ``0.5 x`` its true length. Limbs: upper arms, forearms, thighs, shins (both
  sides), torso (neck to hip centre) and head (nose to neck), with neck and hip centre derived from
  the shoulders and hips when a layout lacks them. A true person with no matched prediction in a
  frame counts all its limbs as incorrect.
* **Identity switches** (CLEAR-MOT, Bernardin & Stiefelhagen 2008): per true person, the number of
  times its matched predicted id differs from the id it was last matched with.

People are matched per frame one-to-one (Hungarian) on the mean joint error, up to
``max_match_m``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64, check_shape
from mocap.errors import MismatchError
from mocap.poses3d import Poses3D
from mocap.skeleton.layouts import KeypointLayout
from mocap.skeleton.mapping import layout_mapping

#: PCP limbs as canonical joint pairs (Shelf/Campus: 10 parts).
PCP_LIMBS: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"),
    ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"),
    ("right_knee", "right_ankle"),
    ("neck", "mid_hip"),
    ("nose", "neck"),
)


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


def match_people(
    predicted: NDArray[np.float64], truth: NDArray[np.float64], max_match_m: float = 0.5
) -> list[tuple[int, int]]:
    """One-to-one matching of predicted people (P, J, 3) to true people (G, J, 3) in one frame.

    Cost: mean error over joints present in both; pairs above ``max_match_m`` (or with no common
    joint) are never matched. Returns (truth index, predicted index) pairs.
    """
    from scipy.optimize import linear_sum_assignment

    if len(predicted) == 0 or len(truth) == 0:
        return []
    errors = np.linalg.norm(truth[:, None] - predicted[None], axis=-1)  # (G, P, J)
    valid = np.isfinite(errors)
    counts = valid.sum(axis=-1)
    cost = np.where(counts > 0, np.where(valid, errors, 0.0).sum(axis=-1) / np.maximum(counts, 1), np.inf)
    blocked = ~(cost <= max_match_m)
    rows, cols = linear_sum_assignment(np.where(blocked, 1e6, cost))
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if not blocked[r, c]]


@dataclass(frozen=True)
class MultiPersonScores:
    """Scores of a multi-person reconstruction against ground truth.

    Attributes:
        mpjpe_m: mean joint error over matched people, metres.
        pcp: fraction of correct limbs over all true people and frames (see module docstring).
        id_switches: total identity switches over all true people.
        matched_fraction: fraction of (frame, true person) pairs with a matched prediction.
        false_people: predicted people per frame left unmatched, summed over frames.
        per_person_switches: identity switches per true person.
    """

    mpjpe_m: float
    pcp: float
    id_switches: int
    matched_fraction: float
    false_people: int
    per_person_switches: tuple[int, ...] = field(default=())


def _limb_points(poses: Poses3D, layout: KeypointLayout) -> NDArray[np.float64]:
    """Poses mapped to the canonical joints PCP needs: (T, P, K, 2 ends, 3)."""
    names = sorted({name for limb in PCP_LIMBS for name in limb})
    target = KeypointLayout("pcp", tuple(names), (-1,) * len(names), tuple(names))
    mapped = layout_mapping(layout, target).points(poses.xyz.astype(np.float64))  # (T, P, N, 3)
    index = {n: i for i, n in enumerate(names)}
    ends = np.array([[index[a], index[b]] for a, b in PCP_LIMBS])
    return mapped[:, :, ends]  # (T, P, K, 2, 3)


def evaluate_people(predicted: Poses3D, truth: Poses3D, max_match_m: float = 0.5) -> MultiPersonScores:
    """Score predicted poses against ground truth (same frames; layouts mapped to the truth's).

    Raises:
        MismatchError: if the frame counts differ.
    """
    if predicted.num_frames != truth.num_frames:
        raise MismatchError(f"predicted poses have {predicted.num_frames} frames, ground truth {truth.num_frames}")
    pred_xyz = layout_mapping(predicted.layout, truth.layout).points(predicted.xyz.astype(np.float64))
    true_xyz = truth.xyz.astype(np.float64)
    pred_limbs = _limb_points(Poses3D.from_points(pred_xyz, truth.layout, truth.fps), truth.layout)
    true_limbs = _limb_points(truth, truth.layout)
    errors: list[NDArray[np.float64]] = []
    correct = 0
    limbs_total = 0
    matched = 0
    present_total = 0
    false_people = 0
    last_id: dict[int, int] = {}
    switches = np.zeros(truth.num_people, dtype=int)
    for t in range(truth.num_frames):
        present = np.flatnonzero(np.any(np.isfinite(true_xyz[t, :, :, 0]), axis=-1) & (truth.person_id >= 0))
        live = np.flatnonzero(np.any(np.isfinite(pred_xyz[t, :, :, 0]), axis=-1) & (predicted.person_id >= 0))
        pairs = match_people(pred_xyz[t, live], true_xyz[t, present], max_match_m)
        present_total += len(present)
        matched += len(pairs)
        false_people += len(live) - len(pairs)
        limbs_total += len(present) * len(PCP_LIMBS)
        for g_local, p_local in pairs:
            g, p = int(present[g_local]), int(live[p_local])
            e = joint_errors(pred_xyz[t, p], true_xyz[t, g])
            errors.append(e[np.isfinite(e)])
            ends_error = np.linalg.norm(pred_limbs[t, p] - true_limbs[t, g], axis=-1).mean(axis=-1)  # (K,)
            length = np.linalg.norm(true_limbs[t, g, :, 0] - true_limbs[t, g, :, 1], axis=-1)
            correct += int(np.sum(ends_error <= 0.5 * length))  # NaN compares False: incorrect
            pid = int(predicted.person_id[p])
            if g in last_id and last_id[g] != pid:
                switches[g] += 1
            last_id[g] = pid
    all_errors = np.concatenate(errors) if errors else np.zeros(0)
    return MultiPersonScores(
        mpjpe_m=float(all_errors.mean()) if all_errors.size else float("nan"),
        pcp=correct / limbs_total if limbs_total else float("nan"),
        id_switches=int(switches.sum()),
        matched_fraction=matched / present_total if present_total else float("nan"),
        false_people=false_people,
        per_person_switches=tuple(int(s) for s in switches),
    )
