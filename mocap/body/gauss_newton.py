"""Levenberg-Marquardt for the SMPL objective, all frames at once, on the objective's device.

Each iteration takes the exact gradient ``g`` of the objective from autograd and a Gauss-Newton
matrix ``M`` assembled from the closed-form point Jacobians (:mod:`mocap.body.jacobians`):

* per frame (75 x 75 blocks): the data term ``sum_u w_u rho'(s_u) / noise^2 J_u' J_u``, the pose
  priors (diagonal; the chosen GMM component's precision), the frame's own share of the
  smoothness term;
* between frames: the smoothness term couples frames up to two apart through the joints'
  Jacobians ``D_t`` (``(J_{t+1} - 2 J_t + J_{t-1}) / accel_std``), kept matrix-free;
* the betas: their block and their coupling to every frame.

The step solves ``(M + lambda diag(M)) step = -(T / 2) g`` (the objective is ``Phi / T`` and
``Hessian(Phi) ~ 2 M``) inexactly, by conjugate gradients preconditioned with the exact inverse of
the matrix's per-frame blocks plus the shared shape (a Schur complement on the betas, see
:class:`_Operator`) — no sequential loop over frames, so a GPU runs the whole take in a handful of
large kernels. A step is kept when it lowers the objective and the gain ratio (actual over
predicted decrease) is positive; lambda then follows Nielsen's rule, else it grows and the step is
solved again. Variables outside ``free`` (e.g. the body pose during the global stage) do not
move.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass

import torch
from torch import Tensor

from calibration.progress import CancelToken, Progress, check_cancelled
from mocap.body.jacobians import JacobianModel
from mocap.body.objective import Objective
from mocap.body.priors import gmm_best_component

log = logging.getLogger(__name__)


@dataclass
class _System:
    """The Gauss-Newton matrix in parts (see the module docstring)."""

    frame: Tensor  # (T, 75, 75) data + priors
    block: Tensor  # (T, 75, 75) data + priors + the frame's own smoothness share
    frame_beta: Tensor  # (T, 75, S)
    beta: Tensor  # (S, S) data + shape prior
    beta_full: Tensor  # (S, S) data + shape prior + smoothness
    d_joints: Tensor  # (T, 72, 75) / accel_std
    d_joints_t: Tensor  # (T, 75, 72) its transpose, contiguous (see _matvec)
    e_joints: Tensor  # (T, 72, S) / accel_std
    diag_x: Tensor  # (T, 75) diagonal of the full matrix
    diag_b: Tensor  # (S,)


def _smooth(u: Tensor) -> Tensor:
    """``A' A u`` for the second-difference operator A along frames: (T, C) -> (T, C)."""
    out = torch.zeros_like(u)
    if u.shape[0] < 3:
        return out
    a = u[2:] - 2.0 * u[1:-1] + u[:-2]
    out[2:] += a
    out[1:-1] -= 2.0 * a
    out[:-2] += a
    return out


def _self_count(frames: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Diagonal of ``A' A`` for the second-difference operator A: (T,)."""
    count = torch.zeros(frames, dtype=dtype, device=device)
    if frames >= 3:
        count[2:] += 1.0
        count[1:-1] += 4.0
        count[:-2] += 1.0
    return count


def _assemble(objective: Objective, jac: JacobianModel, betas: Tensor, x: Tensor) -> _System:
    s = objective.scales
    st = objective.state(betas, x)
    frames = x.shape[0]
    trans = st.trans[:, None]
    pj = jac.point_jacobians(betas, st.rot_world, st.joints - trans, st.rest_vertices, st.rvecs)
    _, gn_weight = objective.data_weights(st.predicted)  # (T, U)
    used_pose = pj.pose[:, objective.source]  # (T, U, 3, 75)
    used_shape = pj.shape[:, objective.source]  # (T, U, 3, S)
    num_betas = betas.shape[0]
    rows = used_pose.shape[1] * 3
    weighted = (used_pose * gn_weight[:, :, None, None]).reshape(frames, rows, 75)
    weighted_shape = (used_shape * gn_weight[:, :, None, None]).reshape(frames, rows, num_betas)
    frame = torch.bmm(weighted.transpose(1, 2), used_pose.reshape(frames, rows, 75))  # (T, 75, 75)
    frame_beta = torch.bmm(weighted.transpose(1, 2), used_shape.reshape(frames, rows, num_betas))  # (T, 75, S)
    flat_shape = used_shape.reshape(frames * rows, num_betas)
    beta = weighted_shape.reshape(frames * rows, num_betas).T @ flat_shape  # (S, S)
    beta = beta + torch.eye(num_betas, dtype=x.dtype, device=x.device) / s.shape_std**2
    body = objective.split(x)[1]
    prior = torch.zeros(frames, 69, dtype=x.dtype, device=x.device)
    excess = (body < objective.limits[..., 0]) | (body > objective.limits[..., 1])
    prior = prior + excess.reshape(frames, 69).to(x.dtype) / s.limit_std_rad**2
    if objective.gmm is None:
        prior = prior + 1.0 / s.pose_std_rad**2
    else:
        chosen = gmm_best_component(objective.gmm, body.reshape(frames, 69))
        precisions = objective.gmm.tensors(x)[1]
        frame[:, 3:72, 3:72] += precisions[chosen]
    frame[:, 3:72, 3:72] += torch.diag_embed(prior)
    num_joints = objective.layer.num_joints
    scale = 1.0 / objective.accel_std
    d_joints = pj.pose[:, :num_joints].reshape(frames, 3 * num_joints, 75) * scale
    e_joints = pj.shape[:, :num_joints].reshape(frames, 3 * num_joints, num_betas) * scale
    count = _self_count(frames, x.device, x.dtype)
    beta_full = beta
    if frames >= 3:
        de = e_joints[2:] - 2.0 * e_joints[1:-1] + e_joints[:-2]
        beta_full = beta + torch.einsum("tcr,tcs->rs", de, de)
    d_joints_t = d_joints.transpose(1, 2).contiguous()
    # the frame's block with its own share of the smoothness term (for the preconditioner)
    block = frame + count[:, None, None] * torch.bmm(d_joints_t, d_joints)
    diag_x = block.diagonal(dim1=1, dim2=2).clone()
    return _System(
        frame, block, frame_beta, beta, beta_full, d_joints, d_joints_t, e_joints, diag_x, beta_full.diagonal().clone()
    )


def _matvec(matrices: Tensor, vectors: Tensor) -> Tensor:
    """``matrices' @ vectors`` per batch entry: ``(B, n, m)``, ``(B, n)`` -> ``(B, m)``.

    Written as a row vector times the matrix: on a CPU a batch of (1, n) x (n, m) products runs
    several times faster than the same batch of (m, n) x (n, 1) products (measured 6x for
    T = 300 frames of 72 x 75 blocks). For symmetric matrices it is the plain product.
    """
    return torch.bmm(vectors[:, None, :], matrices)[:, 0]


def _spd_inverse(matrices: Tensor) -> Tensor:
    """Inverses of symmetric positive-definite matrices ``(..., n, n)`` through Cholesky factors.

    Batched LAPACK ``inv`` (LU) is about twice as slow on a CPU as a Cholesky factor and its
    inverse. A matrix that is not numerically positive definite gets a little more diagonal until it is.
    """
    eye = torch.eye(matrices.shape[-1], dtype=matrices.dtype, device=matrices.device)
    scale = matrices.diagonal(dim1=-2, dim2=-1).abs().mean(dim=-1)[..., None, None].clamp(min=1e-12)
    jitter = 0.0
    for _ in range(6):
        factor, info = torch.linalg.cholesky_ex(matrices + jitter * scale * eye)
        if not bool((info > 0).any()):
            break
        jitter = 1e-8 if jitter == 0.0 else jitter * 100.0
    return torch.cholesky_inverse(factor)


class _Operator:
    """``(M + lambda D)`` restricted to the free variables, and its preconditioner.

    The preconditioner is the exact inverse of the *arrow* part of the matrix: the per-frame blocks
    (data, priors, the frame's own share of the smoothness, damping), the betas' block and their
    coupling to every frame, inverted through the Schur complement on the betas
    ``S = B_beta - sum_t C_t' B_t^-1 C_t`` (one S x S matrix). Only the smoothness coupling between
    neighbouring frames is left to the conjugate gradients. Shape is shared by all frames, so a
    block-Jacobi preconditioner that ignored the coupling needed many more iterations.
    """

    def __init__(self, system: _System, damping: float, free_x: Tensor, free_b: bool) -> None:
        self.s = system
        self.damping = damping
        self.free_x = free_x.to(system.frame.dtype)  # (75,)
        self.free_b = 1.0 if free_b else 0.0
        floor = 1e-9
        self.damp_x = damping * (system.diag_x + floor)
        self.damp_b = damping * (system.diag_b + floor)
        frames = system.frame.shape[0]
        block = system.block + torch.diag_embed(self.damp_x)
        fx = self.free_x
        block = block * fx[:, None] * fx[None, :] + torch.diag_embed((1.0 - fx).expand(frames, -1))
        self.block_inverse = _spd_inverse(block)  # (T, 75, 75)
        beta = system.beta_full + torch.diag_embed(self.damp_b)
        coupling = system.frame_beta * fx[None, :, None]  # (T, 75, S)
        self.gain = torch.bmm(self.block_inverse, coupling)  # B_t^-1 C_t (block_inverse is symmetric)
        schur = beta - torch.einsum("tis,tir->sr", coupling, self.gain)
        self.schur_inverse = _spd_inverse(schur) if free_b else torch.zeros_like(beta)
        self.coupling = coupling

    def __call__(self, vx: Tensor, vb: Tensor) -> tuple[Tensor, Tensor]:
        s = self.s
        vx = vx * self.free_x
        vb = vb * self.free_b
        num_betas = vb.shape[0]
        # frame_beta (T, 75, S): as one (T 75, S) matrix both ways
        coupling = s.frame_beta.reshape(-1, num_betas)
        out_x = _matvec(s.frame, vx) + (coupling @ vb).view_as(vx) + self.damp_x * vx
        out_b = vx.reshape(-1) @ coupling + s.beta @ vb + self.damp_b * vb
        # smoothness: J' J v with J = A [D | E], A the second difference along frames
        back = _smooth(_matvec(s.d_joints_t, vx) + s.e_joints @ vb)  # (T, 72)
        out_x = out_x + _matvec(s.d_joints, back)
        out_b = out_b + back.reshape(-1) @ s.e_joints.reshape(-1, num_betas)
        return out_x * self.free_x, out_b * self.free_b

    def damping_norm(self, vx: Tensor, vb: Tensor) -> Tensor:
        """``v' (lambda D) v`` over the free variables."""
        return (self.damp_x * vx * vx * self.free_x).sum() + self.free_b * (self.damp_b * vb * vb).sum()

    def precondition(self, rx: Tensor, rb: Tensor) -> tuple[Tensor, Tensor]:
        num_betas = rb.shape[0]
        y = _matvec(self.block_inverse, rx * self.free_x)  # B_t^-1 r_t
        zb = self.schur_inverse @ (rb - y.reshape(-1) @ self.coupling.reshape(-1, num_betas))
        zx = y - (self.gain.reshape(-1, num_betas) @ zb).view_as(y)
        return zx * self.free_x, zb * self.free_b


def _pcg(op: _Operator, bx: Tensor, bb: Tensor, iterations: int, tolerance: float) -> tuple[Tensor, Tensor, int]:
    """Solve ``op(x) = b`` by preconditioned conjugate gradients from zero; also returns the iterations."""
    xx, xb = torch.zeros_like(bx), torch.zeros_like(bb)
    rx, rb = bx.clone(), bb.clone()
    zx, zb = op.precondition(rx, rb)
    px, pb = zx.clone(), zb.clone()
    rz = (rx * zx).sum() + (rb * zb).sum()
    norm0 = torch.sqrt((bx * bx).sum() + (bb * bb).sum())
    done = 0
    for step in range(1, iterations + 1):
        done = step
        ax, ab = op(px, pb)
        denominator = (px * ax).sum() + (pb * ab).sum()
        if not torch.isfinite(denominator) or denominator <= 0:
            break
        alpha = rz / denominator
        xx, xb = xx + alpha * px, xb + alpha * pb
        rx, rb = rx - alpha * ax, rb - alpha * ab
        if torch.sqrt((rx * rx).sum() + (rb * rb).sum()) <= tolerance * norm0:
            break
        zx, zb = op.precondition(rx, rb)
        rz_next = (rx * zx).sum() + (rb * zb).sum()
        beta = rz_next / rz
        px, pb = zx + beta * px, zb + beta * pb
        rz = rz_next
    return xx, xb, done


def _value_and_gradient(objective: Objective, betas: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    b = betas.detach().requires_grad_(True)
    v = x.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = objective(b, v)
        grad_b, grad_x = torch.autograd.grad(loss, [b, v])
    return loss.detach(), grad_b, grad_x


def levenberg_marquardt(
    objective: Objective,
    betas: Tensor,
    x: Tensor,
    *,
    free_x: Tensor,
    free_betas: bool,
    iterations: int,
    tolerance: float,
    stage: str,
    cancel: CancelToken | None = None,
    cg_iterations: int = 20,
    cg_tolerance: float = 1e-2,
) -> Generator[Progress, None, tuple[Tensor, Tensor, int, float]]:
    """Minimise ``objective(betas, x)`` over the free variables (see the module docstring).

    Args:
        objective: the objective.
        betas: (S,) start shape.
        x: (T, 75) start parameters.
        free_x: (75,) bool, the per-frame variables that move.
        free_betas: whether the betas move.
        iterations: most accepted steps.
        tolerance: relative decrease of the objective per step; two such steps in a row end the stage.
        stage: progress label.
        cancel: cooperative cancellation.
        cg_iterations: most conjugate-gradient iterations per step.
        cg_tolerance: relative residual at which conjugate gradients stop (an inexact step is
            enough: the gain ratio check keeps only steps that lower the objective).

    Returns:
        ``(betas, x, iterations done, final objective)``; yields one :class:`Progress` per step.
    """
    jac = JacobianModel(objective.layer, objective.vertex_ids)
    frames = x.shape[0]
    betas, x = betas.detach().clone(), x.detach().clone()
    damping, growth = 1e-3, 2.0
    loss, grad_b, grad_x = _value_and_gradient(objective, betas, x)
    done = slow = 0
    for done in range(1, iterations + 1):
        check_cancelled(cancel)
        with torch.no_grad():
            system = _assemble(objective, jac, betas, x)
            rhs_x = -0.5 * frames * grad_x * free_x.to(x.dtype)
            rhs_b = -0.5 * frames * grad_b * (1.0 if free_betas else 0.0)
            improved = False
            for _ in range(10):
                op = _Operator(system, damping, free_x, free_betas)
                step_x, step_b, cg_done = _pcg(op, rhs_x, rhs_b, cg_iterations, cg_tolerance)
                trial_x, trial_b = x + step_x, betas + step_b
                trial = objective(trial_b, trial_x)
                # decrease the Gauss-Newton model predicts for Phi / T: -(g s) - s' M s / T
                ax, ab = op(step_x, step_b)
                curvature = (ax * step_x).sum() + (ab * step_b).sum() - op.damping_norm(step_x, step_b)
                predicted = -(grad_x * step_x).sum() - (grad_b * step_b).sum() - curvature / frames
                gain = float((loss - trial) / predicted) if float(predicted) > 0 else -1.0
                if torch.isfinite(trial) and trial < loss and gain > 0:
                    improved = True
                    # Nielsen's update (Madsen, Nielsen & Tingleff 2004, eq. 3.16)
                    damping = max(damping * max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3), 1e-9)
                    growth = 2.0
                    break
                log.debug("%s: step rejected (lambda %.2g, %d CG iterations)", stage, damping, cg_done)
                damping *= growth
                growth *= 2.0
        if not improved:
            break
        relative = float((loss - trial) / torch.clamp(loss.abs(), min=1e-30))
        x, betas = trial_x, trial_b
        loss, grad_b, grad_x = _value_and_gradient(objective, betas, x)
        log.debug(
            "%s %d: loss %.6g (-%.2g), gain %.2f, lambda %.2g, %d CG",
            stage, done, float(loss), relative, gain, damping, cg_done,
        )  # fmt: skip
        yield Progress(stage, done, iterations, f"loss {float(loss):.5g}")
        # one small decrease can be followed by a large one (a step that turns a joint past a ridge)
        slow = slow + 1 if relative < tolerance else 0
        if slow == 2:
            break
    return betas, x, done, float(loss)
