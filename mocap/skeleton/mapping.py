"""Mapping keypoints from one layout to another.

A target joint takes, in order of preference:

1. the source joint of the same canonical name;
2. the first derivation in :data:`DERIVATIONS` whose source joints all exist: the mean of those
   joints (e.g. ``neck`` = mean of the shoulders, ``mid_hip`` = mean of the hips);
3. otherwise it is unavailable (NaN coordinates, score 0).

Derivations marked *approximate* join points that are close but not the same anatomical point
(SMPL's ``pelvis`` vs the hip-centre keypoint, BlazePose's ``foot_index`` vs the big toe); they are
good to a few centimetres and serve association, drawing and initialisation, not biomechanics.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.arrays import as_float64
from mocap.errors import ShapeError
from mocap.skeleton.layouts import KeypointLayout

#: target joint -> alternatives, each a tuple of source joints whose mean gives the target.
DERIVATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "mid_hip": (("pelvis",), ("left_hip", "right_hip")),  # pelvis: approximate
    "pelvis": (("mid_hip",), ("left_hip", "right_hip")),  # approximate
    "neck": (("left_shoulder", "right_shoulder"),),
    "head": (("left_ear", "right_ear"),),  # SMPL head joint: approximate
    "left_big_toe": (("left_foot_index",),),  # approximate
    "right_big_toe": (("right_foot_index",),),
    "left_foot_index": (("left_big_toe",),),
    "right_foot_index": (("right_big_toe",),),
    "left_foot": (("left_big_toe", "left_small_toe"), ("left_foot_index",)),  # SMPL toe base: approximate
    "right_foot": (("right_big_toe", "right_small_toe"), ("right_foot_index",)),
    "left_hand": (("left_index", "left_pinky"),),
    "right_hand": (("right_index", "right_pinky"),),
    "left_eye": (("left_eye_inner", "left_eye_outer"),),
    "right_eye": (("right_eye_inner", "right_eye_outer"),),
}


@dataclass(frozen=True)
class LayoutMapping:
    """Linear map from source joints to target joints.

    Attributes:
        source: layout of the input.
        target: layout of the output.
        weights: (J_target, J_source); each available row sums to 1, unavailable rows are 0.
        available: (J_target,) True where the target joint can be computed.
    """

    source: KeypointLayout
    target: KeypointLayout
    weights: NDArray[np.float64]
    available: NDArray[np.bool_]

    def points(self, values: ArrayLike) -> NDArray[np.float64]:
        """Map coordinates ``(..., J_source, C)`` -> ``(..., J_target, C)``.

        A target joint is NaN if it is unavailable or any joint it is made from is NaN.
        """
        v = as_float64("values", values, (..., self.source.num_joints, None))
        missing = np.any(np.isnan(v), axis=-1)  # (..., Js)
        clean = np.where(missing[..., None], 0.0, v)
        out = np.einsum("ts,...sc->...tc", self.weights, clean)
        uses_missing = np.einsum("ts,...s->...t", (self.weights != 0).astype(float), missing.astype(float)) > 0
        bad = uses_missing | ~self.available
        out[bad] = np.nan
        return out

    def scores(self, scores: ArrayLike) -> NDArray[np.float64]:
        """Map scores ``(..., J_source)`` -> ``(..., J_target)``: the minimum over contributing joints.

        Unavailable target joints get 0.
        """
        s = as_float64("scores", scores, (..., self.source.num_joints))
        if s.shape[-1] != self.source.num_joints:
            raise ShapeError("scores", f"(..., {self.source.num_joints})", str(s.shape))
        used = self.weights != 0  # (Jt, Js)
        expanded = np.where(used, s[..., None, :], np.inf)  # (..., Jt, Js)
        out = np.min(expanded, axis=-1)
        out[..., ~self.available] = 0.0
        return np.where(np.isfinite(out), out, 0.0)


@lru_cache(maxsize=64)
def layout_mapping(source: KeypointLayout, target: KeypointLayout) -> LayoutMapping:
    """The mapping from ``source`` to ``target`` (cached; see the module docstring for the rules)."""
    weights = np.zeros((target.num_joints, source.num_joints))
    available = np.zeros(target.num_joints, dtype=bool)
    for t, name in enumerate(target.joint_names):
        if name in source:
            weights[t, source.index(name)] = 1.0
            available[t] = True
            continue
        for alternative in DERIVATIONS.get(name, ()):
            if all(j in source for j in alternative):
                for j in alternative:
                    weights[t, source.index(j)] = 1.0 / len(alternative)
                available[t] = True
                break
    weights.setflags(write=False)
    available.setflags(write=False)
    return LayoutMapping(source, target, weights, available)
