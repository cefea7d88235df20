"""A procedural walk on the synthetic body's skeleton, for when no real motion file is present.

The body walks a circle (radius 2 m, ~1.3 m/s) with a whole number of strides per lap, so the
clip loops exactly. Joint angles are sinusoids with textbook amplitudes (hip flexion +-25 deg,
knee flexion up to 60 deg in swing, arm swing +-20 deg opposite to the legs, vertical bob of
1.5 cm twice per stride). It is a plausible gait, not a biomechanical model; the real BVH walk
is preferred whenever it is available.
"""

from __future__ import annotations

import numpy as np

from mocap.formats.bvh_reader import BvhMotion

_ROT = ("Zrotation", "Xrotation", "Yrotation")

# (name, parent, offset in metres) in the layout of the real motion file's skeleton (T-pose,
# x left, y up, z forward). Right joints mirror x.
_LEFT_ARM = [
    ("LeftShoulder", "Spine", (0.0, 0.253, 0.0)),
    ("LeftArm", "LeftShoulder", (0.186, 0.0, 0.0)),
    ("LeftForeArm", "LeftArm", (0.272, 0.0, 0.0)),
    ("LeftHand", "LeftForeArm", (0.216, 0.0, 0.0)),
    ("LeftHandThumb1", "LeftHand", (0.0, 0.0, 0.0)),
    ("LeftHandThumb1_end", "LeftHandThumb1", (0.0, 0.0, 0.1)),
    ("LeftHand_End", "LeftHand", (0.1, 0.0, 0.0)),
    ("LeftHand_End_end", "LeftHand_End", (0.0, 0.0, 0.0)),
]
_LEFT_LEG = [
    ("LeftUpLeg", "Hips", (0.102, 0.0, 0.0)),
    ("LeftLeg", "LeftUpLeg", (0.0, -0.426, 0.0)),
    ("LeftFoot", "LeftLeg", (0.0, -0.394, 0.0)),
    ("LeftToeBase", "LeftFoot", (0.0, -0.037, 0.138)),
    ("LeftToeBase_end", "LeftToeBase", (0.0, 0.0, 0.075)),
]

_HIP_HEIGHT_M = 0.92


def _mirror(
    rows: list[tuple[str, str, tuple[float, float, float]]],
) -> list[tuple[str, str, tuple[float, float, float]]]:
    return [(n.replace("Left", "Right"), p.replace("Left", "Right"), (-x, y, z)) for n, p, (x, y, z) in rows]


def _skeleton() -> list[tuple[str, str | None, tuple[float, float, float]]]:
    rows: list[tuple[str, str | None, tuple[float, float, float]]] = [
        ("Hips", None, (0.0, _HIP_HEIGHT_M, 0.0)),
        ("Spine", "Hips", (0.0, 0.215, 0.0)),
        ("Head", "Spine", (0.0, 0.35, 0.0)),
        ("Head_end", "Head", (0.0, 0.115, 0.0)),
    ]
    rows += _LEFT_ARM + _mirror(_LEFT_ARM) + _LEFT_LEG + _mirror(_LEFT_LEG)
    return rows


def procedural_walk(
    fps: float = 120.0, radius_m: float = 2.0, speed_m_s: float = 1.3, stride_hz: float = 0.9
) -> BvhMotion:
    """One lap of a circular walk as a :class:`BvhMotion` in metres (see the module docstring)."""
    rows = _skeleton()
    names = tuple(r[0] for r in rows)
    parents = tuple(-1 if r[1] is None else names.index(r[1]) for r in rows)
    offsets = np.array([r[2] for r in rows])
    lap_s = 2 * np.pi * radius_m / speed_m_s
    strides = max(1, round(stride_hz * lap_s))
    frames = round(lap_s * fps)
    t = np.arange(frames) / fps
    theta = 2 * np.pi * t / lap_s  # position on the circle
    phase = 2 * np.pi * strides * t / lap_s  # gait phase: left leg forward at sin > 0

    def deg(x: np.ndarray | float) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), t.shape)

    angles: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # joint -> (z, x, y) degrees
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        leg_phase = phase if side == "Left" else phase + np.pi
        hip = 25.0 * np.sin(leg_phase)  # forward flexion positive
        knee = 5.0 + 55.0 * np.maximum(0.0, np.cos(leg_phase)) ** 2
        ankle = 10.0 * np.sin(leg_phase + 0.5)
        angles[f"{side}UpLeg"] = (deg(0.0), -hip, deg(0.0))
        angles[f"{side}Leg"] = (deg(0.0), knee, deg(0.0))
        angles[f"{side}Foot"] = (deg(0.0), -ankle, deg(0.0))
        angles[f"{side}Arm"] = (deg(-80.0 * sign), deg(0.0), 20.0 * np.sin(phase))
        angles[f"{side}ForeArm"] = (deg(0.0), deg(0.0), -sign * (20.0 + 10.0 * (1 + np.sin(leg_phase))))
    angles["Spine"] = (deg(0.0), deg(3.0), 5.0 * np.sin(phase))

    channels: list[tuple[str, ...]] = []
    columns: list[np.ndarray] = []
    for name in names:
        if name == "Hips":
            channels.append(("Xposition", "Yposition", "Zposition") + _ROT)
            bob = _HIP_HEIGHT_M - 0.015 + 0.015 * np.cos(2 * phase)
            yaw = -np.degrees(theta)  # body +z along the circle's tangent
            columns += [radius_m * np.cos(theta), bob, radius_m * np.sin(theta), deg(0.0), deg(0.0), yaw]
        elif name.endswith("_end"):
            channels.append(())
        else:
            channels.append(_ROT)
            z, x, y = angles.get(name, (deg(0.0), deg(0.0), deg(0.0)))
            columns += [z, x, y]
    values = np.stack(columns, axis=1)
    return BvhMotion(names, parents, offsets, tuple(channels), 1.0 / fps, values)
