import numpy as np
import pytest

from mocap.errors import FileFormatError
from mocap.formats.bvh_reader import read_bvh

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
