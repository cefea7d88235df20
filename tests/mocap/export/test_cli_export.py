"""``mocap export`` end to end: formats from suffixes, take folders, one-line errors."""

from __future__ import annotations

import numpy as np

from mocap.cli import main
from mocap.formats.bvh_reader import read_bvh


def test_export_every_format(synthetic_poses, tmp_path, capsys):
    source = synthetic_poses.save(tmp_path / "poses3d.npz")
    out = tmp_path / "exports"
    out.mkdir()
    for fmt in ("bvh", "fbx", "trc", "c3d", "csv", "npz"):
        assert main(["export", str(source), "--out", str(out / f"take.{fmt}")]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "take.c3d", "take.csv", "take.fbx", "take.npz",
        "take_person0.bvh", "take_person0.trc", "take_person1.bvh", "take_person1.trc",
    ]  # fmt: skip
    assert "BVH skeleton animation" in capsys.readouterr().out


def test_take_folder_person_units_and_up(synthetic_poses, tmp_path):
    take = tmp_path / "take01"
    (take / "derived").mkdir(parents=True)
    synthetic_poses.save(take / "derived" / "poses3d.npz")
    out = tmp_path / "p1.bvh"
    args = ["export", str(take), "--format", "bvh", "--out", str(out), "--person", "1", "--units", "cm", "--up", "z"]
    assert main([*args, "--rotation-order", "XYZ"]) == 0
    motion = read_bvh(out)
    assert motion.channels[0][3:] == ("Xrotation", "Yrotation", "Zrotation")
    positions, _ = motion.forward_kinematics()
    hips = synthetic_poses.person(1).xyz[:, 0, [11, 12]].mean(axis=1) * 100.0  # mid-hip, cm, Z-up
    np.testing.assert_allclose(positions[:, 0], hips, atol=1e-3)


def test_one_line_errors(synthetic_poses, tmp_path, capsys):
    source = synthetic_poses.save(tmp_path / "poses3d.npz")
    assert main(["export", str(tmp_path / "nope.npz"), "--out", str(tmp_path / "a.bvh")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "a.bvh")]) == 2
    assert "without derived/poses3d.npz" in capsys.readouterr().err
    assert main(["export", str(source), "--out", str(tmp_path / "a.xyz")]) == 2
    assert "pass --format" in capsys.readouterr().err
    assert main(["export", str(source), "--out", str(tmp_path / "a.bvh"), "--person", "9"]) == 2
    assert "no person with id 9" in capsys.readouterr().err
    assert main(["export", str(source), "--out", str(tmp_path / "a.bvh"), "--rotation-order", "QQQ"]) == 2
    err = capsys.readouterr().err
    assert "rotation order must be one of" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poses3d.npz"]
