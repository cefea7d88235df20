"""Closed-form Jacobians of posed SMPL points with respect to the fitting parameters.

Per frame the parameters are ``x = (root_delta (3), body_pose (69), trans (3))`` (75 values) and, for
the take, ``betas (S)``. The root rotation is ``R_init exp(root_delta)`` and joint ``j`` rotates by
``exp(theta_j)``. A perturbation ``exp(d)`` applied on the right of joint ``j``'s rotation moves every
point ``p`` hanging below ``j`` by ``-[p - Jw_j]_x Rw_j d`` (``Jw_j``, ``Rw_j``: world position and
rotation of joint ``j``). An additive change of the axis-angle ``theta`` is the right perturbation
``d = Jr(theta) dtheta`` with the SO(3) right Jacobian
``Jr(t) = I - (1 - cos|t|)/|t|^2 [t]_x + (|t| - sin|t|)/|t|^3 [t]_x^2``.

Points are joints (a joint hangs rigidly from its parent) and skinned vertices
``v = sum_k w_k (Rw_k (v_posed - Jr_k) + Jw_k)``; for a vertex the perturbation of joint ``j`` acts
on the part skinned to ``j``'s descendants. Shape: ``d Jw_k / d beta`` follows the kinematic chain
``dJw_k = dJw_parent + Rw_parent (Jsd_k - Jsd_parent)``.

The pose blend shapes' dependence on the pose is left out of these Jacobians: they are used for
the Gauss-Newton matrix only, while gradients come exactly from autograd, so the fit still
converges to the optimum of the full model (:mod:`mocap.body.gauss_newton`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mocap.body.layer import SmplLayer, skew


def right_jacobian(rvec: Tensor) -> Tensor:
    """SO(3) right Jacobians ``(..., 3)`` -> ``(..., 3, 3)`` (Taylor series near zero)."""
    phi2 = (rvec * rvec).sum(dim=-1)[..., None, None]
    small = phi2 < 1e-6
    safe2 = torch.where(small, torch.ones_like(phi2), phi2)
    phi = torch.sqrt(safe2)
    a = torch.where(small, 0.5 - phi2 / 24.0, (1.0 - torch.cos(phi)) / safe2)
    b = torch.where(small, 1.0 / 6.0 - phi2 / 120.0, (phi - torch.sin(phi)) / (safe2 * phi))
    k = skew(rvec)
    eye = torch.eye(3, dtype=rvec.dtype, device=rvec.device)
    return eye - a * k + b * (k @ k)


@dataclass(frozen=True)
class PointJacobians:
    """Jacobians of posed points.

    Attributes:
        pose: (T, P, 3, 75) derivative of each point with respect to the frame's own parameters.
        shape: (T, P, 3, S) derivative with respect to the betas.
    """

    pose: Tensor
    shape: Tensor


class JacobianModel:
    """Precomputed tree structure for :func:`point_jacobians` on one layer.

    Args:
        layer: the SMPL layer.
        vertex_ids: (K,) vertices whose Jacobians are wanted besides the joints.
    """

    def __init__(self, layer: SmplLayer, vertex_ids: Tensor) -> None:
        self.layer = layer
        n = layer.num_joints
        descends = torch.zeros(n, n, dtype=layer.dtype, device=layer.device)  # [j, k]: k below or at j
        for k in range(n):
            j = k
            while j >= 0:
                descends[j, k] = 1.0
                j = layer.parents[j]
        self.descends = descends
        parent_of = torch.zeros(n, n, dtype=layer.dtype, device=layer.device)  # joint k hangs from parent
        for k in range(1, n):
            parent_of[k, layer.parents[k]] = 1.0
        self.joint_weights = parent_of  # (J points, J joints)
        self.vertex_ids = vertex_ids
        self.vertex_weights = layer.weights[vertex_ids]  # (K, J)
        self.vertex_shapedirs = layer.shapedirs[vertex_ids]  # (K, 3, S)
        # (point, joint) pairs where the joint moves the point: ancestors of the point's carriers
        carriers = torch.cat([parent_of, self.vertex_weights], dim=0)  # (P, J)
        self.below_weight = carriers @ descends.T  # (P, J): weight of the point carried at or below j
        self.pair_point, self.pair_joint = torch.nonzero(self.below_weight, as_tuple=True)
        # the shape chain dJw_k = dJw_parent + Rw_parent (Jsd_k - Jsd_parent), summed along the tree
        jsd = layer.j_shapedirs  # (J, 3, S)
        self.parent_index = torch.as_tensor([max(p, 0) for p in layer.parents], device=layer.device)
        self.bone_shapedirs = jsd - jsd[self.parent_index]  # (J, 3, S); row 0 unused
        self.chain = descends.clone()
        self.chain[0] = 0.0  # the root's own term is jsd[0], not rotated

    def point_jacobians(
        self,
        betas: Tensor,
        rot_world: Tensor,
        joints: Tensor,
        posed_vertices: Tensor | None,
        rvecs: Tensor,
    ) -> PointJacobians:
        """Jacobians of the J joints followed by the K vertices (before ``trans``, which adds I).

        Args:
            betas: (S,) shape.
            rot_world: (T, J, 3, 3) world rotations of the joints.
            joints: (T, J, 3) world joints without ``trans``.
            posed_vertices: (T, K, 3) rest vertices with shape and pose blend shapes (model frame,
                before skinning), or None when K = 0.
            rvecs: (T, J, 3) the parameters the rotations come from (root correction, body pose).
        """
        layer = self.layer
        t_frames, n = joints.shape[:2]
        rest = layer.rest_joints(betas)  # (J, 3)
        # S[p, j] = sum over joints k below j of the part of point p carried by k; c[p, j] its weight
        joint_parts = joints[:, :, None, :] * self.joint_weights[None, :, :, None]  # (T, J, J, 3)
        parts = [joint_parts]
        if posed_vertices is not None and posed_vertices.shape[1]:
            local = posed_vertices[:, :, None, :] - rest[None, None]  # (T, K, J, 3)
            carried = torch.einsum("tjab,tkjb->tkja", rot_world, local) + joints[:, None]  # (T, K, J, 3)
            parts.append(carried * self.vertex_weights[None, :, :, None])
        part = torch.cat(parts, dim=1)  # (T, P, J, 3)
        points = part.shape[1]
        pp, jj = self.pair_point, self.pair_joint
        if points < self.below_weight.shape[0]:  # no vertices this time: joints only
            keep = pp < points
            pp, jj = pp[keep], jj[keep]
        below = torch.einsum("jk,tpkc->tpjc", self.descends, part)[:, pp, jj]  # (T, n_pairs, 3)
        lever = below - self.below_weight[pp, jj][None, :, None] * joints[:, jj]  # (T, n_pairs, 3)
        # d point / d theta_j = -[lever]_x Rw_j Jr(theta_j): column k is (Rw_j Jr_j)[:, k] x lever,
        # written as cross products (elementwise) rather than a batch of 3x3 products, which a CPU
        # runs far slower for these sizes; only the (point, joint) pairs that move are computed
        frame_axes = (rot_world @ right_jacobian(rvecs)).transpose(-1, -2)  # (T, J, k, c)
        d_pairs = torch.linalg.cross(frame_axes[:, jj], lever[:, :, None, :].expand(-1, -1, 3, -1))  # (T, n, k, c)
        d_param = torch.zeros(t_frames, points, n, 3, 3, dtype=joints.dtype, device=joints.device)
        d_param[:, pp, jj] = d_pairs  # (T, P, J, k, c)
        pose = torch.empty(t_frames, points, 3, 3 * n + 3, dtype=joints.dtype, device=joints.device)
        pose[..., : 3 * n] = d_param.permute(0, 1, 4, 2, 3).reshape(t_frames, points, 3, 3 * n)
        pose[..., 3 * n :] = torch.eye(3, dtype=joints.dtype, device=joints.device)
        # shape: down the chain (all joints at once), then vertices from their carrying joints
        jsd = layer.j_shapedirs  # (J, 3, S)
        rotated = torch.einsum("tjab,jbs->tjas", rot_world[:, self.parent_index], self.bone_shapedirs)
        d_joints = jsd[0] + torch.einsum("jk,tjas->tkas", self.chain, rotated)  # (T, J, 3, S)
        shape_parts = [d_joints]
        if posed_vertices is not None and posed_vertices.shape[1]:
            rel = (self.vertex_shapedirs[:, None] - jsd[None]) * self.vertex_weights[:, :, None, None]  # (K, J, 3, S)
            carried_shape = torch.einsum("tjab,kjbs->tkas", rot_world, rel)
            shape_parts.append(carried_shape + torch.einsum("kj,tjas->tkas", self.vertex_weights, d_joints))
        return PointJacobians(pose=pose, shape=torch.cat(shape_parts, dim=1))
