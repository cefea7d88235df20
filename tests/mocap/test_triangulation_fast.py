"""The compiled CPU paths (``mocap.triangulation.fast_cpu``) return what the numpy DLT and robust modes return.

The first call compiles the kernels (tens of seconds; numba caches them on disk afterwards), so the
cases use small batches; the multi-core runner is compiled by one test only.
"""

import numpy as np
import pytest

from mocap.errors import ShapeError
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation import (
    PointStatus,
    TriangulationConfig,
    fast_cpu,
    triangulate,
    triangulate_dlt,
    triangulate_robust,
)
from mocap.triangulation.fast_cpu import triangulate_dlt_fast, triangulate_robust_fast
from mocap.triangulation.studies import add_outliers, person_views
from tests.calibration.test_rig import ring

LENSES = {
    "no lens": (),
    "4 coefficients": (-0.2, 0.05, 1e-3, -5e-4),
    "5 coefficients": (-0.2, 0.05, 1e-3, -5e-4, 0.01),
    "8 coefficients (rational)": (-0.2, 0.05, 1e-3, -5e-4, 0.01, 0.02, -0.01, 0.005),
    "12 coefficients (thin prism)": (-0.2, 0.05, 1e-3, -5e-4, 0.01, 0.02, -0.01, 0.005, 1e-3, -1e-4, 5e-4, 2e-4),
}


def assert_same(ours, reference, tolerance_m=1e-9):
    np.testing.assert_array_equal(ours.status, reference.status)
    np.testing.assert_array_equal(ours.views_used, reference.views_used)
    np.testing.assert_array_equal(ours.n_views, reference.n_views)
    np.testing.assert_array_equal(np.isnan(ours.view_errors_px), np.isnan(reference.view_errors_px))
    assert np.nanmax(np.abs(ours.points_world - reference.points_world)) < tolerance_m
    pixel_tolerance = 1e-6 if tolerance_m <= 1e-9 else 1e-4
    assert np.nanmax(np.abs(ours.view_errors_px - reference.view_errors_px)) < pixel_tolerance
    assert np.nanmax(np.abs(ours.reprojection_error_px - reference.reprojection_error_px)) < pixel_tolerance


@pytest.mark.parametrize("lens", LENSES)
def test_equals_the_numpy_dlt_for_every_lens_model(lens, rng):
    rig = ring(5, LENSES[lens])
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (40, 17, 3))
    pixels = np.moveaxis(rig.project(points), 0, -2) + rng.normal(0, 2.0, (40, 17, 5, 2))
    pixels[rng.uniform(size=(40, 17, 5)) < 0.3] = np.nan  # some points end with one view or none
    weights = rng.uniform(0.0, 1.0, (40, 17, 5))
    reference = triangulate_dlt(rig, pixels, weights, min_weight=0.1)
    result = triangulate_dlt_fast(rig, pixels, weights, min_weight=0.1)
    assert result.points_world.shape == (40, 17, 3) and result.view_errors_px.shape == (40, 17, 5)
    assert_same(result, reference)
    assert {PointStatus.OK, PointStatus.TOO_FEW_VIEWS} <= set(result.status.ravel().tolist())


def test_block_undistortion_falls_back_to_the_exact_inverse():
    """Where two Newton steps from the series guess fall short (strong lens, wide view), the exact
    inverse runs."""
    from mocap.triangulation.kernels_block_numba import BLOCK, _undistort_block, _undistort_fast
    from mocap.triangulation.kernels_numba import LENS5, _undistort

    lens = np.zeros(12)
    lens[:5] = (-0.3, 0.1, 1e-3, -5e-4, -0.02)
    rng = np.random.default_rng(3)
    rows = np.zeros((3, BLOCK))  # weight, tx, ty
    rows[0] = 1.0
    rows[1], rows[2] = rng.uniform(-0.9, 0.9, BLOCK), rng.uniform(-0.6, 0.6, BLOCK)
    x, y, redo = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    _undistort_fast(BLOCK, rows[1], rows[2], lens, x, y, redo)
    assert 0 < redo.sum() < BLOCK  # both paths are taken
    _undistort_block(BLOCK, rows, lens, LENS5, x, y, redo)
    for j in range(BLOCK):
        exact_x, exact_y, ok = _undistort(rows[1, j], rows[2, j], lens, LENS5)
        if ok:
            assert abs(x[j] - exact_x) < 1e-12 and abs(y[j] - exact_y) < 1e-12 and rows[0, j] == 1.0
        else:
            assert rows[0, j] == 0.0 and x[j] == 0.0 and y[j] == 0.0  # dropped, adding exact zeros


def test_block_undistortion_rarely_needs_the_exact_inverse_on_a_wide_lens():
    """The series start (radial inverse to r^7, tangential terms off) keeps a moderately strong lens over
    a wide view on the vectorised path: the first-order start sent ~19 % of these to the exact inverse."""
    from mocap.triangulation.kernels_block_numba import BLOCK, _undistort_fast
    from mocap.triangulation.kernels_numba import LENS5, _undistort

    lens = np.zeros(12)
    lens[:5] = (-0.1, 0.02, 5e-4, 5e-4, 0.0)
    rng = np.random.default_rng(5)
    tx, ty = rng.uniform(-0.8, 0.8, BLOCK), rng.uniform(-0.48, 0.48, BLOCK)
    x, y, redo = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    _undistort_fast(BLOCK, tx, ty, lens, x, y, redo)
    assert redo.mean() < 0.08
    for j in np.flatnonzero(redo == 0):
        exact_x, exact_y, ok = _undistort(tx[j], ty[j], lens, LENS5)
        assert ok and abs(x[j] - exact_x) < 1e-12 and abs(y[j] - exact_y) < 1e-12


def test_equals_the_numpy_dlt_on_the_studio_with_outliers():
    take = generate_take(StudioConfig(num_frames=30, noise_px=2.0, lens="strong", seed=8))
    pixels, scores = person_views(take)
    noisy, _ = add_outliers(pixels, 0.2, np.random.default_rng(1))
    for min_views in (2, 3):
        assert_same(
            triangulate_dlt_fast(take.rig, noisy, scores, min_views=min_views),
            triangulate_dlt(take.rig, noisy, scores, min_views=min_views),
        )


@pytest.mark.parametrize("lens", ["none", "strong"])
def test_refinement_equals_the_numpy_refinement(lens):
    take = generate_take(StudioConfig(num_frames=30, noise_px=2.0, lens=lens, seed=8))
    pixels, scores = person_views(take)
    noisy, _ = add_outliers(pixels, 0.1, np.random.default_rng(2))
    refined = TriangulationConfig(method="dlt", refine=True)
    for observed in (pixels, noisy):
        reference = triangulate(take.rig, observed, scores, refined)
        # near the optimum the cost is flat: whether the last tiny step is taken is decided by round-off
        assert_same(triangulate_dlt_fast(take.rig, observed, scores, refine=True), reference, tolerance_m=1e-7)
    plain = triangulate_dlt_fast(take.rig, pixels, scores)
    better = triangulate_dlt_fast(take.rig, pixels, scores, refine=True)
    truth = take.poses.xyz[:, 0]
    assert np.nanmean(np.linalg.norm(better.points_world - truth, axis=-1)) < np.nanmean(
        np.linalg.norm(plain.points_world - truth, axis=-1)
    )


@pytest.mark.parametrize(
    "settings",
    [{}, {"adaptive": False, "accept_contested": True}, {"refine": True}, {"min_views": 3, "threshold_px": 10.0}],
)
def test_robust_equals_the_numpy_robust_mode(settings):
    take = generate_take(StudioConfig(num_frames=40, noise_px=2.0, lens="strong", missed_rate=0.1, seed=2))
    pixels, scores = person_views(take)
    noisy, _ = add_outliers(pixels, 0.2, np.random.default_rng(1))
    reference = triangulate_robust(take.rig, noisy, scores, **settings)
    result = triangulate_robust_fast(take.rig, noisy, scores, **settings)
    assert result.threshold_px == reference.threshold_px
    assert_same(result, reference, tolerance_m=1e-7 if settings.get("refine") else 1e-9)
    statuses = set(result.status.ravel().tolist())
    contested_expected = not settings.get("accept_contested") and "min_views" not in settings  # 3: NO_CONSENSUS
    assert PointStatus.OK in statuses and (PointStatus.CONTESTED in statuses) == contested_expected


def test_robust_adaptive_threshold_equals_the_numpy_estimate():
    take = generate_take(StudioConfig(num_frames=200, noise_px=8.0, occlusion=False, num_cameras=6, seed=3))
    pixels, scores = person_views(take)
    reference = triangulate_robust(take.rig, pixels, scores)
    result = triangulate_robust_fast(take.rig, pixels, scores)
    assert 20.0 < reference.threshold_px < 80.0  # the noise raised it above the floor
    assert result.threshold_px == pytest.approx(reference.threshold_px, rel=1e-9)
    assert_same(result, reference)


def test_robust_bad_input_is_named():
    rig = ring(4)
    with pytest.raises(ValueError, match="threshold_px"):
        triangulate_robust_fast(rig, np.zeros((5, 4, 2)), threshold_px=0.0)
    with pytest.raises(ShapeError, match=r"pixels: expected shape \(\.\.\., 4, 2\)"):
        triangulate_robust_fast(rig, np.zeros((5, 3, 2)))
    all_nan = triangulate_robust_fast(rig, np.full((3, 4, 2), np.nan))
    assert (all_nan.status == PointStatus.TOO_FEW_VIEWS).all() and np.isnan(all_nan.points_world).all()
    one_view = triangulate_robust_fast(rig.subset(["cam_1"]), np.zeros((3, 1, 2)))
    assert (one_view.status == PointStatus.TOO_FEW_VIEWS).all()


@pytest.mark.slow
def test_the_multi_core_runner_gives_the_same_result(monkeypatch):
    take = generate_take(StudioConfig(num_frames=20, noise_px=2.0, lens="strong", seed=9))
    pixels, scores = person_views(take)
    noisy, _ = add_outliers(pixels, 0.2, np.random.default_rng(3))
    serial = [triangulate_dlt_fast(take.rig, pixels, scores, refine=True), triangulate_robust_fast(take.rig, noisy)]
    monkeypatch.setattr(fast_cpu, "PARALLEL_MIN_POINTS", 1)
    parallel = [triangulate_dlt_fast(take.rig, pixels, scores, refine=True), triangulate_robust_fast(take.rig, noisy)]
    for one, other in zip(serial, parallel, strict=True):
        for name in ("points_world", "view_errors_px", "views_used", "status"):
            np.testing.assert_array_equal(getattr(one, name), getattr(other, name))


def test_degenerate_behind_and_empty_input():
    rig = ring(2, ())  # cam_1 at (4, 0, 2) and cam_2 at (-4, 0, 2), facing each other
    on_baseline = np.array([1.0, 0.0, 2.0])  # both rays run along the baseline: degenerate
    behind_cam_1 = np.array([6.0, 0.2, 2.5])  # consistent pinhole rays, but behind cam_1
    cameras = [[cam.world_to_camera(p) for cam in rig] for p in (on_baseline, behind_cam_1)]
    pixels = np.array(
        [[cam.normalized_to_pixels(pc[:2] / pc[2]) for cam, pc in zip(rig, row, strict=True)] for row in cameras]
    )
    result = triangulate_dlt_fast(rig, pixels)
    assert result.status.tolist() == [PointStatus.DEGENERATE, PointStatus.BEHIND_CAMERA]
    np.testing.assert_array_equal(result.status, triangulate_dlt(rig, pixels).status)
    assert np.isnan(result.points_world).all() and (result.n_views == 0).all()
    assert triangulate_dlt_fast(rig, np.zeros((0, 7, 2, 2))).points_world.shape == (0, 7, 3)
    all_nan = triangulate_dlt_fast(rig, np.full((3, 2, 2), np.nan))
    assert (all_nan.status == PointStatus.TOO_FEW_VIEWS).all() and np.isnan(all_nan.reprojection_error_px).all()


def test_bad_input_is_named():
    rig = ring(4)
    with pytest.raises(ShapeError, match=r"pixels: expected shape \(\.\.\., 4, 2\)"):
        triangulate_dlt_fast(rig, np.zeros((5, 3, 2)))
    with pytest.raises(ShapeError, match=r"weights: expected shape \(5, 4\)"):
        triangulate_dlt_fast(rig, np.zeros((5, 4, 2)), np.ones((4, 4)))
    with pytest.raises(ShapeError, match="confidences >= 0"):
        triangulate_dlt_fast(rig, np.zeros((5, 4, 2)), -np.ones((5, 4)))
    with pytest.raises(ValueError, match="min_weight"):
        triangulate_dlt_fast(rig, np.zeros((5, 4, 2)), min_weight=-1.0)


def test_non_finite_weights_count_as_zero_and_a_negative_one_behind_them_is_still_named():
    rig = ring(4)
    take = generate_take(StudioConfig(num_frames=2, num_cameras=4, noise_px=0.0, seed=3))
    pixels = np.moveaxis(take.detections.xy[:, :, 0], 1, -2).astype(np.float64)  # (T, J, V, 2)
    weights = np.ones(pixels.shape[:-1])
    reference = triangulate_dlt_fast(take.rig, pixels, np.where(np.arange(4) == 0, 0.0, weights))
    for bad in (np.nan, np.inf, -np.inf):
        weights[..., 0] = bad  # view 0 unusable everywhere
        result = triangulate_dlt_fast(take.rig, pixels, weights)
        np.testing.assert_array_equal(result.points_world, reference.points_world)
        assert not result.views_used[..., 0].any()
    weights[0, 0, 1] = -0.5
    with pytest.raises(ShapeError, match=r"confidences >= 0.*min -0\.5"):
        triangulate_dlt_fast(rig, pixels, weights)


@pytest.mark.parametrize("lens", ["none", "strong"])
def test_a_negative_weight_anywhere_in_a_parallel_batch_is_named(lens):
    """The kernel reads the weights unchecked and marks a point with a negative one; every block on
    every thread reports it, whatever the lens model's undistortion path."""
    from mocap.triangulation.fast_cpu import PARALLEL_MIN_POINTS

    take = generate_take(StudioConfig(num_frames=1, num_cameras=4, noise_px=0.0, lens=lens, seed=3))
    pixels = np.moveaxis(take.detections.xy[0, :, 0], 0, -2).astype(np.float64)  # (J, V, 2)
    pixels = np.resize(pixels, (PARALLEL_MIN_POINTS + 1000, 4, 2))
    weights = np.ones(pixels.shape[:-1])
    for row in (0, len(weights) // 2, len(weights) - 3):
        weights[row, 2] = -0.25
        with pytest.raises(ShapeError, match=r"confidences >= 0.*min -0\.25"):
            triangulate_dlt_fast(take.rig, pixels, weights)
        weights[row, 2] = 0.25
    assert (triangulate_dlt_fast(take.rig, pixels, weights).status == PointStatus.OK).all()


def test_the_rig_arrays_are_made_once_per_rig_object_and_forgotten_with_it():
    import gc

    from mocap.triangulation import fast_cpu

    rig = ring(4)
    first = fast_cpu._rig_arrays(rig)
    assert fast_cpu._rig_arrays(rig) is first
    other = ring(5)
    assert fast_cpu._rig_arrays(other) is not first and len(fast_cpu._rig_arrays(other)[0]) == 5
    key = id(rig)
    del rig, first
    gc.collect()
    assert key not in fast_cpu._RIG_ARRAYS
