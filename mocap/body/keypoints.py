"""Which point of the SMPL body each keypoint of a layout corresponds to.

A triangulated keypoint (canonical name, see :mod:`mocap.skeleton.layouts`) is compared with one of:

* an **SMPL joint** (:data:`JOINT_CORRESPONDENCES`): shoulders, elbows, wrists, knees, ankles are
  the same anatomical joint centres (weight 1). Detector hips sit a few centimetres above and outside
  SMPL's hip-joint centres, the detector neck (the shoulder midpoint) above SMPL's neck joint and the
  hip centre away from SMPL's pelvis joint: these are *approximate* (weight 0.5);
* an **SMPL vertex** (:data:`SMPL_VERTEX_KEYPOINTS`): points on the surface that are not joints —
  nose, eyes, ears, head top, big and small toes, heels, finger tips — regressed from the skinned
  mesh. The ids are those of the official 6890-vertex SMPL mesh (the ones smplx and SPIN use; head
  top from SMPL-Anthropometry); another topology (e.g. :mod:`mocap.body.synthetic_model`) passes its
  own table. BlazePose's ``foot_index`` is compared with the big toe (approximate);
* nothing: eye corners, mouth corners and keypoints no table names are left out of the fit.

When the input layout is ``smpl24`` itself (re-fitting an SMPL skeleton) every joint is its own
SMPL joint with weight 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mocap.errors import ShapeError
from mocap.skeleton.layouts import SMPL24, KeypointLayout

#: Layout keypoint -> (SMPL joint, correspondence weight) for detector layouts.
JOINT_CORRESPONDENCES: dict[str, tuple[str, float]] = {
    **{f"{side}_{part}": (f"{side}_{part}", 1.0) for side in ("left", "right")
       for part in ("shoulder", "elbow", "wrist", "knee", "ankle")},
    "left_hip": ("left_hip", 0.5),
    "right_hip": ("right_hip", 0.5),
    "neck": ("neck", 0.5),
    "mid_hip": ("pelvis", 0.5),
}  # fmt: skip

#: Keypoints read from one vertex of the official SMPL mesh (6890 vertices).
SMPL_VERTEX_KEYPOINTS: dict[str, int] = {
    "nose": 332,
    "left_eye": 2800,
    "right_eye": 6260,
    "left_ear": 583,
    "right_ear": 4071,
    "head_top": 412,
    "left_big_toe": 3216,
    "left_small_toe": 3226,
    "left_heel": 3387,
    "right_big_toe": 6617,
    "right_small_toe": 6624,
    "right_heel": 6787,
    "left_thumb": 2746,
    "left_index": 2319,
    "left_pinky": 2673,
    "right_thumb": 6191,
    "right_index": 5782,
    "right_pinky": 6133,
}

#: Vertex keypoints whose correspondence is approximate: name -> (vertex keypoint used, weight).
VERTEX_ALIASES: dict[str, tuple[str, float]] = {
    "head_top": ("head_top", 0.5),  # detectors disagree on where the top of the head is
    "left_foot_index": ("left_big_toe", 0.7),
    "right_foot_index": ("right_big_toe", 0.7),
}

#: Keypoints used for the rigid torso alignment that starts a fit.
TORSO_KEYPOINTS = ("left_hip", "right_hip", "left_shoulder", "right_shoulder", "pelvis", "mid_hip", "neck", "spine3")

OFFICIAL_NUM_VERTICES = 6890


@dataclass(frozen=True)
class BodyKeypointMap:
    """How the joints of one layout are predicted from an SMPL body.

    Predictions are gathered from ``points = concat(joints (B, J_model, 3), vertices[vertex_ids])``.

    Attributes:
        layout: the keypoint layout of the triangulated joints.
        source: (J_layout,) index into ``points``; -1 where the keypoint is not fitted.
        weight: (J_layout,) correspondence weight in [0, 1]; 0 where not fitted.
        vertex_ids: (K,) model vertices that stand for keypoints.
        num_model_joints: joints of the model (24 for SMPL).
        labels: (J_layout,) what each keypoint is compared with, for reports.
    """

    layout: KeypointLayout
    source: NDArray[np.int64]
    weight: NDArray[np.float64]
    vertex_ids: NDArray[np.int64]
    num_model_joints: int
    labels: tuple[str, ...]

    @property
    def fitted(self) -> NDArray[np.bool_]:
        """(J_layout,) True where the keypoint takes part in the fit."""
        return self.source >= 0

    @property
    def torso(self) -> NDArray[np.bool_]:
        """(J_layout,) fitted keypoints used for the initial rigid alignment."""
        names = np.array([n in TORSO_KEYPOINTS for n in self.layout.joint_names])
        return names & self.fitted & (self.source < self.num_model_joints)


def body_keypoint_map(
    layout: KeypointLayout,
    num_vertices: int,
    vertex_keypoints: Mapping[str, int] | None = None,
    num_model_joints: int = 24,
) -> BodyKeypointMap:
    """The correspondence table for ``layout`` (see the module docstring).

    Args:
        layout: layout of the triangulated joints.
        num_vertices: vertex count of the model (the official table applies to 6890 only).
        vertex_keypoints: canonical name -> vertex index for a model of another topology; None
            uses the official SMPL table when the model has 6890 vertices and no vertex keypoints
            otherwise.
        num_model_joints: joints of the model.

    Raises:
        ShapeError: a vertex index outside the model, or no keypoint of the layout can be fitted.
    """
    if vertex_keypoints is None:
        table = dict(SMPL_VERTEX_KEYPOINTS) if num_vertices == OFFICIAL_NUM_VERTICES else {}
    else:
        table = dict(vertex_keypoints)
    for name, vertex in table.items():
        if not 0 <= int(vertex) < num_vertices:
            raise ShapeError(f"vertex keypoint {name}", f"a vertex index in [0, {num_vertices})", str(vertex))
    is_smpl = layout.joint_names == SMPL24.joint_names[:num_model_joints] or layout.name == SMPL24.name
    vertex_order: list[int] = []
    source = np.full(layout.num_joints, -1, dtype=np.int64)
    weight = np.zeros(layout.num_joints)
    labels = []
    for j, name in enumerate(layout.joint_names):
        label = "not fitted"
        if is_smpl and name in SMPL24 and SMPL24.index(name) < num_model_joints:
            source[j], weight[j], label = SMPL24.index(name), 1.0, f"joint {name}"
        elif name in JOINT_CORRESPONDENCES:
            target, w = JOINT_CORRESPONDENCES[name]
            source[j], weight[j] = SMPL24.index(target), w
            label = f"joint {target}" + ("" if w == 1.0 else " (approximate)")
        else:
            vertex_name, w = VERTEX_ALIASES.get(name, (name, 1.0))
            if vertex_name in table:
                vertex = int(table[vertex_name])
                if vertex not in vertex_order:
                    vertex_order.append(vertex)
                source[j] = num_model_joints + vertex_order.index(vertex)
                weight[j] = w
                label = f"vertex {vertex} ({vertex_name})" + ("" if w == 1.0 else " (approximate)")
        labels.append(label)
    if not np.any(source >= 0):
        raise ShapeError("layout", "keypoints that correspond to SMPL joints or vertices", layout.name)
    return BodyKeypointMap(
        layout=layout,
        source=source,
        weight=weight,
        vertex_ids=np.array(vertex_order, dtype=np.int64),
        num_model_joints=num_model_joints,
        labels=tuple(labels),
    )
