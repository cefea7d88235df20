"""Fitting SMPL to triangulated joints: one shape per person, a pose and translation per frame.

Per person, all frames at once on the chosen device:

1. **Correspondences** (:mod:`mocap.body.keypoints`) pick, for each keypoint of the input layout, the
   SMPL joint or vertex it is compared with; keypoints without one are left out.
2. **Rigid start** (:mod:`mocap.body.alignment`): per frame, the rest-pose torso is aligned to the
   triangulated torso; this fixes the root orientation (SMPL's Y-up frame into the Z-up world) and
   the translation before anything else moves.
3. **Stage "global"**: root orientation and translation only (shape and body pose at rest), on the
   torso keypoints, with the smoothness prior.
4. **Stage "body"**: shape, root, body pose and translation together on every keypoint, with all
   terms of :mod:`mocap.body.objective`.

Both stages run Levenberg-Marquardt over all frames at once (:mod:`mocap.body.gauss_newton`),
reporting progress and honouring cancellation after every step; a stage ends at its step budget
or when two steps in a row lower the objective by less than ``tolerance`` (relative). Missing
keypoints (NaN) weigh 0; frames with fewer than ``min_keypoints`` keypoints are carried by the
smoothness prior and marked unobserved. Takes longer than ``window_frames`` are fitted in
overlapping windows with one shape (:mod:`mocap.body.windows`), which bounds the memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from calibration.conventions import PADDED_PERSON_ID
from calibration.progress import CancelToken, Progress, drain
from calibration.rotations import matrix_to_rodrigues
from mocap.body.alignment import FitError, align_torso
from mocap.body.keypoints import body_keypoint_map
from mocap.body.model_file import SmplModel
from mocap.body.priors import GmmPosePrior
from mocap.body.result import FitReport, SmplFit
from mocap.poses3d import Poses3D
from mocap.skeleton.layouts import KeypointLayout

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from torch import Tensor

    from mocap.body.objective import Objective

log = logging.getLogger(__name__)


class FitConfig(BaseModel):
    """Settings of an SMPL fit (scales are physical; see :mod:`mocap.body.objective`)."""

    model_config = ConfigDict(extra="forbid")

    num_betas: int = Field(10, ge=1, le=300, description="shape coefficients fitted (the model's first ones)")
    noise_m: float = Field(0.02, gt=0, description="expected error of a full-weight triangulated keypoint, metres")
    robust_scale_m: float | None = Field(
        0.1, gt=0, description="Geman-McClure scale of the data term, metres; None for plain least squares"
    )
    reprojection_scale_px: float = Field(
        20.0, gt=0, description="reprojection error at which a keypoint's weight halves, pixels"
    )
    acceleration_std_m_s2: float = Field(30.0, gt=0, description="prior std of joint accelerations, m/s^2")
    shape_std: float = Field(1.0, gt=0, description="prior std of each beta")
    pose_std_rad: float = Field(1.5, gt=0, description="weak Gaussian prior on body-pose values, radians")
    limit_std_rad: float = Field(0.05, gt=0, description="softness of the joint-angle limits, radians")
    global_iterations: int = Field(10, ge=0, description="Levenberg-Marquardt steps of the global stage")
    body_iterations: int = Field(60, ge=1, description="Levenberg-Marquardt steps of the body stage")
    tolerance: float = Field(
        5e-4, gt=0, description="relative decrease per step below which, twice in a row, a stage ends"
    )
    min_keypoints: int = Field(4, ge=1, description="keypoints a frame needs to count as observed")
    window_frames: int = Field(
        3000, ge=10, description="longer takes are fitted in overlapping windows of this many frames (memory)"
    )
    window_overlap_frames: int = Field(60, ge=2, description="frames shared by neighbouring windows")
    dtype: Literal["float32", "float64"] = Field("float32", description="tensor precision")


@dataclass
class FitProblem:
    """One person's fit, set up: the objective and the rigid start (see :func:`prepare_fit`).

    Attributes:
        objective: the objective over ``betas (S,)`` and ``x (T, 75)``.
        betas: (S,) start shape (zeros).
        x: (T, 75) start: zero root correction and body pose, translation from the torso alignment.
        torso_used: (U,) which used keypoints are torso keypoints (the global stage fits those).
        targets: (T, J, 3) triangulated keypoints, NaN where missing.
        weights: (T, J) data weights.
        observed: (T,) frames with at least ``min_keypoints`` keypoints.
        person: track id.
        model: the model with the fitted number of betas.
        source_layout: layout of the keypoints.
        fps: frames per second.
    """

    objective: Objective
    betas: Tensor
    x: Tensor
    torso_used: NDArray[np.bool_]
    targets: NDArray[np.float64]
    weights: NDArray[np.float64]
    observed: NDArray[np.bool_]
    person: int
    model: SmplModel
    source_layout: KeypointLayout
    fps: float


def prepare_fit(
    poses: Poses3D,
    model: SmplModel,
    config: FitConfig | None = None,
    *,
    device: str = "cpu",
    vertex_keypoints: Mapping[str, int] | None = None,
    gmm: GmmPosePrior | None = None,
) -> FitProblem:
    """Correspondences, weights, the rigid torso start and the objective of the first person slot.

    Raises:
        FitError: the model is not a 24-joint SMPL, or the person has no usable torso.
        DeviceError: the device is not available.
    """
    import torch

    from mocap.body.layer import SmplLayer
    from mocap.body.objective import Objective, Scales, keypoint_weights

    config = config or FitConfig()
    person = int(poses.person_id[0])
    if model.num_joints != 24:
        raise FitError(f"the model has {model.num_joints} joints; fitting needs the 24-joint SMPL body model")
    model = model.with_num_betas(min(config.num_betas, model.num_betas))
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    layer = SmplLayer(model, device=device, dtype=dtype)
    table = vertex_keypoints if vertex_keypoints is not None else model.vertex_keypoints
    mapping = body_keypoint_map(poses.layout, model.num_vertices, table, model.num_joints)
    targets = poses.xyz[:, 0].astype(np.float64)  # (T, J, 3)
    quality = keypoint_weights(poses.reprojection_error[:, 0], poses.n_views[:, 0], config.reprojection_scale_px)
    weights = np.where(np.isfinite(targets[..., 0]), quality * mapping.weight[None], 0.0)  # (T, J)
    observed = np.count_nonzero(weights > 0, axis=1) >= config.min_keypoints
    if not np.any(weights > 0):
        raise FitError(f"person {person}: no triangulated keypoint corresponds to the SMPL body; nothing to fit")

    # rigid start from the rest torso (betas 0, rest pose)
    torso = np.flatnonzero(mapping.torso)
    rest_joints = model.j_regressor @ model.v_template  # (24, 3)
    rotation, translation, aligned = align_torso(
        rest_joints[mapping.source[torso]], targets[:, torso], weights[:, torso], person
    )
    root_joint = rest_joints[0]
    trans0 = translation + np.einsum("tij,j->ti", rotation, root_joint) - root_joint
    log.info("person %d: torso aligned on %d of %d frames", person, int(aligned.sum()), len(aligned))

    scales = Scales(
        config.noise_m,
        config.robust_scale_m,
        config.acceleration_std_m_s2,
        config.shape_std,
        config.pose_std_rad,
        config.limit_std_rad,
    )
    objective = Objective(layer, targets, weights, mapping.source, mapping.vertex_ids, rotation, poses.fps, scales, gmm)
    x = torch.zeros(poses.num_frames, 75, dtype=dtype, device=layer.device)
    x[:, 72:] = torch.as_tensor(trans0, dtype=dtype, device=layer.device)
    betas = torch.zeros(model.num_betas, dtype=dtype, device=layer.device)
    return FitProblem(
        objective=objective,
        betas=betas,
        x=x,
        torso_used=np.isin(objective.used, torso),
        targets=targets,
        weights=weights,
        observed=observed,
        person=person,
        model=model,
        source_layout=poses.layout,
        fps=poses.fps,
    )


def fit_result(
    problem: FitProblem, betas: Tensor, x: Tensor, report: FitReport | None = None, config: FitConfig | None = None
) -> SmplFit:
    """The :class:`SmplFit` of parameters ``betas (S,)``, ``x (T, 75)`` of ``problem``."""
    import torch

    from mocap.body.layer import axis_angle_to_matrix
    from mocap.session.provenance import code_version

    objective = problem.objective
    with torch.no_grad():
        state = objective.state(betas, x)
        root = objective.root_init @ axis_angle_to_matrix(x[:, :3])
    root_aa = matrix_to_rodrigues(root.cpu().double().numpy())
    x_np = x.detach().cpu().double().numpy()
    pose72 = np.concatenate([root_aa, x_np[:, 3:72]], axis=1)
    targets, weights = problem.targets, problem.weights
    residual = np.full(targets.shape[:2], np.nan)
    distance = np.linalg.norm(state.predicted.cpu().double().numpy() - targets[:, objective.used], axis=-1)
    residual[:, objective.used] = np.where(weights[:, objective.used] > 0, distance, np.nan)
    return SmplFit(
        poses=pose72,
        betas=betas.detach().cpu().double().numpy(),
        trans=x_np[:, 72:],
        joints=state.joints.cpu().float().numpy(),
        observed=problem.observed,
        residual_m=residual,
        source_layout=problem.source_layout,
        gender=problem.model.gender,
        fps=problem.fps,
        person_id=problem.person,
        report=report,
        config=config.model_dump_json() if config is not None else "",
        code_version=code_version(),
    )


def fit_person_iter(
    poses: Poses3D,
    model: SmplModel,
    config: FitConfig | None = None,
    *,
    device: str = "cpu",
    vertex_keypoints: Mapping[str, int] | None = None,
    gmm: GmmPosePrior | None = None,
    cancel: CancelToken | None = None,
    label: str = "",
    betas: NDArray[np.float64] | None = None,
) -> Generator[Progress, None, SmplFit]:
    """Fit SMPL to the first person slot of ``poses`` (see the module docstring).

    A take longer than ``config.window_frames`` is fitted by :func:`mocap.body.windows.fit_windows_iter`.

    Args:
        poses: one person's triangulated joints (slot 0 is used).
        model: the SMPL model (24 joints).
        config: settings (defaults when None).
        device: torch device.
        vertex_keypoints: keypoint name -> vertex id for a model that is not the official topology
            (default: the model's own table, else the official SMPL one for 6890 vertices).
        gmm: optional GMM pose prior.
        cancel: cooperative cancellation.
        label: prefix of the progress stages (e.g. ``"person 0: "``).
        betas: a known shape ``(S,)`` to keep fixed (default: fitted).

    Raises:
        FitError: the model is not a 24-joint SMPL, or the person has no usable torso.
        DeviceError: the device is not available.
        CancelledError: cancelled.
    """
    import torch

    from mocap.body.gauss_newton import levenberg_marquardt

    config = config or FitConfig()
    if poses.num_frames > config.window_frames and betas is None:
        from mocap.body.windows import fit_windows_iter

        return (yield from fit_windows_iter(
            poses, model, config, device=device, vertex_keypoints=vertex_keypoints, gmm=gmm, cancel=cancel,
            label=label,
        ))  # fmt: skip
    start = time.perf_counter()
    problem = prepare_fit(poses, model, config, device=device, vertex_keypoints=vertex_keypoints, gmm=gmm)
    objective, x = problem.objective, problem.x
    dtype, dev = x.dtype, x.device
    shape = problem.betas
    if betas is not None:
        shape = torch.as_tensor(np.array(betas[: len(shape)]), dtype=dtype, device=dev)
    iterations: dict[str, int] = {}
    if config.global_iterations and np.any(problem.torso_used):
        objective.mask = torch.as_tensor(problem.torso_used, dtype=dtype, device=dev)
        free = torch.zeros(75, dtype=torch.bool, device=dev)
        free[:3] = free[72:] = True
        shape, x, iterations["global"], _ = yield from levenberg_marquardt(
            objective, shape, x, free_x=free, free_betas=False, iterations=config.global_iterations,
            tolerance=config.tolerance, stage=f"{label}global", cancel=cancel,
        )  # fmt: skip
    objective.mask = torch.ones(len(objective.used), dtype=dtype, device=dev)
    shape, x, iterations["body"], final = yield from levenberg_marquardt(
        objective, shape, x, free_x=torch.ones(75, dtype=torch.bool, device=dev), free_betas=betas is None,
        iterations=config.body_iterations, tolerance=config.tolerance, stage=f"{label}body", cancel=cancel,
    )  # fmt: skip
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    report = FitReport(iterations, final, time.perf_counter() - start, str(dev))
    return fit_result(problem, shape, x, report, config)


def fit_smpl_iter(
    poses: Poses3D,
    model: SmplModel,
    config: FitConfig | None = None,
    *,
    device: str = "cpu",
    person_ids: list[int] | None = None,
    vertex_keypoints: Mapping[str, int] | None = None,
    gmm: GmmPosePrior | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, list[SmplFit]]:
    """Fit every person (or those in ``person_ids``) of ``poses``; one :class:`SmplFit` each.

    When every person is fitted (``person_ids`` None), a person with no usable torso in any frame
    (e.g. a track of a few stray points) is skipped with a warning; a person asked for by id is
    fitted or the call fails.

    Raises:
        FitError: no person to fit, an unknown id, or a requested person that cannot be fitted.
    """
    known = [int(i) for i in poses.person_id if i != PADDED_PERSON_ID]
    ids = known if person_ids is None else [int(i) for i in person_ids]
    if poses.num_frames == 0 or not ids:
        raise FitError("nothing to fit: the poses have no frames or no person")
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise FitError(f"no person with id {', '.join(map(str, unknown))} (ids: {', '.join(map(str, known))})")
    fits = []
    for pid in ids:
        label = f"person {pid}: " if len(ids) > 1 else ""
        try:
            fits.append((yield from fit_person_iter(
                poses.person(pid), model, config, device=device, vertex_keypoints=vertex_keypoints, gmm=gmm,
                cancel=cancel, label=label,
            )))  # fmt: skip
        except FitError as exc:
            if person_ids is not None or len(ids) == 1:
                raise
            log.warning("skipping person %d: %s", pid, exc)
    if not fits:
        raise FitError(f"none of the {len(ids)} people could be fitted (no frame with 3 torso keypoints)")
    return fits


def fit_smpl(poses: Poses3D, model: SmplModel, config: FitConfig | None = None, **kwargs: object) -> list[SmplFit]:
    """:func:`fit_smpl_iter` run to the end without progress display."""
    return drain(fit_smpl_iter(poses, model, config, **kwargs))  # type: ignore[arg-type]
