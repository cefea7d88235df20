"""score_rig: triangulated board corners judge a rig without re-optimising it."""

from __future__ import annotations

import numpy as np

from calibration.evaluate import score_rig
from calibration.importers.caliscope import load_caliscope
from mocap.synthetic.boards import BoardStudioConfig, generate_board_take, synthetic_detections


def test_true_rig_scores_the_noise_and_a_scaled_rig_misses_the_squares():
    take = generate_board_take(BoardStudioConfig(num_cameras=3, intrinsic_views=1, extrinsic_frames=9, seed=3))
    _, extrinsic = synthetic_detections(take, 0.2, np.random.default_rng(0))
    score = score_rig(take.rig, extrinsic, take.board)
    assert score.corners > 100 and set(score.reprojection_px) == set(take.rig.names)
    for name, median in score.median_px().items():
        assert 0.05 < median < 0.4, name  # two-view triangulation absorbs part of the 0.28 px noise
    assert abs(np.mean(score.square_error_m)) < 0.001
    # the same rig 10 % larger: pixels still agree, the board's squares come out 10 % too long
    cameras = tuple(c.with_pose(c.rotation, c.translation * 1.1) for c in take.rig.cameras)
    scaled = score_rig(type(take.rig)(cameras), extrinsic, take.board)
    assert np.max(list(scaled.median_px().values())) < 0.4
    np.testing.assert_allclose(np.mean(scaled.square_error_m), 0.1 * take.board.square_length_m, rtol=0.05)


def test_caliscope_camera_array(tmp_path):
    text = """
[cameras.0]
size = [1280, 720]
matrix = [[900.0, 0.0, 640.0], [0.0, 900.0, 360.0], [0.0, 0.0, 1.0]]
distortions = [-0.1, 0.01, 0.0, 0.0, 0.0]
rotation = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
translation = [0.1, 0.0, 1.0]

[cameras.1]
size = [1280, 720]
matrix = [[800.0, 0.0, 640.0], [0.0, 800.0, 360.0], [0.0, 0.0, 1.0]]
rotation = [0.0, 0.1, 0.0]
translation = [0.0, 0.0, 1.0]

[cameras.2]
ignore = true
"""
    path = tmp_path / "camera_array.toml"
    path.write_text(text)
    rig = load_caliscope(path)
    assert rig.names == ("cam_0", "cam_1")
    assert rig["cam_1"].rotation[0, 2] > 0.09 and rig["cam_0"].distortion[0] == -0.1
