"""A synthetic model in the official SMPL layout, for tests, benchmarks and demos without SMPL.

The real SMPL files cannot be shipped (see :mod:`mocap.body.model_file`), so this builds a
stand-in with the same 24-joint tree and array layout: a coarse body of tubes around the bones of
an adult T-pose, a hexagon ring of vertices around every joint (the joint regressor averages it,
so ``J_regressor @ v_template`` is the designed skeleton exactly), single vertices for the points a
keypoint detector finds (nose, eyes, ears, head top, toes, heels, finger tips; see
:attr:`SyntheticModel.vertex_keypoints`), ten shape directions with anatomical meaning (height,
girth, leg, arm, shoulder, hip, torso, neck, foot length, posture) and small local pose correctives.
It is not a human body model and says nothing about real shapes; it exercises every code path of
the layer, the loader and the fitter with known answers.

Frame: the SMPL frame (Y up, X to the body's left, Z forward), metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mocap.body.model_file import Gender, SmplModel
from mocap.skeleton.layouts import SMPL24

#: Rest joints of the left side and the midline, SMPL frame, metres (right side mirrors x).
_LEFT_AND_MID: dict[str, tuple[float, float, float]] = {
    "pelvis": (0.0, -0.23, 0.02),
    "left_hip": (0.07, -0.32, 0.01),
    "spine1": (0.0, -0.12, -0.01),
    "left_knee": (0.10, -0.70, 0.01),
    "spine2": (0.0, 0.02, 0.01),
    "left_ankle": (0.09, -1.10, -0.03),
    "spine3": (0.0, 0.08, 0.03),
    "left_foot": (0.12, -1.16, 0.09),
    "neck": (0.0, 0.29, -0.01),
    "left_collar": (0.08, 0.20, -0.01),
    "head": (0.0, 0.36, 0.04),
    "left_shoulder": (0.17, 0.23, -0.02),
    "left_elbow": (0.43, 0.21, -0.04),
    "left_wrist": (0.69, 0.22, -0.04),
    "left_hand": (0.77, 0.21, -0.05),
}

#: Keypoint vertices: name -> (rest position of the left/midline point, driving joint).
_KEYPOINTS: dict[str, tuple[tuple[float, float, float], str]] = {
    "nose": ((0.0, 0.42, 0.13), "head"),
    "left_eye": ((0.035, 0.46, 0.10), "head"),
    "left_ear": ((0.075, 0.43, 0.01), "head"),
    "head_top": ((0.0, 0.58, 0.02), "head"),
    "left_big_toe": ((0.11, -1.20, 0.17), "left_foot"),
    "left_small_toe": ((0.16, -1.20, 0.13), "left_foot"),
    "left_heel": ((0.09, -1.20, -0.07), "left_ankle"),
    "left_index": ((0.87, 0.21, -0.03), "left_hand"),
    "left_pinky": ((0.85, 0.21, -0.08), "left_hand"),
    "left_thumb": ((0.80, 0.20, 0.03), "left_hand"),
}

_RING = 6  # vertices per ring


def _mirror(name: str) -> str:
    return "right_" + name[5:] if name.startswith("left_") else name


def _rest_joints() -> NDArray[np.float64]:
    joints = np.zeros((SMPL24.num_joints, 3))
    for name, position in _LEFT_AND_MID.items():
        joints[SMPL24.index(name)] = position
        if name.startswith("left_"):
            joints[SMPL24.index(_mirror(name))] = (-position[0], position[1], position[2])
    return joints


def _radius(name: str) -> float:
    for part, r in (("spine", 0.11), ("pelvis", 0.11), ("hip", 0.07), ("knee", 0.05), ("ankle", 0.04)):
        if part in name:
            return r
    for part, r in (("collar", 0.05), ("shoulder", 0.045), ("elbow", 0.035), ("neck", 0.05), ("head", 0.09)):
        if part in name:
            return r
    return 0.03


def _ring_offsets(axis: NDArray[np.float64], radius: float) -> NDArray[np.float64]:
    """(6, 3) zero-mean offsets on a circle perpendicular to ``axis``."""
    axis = axis / np.linalg.norm(axis)
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)
    angles = np.arange(_RING) * 2.0 * np.pi / _RING
    return radius * (np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * w)


@dataclass(frozen=True)
class SyntheticModel:
    """A synthetic SMPL-layout model and the vertices that stand for detector keypoints.

    Attributes:
        model: the arrays (24 joints, 10 shape directions).
        vertex_keypoints: canonical keypoint name -> vertex index (nose, eyes, ears, head top, toes,
            heels, finger tips), used by the fitter in place of the official SMPL vertex ids; the
            model carries the same table (and its ``.npz`` file, see :mod:`mocap.body.model_file`).
    """

    model: SmplModel
    vertex_keypoints: dict[str, int]


class _Builder:
    """Accumulates vertices with their shape anchors, local offsets and skinning weights."""

    def __init__(self, joints: NDArray[np.float64]) -> None:
        self.joints = joints
        self.positions: list[NDArray[np.float64]] = []
        self.anchors: list[NDArray[np.float64]] = []  # (24,) affine weights over joints
        self.offsets: list[NDArray[np.float64]] = []  # local offset from the anchored point
        self.skin: list[NDArray[np.float64]] = []  # (24,) skinning weights
        self.faces: list[tuple[int, int, int]] = []

    def add(self, anchor: NDArray[np.float64], offset: NDArray[np.float64], skin: NDArray[np.float64]) -> int:
        self.positions.append(anchor @ self.joints + offset)
        self.anchors.append(anchor)
        self.offsets.append(offset)
        self.skin.append(skin / skin.sum())
        return len(self.positions) - 1

    def ring(
        self, anchor: NDArray[np.float64], axis: NDArray[np.float64], r: float, skin: NDArray[np.float64]
    ) -> list[int]:
        return [self.add(anchor, o, skin) for o in _ring_offsets(axis, r)]

    def band(self, a: list[int], b: list[int]) -> None:
        for i in range(_RING):
            j = (i + 1) % _RING
            self.faces += [(a[i], a[j], b[j]), (a[i], b[j], b[i])]

    def cap(self, ring: list[int]) -> None:
        self.faces += [(ring[0], ring[i], ring[i + 1]) for i in range(1, _RING - 1)]


def _shape_directions(joints: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per beta: joint displacements (10, 24, 3) and relative scaling of local offsets (10,)."""
    index = SMPL24.index
    names = SMPL24.joint_names
    d = np.zeros((10, 24, 3))
    local = np.zeros(10)
    d[0] = 0.045 * (joints - joints[index("pelvis")])  # height
    local[0] = 0.045
    for side, sign in (("left", 1.0), ("right", -1.0)):
        d[1, index(f"{side}_hip"), 0] = 0.008 * sign  # girth
        d[1, index(f"{side}_collar"), 0] = 0.006 * sign
        leg = [f"{side}_knee", f"{side}_ankle", f"{side}_foot"]
        arm = [f"{side}_elbow", f"{side}_wrist", f"{side}_hand"]
        for j in leg:
            d[2, index(j)] = 0.05 * (joints[index(j)] - joints[index(f"{side}_hip")])  # leg length
            d[5, index(j), 0] = 0.01 * sign  # hip width (whole leg)
        for j in arm:
            d[3, index(j)] = 0.05 * (joints[index(j)] - joints[index(f"{side}_shoulder")])  # arm length
        for j in [f"{side}_shoulder", *arm]:
            d[4, index(j), 0] = 0.012 * sign  # shoulder width
        d[5, index(f"{side}_hip"), 0] = 0.01 * sign
        d[8, index(f"{side}_foot")] = 0.1 * (joints[index(f"{side}_foot")] - joints[index(f"{side}_ankle")])
    local[1] = 0.12
    upper = [n for n in names if n in ("spine2", "spine3", "neck", "head") or "collar" in n or n.split("_")[-1]
             in ("shoulder", "elbow", "wrist", "hand")]  # fmt: skip
    for n in upper:
        d[6, index(n), 1] = 0.06 * (joints[index(n), 1] - joints[index("spine1"), 1])  # torso length
    d[7, index("neck"), 1] = 0.008  # neck length
    d[7, index("head"), 1] = 0.015
    d[9, index("neck"), 2] = 0.01  # posture: head forward, upper back back
    d[9, index("head"), 2] = 0.015
    d[9, index("spine3"), 2] = -0.005
    return d, local


def make_synthetic_model(seed: int = 0, gender: Gender = "neutral") -> SyntheticModel:
    """Build the synthetic model (see the module docstring); deterministic for a seed.

    Args:
        seed: seeds the pose correctives (the rest of the model is fixed).
        gender: recorded in the model; it does not change the geometry.
    """
    joints = _rest_joints()
    parents = np.array(SMPL24.parents, dtype=np.int64)
    b = _Builder(joints)
    onehot = np.eye(24)
    joint_rings: list[list[int]] = []
    for j in range(24):
        axis = np.array([0.0, 1.0, 0.0]) if j == 0 else joints[j] - joints[parents[j]]
        skin = onehot[j] if j == 0 else 0.5 * (onehot[j] + onehot[parents[j]])
        ring = b.ring(onehot[j], axis, 0.6 * _radius(SMPL24.joint_names[j]), skin)
        b.cap(ring)
        joint_rings.append(ring)
    for child in range(1, 24):
        parent = int(parents[child])
        axis = joints[child] - joints[parent]
        grand = int(parents[parent]) if parent > 0 else parent
        rings = []
        for s in (0.25, 0.5, 0.75):
            anchor = (1.0 - s) * onehot[parent] + s * onehot[child]
            skin = onehot[parent].copy()
            if s < 0.3:
                skin = 0.85 * skin + 0.15 * onehot[grand]
            elif s > 0.7:
                skin = 0.85 * skin + 0.15 * onehot[child]
            rings.append(b.ring(anchor, axis, _radius(SMPL24.joint_names[parent]), skin))
        b.band(rings[0], rings[1])
        b.band(rings[1], rings[2])
    keypoints: dict[str, int] = {}
    for name, (position, driver) in _KEYPOINTS.items():
        for side_name, sign in ((name, 1.0), (_mirror(name), -1.0)):
            if side_name in keypoints:
                continue
            point = np.array([sign * position[0], position[1], position[2]])
            carrier = SMPL24.index(driver if side_name == name else _mirror(driver))
            keypoints[side_name] = b.add(onehot[carrier], point - joints[carrier], onehot[carrier])
    anchors = np.array(b.anchors)  # (N, 24)
    offsets = np.array(b.offsets)  # (N, 3)
    d, local = _shape_directions(joints)
    shapedirs = np.einsum("nj,kjc->nck", anchors, d) + offsets[:, :, None] * local[None, None, :]
    num = len(b.positions)
    skin = np.array(b.skin)
    rng = np.random.default_rng(seed)
    posedirs = np.zeros((num, 3, 23 * 9))
    for v in range(num):
        main_joint = int(np.argmax(skin[v]))
        for k in sorted({main_joint, int(parents[main_joint])} - {-1, 0}):
            posedirs[v, :, (k - 1) * 9 : k * 9] = rng.normal(0.0, 0.004, size=(3, 9))
    regressor = np.zeros((24, num))
    for k, ring_ids in enumerate(joint_rings):
        regressor[k, ring_ids] = 1.0 / _RING
    model = SmplModel(
        v_template=np.array(b.positions),
        shapedirs=shapedirs,
        posedirs=posedirs,
        j_regressor=regressor,
        weights=skin,
        parents=parents,
        faces=np.array(b.faces, dtype=np.int32),
        gender=gender,
        vertex_keypoints=keypoints,
    )
    return SyntheticModel(model, keypoints)
