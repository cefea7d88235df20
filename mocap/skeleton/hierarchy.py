"""The output humanoid hierarchy of BVH/FBX export and how each keypoint layout feeds it.

Joint names follow the Mixamo convention without the ``mixamorig:`` prefix, which Blender's
retargeting add-ons (Rokoko, Auto-Rig Pro, Expy Kit, the built-in *Copy Rotation* workflows),
MotionBuilder's HumanIK and Unity's Humanoid avatar all recognise by name:

==================  ===============  =============================================================
joint               parent           placed at (canonical keypoints, see :mod:`mocap.skeleton.layouts`)
==================  ===============  =============================================================
``Hips``            (root)           ``mid_hip`` (hip centre); carries the root translation
``Spine``           Hips             a fixed point above the hips, in the pelvis frame
``Spine1``          Spine            one third of the way from ``Spine`` to ``neck``
``Spine2``          Spine1           two thirds of the way (chest)
``Neck``            Spine2           ``neck`` (between the shoulders)
``Head``            Neck             ``head`` (SMPL head joint, else mid-ears)
``HeadTop_End``     Head             ``head_top`` (end site)
``LeftShoulder``    Spine2           ``neck`` (clavicle start; the bone points at the shoulder)
``LeftArm``         LeftShoulder     ``left_shoulder``
``LeftForeArm``     LeftArm          ``left_elbow``
``LeftHand``        LeftForeArm      ``left_wrist``
``LeftHand_End``    LeftHand         ``left_hand`` (SMPL hand, else mid index/pinky; end site)
``LeftUpLeg``       Hips             ``left_hip``
``LeftLeg``         LeftUpLeg        ``left_knee``
``LeftFoot``        LeftLeg          ``left_ankle``
``LeftToeBase``     LeftFoot         ``left_foot`` (SMPL toe base, else mid big/small toe or foot index)
``LeftToe_End``     LeftToeBase      a fixed point ahead of the toes (end site)
==================  ===============  =============================================================

and the ``Right*`` twins. End sites (``*_End``) are BVH ``End Site`` entries and leaf LimbNodes in
FBX; they carry no rotation.

Rest pose: a T-pose standing on the origin, facing world ``-Y`` with the body's left on ``+X``
(world Z-up, metres): spine and neck along ``+Z``, arms along ``+-X``, legs along ``-Z``, toes
along ``-Y``. :data:`REST_DIRECTIONS` lists the direction of each joint from its parent in that
pose; the solver (:mod:`mocap.solve`) measures the lengths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mocap.errors import LayoutError
from mocap.skeleton.layouts import KeypointLayout
from mocap.skeleton.mapping import LayoutMapping, layout_mapping

_L, _R = "Left", "Right"


def _side_rows(side: str, sign: float) -> list[tuple[str, str, tuple[float, float, float], str | None]]:
    low = side.lower()
    return [
        (f"{side}Shoulder", "Spine2", (0.0, 0.0, 1.0), None),
        (f"{side}Arm", f"{side}Shoulder", (sign, 0.0, 0.0), f"{low}_shoulder"),
        (f"{side}ForeArm", f"{side}Arm", (sign, 0.0, 0.0), f"{low}_elbow"),
        (f"{side}Hand", f"{side}ForeArm", (sign, 0.0, 0.0), f"{low}_wrist"),
        (f"{side}Hand_End", f"{side}Hand", (sign, 0.0, 0.0), f"{low}_hand"),
    ]


def _leg_rows(side: str, sign: float) -> list[tuple[str, str, tuple[float, float, float], str | None]]:
    low = side.lower()
    return [
        (f"{side}UpLeg", "Hips", (sign, 0.0, 0.0), f"{low}_hip"),
        (f"{side}Leg", f"{side}UpLeg", (0.0, 0.0, -1.0), f"{low}_knee"),
        (f"{side}Foot", f"{side}Leg", (0.0, 0.0, -1.0), f"{low}_ankle"),
        (f"{side}ToeBase", f"{side}Foot", (0.0, -0.94, -0.34), f"{low}_foot"),
        (f"{side}Toe_End", f"{side}ToeBase", (0.0, -1.0, 0.0), None),
    ]


# (joint, parent, rest direction from the parent, canonical keypoint it reproduces or None)
_ROWS: list[tuple[str, str | None, tuple[float, float, float], str | None]] = [
    ("Hips", None, (0.0, 0.0, 0.0), "mid_hip"),
    ("Spine", "Hips", (0.0, 0.0, 1.0), None),
    ("Spine1", "Spine", (0.0, 0.0, 1.0), None),
    ("Spine2", "Spine1", (0.0, 0.0, 1.0), None),
    ("Neck", "Spine2", (0.0, 0.0, 1.0), "neck"),
    ("Head", "Neck", (0.0, 0.0, 1.0), "head"),
    ("HeadTop_End", "Head", (0.0, 0.0, 1.0), "head_top"),
    *_side_rows(_L, 1.0),
    *_side_rows(_R, -1.0),
    *_leg_rows(_L, 1.0),
    *_leg_rows(_R, -1.0),
]


@dataclass(frozen=True)
class Hierarchy:
    """A joint tree with rest directions.

    Attributes:
        joint_names: (J,) names, parents before children.
        parents: (J,) parent index, -1 for the root.
        rest_directions: (J, 3) unit direction from the parent's head in the rest pose (world
            Z-up; zero for the root). Lengths come from the solver.
        targets: (J,) canonical keypoint each joint is placed at, or None.
        is_end: (J,) True for end sites (no rotation of their own, no children).
    """

    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    rest_directions: NDArray[np.float64] = field(repr=False)
    targets: tuple[str | None, ...] = field(repr=False)
    is_end: tuple[bool, ...] = field(repr=False)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, name: str) -> int:
        """Index of joint ``name``.

        Raises:
            LayoutError: listing the joints.
        """
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise LayoutError(f"the skeleton has no joint {name!r} (joints: {', '.join(self.joint_names)})") from None

    def children(self, joint: int) -> tuple[int, ...]:
        return tuple(j for j, p in enumerate(self.parents) if p == joint)


def _build() -> Hierarchy:
    names = tuple(r[0] for r in _ROWS)
    index = {n: i for i, n in enumerate(names)}
    parents = tuple(-1 if r[1] is None else index[r[1]] for r in _ROWS)
    directions = np.array([r[2] for r in _ROWS], dtype=np.float64)
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    directions = np.divide(directions, norms, out=np.zeros_like(directions), where=norms > 0)
    directions.setflags(write=False)
    is_end = tuple(n.endswith("_End") for n in names)
    return Hierarchy(names, parents, directions, tuple(r[3] for r in _ROWS), is_end)


#: The output skeleton: 22 rotating joints and 5 end sites.
HUMANOID = _build()
#: Rest direction of every joint from its parent (see the module docstring).
REST_DIRECTIONS = HUMANOID.rest_directions

#: Canonical keypoints the solver must have; every registered layout provides them (some derived).
REQUIRED_POINTS: tuple[str, ...] = (
    "mid_hip", "neck",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip
#: Canonical keypoints used when the layout has them (head, face, feet and hands orientation).
OPTIONAL_POINTS: tuple[str, ...] = (
    "head", "head_top", "nose", "left_ear", "right_ear", "left_eye", "right_eye",
    "left_foot", "right_foot",
    "left_hand", "right_hand", "left_index", "right_index", "left_pinky", "right_pinky",
)  # fmt: skip
SOLVER_POINTS: tuple[str, ...] = REQUIRED_POINTS + OPTIONAL_POINTS

_SOLVER_LAYOUT = KeypointLayout(
    name="solver_points",
    joint_names=SOLVER_POINTS,
    parents=(-1,) * len(SOLVER_POINTS),
    source_names=SOLVER_POINTS,
    description="canonical points the skeleton solver reads",
)


def solver_mapping(layout: KeypointLayout) -> LayoutMapping:
    """How ``layout`` provides the solver's points (direct joints or derivations such as mid-hips).

    Raises:
        LayoutError: the layout lacks a required point (the message lists them and the layout's joints).
    """
    mapping = layout_mapping(layout, _SOLVER_LAYOUT)
    missing = [name for name, ok in zip(SOLVER_POINTS, mapping.available, strict=True) if not ok]
    missing_required = [name for name in missing if name in REQUIRED_POINTS]
    if missing_required:
        raise LayoutError(
            f"layout {layout.name!r} cannot drive the skeleton: it lacks {', '.join(missing_required)} "
            f"(its joints: {', '.join(layout.joint_names)}); use a body layout such as coco17, body25 or smpl24"
        )
    return mapping
