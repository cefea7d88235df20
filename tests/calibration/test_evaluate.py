"""score_rig: triangulated board corners judge a rig without re-optimising it."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.evaluate import score_rig
from calibration.importers.caliscope import load_caliscope
from mocap.data_paths import caliscope_board
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


def _board_in_space(board, transform, frame=0):
    points = board.object_points() @ transform[:3, :3].T + transform[:3, 3]
    return {(frame, i): p for i, p in enumerate(points)}


def test_board_geometry_knows_a_true_board_a_scaled_one_and_a_bent_one():
    from calibration.evaluate import board_geometry
    from calibration.extrinsics import make_pose
    from calibration.rotations import rodrigues_to_matrix

    board = caliscope_board()  # 3 x 4 corners, 54 mm apart
    pose = make_pose(rodrigues_to_matrix(np.array([0.3, -1.2, 0.4])), np.array([0.2, -0.1, 2.0]))
    exact = board_geometry(_board_in_space(board, pose), board)
    assert exact is not None and list(exact.frames) == [0]
    assert np.max(np.abs(exact.pair_error_m)) < 1e-12 and exact.rigid_rms_m[0] < 1e-12
    assert exact.scale[0] == pytest.approx(1.0) and exact.flatness_rms_m[0] < 1e-12
    # 1 % too large: every distance 1 % too long; the rigid fit sees it, the similarity fit does not
    scaled = pose.copy()
    scaled[:3, :3] *= 1.01
    big = board_geometry(_board_in_space(board, scaled, frame=4), board)
    assert big is not None and list(big.frames) == [4] and big.scale[0] == pytest.approx(1.01)
    true_distances = big.pair_error_m / 0.01
    assert np.all(true_distances > 0.9 * board.square_length_m)
    assert big.rigid_rms_m[0] > 1e-4 and big.shape_rms_m[0] < 1e-12
    assert big.summary()["scale_error_pct"] == pytest.approx(1.0)
    # one corner 2 mm out of the plane: flatness and shape errors, nearly no scale
    located = _board_in_space(board, np.eye(4), frame=1)
    located[(1, 5)] = located[(1, 5)] + np.array([0.0, 0.0, 0.002])
    bent = board_geometry(located, board)
    assert bent is not None and bent.flatness_rms_m[0] > 2e-4 and bent.shape_rms_m[0] > 2e-4
    assert abs(bent.scale[0] - 1.0) < 1e-3
    # frames with too few corners are skipped
    few = {key: p for key, p in located.items() if key[1] < 4}
    assert board_geometry(few, board) is None


def test_score_rig_board_geometry_sees_a_wrong_focal_length():
    take = generate_board_take(BoardStudioConfig(num_cameras=3, intrinsic_views=1, extrinsic_frames=9, seed=3))
    _, extrinsic = synthetic_detections(take, 0.0, np.random.default_rng(0))
    exact = score_rig(take.rig, extrinsic, take.board)
    assert exact.geometry is not None and exact.geometry.summary()["rigid_median_mm"] < 0.01
    # one camera's focal length 3 % off: its rays bend, triangulated boards lose their shape
    wrong = take.rig.with_camera(
        take.rig.cameras[1].replace(matrix=take.rig.cameras[1].matrix @ np.diag([1.03, 1.03, 1]))
    )
    off = score_rig(wrong, extrinsic, take.board)
    assert off.geometry is not None and off.geometry.summary()["rigid_median_mm"] > 0.1
