import tomllib

import numpy as np
import pytest
from aniposelib.cameras import CameraGroup

from calibration.errors import FileFormatError, MissingFileError
from calibration.files import atomic_output
from calibration.rig_toml import load_rig, rig_from_toml, rig_to_toml, save_rig
from tests.calibration.test_rig import ring

VALID = """
[cam_0]
name = "left"
size = [1280, 720]
matrix = [[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]]
distortions = [-0.1, 0.01, 0.0, 0.0, 0.0]
rotation = [0.1, 0.2, 0.3]
translation = [0.0, 0.5, 3.0]
"""


def test_write_then_read_is_exact(tmp_path):
    rig = ring(12).with_metadata({"board": {"type": "charuco", "columns": 5}, "reprojection_error_px": {"cam_1": 0.4}})
    path = save_rig(rig, tmp_path / "rig.toml")
    back = load_rig(path)
    assert back.cameras == rig.cameras
    assert back.metadata["board"] == {"type": "charuco", "columns": 5}
    assert rig_to_toml(back) == path.read_text()  # a second round trip changes nothing


def test_aniposelib_reads_our_file_and_projects_the_same_pixels(tmp_path, rng):
    rig = ring(12)
    path = save_rig(rig, tmp_path / "rig.toml")
    group = CameraGroup.load(str(path))
    assert [c.get_name() for c in group.cameras] == list(rig.names)  # its sorted keys keep our order
    points = rng.uniform([-1, -1, 0], [1, 1, 2], (300, 3))
    theirs = group.project(points).reshape(len(rig), -1, 2)
    assert np.max(np.abs(theirs - rig.project(points))) < 1e-6


def test_reads_a_rotation_matrix_and_pose2sim_style_fields():
    text = VALID.replace("rotation = [0.1, 0.2, 0.3]", "rotation = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]")
    text = text.replace("size = [1280, 720]", "size = [1280.0, 720.0]") + "fisheye = false\n"
    camera = rig_from_toml(text)[0]
    assert camera.image_size == (1280, 720)
    np.testing.assert_array_equal(camera.rotation, np.eye(3))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cam_0\nname=1", "rig.toml: not valid TOML"),
        ("[metadata]\nunits = 'm'\n", "rig.toml: no camera tables"),
        (VALID.replace("matrix = ", "matrixx = "), r"rig.toml: \[cam_0\].matrix: missing"),
        (VALID.replace("[0.0, 0.0, 1.0]]", "]"), r"rig.toml: \[cam_0\].matrix: expected 3x3, got 2x3"),
        (VALID.replace("[[1000.0,", "[[-1000.0,"), r"rig.toml: \[cam_0\].matrix: expected positive focal lengths"),
        (VALID.replace("[0.0, 0.5, 3.0]", "[0.0, 0.5]"), r"rig.toml: \[cam_0\].translation: expected 3 numbers"),
        (VALID.replace("[0.0, 0.5, 3.0]", '["a", 0.5, 3.0]'), r"rig.toml: \[cam_0\].translation: expected numbers"),
        (VALID.replace("0.0, 0.0, 0.0]", "0.0]"), r"rig.toml: \[cam_0\].distortions: expected 0, 4, 5, 8 or 12"),
        (VALID.replace("[1280, 720]", "[1280, -720]"), r"rig.toml: \[cam_0\].size: expected two positive"),
        (VALID + "fisheye = true\n", r"\[cam_0\].fisheye: the fisheye lens model is not supported"),
        (VALID + VALID.replace("cam_0", "cam_1"), "rig.toml: name: camera names repeat: left"),
        (VALID + "[metadata]\nunits = 'mm'\n", "rig.toml: metadata.units: translations must be in metres"),
        (VALID + "[metadata]\nschema_version = 99\n", "metadata.schema_version: 99 is newer"),
    ],
)
def test_bad_files_give_one_line_errors_naming_file_and_field(tmp_path, text, message):
    path = tmp_path / "rig.toml"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=message) as info:
        load_rig(path)
    assert "\n" not in str(info.value)


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(MissingFileError, match="no such rig file; calibrate first"):
        load_rig(tmp_path / "nope.toml")


def test_a_failed_write_leaves_the_old_file_and_no_partial_file(tmp_path):
    path = tmp_path / "rig.toml"
    save_rig(ring(2), path)
    before = path.read_text()

    def write_half_then_fail() -> None:
        with atomic_output(path) as handle:
            handle.write(b"half a rig")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_half_then_fail()
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rig.toml"]
    assert tomllib.loads(before)["cam_0"]["name"] == "cam_1"
