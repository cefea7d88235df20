import numpy as np
import pytest

from mocap.errors import ExportError, FileFormatError
from mocap.export.points_bvh import WORLD_TO_YUP, write_points_bvh
from mocap.formats.bvh_reader import read_bvh
from mocap.poses3d import Poses3D
from mocap.skeleton import COCO17

SMALL = """HIERARCHY
ROOT Hips
{
  OFFSET 5 5 5
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Arm
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 2 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 1 0 0 0 0 0 0 0
10 1 0 90 0 0 0 0 90
"""


def test_forward_kinematics_known_answer(tmp_path):
    path = tmp_path / "small.bvh"
    path.write_text(SMALL)
    motion = read_bvh(path)
    assert motion.joint_names == ("Hips", "Arm", "Arm_end") and motion.fps == 2.0
    positions, _ = motion.forward_kinematics()
    # frame 0: root at its channels (the OFFSET is ignored), arm 1 along x, end 2 above it
    np.testing.assert_allclose(positions[0], [[0, 1, 0], [1, 1, 0], [1, 3, 0]], atol=1e-12)
    # frame 1: root turned 90 deg about z: x -> y; the arm's own 90 deg about y leaves its y offset alone
    np.testing.assert_allclose(positions[1], [[10, 1, 0], [10, 2, 0], [8, 2, 0]], atol=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SMALL.replace("Frames: 2", "Frames: 3"), "declares 3 frames but holds 2"),
        (SMALL.replace("Zrotation Xrotation Yrotation\n    End", "Zrot Xrotation Yrotation\n    End"), "bad CHANNELS"),
        (SMALL.replace("Frame Time: 0.5", ""), "needs 'Frames:' and 'Frame Time:'"),
        (SMALL.replace("  }\n}\nMOTION", "  }\nMOTION"), "HIERARCHY: missing or unbalanced"),
    ],
)
def test_malformed_bvh(tmp_path, text, message):
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=message):
        read_bvh(path)


def test_points_bvh_plays_back_the_positions(tmp_path, rng):
    xyz = rng.normal(size=(20, 1, 17, 3)) + [0, 0, 1]
    xyz[5:8, 0, 3] = np.nan  # a gap, filled by interpolation
    poses = Poses3D.from_points(xyz, COCO17, 24.0)
    path = write_points_bvh(poses, tmp_path / "p.bvh")
    motion = read_bvh(path)
    assert motion.num_frames == 20 and motion.frame_time == pytest.approx(1 / 24, abs=1e-10)
    positions, _ = motion.forward_kinematics()
    order = [motion.index(name) for name in COCO17.joint_names]
    world = positions[:, order] @ np.linalg.inv(WORLD_TO_YUP).T
    known = ~np.isnan(xyz[:, 0, :, 0])
    np.testing.assert_allclose(world[known], xyz[:, 0][known], atol=2e-6)
    np.testing.assert_allclose(world[6, 3], (xyz[4, 0, 3] + xyz[8, 0, 3]) / 2, atol=2e-6)


def test_points_bvh_refuses_empty_joints_and_leaves_no_file(tmp_path):
    xyz = np.ones((5, 1, 17, 3))
    xyz[:, 0, 2] = np.nan
    with pytest.raises(ExportError, match="no data at all for right_eye"):
        write_points_bvh(Poses3D.from_points(xyz, COCO17, 30.0), tmp_path / "x.bvh")
    assert not list(tmp_path.iterdir())
