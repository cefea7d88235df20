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
depends on one camera and one board only, :func:`projection_jacobians`), and the unknowns are
changed to block-Jacobi preconditioned ones (:func:`calibration.bundle_layout.block_preconditioner`),
which cuts lsmr's inner iterations. Observations whose residual exceeds
``max(outlier_min_px, outlier_factor x median)`` after the first solve are dropped and the problem is
solved again from there.
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
from calibration.extrinsics import pose_to_vector, vector_to_pose
from calibration.rotations import rodrigues_to_matrix, skew

log = logging.getLogger(__name__)


class BundleOptions(BaseModel):
    """How bundle adjustment runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    refine_intrinsics: bool = Field(False, description="Also optimise fx, fy, cx, cy and distortion per camera.")
    lens_terms: Literal["radial2", "all"] = Field(
        "radial2",
        description="With refine_intrinsics, which lens terms are adjusted: 'radial2' fx, fy, cx, cy, k1, k2 (p1, p2, "
        "k3 stay as calibrated: with a small board or poor image coverage they soak up noise), 'all' nine.",
    )
    loss: str = Field("soft_l1", description="scipy least_squares loss: linear, soft_l1, huber, cauchy, arctan.")
    f_scale_px: float = Field(1.0, gt=0, description="Residual (pixels) where the robust loss starts to bend.")
    outlier_factor: float = Field(5.0, gt=1, description="Drop observations above this times the median residual...")
    outlier_min_px: float = Field(2.0, gt=0, description="...and above this many pixels, then solve again.")
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


def project_corners(
    observations: BoardObservations,
    camera_vectors: NDArray[np.float64],
    board_vectors: NDArray[np.float64],
    intrinsics: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Pixels (M, 2) of every observation for camera poses (V, 6), board poses (B, 6) and intrinsics (V, 9).

    Points behind a camera project through ``z`` clamped to 1e-6 (large residuals, no NaN), which
    keeps the solver's finite differences defined.
    """
    cam_r = rodrigues_to_matrix(camera_vectors[:, :3])
    board_r = rodrigues_to_matrix(board_vectors[:, :3])
    c, b = observations.camera, observations.board
    points_ref = np.einsum("mij,mj->mi", board_r[b], observations.points_board) + board_vectors[b, 3:]
    points_cam = np.einsum("mij,mj->mi", cam_r[c], points_ref) + camera_vectors[c, 3:]
    z = np.maximum(points_cam[:, 2], 1e-6)
    x, y = points_cam[:, 0] / z, points_cam[:, 1] / z
    k = intrinsics[c]
    fx, fy, cx, cy, k1, k2, p1, p2, k3 = k.T
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.stack([fx * xd + cx, fy * yd + cy], axis=-1)


def _right_jacobians(rvecs: NDArray[np.float64], rotations: NDArray[np.float64]) -> NDArray[np.float64]:
    """``G(r) = (r r^T + (R^T - I) [r]_x) / |r|^2`` per vector (N, 3) -> (N, 3, 3); ``I`` near zero.

    With it ``d(R(r) u)/dr = -R [u]_x G(r)`` (Gallego and Yezzi 2015, a compact formula for the
    derivative of a 3-D rotation in exponential coordinates).
    """
    theta2 = np.sum(rvecs * rvecs, axis=-1)
    small = theta2 < 1e-16
    safe = np.where(small, 1.0, theta2)[:, None, None]
    outer = rvecs[:, :, None] * rvecs[:, None, :]
    skew_r = skew(rvecs)
    g = (outer + (np.swapaxes(rotations, -1, -2) - np.eye(3)) @ skew_r) / safe
    g[small] = np.eye(3)
    return np.asarray(g)


def projection_jacobians(
    observations: BoardObservations,
    camera_vectors: NDArray[np.float64],
    board_vectors: NDArray[np.float64],
    intrinsics: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Analytic derivatives of :func:`project_corners` per observation.

    Returns:
        d pixel / d camera pose (M, 2, 6), d pixel / d board pose (M, 2, 6) and
        d pixel / d intrinsics (M, 2, 9), each pose ordered (rotation vector, translation).
    """
    cam_r = rodrigues_to_matrix(camera_vectors[:, :3])
    board_r = rodrigues_to_matrix(board_vectors[:, :3])
    cam_g = _right_jacobians(camera_vectors[:, :3], cam_r)
    board_g = _right_jacobians(board_vectors[:, :3], board_r)
    c, b = observations.camera, observations.board
    p = observations.points_board
    rb_p = np.einsum("mij,mj->mi", board_r[b], p)
    points_ref = rb_p + board_vectors[b, 3:]
    rc = cam_r[c]
    points_cam = np.einsum("mij,mj->mi", rc, points_ref) + camera_vectors[c, 3:]
    z = np.maximum(points_cam[:, 2], 1e-6)
    x, y = points_cam[:, 0] / z, points_cam[:, 1] / z
    fx, fy, _, _, k1, k2, p1, p2, k3 = intrinsics[c].T
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    d_radial = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    m = len(x)
    # d pixel / d camera-frame point: diag(f) @ d distorted / d normalized @ d normalized / d point
    dist = np.empty((m, 2, 2))
    dist[:, 0, 0] = radial + 2.0 * x * x * d_radial + 2.0 * p1 * y + 6.0 * p2 * x
    dist[:, 0, 1] = 2.0 * x * y * d_radial + 2.0 * p1 * x + 2.0 * p2 * y
    dist[:, 1, 0] = dist[:, 0, 1]
    dist[:, 1, 1] = radial + 2.0 * y * y * d_radial + 6.0 * p1 * y + 2.0 * p2 * x
    dist[:, 0, :] *= fx[:, None]
    dist[:, 1, :] *= fy[:, None]
    proj = np.zeros((m, 2, 3))
    proj[:, 0, 0] = proj[:, 1, 1] = 1.0 / z
    proj[:, 0, 2] = -x / z
    proj[:, 1, 2] = -y / z
    a = dist @ proj  # (M, 2, 3)
    d_camera = np.empty((m, 2, 6))
    d_camera[:, :, :3] = -a @ rc @ skew(points_ref) @ cam_g[c]
    d_camera[:, :, 3:] = a
    a_rc = a @ rc
    d_board = np.empty((m, 2, 6))
    d_board[:, :, :3] = -a_rc @ board_r[b] @ skew(p) @ board_g[b]
    d_board[:, :, 3:] = a_rc
    d_intrinsics = np.zeros((m, 2, 9))
    d_intrinsics[:, 0, 0] = xd
    d_intrinsics[:, 1, 1] = yd
    d_intrinsics[:, 0, 2] = 1.0
    d_intrinsics[:, 1, 3] = 1.0
    for column, (dx, dy) in zip(
        (4, 5, 8, 6, 7),
        (
            (x * r2, y * r2),
            (x * r2 * r2, y * r2 * r2),
            (x * r2**3, y * r2**3),
            (2.0 * x * y, r2 + 2.0 * y * y),
            (r2 + 2.0 * x * x, 2.0 * x * y),
        ),
        strict=True,
    ):
        d_intrinsics[:, 0, column] = fx * dx
        d_intrinsics[:, 1, column] = fy * dy
    return d_camera, d_board, d_intrinsics


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
    """
    from threadpoolctl import threadpool_limits

    options = options or BundleOptions()
    # lsmr works on vectors of a few thousand entries: multi-threaded BLAS only adds contention
    # (measured 10x slower on a loaded 2-core machine), so the solve runs single-threaded
    with threadpool_limits(limits=1, user_api="blas"):
        return _bundle_adjust(
            observations, matrices, distortions, camera_from_reference, reference_from_board, fixed_camera, options
        )


def _bundle_adjust(
    observations: BoardObservations,
    matrices: NDArray[np.float64],
    distortions: NDArray[np.float64],
    camera_from_reference: NDArray[np.float64],
    reference_from_board: NDArray[np.float64],
    fixed_camera: int,
    options: BundleOptions,
) -> BundleResult:
    from scipy.optimize import least_squares

    start = time.perf_counter()
    num_cameras, num_boards = len(camera_from_reference), len(reference_from_board)
    terms = LENS_TERMS[options.lens_terms]
    layout = Layout(num_cameras, num_boards, fixed_camera, options.refine_intrinsics, terms)
    cameras = np.array([pose_to_vector(p) for p in camera_from_reference]).reshape(num_cameras, 6)
    boards = np.array([pose_to_vector(p) for p in reference_from_board]).reshape(num_boards, 6)
    intrinsics = _intrinsic_vectors(np.asarray(matrices, dtype=np.float64), np.asarray(distortions, dtype=np.float64))

    def residuals(x: NDArray[np.float64], obs: BoardObservations, columns: NDArray[np.int64]) -> NDArray[np.float64]:
        cams, brds, intr = layout.unpack(x, cameras, intrinsics)
        return (project_corners(obs, cams, brds, intr) - obs.pixels).ravel()

    def jacobian(x: NDArray[np.float64], obs: BoardObservations, columns: NDArray[np.int64]) -> object:
        cams, brds, intr = layout.unpack(x, cameras, intrinsics)
        d_camera, d_board, d_intrinsics = projection_jacobians(obs, cams, brds, intr)
        return layout.jacobian(np.concatenate([d_camera, d_board, d_intrinsics], axis=2), columns)

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
            return residuals(x0 + p @ z, obs, cols)

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
            loss=options.loss,
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
