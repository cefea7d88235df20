"""The synthetic body: every canonical keypoint placed on a BVH skeleton, and capsules for occlusion.

Skeleton: the joint names of the real motion in ``../shared/data/motion`` (``Hips``, ``Spine``,
``Head``, ``LeftShoulder``, ``LeftArm``, ``LeftForeArm``, ``LeftHand``, ``LeftHandThumb1``,
``LeftHand_End``, ``LeftUpLeg``, ``LeftLeg``, ``LeftFoot``, ``LeftToeBase`` and their ``Right``
twins, end sites as ``<joint>_end``); :mod:`mocap.synthetic.gait` builds the same skeleton.

Keypoints are rigidly attached to a skeleton joint at an offset given in that joint's rest frame
(BVH rest frame: x to the body's left, y up, z forward), in metres for a 1.6 m body and scaled
with the body. The offsets are anatomical estimates (eyes 3.2 cm off the midline, ears 7.5 cm,
heel 7 cm below and 4.5 cm behind the ankle, ...), good to a centimetre or two — enough for a
test bed whose ground truth *is* these points.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from mocap.errors import FileFormatError
from mocap.formats.bvh_reader import BvhMotion
from mocap.skeleton.layouts import CANONICAL_JOINTS

#: Height (head top to floor) the marker offsets below were written for, metres.
REFERENCE_HEIGHT_M = 1.6

# canonical name -> (BVH joint, offset in the joint's rest frame, metres). Left side only;
# the right side mirrors x. Joints without a side are listed once.
_LEFT_MARKERS: dict[str, tuple[str, tuple[float, float, float]]] = {
    "left_eye": ("Head", (0.032, 0.02, 0.085)),
    "left_eye_inner": ("Head", (0.015, 0.02, 0.09)),
    "left_eye_outer": ("Head", (0.048, 0.02, 0.078)),
    "left_ear": ("Head", (0.075, 0.0, 0.0)),
    "mouth_left": ("Head", (0.024, -0.055, 0.088)),
    "left_collar": ("LeftShoulder", (0.06, 0.0, 0.0)),
    "left_shoulder": ("LeftArm", (0.0, 0.0, 0.0)),
    "left_elbow": ("LeftForeArm", (0.0, 0.0, 0.0)),
    "left_wrist": ("LeftHand", (0.0, 0.0, 0.0)),
    "left_hand": ("LeftHand", (0.06, 0.0, 0.0)),
    "left_index": ("LeftHand_End", (0.0, 0.0, 0.02)),
    "left_pinky": ("LeftHand_End", (-0.01, 0.0, -0.035)),
    "left_thumb": ("LeftHandThumb1_end", (0.0, 0.0, 0.0)),
    "left_hip": ("LeftUpLeg", (0.0, 0.0, 0.0)),
    "left_knee": ("LeftLeg", (0.0, 0.0, 0.0)),
    "left_ankle": ("LeftFoot", (0.0, 0.0, 0.0)),
    "left_heel": ("LeftFoot", (0.0, -0.07, -0.045)),
    "left_foot": ("LeftToeBase", (0.0, 0.0, 0.0)),
    "left_big_toe": ("LeftToeBase_end", (-0.015, -0.025, 0.0)),
    "left_small_toe": ("LeftToeBase", (0.035, -0.025, 0.04)),
    "left_foot_index": ("LeftToeBase_end", (-0.005, -0.025, 0.0)),
}
_CENTRE_MARKERS: dict[str, tuple[str, tuple[float, float, float]]] = {
    "nose": ("Head", (0.0, -0.02, 0.10)),
    "head_top": ("Head_end", (0.0, 0.0, 0.0)),
    "head": ("Head", (0.0, 0.03, 0.0)),
    "neck": ("LeftShoulder", (0.0, 0.0, 0.0)),
    "mid_hip": ("Hips", (0.0, 0.0, 0.0)),
    "pelvis": ("Hips", (0.0, 0.0, 0.0)),
    "spine1": ("Hips", (0.0, 0.10, 0.0)),
    "spine2": ("Spine", (0.0, 0.0, 0.0)),
    "spine3": ("Spine", (0.0, 0.12, 0.0)),
}


def _all_markers() -> dict[str, tuple[str, tuple[float, float, float]]]:
    markers = dict(_CENTRE_MARKERS)
    for name, (joint, (x, y, z)) in _LEFT_MARKERS.items():
        markers[name] = (joint, (x, y, z))
        right = "right_" + name[5:] if name.startswith("left_") else name.replace("_left", "_right")
        markers[right] = (joint.replace("Left", "Right"), (-x, y, z))
    return markers


#: canonical joint -> (BVH joint, offset in its rest frame, metres for a 1.6 m body)
MARKERS = _all_markers()

Endpoint = dict[str, float]


def _at(joint: str) -> Endpoint:
    return {joint: 1.0}


#: Body capsules: (end a, end b, radius in metres for a 1.6 m body). An end is a weighted sum of
#: canonical joints (weights add up to 1), so capsules can sit between keypoints: the head is a
#: cranium capsule plus a front-to-back face capsule, about the size of a real head.
CAPSULES: tuple[tuple[Endpoint, Endpoint, float], ...] = (
    (_at("neck"), _at("mid_hip"), 0.10),
    (_at("left_hip"), _at("right_hip"), 0.09),
    (_at("left_shoulder"), _at("right_shoulder"), 0.06),
    (_at("neck"), _at("head"), 0.05),
    ({"head": 1.5, "head_top": -0.5}, {"head": 0.2, "head_top": 0.8}, 0.08),
    ({"head": 1.25, "nose": -0.25}, {"head": 0.75, "nose": 0.25}, 0.075),
    (_at("left_shoulder"), _at("left_elbow"), 0.045),
    (_at("right_shoulder"), _at("right_elbow"), 0.045),
    (_at("left_elbow"), _at("left_wrist"), 0.035),
    (_at("right_elbow"), _at("right_wrist"), 0.035),
    (_at("left_hip"), _at("left_knee"), 0.07),
    (_at("right_hip"), _at("right_knee"), 0.07),
    (_at("left_knee"), _at("left_ankle"), 0.05),
    (_at("right_knee"), _at("right_ankle"), 0.05),
    (_at("left_heel"), _at("left_big_toe"), 0.035),
    (_at("right_heel"), _at("right_big_toe"), 0.035),
)


def capsule_weights() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Capsule ends as weight matrices over canonical joints, (K, J) each, and radii (K,)."""
    index = {name: i for i, name in enumerate(CANONICAL_JOINTS)}
    ends = []
    for which in (0, 1):
        weights = np.zeros((len(CAPSULES), len(CANONICAL_JOINTS)))
        for k, capsule in enumerate(CAPSULES):
            for joint, weight in (capsule[0], capsule[1])[which].items():
                weights[k, index[joint]] = weight
        ends.append(weights)
    return ends[0], ends[1], np.array([c[2] for c in CAPSULES])


#: BVH (x left, y up, z forward) -> world (Z up): (x, y, z) -> (x, -z, y), a proper rotation.
BVH_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@lru_cache(maxsize=8)
def _marker_table(joint_names: tuple[str, ...]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    missing = sorted({j for j, _ in MARKERS.values() if j not in joint_names})
    if missing:
        raise FileFormatError(
            "BVH skeleton", "joints", f"lacks {', '.join(missing)} needed by the synthetic body (mocap.synthetic.body)"
        )
    joints = np.array([joint_names.index(MARKERS[name][0]) for name in CANONICAL_JOINTS])
    offsets = np.array([MARKERS[name][1] for name in CANONICAL_JOINTS])
    return joints, offsets


def units_to_metres(motion: BvhMotion) -> float:
    """Scale from the file's units to metres, chosen so that the standing hip height is ~0.9 m.

    BVH does not record units; files are in metres, centimetres or inches. The candidate that
    brings the rest-pose hip height closest to 0.9 m wins.
    """
    legs = [motion.index(n) for n in ("LeftUpLeg", "LeftLeg", "LeftFoot")]
    hip_height = float(sum(abs(motion.offsets[j][1]) for j in legs[1:]))  # thigh + shin, file units
    hip_height = max(hip_height, 1e-9)
    candidates = (1.0, 0.01, 0.0254)
    return min(candidates, key=lambda s: abs(np.log(hip_height * s / 0.82)))


def canonical_points(motion: BvhMotion) -> NDArray[np.float64]:
    """Every canonical keypoint on every frame: (T, len(CANONICAL_JOINTS), 3), metres, world Z-up.

    The body is placed as in the file (same floor, same path), axes converted to Z-up.
    """
    joints, offsets = _marker_table(motion.joint_names)
    scale = units_to_metres(motion)
    positions, rotations = motion.forward_kinematics()
    positions = positions * scale
    height = body_height(positions, motion)
    local = offsets * (height / REFERENCE_HEIGHT_M)
    points_bvh = positions[:, joints] + np.einsum("tjab,jb->tja", rotations[:, joints], local)
    return points_bvh @ BVH_TO_WORLD.T


def body_height(positions_m: NDArray[np.float64], motion: BvhMotion) -> float:
    """Rest-ish body height: head top over the lowest toe, median over frames (metres)."""
    head = positions_m[:, motion.index("Head_end"), 1]
    toes = np.minimum(
        positions_m[:, motion.index("LeftToeBase_end"), 1], positions_m[:, motion.index("RightToeBase_end"), 1]
    )
    return float(np.median(head) - np.min(toes))
