"""The torch twin (``mocap.triangulation.torch_dlt``) against the numpy triangulation, on the CPU.

float64 must agree with numpy to round-off (< 1e-9 m, same statuses and views); float32, the GPU's
fast type, is held to its documented accuracy. A CUDA run of the same comparison is marked ``gpu``.
"""

import numpy as np
import pytest
import torch

from mocap.errors import ShapeError
from mocap.synthetic.studio import StudioConfig, generate_take
from mocap.triangulation import PointStatus, triangulate_dlt, triangulate_robust
from mocap.triangulation.studies import add_outliers, person_views
from mocap.triangulation.torch_camera import RigTensors
from mocap.triangulation.torch_dlt import triangulate_torch
from tests.calibration.test_rig import ring

#: float32 accuracy the module docstring promises (measured ~2e-5 m on the studio's lenses).
FLOAT32_TOLERANCE_M = 1e-4


@pytest.fixture(scope="module", params=["none", "strong"])
def studio(request):
    take = generate_take(StudioConfig(num_frames=40, noise_px=2.0, lens=request.param, missed_rate=0.1, seed=4))
    pixels, scores = person_views(take)
    noisy, _ = add_outliers(pixels, 0.2, np.random.default_rng(9))
    return take, noisy, scores


def assert_same(ours, reference, tolerance_m=1e-9):
    assert ours.points_world.shape == reference.points_world.shape
    np.testing.assert_array_equal(ours.status, reference.status)
    np.testing.assert_array_equal(ours.views_used, reference.views_used)
    np.testing.assert_array_equal(ours.n_views, reference.n_views)
    np.testing.assert_array_equal(np.isnan(ours.points_world), np.isnan(reference.points_world))
    assert np.nanmax(np.abs(ours.points_world - reference.points_world)) < tolerance_m
    assert np.nanmax(np.abs(ours.view_errors_px - reference.view_errors_px)) < 1e-6
    assert np.nanmax(np.abs(ours.reprojection_error_px - reference.reprojection_error_px)) < 1e-6


def test_float64_plain_dlt_equals_numpy(studio):
    take, pixels, scores = studio
    reference = triangulate_dlt(take.rig, pixels, scores)
    result = triangulate_torch(take.rig, pixels, scores, device="cpu")
    assert result.points_world.dtype == torch.float64 and result.points_world.shape == (40, 17, 3)
    assert_same(result.to_result(), reference)
    assert reference.valid.mean() > 0.9


@pytest.mark.parametrize("accept_contested", [False, True])
def test_float64_robust_equals_numpy(studio, accept_contested):
    take, pixels, scores = studio
    settings = {"threshold_px": 15.0, "accept_contested": accept_contested}
    reference = triangulate_robust(take.rig, pixels, scores, adaptive=False, **settings)
    result = triangulate_torch(take.rig, pixels, scores, robust=True, **settings).to_result()
    assert_same(result, reference)
    assert result.threshold_px == 15.0
    assert (PointStatus.CONTESTED in set(result.status.ravel())) != accept_contested


def test_float32_accuracy(studio):
    take, pixels, scores = studio
    reference = triangulate_dlt(take.rig, pixels, scores)
    result = triangulate_torch(take.rig, pixels, scores, dtype=torch.float32)
    assert result.points_world.dtype == torch.float32
    numpy_result = result.to_result()
    both = reference.valid & numpy_result.valid
    assert both.mean() > 0.99 * reference.valid.mean()
    error = np.linalg.norm(numpy_result.points_world[both] - reference.points_world[both], axis=-1)
    assert error.max() < FLOAT32_TOLERANCE_M


def test_tensors_stay_on_the_device_and_the_rig_is_reused(studio):
    take, pixels, scores = studio
    cams = RigTensors.from_rig(take.rig, device=torch.device("cpu"))
    assert cams.names == take.rig.names and len(cams) == len(take.rig) and cams.dtype == torch.float64
    as_tensors = triangulate_torch(cams, torch.as_tensor(pixels), torch.as_tensor(scores))
    from_arrays = triangulate_torch(take.rig, pixels, scores)
    assert as_tensors.points_world.device == cams.device
    assert torch.equal(torch.nan_to_num(as_tensors.points_world), torch.nan_to_num(from_arrays.points_world))


def test_missing_views_one_view_all_nan_and_empty():
    rig = ring(4)
    points = np.array([[0.1, 0.2, 1.0], [0.3, -0.2, 1.5], [0.0, 0.0, 1.2]])
    pixels = np.moveaxis(rig.project(points), 0, -2).copy()  # (3, 4, 2)
    pixels[0, 1:] = np.nan  # one view only
    pixels[1, 0] = np.nan  # three views left
    result = triangulate_torch(rig, pixels).to_result()
    assert result.status.tolist() == [PointStatus.TOO_FEW_VIEWS, PointStatus.OK, PointStatus.OK]
    assert np.isnan(result.points_world[0]).all() and result.n_views.tolist() == [0, 3, 4]
    assert np.abs(result.points_world[1:] - points[1:]).max() < 1e-9
    all_nan = triangulate_torch(rig, np.full((2, 5, 4, 2), np.nan), robust=True).to_result()
    assert all_nan.points_world.shape == (2, 5, 3) and np.isnan(all_nan.points_world).all()
    assert (all_nan.status == PointStatus.TOO_FEW_VIEWS).all() and np.isnan(all_nan.reprojection_error_px).all()
    empty = triangulate_torch(generate_take(StudioConfig(num_frames=2)).rig, np.zeros((0, 4, 2)))
    assert empty.points_world.shape == (0, 3)


def test_bad_input_is_named():
    rig = ring(4)
    with pytest.raises(ShapeError, match=r"pixels: expected shape \(\.\.\., 4, 2\)"):
        triangulate_torch(rig, np.zeros((5, 3, 2)))
    with pytest.raises(ShapeError, match=r"weights: expected shape \(5, 4\)"):
        triangulate_torch(rig, np.zeros((5, 4, 2)), np.ones((5, 3)))
    with pytest.raises(ShapeError, match="confidences >= 0"):
        triangulate_torch(rig, np.zeros((5, 4, 2)), -np.ones((5, 4)))
    with pytest.raises(ValueError, match="min_views"):
        triangulate_torch(rig, np.zeros((5, 4, 2)), min_views=1)
    with pytest.raises(ValueError, match="threshold_px"):
        triangulate_torch(rig, np.zeros((5, 4, 2)), robust=True, threshold_px=0.0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_numpy(studio):
    take, pixels, scores = studio
    reference = triangulate_robust(take.rig, pixels, scores, adaptive=False)
    result = triangulate_torch(take.rig, pixels, scores, robust=True, device="cuda")
    assert result.points_world.device.type == "cuda"
    assert_same(result.to_result(), reference, tolerance_m=1e-8)
