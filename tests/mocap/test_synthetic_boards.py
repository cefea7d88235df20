import numpy as np
import pytest

from calibration.board_detection import BoardDetector
from calibration.boards import BoardSpec
from calibration.rotations import rodrigues_to_matrix
from mocap.synthetic.boards import (
    BoardRenderer,
    BoardStudioConfig,
    board_corners_in_camera,
    generate_board_take,
    write_board_take,
)


def detection_errors(take, camera_index, poses, detector, rng):
    camera = take.rig.cameras[camera_index]
    renderer = BoardRenderer(camera, take.config)
    errors, found = [], 0
    for pose in poses:
        detection = detector.detect(renderer.render(pose, rng))
        if detection is None:
            continue
        found += 1
        truth, seen = board_corners_in_camera(camera, take.board, pose)
        assert np.all(seen[detection.ids])
        errors.append(detection.corners_px - truth[detection.ids])
    return found, np.concatenate(errors)


def test_take_is_seeded_and_every_pose_is_seen():
    config = BoardStudioConfig(num_cameras=3, intrinsic_views=4, extrinsic_frames=6, seed=5)
    take = generate_board_take(config)
    again = generate_board_take(config)
    np.testing.assert_array_equal(take.extrinsic_poses, again.extrinsic_poses)
    assert take.extrinsic_poses.shape == (6, 4, 4) and [p.shape for p in take.intrinsic_poses] == [(4, 4, 4)] * 3
    for index, camera in enumerate(take.rig.cameras):
        for pose in take.intrinsic_poses[index]:
            assert np.all(board_corners_in_camera(camera, take.board, pose)[1])
    # frame f faces cameras f and f + 1 of the ring: both see all corners
    for frame, pose in enumerate(take.extrinsic_poses):
        for k in (frame % 3, (frame + 1) % 3):
            assert np.all(board_corners_in_camera(take.rig.cameras[k], take.board, pose)[1])


def test_rendered_charuco_is_detected_where_it_projects():
    take = generate_board_take(BoardStudioConfig(num_cameras=2, intrinsic_views=5, extrinsic_frames=0, seed=1))
    rng = np.random.default_rng(0)
    found, errors = detection_errors(take, 0, take.intrinsic_poses[0], BoardDetector(take.board), rng)
    assert found == 5
    rms = np.sqrt(np.mean(np.sum(errors**2, axis=1)))
    assert rms < 0.2  # close-ups: sub-pixel corners through the exact lens model
    assert np.all(np.abs(np.mean(errors, axis=0)) < 0.05)  # no bias from the pixel-centre convention


def test_back_of_the_board_is_blank_and_unseen():
    take = generate_board_take(BoardStudioConfig(num_cameras=2, intrinsic_views=1, extrinsic_frames=0, seed=2))
    camera = take.rig.cameras[0]
    pose = take.intrinsic_poses[0][0].copy()
    centre = pose[:3, :3] @ np.array([*np.array(take.board.size_m) / 2, 0.0]) + pose[:3, 3]
    flip = rodrigues_to_matrix(np.array([0.0, np.pi, 0.0]))  # turn the card around its y axis
    pose[:3, :3] = pose[:3, :3] @ flip
    pose[:3, 3] = centre - pose[:3, :3] @ np.array([*np.array(take.board.size_m) / 2, 0.0])
    assert not np.any(board_corners_in_camera(camera, take.board, pose)[1])
    image = BoardRenderer(camera, take.config).render(pose, np.random.default_rng(0))
    assert BoardDetector(take.board).detect(image) is None


def test_inverted_print_needs_the_inverted_flag():
    board = BoardSpec(
        type="charuco",
        columns=7,
        rows=5,
        square_length_m=0.1,
        marker_length_m=0.075,
        dictionary="DICT_4X4_50",
        inverted=True,
    )
    take = generate_board_take(BoardStudioConfig(num_cameras=1, board=board, intrinsic_views=2, extrinsic_frames=0))
    rng = np.random.default_rng(0)
    assert detection_errors(take, 0, take.intrinsic_poses[0], BoardDetector(board), rng)[0] == 2
    normal = board.model_copy(update={"inverted": False})
    image = BoardRenderer(take.rig.cameras[0], take.config).render(take.intrinsic_poses[0][0], rng)
    assert BoardDetector(normal).detect(image) is None


@pytest.mark.parametrize("turn", [0.0, np.pi])
def test_checkerboard_order_survives_a_half_turn(turn):
    board = BoardSpec(type="checkerboard", columns=7, rows=6, square_length_m=0.1)  # 7 + 6 odd: colours tell
    take = generate_board_take(BoardStudioConfig(num_cameras=1, board=board, intrinsic_views=3, extrinsic_frames=0))
    centre = np.array([*np.array(board.size_m) / 2, 0.0])
    poses = []
    for pose in take.intrinsic_poses[0]:
        turned = pose.copy()
        turned[:3, :3] = pose[:3, :3] @ rodrigues_to_matrix(np.array([0.0, 0.0, turn]))
        turned[:3, 3] = pose[:3, :3] @ centre + pose[:3, 3] - turned[:3, :3] @ centre
        poses.append(turned)
    found, errors = detection_errors(take, 0, poses, BoardDetector(board), np.random.default_rng(0))
    assert found == 3
    assert np.max(np.linalg.norm(errors, axis=1)) < 0.5  # a reversed order would be off by squares


def test_write_board_take_lays_out_folders(tmp_path):
    take = generate_board_take(BoardStudioConfig(num_cameras=3, intrinsic_views=2, extrinsic_frames=3, seed=3))
    files = write_board_take(take, tmp_path)
    assert list(files.intrinsic) == ["cam_1", "cam_2", "cam_3"] and list(files.extrinsic) == list(files.intrinsic)
    assert sorted(p.name for p in files.extrinsic["cam_2"].iterdir()) == ["0000.png", "0001.png", "0002.png"]
    assert files.board_path.read_text().count("charuco") == 1


def test_charuco_seen_from_behind_is_found_mirrored():
    # a board on a clear sheet turned around shows its print mirrored: the horizontal flip of an image
    take = generate_board_take(BoardStudioConfig(num_cameras=1, intrinsic_views=1, extrinsic_frames=0, seed=7))
    image = BoardRenderer(take.rig.cameras[0], take.config).render(take.intrinsic_poses[0][0], np.random.default_rng(0))
    front = BoardDetector(take.board).detect(image)
    behind = BoardDetector(take.board).detect(np.ascontiguousarray(image[:, ::-1]))
    assert front is not None and behind is not None
    np.testing.assert_array_equal(behind.ids, front.ids)
    width = image.shape[1]
    np.testing.assert_allclose(behind.corners_px[:, 0], width - 1 - front.corners_px[:, 0], atol=0.1)
    np.testing.assert_allclose(behind.corners_px[:, 1], front.corners_px[:, 1], atol=0.1)
    assert BoardDetector(take.board, from_behind=False).detect(np.ascontiguousarray(image[:, ::-1])) is None
