"""Bundle adjustment of camera poses and board poses (and optionally intrinsics) on board corners.

The model: corner ``k`` of the board at frame ``b`` seen by camera ``c`` projects to::

    pixel = K_c distort_c( pi( R_c (R_b p_k + t_b) + t_c ) )

with ``(R_c, t_c)`` = ``camera_from_reference``, ``(R_b, t_b)`` = ``reference_from_board`` and
``p_k`` the corner in the board frame. Unknowns are 6 numbers (Rodrigues vector, translation) per
camera except the reference camera (fixed: it sets the gauge; the board's known size sets the
scale), 6 per board frame, and with ``refine_intrinsics`` 9 per camera (fx, fy, cx, cy, k1, k2, p1,
p2, k3). The rigid board has 6 unknowns per frame where free 3D corners (as aniposelib optimises)
have 3 per corner, so the problem is smaller and the board's flatness and size are enforced.

Solved with ``scipy.optimize.least_squares`` (trust-region reflective, ``lsmr`` inner solver) and a
robust loss (``soft_l1``, scale ``f_scale_px``). The Jacobian is analytic and sparse (each residual
depends on one camera and one board only,
:func:`calibration.bundle_projection.projection_jacobians`), and the unknowns are
changed to block-Jacobi preconditioned ones (:func:`calibration.bundle_layout.block_preconditioner`),
which cuts lsmr's inner iterations. Observations whose residual exceeds
``max(outlier_min_px, outlier_factor x median)`` after the first solve are dropped and the problem is
solved again from there.

Refined intrinsics can be given a Gaussian prior (``intrinsic_prior``: per-term weights from
:func:`calibration.bundle_prior.prior_weights`, or information matrices from
:func:`calibration.bundle_prior.prior_information`): extra, non-robust residuals on the refined
terms pulling them towards the intrinsic calibration, so that a lens the synchronized views barely
constrain stays where its close-ups put it (:mod:`calibration.bundle_prior`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.arrays import check_shape
from calibration.bundle_layout import LENS_TERMS, Layout, block_preconditioner
from calibration.bundle_prior import information_root, partly_robust_loss
from calibration.bundle_projection import project_corners, projection_jacobians
from calibration.extrinsics import pose_to_vector, vector_to_pose

log = logging.getLogger(__name__)


class BundleOptions(BaseModel):
    """How bundle adjustment runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    refine_intrinsics: bool = Field(False, description="Also optimise fx, fy, cx, cy and distortion per camera.")
    lens_terms: Literal["radial2", "all"] = Field(
        "radial2",
        description="With refine_intrinsics, which lens terms are adjusted: 'radial2' fx, fy, cx, cy, k1, k2 (p1, p2, "
        "k3 stay as calibrated: with a small board or poor image coverage the tangential terms trade off against the "
        "principal point, which then wanders by tens of pixels even with the prior), 'all' nine.",
    )
    loss: str = Field("soft_l1", description="scipy least_squares loss: linear, soft_l1, huber, cauchy, arctan.")
    f_scale_px: float = Field(1.0, gt=0, description="Residual (pixels) where the robust loss starts to bend.")
    outlier_factor: float = Field(5.0, gt=1, description="Drop observations above this times the median residual...")
    outlier_min_px: float = Field(2.0, gt=0, description="...and above this many pixels, then solve again.")
    prior_weight: float = Field(
        1.0,
        ge=0,
        description="With refine_intrinsics, strength of the pull of each refined lens term towards its intrinsic "
        "calibration, in units of that calibration's standard deviation (calibration.bundle_prior); 0 = no prior.",
    )
    prior_correlations: bool = Field(
        False,
        description="Pull the lenses with their calibration's full information matrix (correlations kept, the "
        "close-ups' likelihood to second order: calibration.bundle_prior.prior_information) instead of per-term "
        "standard deviations. As accurate as joining the close-ups themselves on the synthetic studio (camera "
        "rotations 2-12 % nearer the truth than the per-term prior), but worse on caliscope's held-out boards, whose "
        "close-ups come from another session: off by default.",
    )
    max_nfev: int = Field(200, ge=1, description="Most residual evaluations per solve (excluding the Jacobian's).")
    ftol: float = Field(
        1e-6,
        gt=0,
        description="Relative change of the cost that stops the solver (1e-8 gives the same rigs, 3x slower).",
    )


@dataclass(frozen=True, eq=False)
class BoardObservations:
    """Board corners seen by the cameras, one row per (camera, frame, corner).

    Attributes:
        camera: camera index (M,) int.
        board: board-frame index (M,) int, into the board poses being solved.
        points_board: the corner in the board frame (M, 3), metres.
        pixels: where it was detected (M, 2), distorted pixels.
    """

    camera: NDArray[np.int64] = field(repr=False)
    board: NDArray[np.int64] = field(repr=False)
    points_board: NDArray[np.float64] = field(repr=False)
    pixels: NDArray[np.float64] = field(repr=False)

    def __post_init__(self) -> None:
        sizes: dict[str, int] = {}
        check_shape("camera", np.asarray(self.camera), ("M",), sizes)
        check_shape("board", np.asarray(self.board), ("M",), sizes)
        check_shape("points_board", np.asarray(self.points_board), ("M", 3), sizes)
        check_shape("pixels", np.asarray(self.pixels), ("M", 2), sizes)

    def __len__(self) -> int:
        return len(self.camera)

    def subset(self, mask: NDArray[np.bool_]) -> BoardObservations:
        return BoardObservations(self.camera[mask], self.board[mask], self.points_board[mask], self.pixels[mask])


@dataclass(frozen=True, eq=False)
class BundleResult:
    """The adjusted rig and boards.

    Attributes:
        camera_from_reference: (V, 4, 4).
        reference_from_board: (B, 4, 4).
        matrices: (V, 3, 3) intrinsic matrices (changed only with ``refine_intrinsics``).
        distortions: (V, 5) distortion coefficients.
        residuals_px: (M, 2) projection minus detection for every observation, pixels.
        inliers: (M,) observations kept in the final solve.
        initial_rms_px: RMS over all observations before adjustment.
        rms_px: RMS over the inliers after adjustment.
        evaluations: residual evaluations in all solves.
        seconds: wall time.
    """

    camera_from_reference: NDArray[np.float64] = field(repr=False)
    reference_from_board: NDArray[np.float64] = field(repr=False)
    matrices: NDArray[np.float64] = field(repr=False)
    distortions: NDArray[np.float64] = field(repr=False)
    residuals_px: NDArray[np.float64] = field(repr=False)
    inliers: NDArray[np.bool_] = field(repr=False)
    initial_rms_px: float
    rms_px: float
    evaluations: int
    seconds: float


def _prior_jacobian(prior: NDArray[np.float64] | None, layout: Layout, options: BundleOptions) -> Any:
    """The prior's residual matrix (sparse, rows x layout.size), or None without a prior.

    ``prior`` is (V, 9) weights (a diagonal prior, :func:`calibration.bundle_prior.prior_weights`)
    or (V, 9, 9) information matrices (:func:`calibration.bundle_prior.prior_information`); each
    camera's rows are the square root of its refined terms' sub-block.
    """
    from scipy.sparse import csr_matrix

    if prior is None or options.prior_weight <= 0:
        return None
    values = np.asarray(prior, dtype=np.float64)
    num_cameras = layout.num_cameras
    if values.ndim == 2:
        weights = values.reshape(num_cameras, 9)
        values = np.einsum("ci,ij->cij", weights**2, np.eye(9))
    blocks = []
    for c in range(num_cameras):
        sub = values[c][np.ix_(layout.terms, layout.terms)]
        if np.any(sub):
            root = information_root(sub)
            block = np.zeros((len(root), layout.size))
            start = layout.intrinsic_start + layout.num_terms * c
            block[:, start : start + layout.num_terms] = root
            blocks.append(block[np.any(root != 0, axis=1)])
    return csr_matrix(np.concatenate(blocks)) if blocks else None


def _intrinsic_vectors(matrices: NDArray[np.float64], distortions: NDArray[np.float64]) -> NDArray[np.float64]:
    dist = np.zeros((len(matrices), 5))
    for i, d in enumerate(distortions):
        d = np.ravel(d)[:5]
        dist[i, : len(d)] = d
    return np.column_stack([matrices[:, 0, 0], matrices[:, 1, 1], matrices[:, 0, 2], matrices[:, 1, 2], dist])


def bundle_adjust(
    observations: BoardObservations,
    matrices: NDArray[np.float64],
    distortions: NDArray[np.float64],
    camera_from_reference: NDArray[np.float64],
    reference_from_board: NDArray[np.float64],
    *,
    fixed_camera: int = 0,
    options: BundleOptions | None = None,
    intrinsic_prior: NDArray[np.float64] | None = None,
) -> BundleResult:
    """Refine camera and board poses (and intrinsics with ``options.refine_intrinsics``).

    Args:
        observations: the corners, with camera and board indices into the arrays below.
        matrices: (V, 3, 3) intrinsic matrices (zero skew).
        distortions: (V, <=5) OpenCV coefficients (k1, k2, p1, p2, k3; higher-order terms unsupported).
        camera_from_reference: (V, 4, 4) initial camera poses.
        reference_from_board: (B, 4, 4) initial board poses.
        fixed_camera: the camera whose pose stays put (sets the gauge).
        options: see :class:`BundleOptions`.
        intrinsic_prior: (V, 9) weights ``w`` (pixels per unit of fx, fy, cx, cy, k1, k2, p1, p2,
            k3) of residuals ``w (theta - theta_initial)`` on the refined terms
            (:func:`calibration.bundle_prior.prior_weights`), or (V, 9, 9) information matrices
            ``I`` (pixels² per unit², :func:`calibration.bundle_prior.prior_information`) of
            residuals ``S (theta - theta_initial)`` with ``S^T S`` the refined terms' sub-block of
            ``I``; None or 0 = no pull. Ignored without ``refine_intrinsics``.
    """
    from threadpoolctl import threadpool_limits

    options = options or BundleOptions()
    # lsmr works on vectors of a few thousand entries: multi-threaded BLAS only adds contention
    # (measured 10x slower on a loaded 2-core machine), so the solve runs single-threaded
    with threadpool_limits(limits=1, user_api="blas"):
        return _bundle_adjust(
            observations,
            matrices,
            distortions,
            camera_from_reference,
            reference_from_board,
            fixed_camera,
            options,
            intrinsic_prior,
        )


def _bundle_adjust(
    observations: BoardObservations,
    matrices: NDArray[np.float64],
    distortions: NDArray[np.float64],
    camera_from_reference: NDArray[np.float64],
    reference_from_board: NDArray[np.float64],
    fixed_camera: int,
    options: BundleOptions,
    intrinsic_prior: NDArray[np.float64] | None,
) -> BundleResult:
    from scipy.optimize import least_squares
    from scipy.sparse import vstack

    start = time.perf_counter()
    num_cameras, num_boards = len(camera_from_reference), len(reference_from_board)
    terms = LENS_TERMS[options.lens_terms]
    layout = Layout(num_cameras, num_boards, fixed_camera, options.refine_intrinsics, terms)
    cameras = np.array([pose_to_vector(p) for p in camera_from_reference]).reshape(num_cameras, 6)
    boards = np.array([pose_to_vector(p) for p in reference_from_board]).reshape(num_boards, 6)
    intrinsics = _intrinsic_vectors(np.asarray(matrices, dtype=np.float64), np.asarray(distortions, dtype=np.float64))

    # the prior: residuals S_c (x_c - x_c initial) on each camera's refined lens terms, S_c^T S_c
    # the information of those terms (calibration.bundle_prior)
    prior_jacobian = _prior_jacobian(intrinsic_prior, layout, options) if options.refine_intrinsics else None
    prior_rows = 0 if prior_jacobian is None else prior_jacobian.shape[0]
    prior_origin = layout.pack(cameras, boards, intrinsics)

    def residuals(x: NDArray[np.float64], obs: BoardObservations, columns: NDArray[np.int64]) -> NDArray[np.float64]:
        cams, brds, intr = layout.unpack(x, cameras, intrinsics)
        return (project_corners(obs, cams, brds, intr) - obs.pixels).ravel()

    def residuals_with_prior(
        x: NDArray[np.float64], obs: BoardObservations, columns: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        if prior_jacobian is None:
            return residuals(x, obs, columns)
        return np.concatenate([residuals(x, obs, columns), prior_jacobian @ (x - prior_origin)])

    def jacobian(x: NDArray[np.float64], obs: BoardObservations, columns: NDArray[np.int64]) -> object:
        cams, brds, intr = layout.unpack(x, cameras, intrinsics)
        d_camera, d_board, d_intrinsics = projection_jacobians(obs, cams, brds, intr)
        corners: Any = layout.jacobian(np.concatenate([d_camera, d_board, d_intrinsics], axis=2), columns)
        return corners if prior_jacobian is None else vstack([corners, prior_jacobian], format="csr")

    x = layout.pack(cameras, boards, intrinsics)
    all_columns = layout.columns(observations)
    initial = residuals(x, observations, all_columns).reshape(-1, 2)
    initial_rms = float(np.sqrt(np.mean(np.sum(initial**2, axis=1))))
    inliers = np.ones(len(observations), dtype=bool)
    evaluations = 0
    groups = layout.groups()
    for attempt in range(2):
        subset = observations.subset(inliers)
        columns = all_columns[inliers]
        # block-Jacobi preconditioning by a change of variables x = x0 + P z, with P the inverse
        # square root of each block of J^T J at the start (one camera's pose and lens, or one board
        # pose): lsmr then sees near-orthonormal blocks and needs far fewer inner iterations
        origin = x.copy()
        preconditioner = block_preconditioner(jacobian(origin, subset, columns), groups, layout.size)

        def residuals_z(
            z: NDArray[np.float64], obs: BoardObservations, cols: NDArray[np.int64], x0: Any, p: Any
        ) -> NDArray[np.float64]:
            return residuals_with_prior(x0 + p @ z, obs, cols)

        def jacobian_z(z: NDArray[np.float64], obs: BoardObservations, cols: NDArray[np.int64], x0: Any, p: Any) -> Any:
            jac: Any = jacobian(x0 + p @ z, obs, cols)
            return jac @ p

        solution = least_squares(
            residuals_z,
            np.zeros(layout.size),
            jac=jacobian_z,
            method="trf",
            tr_solver="lsmr",
            # tighter inner solves than scipy's default: looser ones make the outer iteration crawl
            # when intrinsics are free; with the preconditioner 1e-8 gives the same solution as 1e-12
            # (caliscope and synthetic rigs) in half the time
            tr_options={"atol": 1e-8, "btol": 1e-8},
            # the prior's residuals stay quadratic (calibration.bundle_prior)
            loss=partly_robust_loss(options.loss, 2 * len(subset)) if prior_rows else options.loss,
            f_scale=options.f_scale_px,
            x_scale=1.0,
            ftol=options.ftol,
            xtol=1e-10,
            gtol=1e-10,
            max_nfev=options.max_nfev,
            args=(subset, columns, origin, preconditioner),
        )
        x = origin + preconditioner @ solution.x
        evaluations += int(solution.nfev)
        norms = np.linalg.norm(residuals(x, observations, all_columns).reshape(-1, 2), axis=1)
        limit = max(options.outlier_min_px, options.outlier_factor * float(np.median(norms)))
        keep = norms <= limit
        if attempt == 1 or np.array_equal(keep, inliers) or keep.sum() < 0.5 * len(keep):
            break
        log.info("bundle adjustment: dropping %d observations above %.2f px", int((~keep).sum()), limit)
        inliers = keep
    cams, brds, intr = layout.unpack(x, cameras, intrinsics)
    final = residuals(x, observations, all_columns).reshape(-1, 2)
    rms = float(np.sqrt(np.mean(np.sum(final[inliers] ** 2, axis=1))))
    matrices_out = np.zeros((num_cameras, 3, 3))
    matrices_out[:, 0, 0], matrices_out[:, 1, 1] = intr[:, 0], intr[:, 1]
    matrices_out[:, 0, 2], matrices_out[:, 1, 2], matrices_out[:, 2, 2] = intr[:, 2], intr[:, 3], 1.0
    seconds = time.perf_counter() - start
    log.info(
        "bundle adjustment: %d observations, RMS %.3f -> %.3f px in %.2f s (%d evaluations)",
        len(observations),
        initial_rms,
        rms,
        seconds,
        evaluations,
    )
    return BundleResult(
        camera_from_reference=np.array([vector_to_pose(v) for v in cams]),
        reference_from_board=np.array([vector_to_pose(v) for v in brds]).reshape(num_boards, 4, 4),
        matrices=matrices_out,
        distortions=intr[:, 4:].copy(),
        residuals_px=final,
        inliers=inliers,
        initial_rms_px=initial_rms,
        rms_px=rms,
        evaluations=evaluations,
        seconds=seconds,
    )
