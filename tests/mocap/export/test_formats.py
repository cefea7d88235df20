"""Every writer, read back: BVH through our BVH reader, FBX through our FBX decoder, C3D through ezc3d,
TRC/CSV/NPZ as text and arrays; known answers on the synthetic take and the Pose2Sim take."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import ExportError
from mocap.export import ExportOptions, export_poses, exporter_names, get_exporter
from mocap.export.base import UNIT_SCALE, axes_matrix
from mocap.export.fbx_binary import KTIME_PER_SECOND, MAGIC, decode_file
from mocap.export.trc import WORLD_TO_TRC
from mocap.formats.bvh_reader import read_bvh
from mocap.skeleton.hierarchy import HUMANOID
from mocap.solve import solve_people


@pytest.fixture(scope="module")
def one_person(synthetic_poses):
    return synthetic_poses.person(0)


@pytest.fixture(scope="module")
def skeleton(one_person):
    return solve_people(one_person)[0]


def test_registry():
    assert exporter_names() == ("bvh", "c3d", "csv", "fbx", "npz", "trc")
    with pytest.raises(ExportError, match="unknown export format 'obj'; known: bvh, c3d"):
        get_exporter("obj")


@pytest.mark.parametrize(("up", "units", "order"), [("y", "m", "ZXY"), ("z", "cm", "XYZ"), ("y", "mm", "YZX")])
def test_bvh_reads_back_to_the_skeleton(one_person, skeleton, tmp_path, up, units, order):
    options = ExportOptions(up=up, units=units, rotation_order=order)
    (path,) = export_poses(one_person, tmp_path / "a.bvh", options=options)
    text = path.read_text()
    assert "ROOT Hips\n{\n\tOFFSET 0.000000 0.000000 0.000000\n" in text
    assert f"CHANNELS 6 Xposition Yposition Zposition {' '.join(a + 'rotation' for a in order)}" in text
    assert f"Frames: {skeleton.num_frames}\nFrame Time: 0.0333333333\n" in text
    motion = read_bvh(path)
    positions, _ = motion.forward_kinematics()
    world = positions / UNIT_SCALE[units] @ axes_matrix(up)
    expected = skeleton.world_positions()
    for k, name in enumerate(motion.joint_names):
        j = HUMANOID.index(name) if name in HUMANOID.joint_names else None
        if j is None:  # End Site "<joint>_end" -> the hierarchy's end site
            j = next(c for c in HUMANOID.children(HUMANOID.index(name[:-4])) if HUMANOID.is_end[c])
        np.testing.assert_allclose(world[:, k], expected[:, j], atol=5e-6)


def props70(node):
    block = next(c for c in node.children if c.name == "Properties70")
    return {p.props[0][1].decode(): [v for _, v in p.props[4:]] for p in block.children}


@pytest.mark.parametrize("version", [7400, 7500])
def test_fbx_structure(synthetic_poses, tmp_path, version):
    options = ExportOptions(fbx_version=version, up="y")
    (path,) = export_poses(synthetic_poses, tmp_path / "a.fbx", options=options)
    data = path.read_bytes()
    assert data.startswith(MAGIC) and int.from_bytes(data[23:27], "little") == version
    got_version, nodes = decode_file(data, str(path))
    assert got_version == version
    top = {n.name: n for n in nodes}
    assert list(top) == [
        "FBXHeaderExtension", "FileId", "CreationTime", "Creator", "GlobalSettings", "Documents",
        "References", "Definitions", "Objects", "Connections", "Takes",
    ]  # fmt: skip
    settings = props70(top["GlobalSettings"])
    assert settings["UpAxis"] == [1] and settings["FrontAxis"] == [2] and settings["CoordAxis"] == [0]
    assert settings["UnitScaleFactor"] == [100.0]  # centimetres per unit: metres
    assert settings["TimeMode"] == [6] and settings["CustomFrameRate"] == [30.0]
    objects = top["Objects"].children
    models = [o for o in objects if o.name == "Model"]
    kinds = [m.props[2][1] for m in models]
    assert kinds.count(b"Null") == 2 and kinds.count(b"LimbNode") == 2 * HUMANOID.num_joints
    names = {m.props[1][1].split(b"\x00\x01")[0].decode() for m in models}
    assert {"person_0", "person_1", "Hips", "LeftToe_End"} <= names
    assert all(m.props[1][1].endswith(b"\x00\x01Model") for m in models)
    assert sum(o.name == "AnimationStack" for o in objects) == 1
    assert sum(o.name == "AnimationLayer" for o in objects) == 1
    curves = [o for o in objects if o.name == "AnimationCurve"]
    rotating = sum(not e for e in HUMANOID.is_end)
    assert len(curves) == 2 * 3 * (rotating + 1)  # R of every rotating joint, T of the root
    times = next(c for c in curves[0].children if c.name == "KeyTime").props[0][1]
    np.testing.assert_array_equal(times, np.round(np.arange(300) * KTIME_PER_SECOND / 30.0))
    links = [(c.props[0][1], c.props[1][1], c.props[2][1]) for c in top["Connections"].children]
    model_ids = {m.props[0][1] for m in models}
    parents = {child: parent for kind, child, parent in links if kind == b"OO" and child in model_ids}
    assert set(parents) == model_ids  # every model hangs in the tree
    assert sum(p == 0 for p in parents.values()) == 2  # two armatures under the scene root


def test_fbx_z_up_and_custom_rate(one_person, tmp_path):
    from mocap.poses3d import Poses3D

    poses = Poses3D.from_points(one_person.xyz, one_person.layout, 29.0)
    (path,) = export_poses(poses, tmp_path / "a.fbx", options=ExportOptions(up="z", units="cm"))
    _, nodes = decode_file(path.read_bytes())
    settings = props70(next(n for n in nodes if n.name == "GlobalSettings"))
    assert settings["UpAxis"] == [2] and settings["FrontAxis"] == [1] and settings["FrontAxisSign"] == [-1]
    assert settings["UnitScaleFactor"] == [1.0]
    assert settings["TimeMode"] == [14] and settings["CustomFrameRate"] == [29.0]


def test_trc_follows_pose2sim(one_person, tmp_path):
    (path,) = export_poses(one_person, tmp_path / "a.trc")
    lines = path.read_text().splitlines()
    assert lines[0] == "PathFileType\t4\t(X/Y/Z)\ta.trc"
    assert lines[1].split("\t") == [
        "DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units",
        "OrigDataRate", "OrigDataStartFrame", "OrigNumFrames",
    ]  # fmt: skip
    assert lines[2].split("\t") == ["30", "30", "300", "17", "m", "30", "1", "300"]
    assert lines[3].split("\t")[:6] == ["Frame#", "Time", "nose", "", "", "left_eye"]
    assert lines[4].split("\t")[:5] == ["", "", "X1", "Y1", "Z1"]
    values = np.genfromtxt(path, skip_header=5, delimiter="\t")
    assert values.shape == (300, 2 + 17 * 3)
    np.testing.assert_allclose(values[:3, :2], [[1, 0.0], [2, 1 / 30], [3, 2 / 30]], atol=1e-6)
    xyz = one_person.xyz[:, 0].astype(float) @ WORLD_TO_TRC.T
    np.testing.assert_allclose(values[:, 2:].reshape(300, 17, 3), xyz, atol=1e-6, equal_nan=True)


def test_c3d_round_trips_through_ezc3d(synthetic_poses, tmp_path):
    import ezc3d

    xyz = np.array(synthetic_poses.xyz)
    xyz[10:20, 1, 3] = np.nan
    from mocap.poses3d import Poses3D

    poses = Poses3D.from_points(xyz, synthetic_poses.layout, 30.0)
    (path,) = export_poses(poses, tmp_path / "a.c3d")
    c3d = ezc3d.c3d(str(path))
    point = c3d["parameters"]["POINT"]
    labels = point["LABELS"]["value"]
    assert labels[:2] == ["p0_nose", "p0_left_eye"] and labels[17] == "p1_nose" and len(labels) == 34
    assert point["UNITS"]["value"] == ["mm"] and point["RATE"]["value"][0] == 30.0
    points = c3d["data"]["points"]  # (4, M, T), millimetres, Z-up
    expected = np.concatenate([xyz[:, 0], xyz[:, 1]], axis=1) * 1000.0  # (T, M, 3)
    np.testing.assert_allclose(np.transpose(points[:3], (2, 1, 0)), expected, atol=1e-3, equal_nan=True)
    residuals = c3d["data"]["meta_points"]["residuals"][0]
    assert np.all(residuals[17 + 3, 10:20] == -1) and np.all(residuals[0] == 0)


def test_csv_and_skeleton_positions(synthetic_poses, tmp_path):
    (path,) = export_poses(synthetic_poses, tmp_path / "a.csv", options=ExportOptions(positions="skeleton"))
    header = path.read_text().splitlines()[0].split(",")
    assert header[:5] == ["frame", "time_s", "p0_Hips_x", "p0_Hips_y", "p0_Hips_z"]
    assert len(header) == 2 + 2 * HUMANOID.num_joints * 3
    values = np.genfromtxt(path, skip_header=1, delimiter=",")
    skeletons = solve_people(synthetic_poses)
    expected = np.concatenate([s.world_positions() for s in skeletons], axis=1)
    np.testing.assert_allclose(values[:, 2:].reshape(300, -1, 3), expected, atol=1e-6)


def test_npz_solved_skeletons(synthetic_poses, tmp_path):
    (path,) = export_poses(synthetic_poses, tmp_path / "s.npz", options=ExportOptions(units="cm"))
    with np.load(path, allow_pickle=False) as data:
        assert tuple(data["joint_names"]) == HUMANOID.joint_names
        assert data["positions"].shape == (300, 2, HUMANOID.num_joints, 3) and str(data["units"]) == "cm"
        skeletons = solve_people(synthetic_poses)
        np.testing.assert_allclose(data["positions"][:, 1] / 100.0, skeletons[1].world_positions(), atol=1e-9)
        q = data["local_quaternions"]
        assert np.all(np.sum(q[1:] * q[:-1], axis=-1) >= 0)
        np.testing.assert_allclose(data["rest_offsets"][0] / 100.0, skeletons[0].rest_offsets, atol=1e-12)


@pytest.mark.realdata
def test_pose2sim_trc_matches_the_reference(pose2sim_poses, shared_data, tmp_path):
    reference = shared_data / "pose2sim_demo" / "balancing_trial_reference" / "triangulated_reference.trc"
    (path,) = export_poses(pose2sim_poses, tmp_path / "ours.trc")
    ref_names = reference.read_text().splitlines()[3].split("\t")[2::3]
    our_names = path.read_text().splitlines()[3].split("\t")[2::3]
    assert path.read_text().splitlines()[2].split("\t")[:5] == ["60", "60", "100", "25", "m"]
    ref = np.genfromtxt(reference, skip_header=5, delimiter="\t")[:, 2:]
    ours = np.genfromtxt(path, skip_header=5, delimiter="\t")[:, 2:]
    distances = []
    for k, name in enumerate(ref_names):
        if name:
            m = our_names.index(name)
            distances.append(np.linalg.norm(ours[:, 3 * m : 3 * m + 3] - ref[:, 3 * k : 3 * k + 3], axis=-1))
    # same axes and units as Pose2Sim's own TRC: the same triangulation, to a few millimetres
    assert np.nanmedian(distances) < 0.01
