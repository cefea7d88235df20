import zipfile

import numpy as np
import pytest

from mocap.detections2d import Detections2D
from mocap.errors import FileFormatError, MissingFileError, ShapeError
from mocap.poses3d import Poses3D
from mocap.skeleton import COCO17, layout_from_names


def detections(t=3, v=2, p=2, fps=30.0):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (t, v, p, 17, 2))
    score = rng.uniform(0.1, 1, (t, v, p, 17))
    return xy, score, ("cam_1", "cam_2")[:v], COCO17, fps


def test_detections_are_frozen_copies_with_normalised_missing_joints():
    xy, score, names, layout, fps = detections()
    xy[0, 0, 0, 0, 1] = np.nan  # half-missing coordinate
    score[0, 0, 0, 1] = 0.0  # zero score
    det = Detections2D(xy, score, names, layout, fps)
    xy[1, 1, 1, 1] = -5.0  # the caller's array is not shared
    assert det.xy[1, 1, 1, 1, 0] != -5.0
    assert np.isnan(det.xy[0, 0, 0, 0]).all() and det.score[0, 0, 0, 0] == 0
    assert np.isnan(det.xy[0, 0, 0, 1]).all()
    with pytest.raises(ValueError, match="read-only"):
        det.xy[0, 0, 0, 0, 0] = 1.0
    assert det.xy.dtype == np.float32 and det.detected.sum() == det.score.size - 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: (a[0][..., :1], *a[1:]), r"xy: expected shape \(T, 2, P, 17, 2\), got shape \(3, 2, 2, 17, 1\)"),
        (lambda a: (a[0], a[1][:, :1], *a[2:]), r"score: expected shape \(3, 2, 2, 17\), got shape \(3, 1, 2, 17\)"),
        (lambda a: (a[0], a[1] * 2, *a[2:]), r"score: expected values in \[0, 1\]"),
        (lambda a: (a[0], a[1], ("a",), *a[3:]), r"xy: expected shape \(T, 1, P, 17, 2\)"),
        (lambda a: (a[0], a[1], ("a", "a"), *a[3:]), "camera_names: expected unique names"),
        (lambda a: (*a[:4], 0.0), "fps: expected a positive number"),
    ],
)
def test_detections_reject_bad_input(change, message):
    with pytest.raises(ShapeError, match=message):
        Detections2D(*change(detections()))


def test_detections_npz_round_trip_loads_without_pickle(tmp_path):
    det = Detections2D(*detections())
    path = det.save(tmp_path / "keypoints2d.npz")
    with np.load(path, allow_pickle=False) as raw:
        assert set(raw.files) >= {"xy", "score", "camera_names", "layout", "joint_names", "fps"}
    back = Detections2D.load(path)
    np.testing.assert_array_equal(back.xy, det.xy)
    assert back.camera_names == det.camera_names and back.layout is COCO17 and back.fps == 30.0


def test_loading_bad_files_names_the_problem(tmp_path):
    with pytest.raises(MissingFileError, match="no such file"):
        Detections2D.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match=r"junk\.npz: not a readable \.npz file"):
        Detections2D.load(tmp_path / "junk.npz")
    det = Detections2D(*detections())
    arrays = {
        "xy": det.xy,
        "score": det.score,
        "camera_names": np.array(det.camera_names),
        "layout": np.array("coco17"),
        "joint_names": np.array(COCO17.joint_names),
    }
    np.savez(tmp_path / "nofps.npz", **arrays)
    with pytest.raises(FileFormatError, match=r"nofps\.npz: fps: missing"):
        Detections2D.load(tmp_path / "nofps.npz")
    np.savez(tmp_path / "pickled.npz", **arrays, fps=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FileFormatError, match="pickled objects"):
        Detections2D.load(tmp_path / "pickled.npz")
    np.savez(tmp_path / "shape.npz", **{**arrays, "xy": det.xy[..., :1]}, fps=np.array(30.0))
    with pytest.raises(FileFormatError, match=r"shape.npz: xy: expected shape"):
        Detections2D.load(tmp_path / "shape.npz")
    assert zipfile.is_zipfile(tmp_path / "shape.npz")


def test_poses_normalise_nan_and_padded_slots(tmp_path):
    xyz = np.ones((4, 3, 17, 3))
    xyz[0, 0, 0, 2] = np.nan
    poses = Poses3D(xyz, [5, -1, 7], np.ones((4, 3, 17)), np.full((4, 3, 17), 3), COCO17, 60.0)
    assert np.isnan(poses.xyz[0, 0, 0]).all() and poses.n_views[0, 0, 0] == 0
    assert np.isnan(poses.reprojection_error[0, 0, 0])
    assert np.isnan(poses.xyz[:, 1]).all() and (poses.n_views[:, 1] == 0).all()
    assert poses.person(7).xyz.shape == (4, 1, 17, 3)
    with pytest.raises(KeyError, match=r"no person with id 3 \(ids: 5, 7\)"):
        poses.person(3)
    back = Poses3D.load(poses.save(tmp_path / "poses3d.npz"))
    np.testing.assert_array_equal(back.xyz, poses.xyz)
    np.testing.assert_array_equal(back.person_id, [5, -1, 7])


@pytest.mark.parametrize(
    ("ids", "message"),
    [([1, 1, 2], "person_id: expected unique ids"), ([1, -3, 2], "person_id"), ([1, 2], "person_id")],
)
def test_poses_reject_bad_ids(ids, message):
    with pytest.raises(ShapeError, match=message):
        Poses3D(np.ones((2, 3, 17, 3)), ids, np.ones((2, 3, 17)), np.ones((2, 3, 17)), COCO17, 30.0)


def test_custom_layouts_survive_a_round_trip(tmp_path):
    layout = layout_from_names("markers", ["a", "b", "c"])
    poses = Poses3D.from_points(np.zeros((2, 1, 3, 3)), layout, 100.0)
    back = Poses3D.load(poses.save(tmp_path / "p.npz"))
    assert back.layout.joint_names == ("a", "b", "c") and back.layout.name == "markers"
