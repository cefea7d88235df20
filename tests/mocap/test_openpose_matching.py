"""Camera-name matching and OpenPose take folders (one JSON folder per camera)."""

import json

import numpy as np
import pytest

from mocap.camera_matching import align_to_rig, camera_key, match_camera_names
from mocap.errors import LayoutError, MismatchError, MissingFileError
from mocap.formats.openpose_json import camera_folders, read_openpose_take
from mocap.synthetic.studio import StudioConfig, generate_take


def write_openpose_take(detections, folder, names):
    """One folder per view (named ``names``), one OpenPose JSON file per frame."""
    for v, name in enumerate(names):
        target = folder / name
        target.mkdir(parents=True)
        for t in range(detections.num_frames):
            people = []
            for p in range(detections.num_slots):
                if not detections.detected[t, v, p].any():
                    continue
                xy = np.nan_to_num(detections.xy[t, v, p].astype(np.float64))
                values = np.concatenate([xy, detections.score[t, v, p, :, None]], axis=1).ravel()
                people.append({"person_id": [-1], "pose_keypoints_2d": values.tolist()})
            (target / f"{name}.{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("cam01_json", "cam_01"),
        ("CAM-1", "cam_01"),
        ("cam_01", "Cam01"),
        ("left view", "Left_View"),
        ("c2-json", "c_2"),
    ],
)
def test_equivalent_names_share_a_key(a, b):
    assert camera_key(a) == camera_key(b)


def test_different_names_do_not():
    assert camera_key("cam_1") != camera_key("cam_10") and camera_key("cam1_json") != camera_key("cam2")


def test_matching_lists_both_sides_when_it_fails():
    assert match_camera_names(["cam_01", "cam_02"], ["cam02_json", "cam01_json", "extra"]) == {
        "cam_01": "cam01_json",
        "cam_02": "cam02_json",
    }
    with pytest.raises(MismatchError) as info:
        match_camera_names(["cam_01", "cam_03"], ["cam01_json", "cam02_json"])
    message = str(info.value)
    assert "cam_03" in message and "rig cameras: cam_01, cam_03" in message and "cam01_json, cam02_json" in message
    assert "\n" not in message
    with pytest.raises(MismatchError, match="all match camera cam_01"):
        match_camera_names(["cam_01"], ["cam01_json", "CAM_01"])
    assert match_camera_names(["cam_01"], ["cam_01", "cam01_json"]) == {"cam_01": "cam_01"}  # exact wins


def test_reading_a_take_folder_in_rig_order(tmp_path):
    take = generate_take(StudioConfig(num_frames=8, num_cameras=3, noise_px=1.0))
    write_openpose_take(take.detections, tmp_path, ["cam1_json", "CAM_2_json", "cam-3_json"])
    (tmp_path / "notes").mkdir()  # no JSON inside: not a camera folder
    assert [d.name for d in camera_folders(tmp_path)] == ["cam1_json", "CAM_2_json", "cam-3_json"]
    read = read_openpose_take(tmp_path, take.rig.names, "coco17", fps=30.0)
    assert read.camera_names == take.rig.names
    np.testing.assert_allclose(read.xy, take.detections.xy, atol=1e-4)
    with pytest.raises(MismatchError, match="cam_2"):
        read_openpose_take(tmp_path, ["cam_1", "cam_2", "cam_9"], "coco17")
    with pytest.raises(MissingFileError, match="no sub-folder"):
        read_openpose_take(tmp_path / "notes", take.rig.names)
    with pytest.raises(LayoutError, match="has 25 joints"):
        read_openpose_take(tmp_path, take.rig.names, "body25b")


def test_aligning_npz_views_to_a_rig():
    take = generate_take(StudioConfig(num_frames=3, num_cameras=3))
    renamed = take.detections.subset_views(["cam_3", "cam_1", "cam_2"])
    aligned = align_to_rig(renamed, ["cam_1", "cam_2", "cam_3"])
    np.testing.assert_array_equal(aligned.xy, take.detections.xy)
    with pytest.raises(MismatchError, match="views"):
        align_to_rig(take.detections, ["cam_1", "cam_4"])
