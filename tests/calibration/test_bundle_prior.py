"""The intrinsics prior of bundle adjustment: weights, the partly robust loss, and its effect."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.bundle_adjustment import BundleOptions, bundle_adjust
from calibration.bundle_prior import STD_FLOOR, information_root, partly_robust_loss, prior_information, prior_weights
from calibration.bundle_problem import BundleProblem
from calibration.extrinsics import board_poses, initial_board_poses, initial_extrinsics
from calibration.intrinsics import calibrate_intrinsics
from calibration.rig_compare import compare_rigs
from mocap.synthetic.boards import BoardStudioConfig, generate_board_take, synthetic_detections

LOSSES = ("linear", "soft_l1", "huber", "cauchy", "arctan")


@pytest.mark.parametrize("name", LOSSES)
def test_loss_derivatives_and_quadratic_tail(name):
    z = np.array([0.01, 0.3, 0.9, 1.5, 4.0, 30.0, 0.5, 9.0, 100.0])
    rho = partly_robust_loss(name, 6)(z)
    assert rho.shape == (3, len(z))
    # the tail (the prior's residuals) is the plain square whatever the robust loss
    np.testing.assert_array_equal(rho[:, 6:], [z[6:], np.ones(3), np.zeros(3)])
    # rho' and rho'' of the robust part agree with central differences of rho and rho'
    h = 1e-6
    up, down = partly_robust_loss(name, 6)(z + h), partly_robust_loss(name, 6)(z - h)
    np.testing.assert_allclose(rho[1, :6], (up[0, :6] - down[0, :6]) / (2 * h), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(rho[2, :6], (up[1, :6] - down[1, :6]) / (2 * h), rtol=1e-4, atol=1e-6)
    # every robust loss is the square near zero and grows more slowly than it far away
    assert rho[0, 0] == pytest.approx(z[0], rel=0.02)
    if name != "linear":
        assert rho[0, 5] < 0.5 * z[5]


def test_unknown_loss_fails_before_solving():
    with pytest.raises(ValueError, match="unknown loss"):
        partly_robust_loss("l1", 3)


def test_prior_weights_scale_floor_and_unknown():
    std = np.array([[2.0, 4.0, 1.0, 1.0, 0.01, 0.0, np.nan, 0.001, 0.0]])
    w = prior_weights(std, np.array([0.3]), 2.0)
    assert w[0, 0] == pytest.approx(2.0 * 0.3 / 2.0) and w[0, 1] == pytest.approx(2.0 * 0.3 / 4.0)
    # a term held fixed (std 0) gets the floor's large but finite weight; an unknown std no prior
    assert w[0, 5] == pytest.approx(2.0 * 0.3 / STD_FLOOR[5]) and np.isfinite(w[0, 8])
    assert w[0, 6] == 0.0
    assert np.all(prior_weights(std, np.array([0.3]), 0.0) == 0.0)


def _sparse_problem():
    """Three cameras, lenses from 6 close-ups each, 6 synchronized frames: the joint problem is thin."""
    take = generate_board_take(BoardStudioConfig(num_cameras=3, intrinsic_views=6, extrinsic_frames=6, seed=11))
    intrinsic, extrinsic = synthetic_detections(take, 0.3, np.random.default_rng(5))
    names = list(take.rig.names)
    lenses = {n: calibrate_intrinsics(n, intrinsic[n].detections, take.board, intrinsic[n].image_size) for n in names}
    lens = {n: (lenses[n].matrix, lenses[n].distortion) for n in names}
    views = board_poses({n: extrinsic[n].detections for n in names}, take.board, lens)
    camera_from_reference, root = initial_extrinsics(views, names)
    boards = initial_board_poses(views, names, camera_from_reference)
    problem = BundleProblem(names, take.board, views, extrinsic, None)
    matrices = np.array([lenses[n].matrix for n in names])
    distortions = np.array([lenses[n].distortion for n in names])
    std = np.array([lenses[n].std_intrinsics for n in names])
    noise = np.array([lenses[n].rms_px / np.sqrt(2) for n in names])
    args = (problem.observations(), matrices, distortions, camera_from_reference, problem.initial_boards(boards))
    return take, args, root, std, noise


def test_prior_holds_the_lens_and_weight_zero_is_no_prior():
    _, args, root, std, noise = _sparse_problem()
    matrices = args[1]
    options = BundleOptions(refine_intrinsics=True, lens_terms="all", prior_weight=1.0)
    free = bundle_adjust(*args, fixed_camera=root, options=options)  # no prior given
    zero = bundle_adjust(
        *args,
        fixed_camera=root,
        options=options.model_copy(update={"prior_weight": 0.0}),
        intrinsic_prior=prior_weights(std, noise, 1.0),
    )
    np.testing.assert_allclose(zero.matrices, free.matrices, rtol=1e-9)
    # the lenses move without a prior; a strong one keeps them within a small part of their std
    strong = bundle_adjust(*args, fixed_camera=root, options=options, intrinsic_prior=prior_weights(std, noise, 1e3))
    moved_free = np.abs(free.matrices[:, 0, 0] - matrices[:, 0, 0])
    moved_strong = np.abs(strong.matrices[:, 0, 0] - matrices[:, 0, 0])
    assert np.all(moved_strong < 0.01 * std[:, 0]) and np.max(moved_free) > 10 * np.max(moved_strong)
    # the corner fit pays for the constraint, but stays near the noise (0.3 px per axis)
    assert free.rms_px <= strong.rms_px < 1.0


def test_prior_keeps_sparse_joint_refinement_nearer_the_truth():
    take, args, root, std, noise = _sparse_problem()
    options = BundleOptions(refine_intrinsics=True, lens_terms="all")
    free = bundle_adjust(*args, fixed_camera=root, options=options)
    prior = bundle_adjust(*args, fixed_camera=root, options=options, intrinsic_prior=prior_weights(std, noise, 1.0))
    true_focal = np.array([c.focal_lengths for c in take.rig.cameras])
    error_free = np.abs(np.stack([free.matrices[:, 0, 0], free.matrices[:, 1, 1]], 1) / true_focal - 1)
    error_prior = np.abs(np.stack([prior.matrices[:, 0, 0], prior.matrices[:, 1, 1]], 1) / true_focal - 1)
    assert np.max(error_prior) < np.max(error_free)


def test_close_ups_join_the_adjustment_only_when_asked():
    from calibration.calibrate import CalibrationOptions, calibrate_detections_iter
    from calibration.progress import drain

    take = generate_board_take(BoardStudioConfig(num_cameras=3, intrinsic_views=8, extrinsic_frames=12, seed=4))
    intrinsic, extrinsic = synthetic_detections(take, 0.2, np.random.default_rng(0))
    alone = drain(calibrate_detections_iter(take.board, extrinsic, intrinsic))
    joined = drain(
        calibrate_detections_iter(take.board, extrinsic, intrinsic, options=CalibrationOptions(joint_close_ups=True))
    )
    close_ups = sum(len(r.frames_used) for r in joined.intrinsics.values())
    assert len(joined.bundle.reference_from_board) == len(alone.bundle.reference_from_board) + close_ups
    for result in (alone, joined):
        assert np.max(np.abs(compare_rigs(result.rig, take.rig).focal_pct)) < 2.0


def test_lens_information_agrees_with_opencvs_deviations():
    take = generate_board_take(BoardStudioConfig(num_cameras=1, intrinsic_views=20, extrinsic_frames=0, seed=2))
    intrinsic, _ = synthetic_detections(take, 0.2, np.random.default_rng(1))
    name = take.rig.names[0]
    result = calibrate_intrinsics(name, intrinsic[name].detections, take.board, intrinsic[name].image_size)
    free = np.flatnonzero(result.std_intrinsics > 0)
    covariance = (result.rms_px**2 / 2) * np.linalg.inv(result.information[np.ix_(free, free)])
    # OpenCV divides by the degrees of freedom left, we by the corner count: a few percent apart
    ratio = np.sqrt(np.diag(covariance)) / result.std_intrinsics[free]
    assert np.all((ratio > 0.85) & (ratio < 1.02))
    # conditioned on p1, p2 (held in a joint adjustment) the principal point is far better known
    radial = [0, 1, 2, 3, 4, 5]
    conditional = (result.rms_px**2 / 2) * np.linalg.inv(result.information[np.ix_(radial, radial)])
    assert np.all(np.sqrt(np.diag(conditional))[2:4] < 0.8 * np.sqrt(np.diag(covariance))[2:4])


def test_information_root_and_prior_information():
    rng = np.random.default_rng(3)
    scales = np.array([1e2, 1e2, 1e1, 1e1, 1e-2, 1e-3, 1e-4, 1e-4, 1e-3])
    a = rng.normal(size=(30, 9)) / scales
    information = a.T @ a
    root = information_root(information)
    np.testing.assert_allclose(root.T @ root, information, rtol=1e-6, atol=1e-9 * np.max(information))
    std = np.array([[2.0, 2.0, 1.0, 1.0, 0.01, 0.01, 0.001, 0.001, 0.0]])
    prior = prior_information(information[None], std, np.array([0.2]), 2.0)
    floor = prior_weights(std, np.array([0.2]), 2.0)[0, 8] ** 2
    expected = 4.0 * information
    expected[8, 8] += floor  # k3 held in the calibration: the floor keeps it held
    np.testing.assert_allclose(prior[0], expected)
    unknown = prior_information(np.full((1, 9, 9), np.nan), std, np.array([0.2]), 2.0)
    np.testing.assert_allclose(unknown[0], np.diag(prior_weights(std, np.array([0.2]), 2.0)[0] ** 2))


def test_diagonal_information_is_the_per_term_prior():
    _, args, root, std, noise = _sparse_problem()
    options = BundleOptions(refine_intrinsics=True)
    weights = prior_weights(std, noise, 1.0)
    diagonal = bundle_adjust(*args, fixed_camera=root, options=options, intrinsic_prior=weights)
    matrices = np.einsum("ci,ij->cij", weights**2, np.eye(9))
    as_matrix = bundle_adjust(*args, fixed_camera=root, options=options, intrinsic_prior=matrices)
    np.testing.assert_allclose(as_matrix.matrices, diagonal.matrices, rtol=1e-7)
    np.testing.assert_allclose(as_matrix.camera_from_reference, diagonal.camera_from_reference, atol=1e-8)


def test_correlated_prior_calibrates_like_joined_close_ups():
    """The full-information prior is the close-ups' likelihood to second order: its principal points
    land nearer those of joining the close-ups than the per-term prior's do."""
    from calibration.calibrate import CalibrationOptions, calibrate_detections_iter
    from calibration.progress import drain

    take = generate_board_take(BoardStudioConfig(num_cameras=3, intrinsic_views=12, extrinsic_frames=18, seed=6))
    intrinsic, extrinsic = synthetic_detections(take, 0.2, np.random.default_rng(2))
    results = {}
    for label, update in {
        "joined": {"joint_close_ups": True},
        "diagonal": {},
        "correlated": {"bundle": BundleOptions(refine_intrinsics=True, prior_correlations=True)},
    }.items():
        options = CalibrationOptions().model_copy(update=update)
        results[label] = drain(calibrate_detections_iter(take.board, extrinsic, intrinsic, options=options))
    principal = {k: np.array([c.principal_point for c in r.rig.cameras]) for k, r in results.items()}
    gap_correlated = np.abs(principal["correlated"] - principal["joined"]).max()
    gap_diagonal = np.abs(principal["diagonal"] - principal["joined"]).max()
    assert gap_correlated < gap_diagonal
    assert np.max(np.abs(compare_rigs(results["correlated"].rig, take.rig).focal_pct)) < 1.0
