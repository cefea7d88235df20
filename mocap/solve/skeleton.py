"""``SolvedSkeleton``: one person's skeleton with constant bone lengths and per-frame joint rotations.

Frames and units: world Z-up, metres. The rest pose is the hierarchy's T-pose
(:mod:`mocap.skeleton.hierarchy`) with every joint's rest orientation equal to the world axes, so
a joint's rest offset is a vector in its parent's frame and in the world at once. Forward
kinematics::

    world_rotation[j]  = world_rotation[parent] @ local_rotation[j]        (root: local_rotation[root])
    world_position[j]  = world_position[parent] + world_rotation[parent] @ rest_offset[j]
    world_position[root] = root_translation

End sites carry the identity rotation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import check_shape, frozen
from mocap.errors import MocapError
from mocap.skeleton.hierarchy import Hierarchy
from mocap.solve.rotations import continuous_quaternions, matrix_to_quaternion, rotation_angle


class SolveError(MocapError, ValueError):
    """A person's joints cannot drive a skeleton (no data, a required joint never seen, no frames)."""


@dataclass(frozen=True, eq=False)
class SolvedSkeleton:
    """One person's solved skeleton over a take.

    Attributes:
        hierarchy: the joint tree (J joints, end sites included).
        person_id: the track id of the person in the poses it was solved from.
        fps: frames per second.
        rest_offsets: (J, 3) metres, offset of each joint from its parent in the rest pose (world
            axes); the root's is zero.
        local_rotations: (T, J, 3, 3) rotation of each joint relative to its parent (the root's is
            its world rotation); identity for end sites.
        root_translation: (T, 3) metres, world position of the root joint.
        targets: (T, J, 3) metres, the input keypoint each joint reproduces where it was
            reconstructed; NaN where missing or where the joint has no keypoint.
    """

    hierarchy: Hierarchy
    person_id: int
    fps: float
    rest_offsets: NDArray[Any] = field(repr=False)
    local_rotations: NDArray[Any] = field(repr=False)
    root_translation: NDArray[Any] = field(repr=False)
    targets: NDArray[Any] = field(repr=False)
    local_quaternions: NDArray[Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sizes = {"J": self.hierarchy.num_joints}
        object.__setattr__(self, "rest_offsets", frozen("rest_offsets", self.rest_offsets, ("J", 3), np.float64, sizes))
        object.__setattr__(
            self,
            "local_rotations",
            frozen("local_rotations", self.local_rotations, ("T", "J", 3, 3), np.float64, sizes),
        )
        object.__setattr__(
            self, "root_translation", frozen("root_translation", self.root_translation, ("T", 3), np.float64, sizes)
        )
        object.__setattr__(self, "targets", frozen("targets", self.targets, ("T", "J", 3), np.float64, sizes))
        check_shape("local_rotations", self.local_rotations, ("T", "J", 3, 3), sizes)
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise SolveError(f"fps must be a positive number, got {self.fps!r}")
        quats = continuous_quaternions(matrix_to_quaternion(self.local_rotations))
        object.__setattr__(self, "local_quaternions", frozen("local_quaternions", quats, ("T", "J", 4), np.float64))

    @property
    def num_frames(self) -> int:
        return int(self.local_rotations.shape[0])

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.hierarchy.joint_names

    def forward_kinematics(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """World positions (T, J, 3) metres and world rotations (T, J, 3, 3) of every joint."""
        t, j = self.local_rotations.shape[:2]
        positions = np.zeros((t, j, 3))
        rotations = np.zeros((t, j, 3, 3))
        for k, parent in enumerate(self.hierarchy.parents):
            if parent < 0:
                positions[:, k] = self.root_translation
                rotations[:, k] = self.local_rotations[:, k]
            else:
                positions[:, k] = positions[:, parent] + rotations[:, parent] @ self.rest_offsets[k]
                rotations[:, k] = rotations[:, parent] @ self.local_rotations[:, k]
        return positions, rotations

    def world_positions(self) -> NDArray[np.float64]:
        """(T, J, 3) world positions of every joint, metres."""
        return self.forward_kinematics()[0]

    def bone_lengths(self) -> NDArray[np.float64]:
        """(T, J) distance of each joint from its parent on every frame (0 for the root)."""
        positions = self.world_positions()
        out = np.zeros(positions.shape[:2])
        for k, parent in enumerate(self.hierarchy.parents):
            if parent >= 0:
                out[:, k] = np.linalg.norm(positions[:, k] - positions[:, parent], axis=-1)
        return out

    def reproduction_errors(self) -> NDArray[np.float64]:
        """(T, J) distance (m) between each joint and the keypoint it reproduces; NaN where none."""
        return np.linalg.norm(self.world_positions() - self.targets, axis=-1)

    def rotation_steps(self) -> NDArray[np.float64]:
        """(T-1, J) angle (radians) of each joint's local rotation change from one frame to the next."""
        r = self.local_rotations
        return rotation_angle(np.swapaxes(r[:-1], -1, -2) @ r[1:])
