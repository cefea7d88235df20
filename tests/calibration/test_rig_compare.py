"""Rig comparisons that do not depend on the world frame: relative poses and relative views."""

from __future__ import annotations

import numpy as np

from calibration.rig import CameraRig
from calibration.rig_compare import relative_pose_errors, relative_view_errors, view_rotation
from calibration.rotations import rodrigues_to_matrix
from mocap.synthetic.boards import BoardStudioConfig, generate_board_take


def test_a_principal_point_traded_for_a_rotation_changes_the_axis_not_the_view():
    rig = generate_board_take(BoardStudioConfig(num_cameras=3, intrinsic_views=1, extrinsic_frames=2, seed=1)).rig
    camera = rig.cameras[1]
    # turn the camera 2 degrees about its own y axis and move the principal point so that the ray
    # through the image centre stays where it was
    angle = np.radians(2.0)
    turn = rodrigues_to_matrix(np.array([0.0, angle, 0.0]))
    matrix = camera.matrix.copy()
    matrix[0, 2] -= camera.matrix[0, 0] * np.tan(angle)
    centre = camera.center_world
    rotation = turn @ camera.rotation
    traded = camera.replace(matrix=matrix).with_pose(rotation, -rotation @ centre)
    other = CameraRig(tuple(traded if c.name == camera.name else c for c in rig.cameras))
    axes = {(a, b): r for a, b, r, _, _ in relative_pose_errors(other, rig)}
    views = {(a, b): v for a, b, v in relative_view_errors(other, rig)}
    name = camera.name
    for pair, axis_deg in axes.items():
        if name in pair:
            assert abs(axis_deg - 2.0) < 1e-6 and views[pair] < 0.05, pair
        else:
            assert axis_deg < 1e-9 and views[pair] < 1e-9, pair
    np.testing.assert_allclose(view_rotation(rig.cameras[0]) @ view_rotation(rig.cameras[0]).T, np.eye(3), atol=1e-12)
