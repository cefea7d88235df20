"""How well bundle adjustment can know the cameras: the covariance of the solved camera rotations.

For Gaussian corner noise of ``sigma_px`` per axis, the least-squares estimate has, to first order,
the covariance ``sigma² (J^T J + P)^(-1)`` (the Cramér-Rao bound when ``J`` is taken at the true
parameters; Triggs et al. 2000, "Bundle adjustment - a modern synthesis", section 9): ``J`` the
Jacobian of the corner residuals (:func:`calibration.bundle_projection.projection_jacobians`), ``P``
a prior's information. The board poses are marginalised out block by block (the Schur complement of
their 6 x 6 blocks), which leaves a small matrix over the camera poses and lenses.

Rotations are compared the way :func:`calibration.rig_compare.compare_rigs` does: a small rotation
error ``e_c`` (radians, world frame) per camera, after removing the mean error of all cameras (the
best common rotation aligning two calibrations of the same rig, to first order). The result does
not depend on which camera fixes the gauge.

This answers whether a rig's rotation errors are a defect or the limit of its data: an estimator
that reaches the bound cannot do better on the same corners.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.bundle_adjustment import BoardObservations, BundleResult
from calibration.bundle_layout import Layout
from calibration.bundle_projection import _right_jacobians, projection_jacobians
from calibration.extrinsics import pose_to_vector
from calibration.rotations import rodrigues_to_matrix


@dataclass(frozen=True, eq=False)
class RotationUncertainty:
    """Predicted errors of the camera rotations after the best common rotation, and of the lenses.

    Attributes:
        rotation_rms_deg: (V,) per camera, the RMS angle of its rotation error, degrees.
        rotation_covariance: (3V, 3V) covariance of the stacked rotation errors, radians².
        principal_std_px: (V, 2) standard deviations of ``cx, cy`` (NaN when the lenses are held).
    """

    rotation_rms_deg: NDArray[np.float64] = field(repr=False)
    rotation_covariance: NDArray[np.float64] = field(repr=False)
    principal_std_px: NDArray[np.float64] = field(repr=False)

    def max_angle_quantiles(
        self, quantiles: tuple[float, ...] = (0.5, 0.9), samples: int = 20000, seed: int = 0
    ) -> NDArray[np.float64]:
        """Quantiles (degrees) of the largest camera's rotation error, by sampling the Gaussian."""
        values, vectors = np.linalg.eigh(0.5 * (self.rotation_covariance + self.rotation_covariance.T))
        root = vectors * np.sqrt(np.maximum(values, 0.0))
        draws = np.random.default_rng(seed).standard_normal((samples, len(values))) @ root.T
        angles = np.degrees(np.linalg.norm(draws.reshape(samples, -1, 3), axis=2))
        return np.asarray(np.quantile(angles.max(axis=1), quantiles))


def rotation_uncertainty(
    observations: BoardObservations,
    camera_from_reference: NDArray[np.float64],
    reference_from_board: NDArray[np.float64],
    intrinsics: NDArray[np.float64],
    sigma_px: float,
    *,
    terms: tuple[int, ...] = tuple(range(9)),
    prior_information: NDArray[np.float64] | None = None,
) -> RotationUncertainty:
    """The first-order covariance of a bundle adjustment's camera rotations (see the module docstring).

    Args:
        observations: the corners (their ``pixels`` are not used: only where the corners are).
        camera_from_reference: (V, 4, 4) camera poses.
        reference_from_board: (B, 4, 4) board poses.
        intrinsics: (V, 9) fx, fy, cx, cy, k1, k2, p1, p2, k3 per camera.
        sigma_px: corner noise per axis, pixels.
        terms: the lens terms that are unknowns (indices into the 9; empty: lenses known).
        prior_information: (V, 9, 9) information of a prior on the lenses (pixels² per unit²).
    """
    num_cameras, num_boards = len(camera_from_reference), len(reference_from_board)
    layout = Layout(num_cameras, num_boards, 0, bool(terms), tuple(terms) or tuple(range(9)))
    cameras = np.array([pose_to_vector(p) for p in camera_from_reference]).reshape(num_cameras, 6)
    boards = np.array([pose_to_vector(p) for p in reference_from_board]).reshape(num_boards, 6)
    d_camera, d_board, d_lens = projection_jacobians(observations, cameras, boards, intrinsics)
    jac = layout.jacobian(np.concatenate([d_camera, d_board, d_lens], axis=2), layout.columns(observations))
    hessian = (jac.T @ jac).tocsr()  # type: ignore[attr-defined]
    rest = np.r_[0 : layout.board_start, layout.intrinsic_start : layout.size]
    board_cols = np.arange(layout.board_start, layout.intrinsic_start)
    a = hessian[rest][:, rest].toarray()
    b = hessian[rest][:, board_cols].toarray()
    # the boards' own 6 x 6 blocks straight from their derivatives (a dense board-by-board matrix
    # would grow with the square of the frames)
    diagonal = np.zeros((num_boards, 6, 6))
    np.add.at(diagonal, observations.board, np.einsum("mki,mkj->mij", d_board, d_board))
    inverse = np.linalg.pinv(diagonal)
    b_blocks = b.reshape(len(rest), num_boards, 6)
    reduced = a - np.einsum("rbi,bij,sbj->rs", b_blocks, inverse, b_blocks)
    if layout.refine_intrinsics and prior_information is not None:
        offset = layout.board_start
        for c in range(num_cameras):
            sub = np.asarray(prior_information[c])[np.ix_(layout.terms, layout.terms)]
            start = offset + layout.num_terms * c
            reduced[start : start + layout.num_terms, start : start + layout.num_terms] += sub
    covariance = sigma_px**2 * np.linalg.pinv(reduced)
    # right perturbations of the Rodrigues vectors: R(r + dr) = R(r) exp([G(r) dr]), world-frame errors G dr
    rights = _right_jacobians(cameras[:, :3], rodrigues_to_matrix(cameras[:, :3]))
    to_errors = np.zeros((3 * num_cameras, len(rest)))
    for c in layout.free_cameras:
        start = layout.camera_offset[c]
        to_errors[3 * c : 3 * c + 3, start : start + 3] = rights[c]
    centring = np.kron(np.eye(num_cameras) - 1.0 / num_cameras, np.eye(3))
    mapping = centring @ to_errors
    rotation_covariance = mapping @ covariance @ mapping.T
    per_camera = np.array(
        [np.trace(rotation_covariance[3 * c : 3 * c + 3, 3 * c : 3 * c + 3]) for c in range(num_cameras)]
    )
    principal = np.full((num_cameras, 2), np.nan)
    if layout.refine_intrinsics:
        for k, term in enumerate(layout.terms):
            if term in (2, 3):
                index = layout.board_start + layout.num_terms * np.arange(num_cameras) + k
                principal[:, term - 2] = np.sqrt(np.diag(covariance)[index])
    return RotationUncertainty(np.degrees(np.sqrt(per_camera)), rotation_covariance, principal)


def solved_rotation_uncertainty(
    observations: BoardObservations,
    result: BundleResult,
    lens_prior: NDArray[np.float64] | None = None,
) -> RotationUncertainty:
    """:func:`rotation_uncertainty` at a bundle adjustment's solution: its inlier corners, lenses and
    poses, and the noise its residuals show (per axis, ``rms_px / sqrt(2)``). What the calibration
    report gives each camera as the predicted error of its rotation.

    With ``lens_prior`` (what the intrinsic calibrations know of the lenses: (V, 9) weights of
    :func:`calibration.bundle_prior.prior_weights` or (V, 9, 9) information) all nine lens terms
    count as unknowns known to that prior, whether the adjustment refined them or kept them at their
    calibrated values: a kept term's own error moves the rotations too (measured on the synthetic
    studio: counting only the refined terms predicted 0.03-0.04 deg where the bound at the true rig
    is 0.04-0.05 deg). Without it the lenses count as exact.
    """
    matrices, distortions = result.matrices, np.asarray(result.distortions, dtype=np.float64)
    intrinsics = np.zeros((len(matrices), 9))
    intrinsics[:, :4] = np.column_stack([matrices[:, 0, 0], matrices[:, 1, 1], matrices[:, 0, 2], matrices[:, 1, 2]])
    intrinsics[:, 4 : 4 + min(5, distortions.shape[1])] = distortions[:, :5]
    information = None
    if lens_prior is not None:
        prior = np.asarray(lens_prior, dtype=np.float64)
        information = prior if prior.ndim == 3 else prior[:, :, None] ** 2 * np.eye(9)
    return rotation_uncertainty(
        observations.subset(result.inliers),
        result.camera_from_reference,
        result.reference_from_board,
        intrinsics,
        result.rms_px / np.sqrt(2.0),
        terms=tuple(range(9)) if information is not None else (),
        prior_information=information,
    )
