"""A rig as torch tensors on a device: projection and exact undistortion for the GPU live path.

The lens model is OpenCV's, exactly as :mod:`calibration.distortion` states it (``k1 k2 p1 p2
[k3 [k4 k5 k6 [s1 s2 s3 s4]]]``, padded to 12 coefficients per camera); undistortion inverts it
by Newton's method on the analytic 2x2 Jacobian, batched over every view and point, until the
residual is below ``1e-12`` (normalized) in float64 or ``1e-6`` in float32. Points where Newton does
not converge or the model folds (Jacobian determinant <= 0) are NaN, as in the numpy model.

This module imports torch; import it only where a torch path is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from calibration.rig import CameraRig
from mocap.triangulation.camera_arrays import camera_arrays

_NEWTON_ITERATIONS = 30


@dataclass(frozen=True, eq=False)
class RigTensors:
    """The cameras of a rig on one device, in rig order.

    Attributes:
        names: camera names.
        intrinsics: (V, 5) ``fx, fy, cx, cy, skew``.
        distortion: (V, 12) OpenCV coefficients, zero-padded.
        extrinsics: (V, 3, 4) ``camera_from_world`` ``[R | t]``.
    """

    names: tuple[str, ...]
    intrinsics: torch.Tensor
    distortion: torch.Tensor
    extrinsics: torch.Tensor

    @classmethod
    def from_rig(
        cls, rig: CameraRig, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64
    ) -> RigTensors:
        """Copy a rig's parameters to ``device`` once (reuse the result frame after frame)."""
        intrinsics, distortion, extrinsics = camera_arrays(rig)

        def put(array: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(array, dtype=dtype, device=device)

        return cls(rig.names, put(intrinsics), put(distortion), put(extrinsics))

    @property
    def device(self) -> torch.device:
        return self.extrinsics.device

    @property
    def dtype(self) -> torch.dtype:
        return self.extrinsics.dtype

    def __len__(self) -> int:
        return len(self.names)


def _terms(xy: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Shared terms of the lens model for normalized points (N, V, 2) and coefficients (V, 12)."""
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = c.unbind(-1)  # each (V,)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    num = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    den = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
    radial = num / den
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x) + r2 * (s1 + s2 * r2)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y + r2 * (s3 + s4 * r2)
    return x, y, r2, num, den, radial, xd, yd


def _distort(xy: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Distort normalized points (N, V, 2) with per-view coefficients (V, 12)."""
    *_, xd, yd = _terms(xy, c)
    return torch.stack([xd, yd], dim=-1)


def _distort_with_jacobian(xy: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distorted points (N, V, 2) and the Jacobian d(distorted)/d(xy) (N, V, 2, 2)."""
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = c.unbind(-1)
    x, y, r2, num, den, radial, xd, yd = _terms(xy, c)
    dnum = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
    dden = k4 + r2 * (2.0 * k5 + 3.0 * k6 * r2)
    drad = (dnum * den - num * dden) / (den * den)
    sx = s1 + 2.0 * s2 * r2
    sy = s3 + 2.0 * s4 * r2
    j00 = radial + 2.0 * x * x * drad + 2.0 * p1 * y + 6.0 * p2 * x + 2.0 * x * sx
    j01 = 2.0 * x * y * drad + 2.0 * p1 * x + 2.0 * p2 * y + 2.0 * y * sx
    j10 = 2.0 * x * y * drad + 2.0 * p1 * x + 2.0 * p2 * y + 2.0 * x * sy
    j11 = radial + 2.0 * y * y * drad + 6.0 * p1 * y + 2.0 * p2 * x + 2.0 * y * sy
    jacobian = torch.stack([torch.stack([j00, j01], -1), torch.stack([j10, j11], -1)], -2)
    return torch.stack([xd, yd], dim=-1), jacobian


def pixels_to_normalized(rig: RigTensors, pixels: torch.Tensor) -> torch.Tensor:
    """Remove ``K`` from distorted pixels (N, V, 2) -> distorted normalized coordinates (N, V, 2)."""
    fx, fy, cx, cy, skew = rig.intrinsics.unbind(-1)
    y = (pixels[..., 1] - cy) / fy
    x = (pixels[..., 0] - cx - skew * y) / fx
    return torch.stack([x, y], dim=-1)


def undistort_normalized(rig: RigTensors, pixels: torch.Tensor) -> torch.Tensor:
    """Distorted pixels (N, V, 2) -> undistorted normalized coordinates (N, V, 2); NaN where not invertible."""
    target = pixels_to_normalized(rig, pixels)
    if not bool(torch.any(rig.distortion != 0)) or target.numel() == 0:
        return target
    tolerance = 1e-12 if rig.dtype == torch.float64 else 1e-6
    solution = target.clone()
    finite = torch.isfinite(target).all(dim=-1)
    solution = torch.where(finite[..., None], solution, torch.zeros_like(solution))
    safe_target = torch.where(finite[..., None], target, torch.zeros_like(target))
    for _ in range(_NEWTON_ITERATIONS):
        value, jac = _distort_with_jacobian(solution, rig.distortion)
        residual = value - safe_target
        # points that diverged (non-finite) are caught by the final check; they must not keep the others iterating
        if float(torch.nan_to_num(residual.abs(), nan=0.0, posinf=0.0).amax()) < tolerance:
            break
        det = jac[..., 0, 0] * jac[..., 1, 1] - jac[..., 0, 1] * jac[..., 1, 0]
        safe_det = torch.where(det.abs() > 1e-12, det, torch.ones_like(det))
        step_x = (jac[..., 1, 1] * residual[..., 0] - jac[..., 0, 1] * residual[..., 1]) / safe_det
        step_y = (-jac[..., 1, 0] * residual[..., 0] + jac[..., 0, 0] * residual[..., 1]) / safe_det
        step = torch.stack([step_x, step_y], dim=-1)
        # damp long steps, as the numpy model does, so Newton stays on the right branch
        limit = 0.5 * (1.0 + solution.norm(dim=-1, keepdim=True))
        length = step.norm(dim=-1, keepdim=True)
        step = torch.where(length > limit, step * (limit / length.clamp_min(1e-300)), step)
        solution = solution - step
    value, jac = _distort_with_jacobian(solution, rig.distortion)
    converged = (value - safe_target).abs().amax(dim=-1) < max(tolerance * 100, 1e-10)
    det = jac[..., 0, 0] * jac[..., 1, 1] - jac[..., 0, 1] * jac[..., 1, 0]
    ok = finite & converged & (det > 0)
    return torch.where(ok[..., None], solution, torch.full_like(solution, float("nan")))


def project_camera(rig: RigTensors, points_camera: torch.Tensor) -> torch.Tensor:
    """Camera-frame points (N, V, 3) -> distorted pixels (N, V, 2); NaN behind a camera."""
    z = points_camera[..., 2:3]
    front = z > 0
    normalized = points_camera[..., :2] / torch.where(front, z, torch.ones_like(z))
    distorted = _distort(normalized, rig.distortion)
    fx, fy, cx, cy, skew = rig.intrinsics.unbind(-1)
    u = fx * distorted[..., 0] + skew * distorted[..., 1] + cx
    v = fy * distorted[..., 1] + cy
    pixels = torch.stack([u, v], dim=-1)
    return torch.where(front, pixels, torch.full_like(pixels, float("nan")))


def to_cameras(rig: RigTensors, points_world: torch.Tensor) -> torch.Tensor:
    """World points (..., 3) -> camera-frame points (..., V, 3)."""
    rotation, translation = rig.extrinsics[..., :3], rig.extrinsics[..., 3]
    return torch.einsum("vij,...j->...vi", rotation, points_world) + translation
