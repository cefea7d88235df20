"""undistort_normalized: the exact inversion of the lens model, faster."""

import numpy as np
import pytest

from mocap.live.undistort import undistort_normalized
from mocap.synthetic.studio import StudioConfig, SyntheticWorld


@pytest.mark.parametrize("lens", ["none", "mild", "strong"])
def test_same_answer_as_the_exact_inversion(lens):
    world, _ = SyntheticWorld.create(StudioConfig(num_cameras=3, resolution=(640, 480), lens=lens, seed=4))
    rng = np.random.default_rng(0)
    for camera in world.rig.cameras:
        width, height = camera.image_size
        # the whole image, a margin beyond it (where strong lenses fold) and missing points
        pixels = np.stack([rng.uniform(-200, width + 200, 400), rng.uniform(-200, height + 200, 400)], axis=-1)
        pixels[::37] = np.nan
        pixels = pixels.reshape(4, 100, 2)
        exact = camera.undistort_points(pixels, normalized=True)
        fast = undistort_normalized(camera, pixels)
        assert fast.shape == pixels.shape
        assert np.array_equal(np.isnan(fast), np.isnan(exact))
        np.testing.assert_allclose(fast, exact, atol=1e-9, equal_nan=True)


def test_all_missing_points_stay_missing():
    world, _ = SyntheticWorld.create(StudioConfig(num_cameras=1, resolution=(320, 240)))
    assert np.isnan(undistort_normalized(world.rig.cameras[0], np.full((2, 3, 2), np.nan))).all()


def test_a_wrong_opencv_answer_is_caught_and_solved_exactly(monkeypatch):
    import cv2

    world, _ = SyntheticWorld.create(StudioConfig(num_cameras=1, resolution=(640, 480), lens="strong", seed=4))
    camera = world.rig.cameras[0]
    pixels = np.array([[10.0, 20.0], [320.0, 240.0], [630.0, 470.0], [np.nan, 1.0]])

    def off_by_a_bit(points, *args):
        out = np.array(points, dtype=np.float64)  # the distorted pixels, not an undistorted answer
        out[0] += 1e-6
        return (out - camera.matrix[:2, 2]) / np.diag(camera.matrix)[:2]

    monkeypatch.setattr(cv2, "undistortPointsIter", off_by_a_bit)
    exact = camera.undistort_points(pixels, normalized=True)
    np.testing.assert_allclose(undistort_normalized(camera, pixels), exact, atol=1e-12, equal_nan=True)
