"""The objective of an SMPL fit: data, smoothness, shape and pose terms as one torch function.

All terms are negative log-likelihoods of Gaussians written as sums of squared, normalised
residuals, so their weights are physical scales rather than tuning knobs:

* **data**: ``sum_tj w_tj rho(|p_tj - x_tj|^2 / noise_m^2)`` over triangulated keypoints ``x`` and the
  model's corresponding points ``p`` (:mod:`mocap.body.keypoints`); ``rho`` is Geman-McClure with
  scale ``robust_scale_m`` (quadratic for small residuals, bounded for outliers) or the identity.
  ``w = correspondence weight x 1 / (1 + (e / reprojection_scale_px)^2) x min(1, n_views / 3)``
  where ``e`` is the triangulation's reprojection error (unknown errors and ``n_views = 0``, as in
  ground truth or imported motion, count as 1);
* **smoothness**: ``sum |J_{t+1} - 2 J_t + J_{t-1}|^2 / (acceleration_std / fps^2)^2`` over the posed
  SMPL joints: a Gaussian prior on joint accelerations in m/s^2, the same at any frame rate;
* **shape**: ``sum beta^2 / shape_std^2`` (betas are in standard deviations of the body population);
* **pose**: the joint-angle limits ``sum (excess / limit_std)^2`` plus a weak ``sum theta^2 / pose_std^2``
  on the body pose, or ``2 x`` the GMM prior's penalty when a GMM file is supplied
  (:mod:`mocap.body.priors`).

The total is divided by the number of frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from mocap.body.layer import SmplLayer, axis_angle_to_matrix
from mocap.body.priors import GmmPosePrior, limit_excess


@dataclass(frozen=True)
class Scales:
    """Physical scales of the terms (see the module docstring); values come from ``FitConfig``."""

    noise_m: float
    robust_scale_m: float | None
    acceleration_std_m_s2: float
    shape_std: float
    pose_std_rad: float
    limit_std_rad: float


def keypoint_weights(
    reprojection_error: NDArray[np.floating], n_views: NDArray[np.integer], reprojection_scale_px: float
) -> NDArray[np.float64]:
    """Per-keypoint quality weights ``(T, J)`` from the triangulation (see the module docstring)."""
    error = np.asarray(reprojection_error, dtype=np.float64)
    views = np.asarray(n_views, dtype=np.float64)
    reprojection = np.where(np.isfinite(error), 1.0 / (1.0 + (error / reprojection_scale_px) ** 2), 1.0)
    view = np.where(views <= 0, 1.0, np.minimum(1.0, views / 3.0))
    return reprojection * view


@dataclass(frozen=True)
class State:
    """The model evaluated at one parameter point (tensors on the layer's device).

    Attributes:
        predicted: (T, U, 3) model points of the used keypoints, world.
        joints: (T, 24, 3) posed joints, world.
        rot_world: (T, 24, 3, 3) world rotations of the joints.
        rest_vertices: (T, K, 3) keypoint vertices before skinning, or None.
        rvecs: (T, 24, 3) root correction and body pose.
        trans: (T, 3).
    """

    predicted: Tensor
    joints: Tensor
    rot_world: Tensor
    rest_vertices: Tensor | None
    rvecs: Tensor
    trans: Tensor


class Objective:
    """The fitting objective for one person over T frames.

    Parameters are ``betas (S,)`` and ``x (T, 75)`` = root correction (3), body pose (69), translation
    (3) per frame.

    Args:
        layer: the SMPL layer (its device and dtype are used).
        targets: (T, J, 3) triangulated keypoints, world; NaN where missing.
        weights: (T, J) data weights, 0 where missing or not fitted.
        source: (J,) index of each keypoint in ``concat(joints, vertices[vertex_ids])``; -1 = unused.
        vertex_ids: (K,) vertices that stand for keypoints.
        root_init: (T, 3, 3) rotation the root correction is applied after (``R_root = R_init exp(delta)``).
        fps: frames per second.
        scales: the term scales.
        gmm: optional GMM pose prior (replaces the weak Gaussian on the body pose).
    """

    def __init__(
        self,
        layer: SmplLayer,
        targets: NDArray[np.floating],
        weights: NDArray[np.floating],
        source: NDArray[np.integer],
        vertex_ids: NDArray[np.integer],
        root_init: NDArray[np.floating],
        fps: float,
        scales: Scales,
        gmm: GmmPosePrior | None = None,
    ) -> None:
        from mocap.body.priors import joint_limits

        self.layer = layer
        dev, dt = layer.device, layer.dtype
        used = np.flatnonzero(np.asarray(source) >= 0)
        self.used = used
        clean = np.where(np.isfinite(targets[:, used]), targets[:, used], 0.0)
        self.targets = torch.as_tensor(clean, dtype=dt, device=dev)  # (T, U, 3)
        w = np.where(np.isfinite(targets[:, used, 0]), weights[:, used], 0.0)
        self.base_weights = torch.as_tensor(w, dtype=dt, device=dev)  # (T, U)
        self.mask = torch.ones(len(used), dtype=dt, device=dev)  # per keypoint, for staged fits
        self.source = torch.as_tensor(np.asarray(source)[used], device=dev)
        self.vertex_ids = torch.as_tensor(np.asarray(vertex_ids, dtype=np.int64), device=dev)
        self.needs_vertices = bool(len(vertex_ids)) and bool(np.any(np.asarray(source)[used] >= layer.num_joints))
        self.root_init = torch.as_tensor(root_init, dtype=dt, device=dev)
        self.scales = scales
        self.accel_std = scales.acceleration_std_m_s2 / fps**2  # metres per frame^2
        self.limits = torch.as_tensor(joint_limits(), dtype=dt, device=dev)
        self.gmm = gmm
        self.num_frames = int(targets.shape[0])

    @staticmethod
    def split(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``x (T, 75)`` -> root correction (T, 3), body pose (T, 23, 3), translation (T, 3)."""
        return x[:, :3], x[:, 3:72].reshape(-1, 23, 3), x[:, 72:]

    def state(self, betas: Tensor, x: Tensor) -> State:
        """Evaluate the model at ``(betas, x)``."""
        root_delta, body_pose, trans = self.split(x)
        root = self.root_init @ axis_angle_to_matrix(root_delta)
        rotations = torch.cat([root[:, None], axis_angle_to_matrix(body_pose)], dim=1)
        out = self.layer.forward_rotations(
            betas,
            rotations,
            trans,
            vertex_ids=self.vertex_ids if self.needs_vertices else None,
            vertices=self.needs_vertices,
        )
        points = out.joints if out.vertices is None else torch.cat([out.joints, out.vertices], dim=1)
        return State(
            predicted=points[:, self.source],
            joints=out.joints,
            rot_world=out.rotations_world,
            rest_vertices=out.rest_vertices,
            rvecs=x[:, :72].reshape(-1, 24, 3),
            trans=trans,
        )

    def data_weights(self, predicted: Tensor) -> tuple[Tensor, Tensor]:
        """Normalised squared residuals ``s (T, U)`` and the Gauss-Newton weights ``w rho'(s) / noise^2``."""
        s = self.scales
        squared = ((predicted - self.targets) ** 2).sum(dim=-1) / s.noise_m**2
        weights = self.base_weights * self.mask
        if s.robust_scale_m is None:
            return squared, weights / s.noise_m**2
        c2 = (s.robust_scale_m / s.noise_m) ** 2
        return squared, weights * (c2 / (squared + c2)) ** 2 / s.noise_m**2

    def __call__(self, betas: Tensor, x: Tensor) -> Tensor:
        """The total objective divided by the number of frames (a scalar tensor)."""
        s = self.scales
        st = self.state(betas, x)
        squared = ((st.predicted - self.targets) ** 2).sum(dim=-1) / s.noise_m**2  # (T, U)
        if s.robust_scale_m is not None:
            c2 = (s.robust_scale_m / s.noise_m) ** 2
            squared = squared * c2 / (squared + c2)
        total = (self.base_weights * self.mask * squared).sum()
        if st.joints.shape[0] > 2:
            accel = st.joints[2:] - 2.0 * st.joints[1:-1] + st.joints[:-2]
            total = total + (accel**2).sum() / self.accel_std**2
        total = total + (betas**2).sum() / s.shape_std**2
        body_pose = self.split(x)[1]
        total = total + (limit_excess(body_pose, self.limits) ** 2).sum() / s.limit_std_rad**2
        if self.gmm is not None:
            total = total + 2.0 * self.gmm.penalty(body_pose.reshape(body_pose.shape[0], -1)).sum()
        else:
            total = total + (body_pose**2).sum() / s.pose_std_rad**2
        return total / self.num_frames
