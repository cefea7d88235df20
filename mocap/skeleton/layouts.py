"""Keypoint layouts as data: COCO-17, HALPE-26, BlazePose-33, BODY-25, BODY-25B, SMPL-24.

Every layout lists its joints by **canonical names** (snake_case, the same name for the same
anatomical point in every layout, e.g. ``left_shoulder``) in the order its models and files use,
plus the names the original format spells (``LShoulder``). Mapping between layouts works on the
canonical names (see :mod:`mocap.skeleton.mapping`).

Each layout defines a spanning tree over its joints (``parents``, root ``-1``) and a few extra
edges that are drawn but are not part of the tree (``extra_edges``, e.g. shoulder to shoulder).
For layouts without a neck or pelvis (COCO-17, BlazePose-33) the tree is rooted at the left hip and
is a drawing/limb-length aid, not an anatomical kinematic chain; SMPL-24's tree is SMPL's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mocap.errors import LayoutError

# Canonical joint vocabulary. Points that only SMPL defines keep SMPL's names.
CANONICAL_JOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_eye_inner", "left_eye_outer", "right_eye_inner", "right_eye_outer",
    "mouth_left", "mouth_right", "head_top", "neck",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "mid_hip", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
    "left_foot_index", "right_foot_index",
    # SMPL-only joints
    "pelvis", "spine1", "spine2", "spine3", "left_collar", "right_collar", "head",
    "left_foot", "right_foot", "left_hand", "right_hand",
)  # fmt: skip


@dataclass(frozen=True)
class KeypointLayout:
    """A named, ordered set of keypoints with a tree and left/right pairs.

    Attributes:
        name: registry name, e.g. ``"coco17"``.
        joint_names: canonical names in the layout's order (J,).
        parents: tree parent index per joint (J,), ``-1`` for the root.
        source_names: names as the original format writes them (J,).
        extra_edges: drawn edges that are not tree edges, as (a, b) index pairs.
        description: one line about where the layout comes from.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    source_names: tuple[str, ...]
    extra_edges: tuple[tuple[int, int], ...] = ()
    description: str = ""
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        if len(set(self.joint_names)) != n:
            raise ValueError(f"layout {self.name}: repeated joint names")
        if len(self.parents) != n or len(self.source_names) != n:
            raise ValueError(f"layout {self.name}: parents/source_names must have {n} entries")
        if not any(p < 0 for p in self.parents):
            raise ValueError(f"layout {self.name}: the tree needs a root (parent -1)")
        for j in range(n):  # every joint must reach the root without a cycle
            seen, k = set(), j
            while self.parents[k] >= 0:
                if k in seen or self.parents[k] >= n:
                    raise ValueError(f"layout {self.name}: parents do not form a tree at joint {j}")
                seen.add(k)
                k = self.parents[k]
        object.__setattr__(self, "_index", {name: i for i, name in enumerate(self.joint_names)})

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def root(self) -> int:
        """Index of the root joint (the first one, for a forest of a custom layout)."""
        return self.parents.index(-1)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """Tree edges as (parent, child) index pairs."""
        return tuple((p, j) for j, p in enumerate(self.parents) if p >= 0)

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Everything to draw: tree edges then extra edges."""
        return self.bones + self.extra_edges

    @property
    def left_right_pairs(self) -> tuple[tuple[int, int], ...]:
        """(left, right) index pairs of joints that mirror each other."""
        pairs = []
        for i, name in enumerate(self.joint_names):
            if name.startswith("left_"):
                other = self._index.get("right_" + name[5:])
                if other is not None:
                    pairs.append((i, other))
        return tuple(pairs)

    @property
    def flip_permutation(self) -> tuple[int, ...]:
        """Index permutation that swaps left and right joints (for mirrored images)."""
        perm = list(range(self.num_joints))
        for a, b in self.left_right_pairs:
            perm[a], perm[b] = b, a
        return tuple(perm)

    def index(self, joint: str) -> int:
        """Index of a joint given by canonical or source name.

        Raises:
            LayoutError: listing the layout's joints.
        """
        if joint in self._index:
            return self._index[joint]
        if joint in self.source_names:
            return self.source_names.index(joint)
        raise LayoutError(f"layout {self.name} has no joint {joint!r} (joints: {', '.join(self.joint_names)})")

    def __contains__(self, joint: object) -> bool:
        return joint in self._index


def _layout(
    name: str,
    description: str,
    joints: list[tuple[str, str, str | None]],
    extra: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> KeypointLayout:
    """Build a layout from (canonical, source name, canonical parent) rows."""
    names = tuple(j[0] for j in joints)
    index = {n: i for i, n in enumerate(names)}
    parents = tuple(-1 if p is None else index[p] for _, _, p in joints)
    return KeypointLayout(
        name=name,
        joint_names=names,
        parents=parents,
        source_names=tuple(j[1] for j in joints),
        extra_edges=tuple((index[a], index[b]) for a, b in extra),
        description=description,
    )


_COCO_BODY = [
    ("nose", "nose", "left_shoulder"),
    ("left_eye", "left_eye", "nose"),
    ("right_eye", "right_eye", "nose"),
    ("left_ear", "left_ear", "left_eye"),
    ("right_ear", "right_ear", "right_eye"),
    ("left_shoulder", "left_shoulder", "left_hip"),
    ("right_shoulder", "right_shoulder", "right_hip"),
    ("left_elbow", "left_elbow", "left_shoulder"),
    ("right_elbow", "right_elbow", "right_shoulder"),
    ("left_wrist", "left_wrist", "left_elbow"),
    ("right_wrist", "right_wrist", "right_elbow"),
    ("left_hip", "left_hip", None),
    ("right_hip", "right_hip", "left_hip"),
    ("left_knee", "left_knee", "left_hip"),
    ("right_knee", "right_knee", "right_hip"),
    ("left_ankle", "left_ankle", "left_knee"),
    ("right_ankle", "right_ankle", "right_knee"),
]

COCO17 = _layout(
    "coco17",
    "COCO keypoints (17): MS-COCO person keypoints, as used by most 2D detectors",
    _COCO_BODY,
    extra=[("left_shoulder", "right_shoulder"), ("right_shoulder", "nose")],
)

HALPE26 = _layout(
    "halpe26",
    "HALPE-26: COCO-17 plus head top, neck, hip centre and 6 foot points (AlphaPose, RTMPose)",
    [
        ("nose", "Nose", "neck"),
        ("left_eye", "LEye", "nose"),
        ("right_eye", "REye", "nose"),
        ("left_ear", "LEar", "left_eye"),
        ("right_ear", "REar", "right_eye"),
        ("left_shoulder", "LShoulder", "neck"),
        ("right_shoulder", "RShoulder", "neck"),
        ("left_elbow", "LElbow", "left_shoulder"),
        ("right_elbow", "RElbow", "right_shoulder"),
        ("left_wrist", "LWrist", "left_elbow"),
        ("right_wrist", "RWrist", "right_elbow"),
        ("left_hip", "LHip", "mid_hip"),
        ("right_hip", "RHip", "mid_hip"),
        ("left_knee", "LKnee", "left_hip"),
        ("right_knee", "RKnee", "right_hip"),
        ("left_ankle", "LAnkle", "left_knee"),
        ("right_ankle", "RAnkle", "right_knee"),
        ("head_top", "Head", "neck"),
        ("neck", "Neck", "mid_hip"),
        ("mid_hip", "Hip", None),
        ("left_big_toe", "LBigToe", "left_ankle"),
        ("right_big_toe", "RBigToe", "right_ankle"),
        ("left_small_toe", "LSmallToe", "left_ankle"),
        ("right_small_toe", "RSmallToe", "right_ankle"),
        ("left_heel", "LHeel", "left_ankle"),
        ("right_heel", "RHeel", "right_ankle"),
    ],
)

BODY25 = _layout(
    "body25",
    "OpenPose BODY_25: COCO-18 order with mid hip and 6 foot points",
    [
        ("nose", "Nose", "neck"),
        ("neck", "Neck", "mid_hip"),
        ("right_shoulder", "RShoulder", "neck"),
        ("right_elbow", "RElbow", "right_shoulder"),
        ("right_wrist", "RWrist", "right_elbow"),
        ("left_shoulder", "LShoulder", "neck"),
        ("left_elbow", "LElbow", "left_shoulder"),
        ("left_wrist", "LWrist", "left_elbow"),
        ("mid_hip", "MidHip", None),
        ("right_hip", "RHip", "mid_hip"),
        ("right_knee", "RKnee", "right_hip"),
        ("right_ankle", "RAnkle", "right_knee"),
        ("left_hip", "LHip", "mid_hip"),
        ("left_knee", "LKnee", "left_hip"),
        ("left_ankle", "LAnkle", "left_knee"),
        ("right_eye", "REye", "nose"),
        ("left_eye", "LEye", "nose"),
        ("right_ear", "REar", "right_eye"),
        ("left_ear", "LEar", "left_eye"),
        ("left_big_toe", "LBigToe", "left_ankle"),
        ("left_small_toe", "LSmallToe", "left_big_toe"),
        ("left_heel", "LHeel", "left_ankle"),
        ("right_big_toe", "RBigToe", "right_ankle"),
        ("right_small_toe", "RSmallToe", "right_big_toe"),
        ("right_heel", "RHeel", "right_ankle"),
    ],
)

BODY25B = _layout(
    "body25b",
    "OpenPose BODY_25B (experimental model): COCO-17 order plus neck, head top and 6 foot points",
    [
        ("nose", "Nose", "neck"),
        ("left_eye", "LEye", "nose"),
        ("right_eye", "REye", "nose"),
        ("left_ear", "LEar", "left_eye"),
        ("right_ear", "REar", "right_eye"),
        ("left_shoulder", "LShoulder", "neck"),
        ("right_shoulder", "RShoulder", "neck"),
        ("left_elbow", "LElbow", "left_shoulder"),
        ("right_elbow", "RElbow", "right_shoulder"),
        ("left_wrist", "LWrist", "left_elbow"),
        ("right_wrist", "RWrist", "right_elbow"),
        ("left_hip", "LHip", "neck"),
        ("right_hip", "RHip", "neck"),
        ("left_knee", "LKnee", "left_hip"),
        ("right_knee", "RKnee", "right_hip"),
        ("left_ankle", "LAnkle", "left_knee"),
        ("right_ankle", "RAnkle", "right_knee"),
        ("neck", "Neck", None),
        ("head_top", "Head", "neck"),
        ("left_big_toe", "LBigToe", "left_ankle"),
        ("left_small_toe", "LSmallToe", "left_big_toe"),
        ("left_heel", "LHeel", "left_ankle"),
        ("right_big_toe", "RBigToe", "right_ankle"),
        ("right_small_toe", "RSmallToe", "right_big_toe"),
        ("right_heel", "RHeel", "right_ankle"),
    ],
    extra=[("left_hip", "right_hip")],
)

BLAZEPOSE33 = _layout(
    "blazepose33",
    "MediaPipe BlazePose (33 landmarks), the layout of the offline default detector",
    [
        ("nose", "nose", "left_shoulder"),
        ("left_eye_inner", "left_eye_inner", "nose"),
        ("left_eye", "left_eye", "left_eye_inner"),
        ("left_eye_outer", "left_eye_outer", "left_eye"),
        ("right_eye_inner", "right_eye_inner", "nose"),
        ("right_eye", "right_eye", "right_eye_inner"),
        ("right_eye_outer", "right_eye_outer", "right_eye"),
        ("left_ear", "left_ear", "left_eye_outer"),
        ("right_ear", "right_ear", "right_eye_outer"),
        ("mouth_left", "mouth_left", "nose"),
        ("mouth_right", "mouth_right", "nose"),
        ("left_shoulder", "left_shoulder", "left_hip"),
        ("right_shoulder", "right_shoulder", "right_hip"),
        ("left_elbow", "left_elbow", "left_shoulder"),
        ("right_elbow", "right_elbow", "right_shoulder"),
        ("left_wrist", "left_wrist", "left_elbow"),
        ("right_wrist", "right_wrist", "right_elbow"),
        ("left_pinky", "left_pinky", "left_wrist"),
        ("right_pinky", "right_pinky", "right_wrist"),
        ("left_index", "left_index", "left_wrist"),
        ("right_index", "right_index", "right_wrist"),
        ("left_thumb", "left_thumb", "left_wrist"),
        ("right_thumb", "right_thumb", "right_wrist"),
        ("left_hip", "left_hip", None),
        ("right_hip", "right_hip", "left_hip"),
        ("left_knee", "left_knee", "left_hip"),
        ("right_knee", "right_knee", "right_hip"),
        ("left_ankle", "left_ankle", "left_knee"),
        ("right_ankle", "right_ankle", "right_knee"),
        ("left_heel", "left_heel", "left_ankle"),
        ("right_heel", "right_heel", "right_ankle"),
        ("left_foot_index", "left_foot_index", "left_ankle"),
        ("right_foot_index", "right_foot_index", "right_ankle"),
    ],
    extra=[
        ("left_shoulder", "right_shoulder"),
        ("mouth_left", "mouth_right"),
        ("left_pinky", "left_index"),
        ("right_pinky", "right_index"),
        ("left_heel", "left_foot_index"),
        ("right_heel", "right_foot_index"),
    ],
)

SMPL24 = _layout(
    "smpl24",
    "SMPL body joints (24), SMPL's own kinematic tree",
    [
        ("pelvis", "pelvis", None),
        ("left_hip", "left_hip", "pelvis"),
        ("right_hip", "right_hip", "pelvis"),
        ("spine1", "spine1", "pelvis"),
        ("left_knee", "left_knee", "left_hip"),
        ("right_knee", "right_knee", "right_hip"),
        ("spine2", "spine2", "spine1"),
        ("left_ankle", "left_ankle", "left_knee"),
        ("right_ankle", "right_ankle", "right_knee"),
        ("spine3", "spine3", "spine2"),
        ("left_foot", "left_foot", "left_ankle"),
        ("right_foot", "right_foot", "right_ankle"),
        ("neck", "neck", "spine3"),
        ("left_collar", "left_collar", "spine3"),
        ("right_collar", "right_collar", "spine3"),
        ("head", "head", "neck"),
        ("left_shoulder", "left_shoulder", "left_collar"),
        ("right_shoulder", "right_shoulder", "right_collar"),
        ("left_elbow", "left_elbow", "left_shoulder"),
        ("right_elbow", "right_elbow", "right_shoulder"),
        ("left_wrist", "left_wrist", "left_elbow"),
        ("right_wrist", "right_wrist", "right_elbow"),
        ("left_hand", "left_hand", "left_wrist"),
        ("right_hand", "right_hand", "right_wrist"),
    ],
)

_REGISTRY: dict[str, KeypointLayout] = {}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def register_layout(layout: KeypointLayout, *aliases: str) -> KeypointLayout:
    """Add a layout to the registry under its name and aliases (case, ``-`` and ``_`` ignored)."""
    unknown = [n for n in layout.joint_names if n not in CANONICAL_JOINTS]
    if unknown:
        raise ValueError(f"layout {layout.name}: joints not in the canonical vocabulary: {unknown}")
    for alias in (layout.name, *aliases):
        _REGISTRY[_key(alias)] = layout
    return layout


def get_layout(name: str) -> KeypointLayout:
    """Look a layout up by name or alias (``"COCO_17"``, ``"coco"``, ``"BODY-25B"`` ...).

    Raises:
        LayoutError: listing the known layouts.
    """
    layout = _REGISTRY.get(_key(name))
    if layout is None:
        raise LayoutError(f"unknown keypoint layout {name!r}; known: {', '.join(layout_names())}")
    return layout


def layout_from_names(name: str, joint_names: tuple[str, ...] | list[str]) -> KeypointLayout:
    """The layout a file describes by its layout name and joint names.

    A registered layout is used when its canonical or source joint names equal ``joint_names``;
    otherwise a custom layout with those names and no edges is returned (so files written by
    other tools with other joints still load).
    """
    names = tuple(str(n) for n in joint_names)
    registered = _REGISTRY.get(_key(name))
    if registered is not None and names in (registered.joint_names, registered.source_names):
        return registered
    if registered is not None and not names:
        return registered
    if len(set(names)) != len(names) or not names:
        raise LayoutError(f"layout {name!r}: joint names are empty or repeat")
    return KeypointLayout(
        name=name or "custom",
        joint_names=names,
        parents=(-1,) * len(names),
        source_names=names,
        description="custom layout read from a file; no tree known",
    )


def layout_names() -> tuple[str, ...]:
    """Registry names of all layouts."""
    return tuple(sorted({layout.name for layout in _REGISTRY.values()}))


register_layout(COCO17, "coco", "coco_17", "body_17")
register_layout(HALPE26, "halpe", "halpe_26", "body_26")
register_layout(BODY25, "body_25", "openpose")
register_layout(BODY25B, "body_25b")
register_layout(BLAZEPOSE33, "blazepose", "mediapipe", "blazepose_33")
register_layout(SMPL24, "smpl", "smpl_24")
