"""Bad input for every format: a clear one-line error and no file (not even a partial one)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mocap.errors import ExportError, LayoutError, MocapError, OutputPathError
from mocap.export import ExportOptions, export_poses
from mocap.poses3d import Poses3D
from mocap.skeleton import COCO17, KeypointLayout
from mocap.solve import SolveError

FORMATS = ["bvh", "fbx", "trc", "c3d", "csv", "npz"]


def assert_nothing_written(folder):
    assert sorted(os.listdir(folder)) == [], "a failed export left files behind"


def one_line(exc: Exception) -> str:
    message = str(exc)
    assert "\n" not in message and message
    return message


@pytest.mark.parametrize("fmt", FORMATS)
def test_all_nan_person(synthetic_poses, tmp_path, fmt):
    xyz = np.array(synthetic_poses.xyz)
    xyz[:, 1] = np.nan
    poses = Poses3D.from_points(xyz, synthetic_poses.layout, 30.0)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises((ExportError, SolveError)) as info:
        export_poses(poses, out / f"a.{fmt}", fmt)
    assert "person 1 has no reconstructed" in one_line(info.value)
    assert_nothing_written(out)


@pytest.mark.parametrize("fmt", FORMATS)
def test_zero_frames(tmp_path, fmt):
    poses = Poses3D.from_points(np.zeros((0, 1, 17, 3)), COCO17, 30.0)
    with pytest.raises(ExportError, match="zero frames"):
        export_poses(poses, tmp_path / f"a.{fmt}", fmt)
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("fmt", ["bvh", "fbx", "npz"])
def test_unknown_layout_cannot_drive_a_skeleton(tmp_path, fmt, rng):
    layout = KeypointLayout("markers", ("m1", "m2", "m3"), (-1, -1, -1), ("m1", "m2", "m3"))
    poses = Poses3D.from_points(rng.normal(size=(5, 1, 3, 3)), layout, 30.0)
    with pytest.raises(LayoutError) as info:
        export_poses(poses, tmp_path / f"a.{fmt}", fmt)
    assert "layout 'markers' cannot drive the skeleton" in one_line(info.value)
    assert_nothing_written(tmp_path)
    # marker formats do not need a skeleton: the same poses export as TRC under their own names
    (path,) = export_poses(poses, tmp_path / "a.trc")
    assert "m1\t\t\tm2" in path.read_text()


@pytest.mark.parametrize("fmt", FORMATS)
def test_unwritable_destination(synthetic_poses, tmp_path, fmt):
    with pytest.raises(OutputPathError, match="does not exist; create it first"):
        export_poses(synthetic_poses, tmp_path / "missing" / f"a.{fmt}", fmt)
    folder = tmp_path / f"a.{fmt}"
    folder.mkdir()
    with pytest.raises(OutputPathError, match="is a folder"):
        export_poses(synthetic_poses, folder, fmt)
    assert sorted(os.listdir(tmp_path)) == [folder.name]
    assert_nothing_written(folder)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_folder(synthetic_poses, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="not writable"):
            export_poses(synthetic_poses, locked / "a.fbx", "fbx")
    finally:
        locked.chmod(0o700)
    assert_nothing_written(locked)


def test_unknown_person_and_bad_options(synthetic_poses, tmp_path):
    with pytest.raises(ExportError, match=r"no person with id 5 \(ids: 0, 1\)"):
        export_poses(synthetic_poses, tmp_path / "a.bvh", person_ids=[5])
    with pytest.raises(ValueError, match="rotation order must be one of"):
        ExportOptions(rotation_order="ABC")
    assert_nothing_written(tmp_path)


def test_partial_nan_is_filled_in_skeletons_and_left_blank_in_markers(synthetic_poses, tmp_path):
    xyz = np.array(synthetic_poses.xyz)
    xyz[50:60, 0, COCO17.index("left_wrist")] = np.nan
    poses = Poses3D.from_points(xyz, COCO17, 30.0)
    (bvh,) = export_poses(poses, tmp_path / "a.bvh", person_ids=[0])
    assert "nan" not in bvh.read_text().lower()
    (trc,) = export_poses(poses, tmp_path / "a.trc", person_ids=[0])
    row = trc.read_text().splitlines()[5 + 55].split("\t")
    wrist = 2 + 3 * COCO17.index("left_wrist")
    assert row[wrist : wrist + 3] == ["", "", ""]


def test_errors_are_mocap_errors():
    assert issubclass(SolveError, MocapError) and issubclass(ExportError, MocapError)
