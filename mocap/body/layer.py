"""The SMPL body model as batched torch functions (written here; no smplx dependency).

For shape ``beta (S,)``, pose ``theta (J, 3)`` (axis-angle per joint, the root's first) and
translation ``trans (3,)`` the model (Loper et al. 2015, eqs. 1-4) computes:

1. shaped rest vertices ``V = v_template + shapedirs @ beta`` and rest joints ``Jr = J_regressor @ V``
   (precomputed as ``J_template + J_shapedirs @ beta``, since the regressor is linear);
2. per-joint rotations ``R_j = exp([theta_j]_x)`` and the pose feature ``(R_1..R_{J-1} - I)`` flattened
   row-major to ``9 (J - 1)`` values; posed rest vertices ``V + posedirs @ feature``;
3. the kinematic chain: ``G_j = G_parent(j) [R_j | Jr_j - Jr_parent(j)]`` (the root: ``[R_0 | Jr_0]``),
   evaluated one tree level at a time so the batch runs as a few large matrix products;
4. linear blend skinning with ``A_j = G_j [I | -Jr_j]`` weighted per vertex by ``weights``;
5. posed joints ``G_j[:, 3] + trans`` and vertices ``skinned + trans``.

Everything is in the model's frame (metres); the root rotation places the body in the world. All
functions take leading batch axes ``B`` (frames) and a shared or per-frame ``beta``; tensors live
on the layer's ``device``. This module imports torch at import time: import it only where torch is
wanted (the package ``mocap.body`` does not import it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mocap.body.model_file import SmplModel
from mocap.errors import MocapError, ShapeError


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch device, checked to exist.

    Raises:
        MocapError: CUDA was asked for but torch sees no CUDA device (or the name is unknown).
    """
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(f"unknown device {device!r} ({exc}); use cpu or cuda") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {device} asked for, but torch sees no CUDA device here; use --device cpu")
    return resolved


class DeviceError(MocapError, RuntimeError):
    """The requested compute device is not available."""


def skew(v: Tensor) -> Tensor:
    """Cross-product matrices ``(..., 3)`` -> ``(..., 3, 3)``."""
    zero = torch.zeros_like(v[..., 0])
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*v.shape[:-1], 3, 3)


def axis_angle_to_matrix(rvec: Tensor) -> Tensor:
    """Rotation matrices from axis-angle vectors ``(..., 3)`` -> ``(..., 3, 3)`` (Rodrigues).

    Differentiable everywhere, including at zero: ``sin(t)/t`` and ``(1 - cos t)/t^2`` use their Taylor
    series for tiny angles, and ``(1 - cos t)`` is computed as ``2 sin^2(t/2)`` so float32 keeps its
    digits at small angles.
    """
    theta2 = (rvec * rvec).sum(dim=-1)[..., None, None]
    small = theta2 < 1e-8
    safe2 = torch.where(small, torch.ones_like(theta2), theta2)
    theta = torch.sqrt(safe2)
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    half = torch.sin(theta / 2.0) / theta
    b = torch.where(small, 0.5 - theta2 / 24.0, 2.0 * half * half)
    k = skew(rvec)
    eye = torch.eye(3, dtype=rvec.dtype, device=rvec.device)
    return eye + a * k + b * (k @ k)


@dataclass(frozen=True)
class SmplOutput:
    """Posed joints and (some) vertices.

    Attributes:
        joints: (B, J, 3) posed joints, model frame rotated by the root pose, plus ``trans``.
        vertices: (B, K, 3) posed vertices (all N, or the requested subset), same frame; None when
            vertices were not asked for.
        rotations_world: (B, J, 3, 3) accumulated joint rotations ``G_j[:3, :3]``.
        rest_vertices: (B, K, 3) the skinned vertices before skinning (shape and pose blend shapes
            applied, model frame), or None.
    """

    joints: Tensor
    vertices: Tensor | None
    rotations_world: Tensor
    rest_vertices: Tensor | None = None


class SmplLayer:
    """An SMPL-family model on a torch device (see the module docstring for the maths).

    Args:
        model: the model arrays.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
        dtype: float dtype of every tensor (float32 on a GPU; float64 for exact checks).

    Raises:
        DeviceError: the device is not available.
    """

    def __init__(self, model: SmplModel, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
        self.model = model
        self.device = resolve_device(device)
        self.dtype = dtype
        as_tensor = self._tensor
        self.v_template = as_tensor(model.v_template)  # (N, 3)
        self.shapedirs = as_tensor(model.shapedirs)  # (N, 3, S)
        self.posedirs = as_tensor(model.posedirs.reshape(-1, model.posedirs.shape[-1]).T.copy())  # (P, N*3)
        self.j_regressor = as_tensor(model.j_regressor)  # (J, N)
        self.weights = as_tensor(model.weights)  # (N, J)
        self.j_template = as_tensor(model.j_regressor @ model.v_template)  # (J, 3)
        self.j_shapedirs = as_tensor(np.einsum("jn,ncs->jcs", model.j_regressor, model.shapedirs))  # (J, 3, S)
        self.faces = torch.as_tensor(model.faces.astype(np.int64), device=self.device)
        parents = [int(p) for p in model.parents]
        self.parents = parents
        depth = [0] * len(parents)
        for j in range(1, len(parents)):
            depth[j] = depth[parents[j]] + 1
        # Joints grouped by tree depth; within the level-ordered layout, each joint's parent slot.
        order = sorted(range(len(parents)), key=lambda j: (depth[j], j))
        slot = {j: i for i, j in enumerate(order)}
        self._levels: list[tuple[Tensor, Tensor]] = []
        for level in range(1, max(depth) + 1):
            members = [j for j in order if depth[j] == level]
            self._levels.append(
                (
                    torch.as_tensor(members, device=self.device),
                    torch.as_tensor([slot[parents[j]] for j in members], device=self.device),
                )
            )
        self._unorder = torch.as_tensor([slot[j] for j in range(len(parents))], device=self.device)
        self._parent_index = torch.as_tensor([max(p, 0) for p in parents], device=self.device)

    def _tensor(self, array: np.ndarray) -> Tensor:
        return torch.as_tensor(np.array(array, copy=True), dtype=self.dtype, device=self.device)

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @property
    def num_betas(self) -> int:
        return int(self.shapedirs.shape[2])

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    def _check(self, betas: Tensor, pose: Tensor, trans: Tensor | None) -> None:
        if betas.shape[-1] != self.num_betas or betas.dim() not in (1, 2):
            raise ShapeError("betas", f"(S,) or (B, S) with S = {self.num_betas}", str(tuple(betas.shape)))
        if pose.dim() != 3 or pose.shape[1:] != (self.num_joints, 3):
            raise ShapeError("pose", f"(B, {self.num_joints}, 3) axis-angle", str(tuple(pose.shape)))
        if betas.dim() == 2 and betas.shape[0] != pose.shape[0]:
            raise ShapeError("betas", f"({pose.shape[0]}, {self.num_betas})", str(tuple(betas.shape)))
        if trans is not None and trans.shape != (pose.shape[0], 3):
            raise ShapeError("trans", f"({pose.shape[0]}, 3)", str(tuple(trans.shape)))

    def rest_joints(self, betas: Tensor) -> Tensor:
        """Rest-pose joints ``(S,)`` -> ``(J, 3)`` or ``(B, S)`` -> ``(B, J, 3)``, model frame, metres."""
        return self.j_template + torch.einsum("jcs,...s->...jc", self.j_shapedirs, betas)

    def shaped_vertices(self, betas: Tensor, vertex_ids: Tensor | None = None) -> Tensor:
        """Rest-pose vertices of a shape: ``(S,)`` -> ``(K, 3)`` or ``(B, S)`` -> ``(B, K, 3)``."""
        template = self.v_template if vertex_ids is None else self.v_template[vertex_ids]
        dirs = self.shapedirs if vertex_ids is None else self.shapedirs[vertex_ids]
        return template + torch.einsum("ncs,...s->...nc", dirs, betas)

    def kinematics(self, rest_joints: Tensor, rotations: Tensor) -> tuple[Tensor, Tensor]:
        """World rotations and positions of the joints (before ``trans``).

        Args:
            rest_joints: (J, 3) or (B, J, 3) rest joints.
            rotations: (B, J, 3, 3) local joint rotations.

        Returns:
            ``(rotations_world (B, J, 3, 3), joints (B, J, 3))``.
        """
        batch = rotations.shape[0]
        rest = rest_joints.expand(batch, -1, -1) if rest_joints.dim() == 2 else rest_joints
        # bone offsets from the parent; the root keeps its rest position
        offsets = torch.cat([rest[:, :1], rest[:, 1:] - rest[:, self._parent_index[1:]]], dim=1)  # (B, J, 3)
        rot_levels = [rotations[:, :1]]
        pos_levels = [offsets[:, :1]]
        rot_all, pos_all = rot_levels[0], pos_levels[0]
        for members, parent_slots in self._levels:
            parent_rot = rot_all[:, parent_slots]  # (B, n, 3, 3)
            rot = parent_rot @ rotations[:, members]
            pos = pos_all[:, parent_slots] + (parent_rot @ offsets[:, members, :, None])[..., 0]
            rot_all = torch.cat([rot_all, rot], dim=1)
            pos_all = torch.cat([pos_all, pos], dim=1)
        return rot_all[:, self._unorder], pos_all[:, self._unorder]

    def forward(
        self,
        betas: Tensor,
        pose: Tensor,
        trans: Tensor | None = None,
        *,
        vertex_ids: Tensor | None = None,
        vertices: bool = True,
    ) -> SmplOutput:
        """Pose the model.

        Args:
            betas: (S,) shared shape or (B, S) per frame.
            pose: (B, J, 3) axis-angle per joint, root first.
            trans: (B, 3) translation, metres; None for zero.
            vertex_ids: (K,) vertices to skin (default all N); skinning only a few vertices is
                cheap, e.g. the nose and toes during fitting.
            vertices: False to compute the joints only.

        Raises:
            ShapeError: wrong tensor shapes.
        """
        self._check(betas, pose, trans)
        return self.forward_rotations(
            betas, axis_angle_to_matrix(pose), trans, vertex_ids=vertex_ids, vertices=vertices
        )

    def forward_rotations(
        self,
        betas: Tensor,
        rotations: Tensor,
        trans: Tensor | None = None,
        *,
        vertex_ids: Tensor | None = None,
        vertices: bool = True,
    ) -> SmplOutput:
        """:meth:`forward` with the joint rotations given as matrices ``(B, J, 3, 3)``."""
        if rotations.dim() != 4 or rotations.shape[1:] != (self.num_joints, 3, 3):
            raise ShapeError("rotations", f"(B, {self.num_joints}, 3, 3)", str(tuple(rotations.shape)))
        batch = rotations.shape[0]
        rest = self.rest_joints(betas)
        rot_world, joints = self.kinematics(rest, rotations)
        skinned = posed = None
        if vertices:
            shaped = self.shaped_vertices(betas, vertex_ids)  # (K, 3) or (B, K, 3)
            eye = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
            feature = (rotations[:, 1:] - eye).reshape(batch, -1)  # (B, 9 (J - 1))
            posedirs = (
                self.posedirs
                if vertex_ids is None
                else self.posedirs.view(self.posedirs.shape[0], -1, 3)[:, vertex_ids].reshape(
                    self.posedirs.shape[0], -1
                )
            )
            posed = shaped + (feature @ posedirs).view(batch, -1, 3)  # (B, K, 3)
            rest_b = rest.expand(batch, -1, -1) if rest.dim() == 2 else rest
            # A_j = G_j [I | -Jr_j]: translation part t_j - R_j Jr_j
            shift = joints - (rot_world @ rest_b[..., None])[..., 0]  # (B, J, 3)
            weights = self.weights if vertex_ids is None else self.weights[vertex_ids]  # (K, J)
            blend_rot = torch.einsum("kj,bjmn->bkmn", weights, rot_world)  # (B, K, 3, 3)
            blend_shift = torch.einsum("kj,bjm->bkm", weights, shift)  # (B, K, 3)
            skinned = (blend_rot @ posed[..., None])[..., 0] + blend_shift
        if trans is not None:
            joints = joints + trans[:, None]
            skinned = None if skinned is None else skinned + trans[:, None]
        return SmplOutput(joints=joints, vertices=skinned, rotations_world=rot_world, rest_vertices=posed)

    __call__ = forward
