"""Blender 4.5 imports our BVH and FBX exactly: every bone on every frame within 1 mm of our skeleton.

Each file is imported by Blender itself (``bpy`` in ``.venv-blender``, one subprocess per file,
``tools/blender_measure.py``), which evaluates every bone's world head (and leaf tails) on every
frame of the action. The expected positions are our solved skeleton's forward kinematics in world
Z-up metres, which is Blender's world.
"""

from __future__ import annotations

import numpy as np
import pytest

from mocap.export import ExportOptions, export_poses
from mocap.skeleton.hierarchy import HUMANOID
from mocap.solve import solve_people

TOLERANCE_M = 0.001


def check_armature(measured: dict, k: int, skeleton, *, bvh: bool, identity_object: bool) -> float:
    """Compare armature ``k`` with ``skeleton``; returns the largest error (m)."""
    names = [str(n) for n in measured[f"a{k}_bones"]]
    heads = measured[f"a{k}_heads"]
    expected = skeleton.world_positions()
    rotating = [n for n, end in zip(HUMANOID.joint_names, HUMANOID.is_end, strict=True) if not end]
    # BVH end sites are bone tails; FBX writes them as leaf bones (Mixamo style)
    assert names == (rotating if bvh else list(HUMANOID.joint_names))
    # frame count and range exact: one key per frame on every curve, frames 1..T
    assert heads.shape == (skeleton.num_frames, len(names), 3)
    assert measured[f"a{k}_frame_range"].tolist() == [1, skeleton.num_frames]
    assert set(measured[f"a{k}_keys"].tolist()) == {skeleton.num_frames}
    index = [HUMANOID.index(n) for n in names]
    error = float(np.abs(heads - expected[:, index]).max())
    if bvh:  # leaf bones end at the end sites
        tails = measured[f"a{k}_tails"]
        for b, name in enumerate(names):
            ends = [c for c in HUMANOID.children(HUMANOID.index(name)) if HUMANOID.is_end[c]]
            if ends:
                error = max(error, float(np.abs(tails[:, b] - expected[:, ends[0]]).max()))
    # upright and in metres: head top about a body height above the toes, Blender world Z up
    top = heads[:, names.index("Head"), 2]
    toes = heads[:, names.index("LeftToeBase"), 2]
    assert np.all(top - toes > 1.0) and np.all(top - toes < 2.5)
    if identity_object:
        np.testing.assert_allclose(measured[f"a{k}_matrix_world"], np.eye(4), atol=1e-6)
    return error


def test_synthetic_two_people_bvh(synthetic_poses, blender, tmp_path, capsys):
    skeletons = solve_people(synthetic_poses)
    paths = export_poses(synthetic_poses, tmp_path / "take.bvh", "bvh")
    assert [p.name for p in paths] == ["take_person0.bvh", "take_person1.bvh"]
    for skeleton, path in zip(skeletons, paths, strict=True):
        measured = blender(path)
        assert int(measured["armatures"]) == 1
        assert float(measured["fps"]) == pytest.approx(30.0, abs=1e-6)
        assert str(measured["unit_system"]) == "METRIC" and float(measured["unit_scale_length"]) == 1.0
        error = check_armature(measured, 0, skeleton, bvh=True, identity_object=True)
        assert error < TOLERANCE_M, f"{path.name}: {error * 1000:.4f} mm"
        with capsys.disabled():
            print(
                f"\n[blender] synthetic {path.name}: {skeleton.num_frames} frames, max bone error {error * 1000:.4f} mm"
            )


def test_synthetic_two_people_fbx(synthetic_poses, blender, tmp_path, capsys):
    skeletons = solve_people(synthetic_poses)
    (path,) = export_poses(synthetic_poses, tmp_path / "take.fbx", "fbx")
    measured = blender(path)
    assert int(measured["armatures"]) == 2  # one armature per person
    assert [str(measured[f"a{k}_name"]) for k in range(2)] == ["person_0", "person_1"]
    assert float(measured["fps"]) == pytest.approx(30.0, abs=1e-6)
    for k, skeleton in enumerate(skeletons):
        # default Z-up metres: Blender's frame, nothing on the armature object
        error = check_armature(measured, k, skeleton, bvh=False, identity_object=True)
        assert error < TOLERANCE_M, f"person {k}: {error * 1000:.4f} mm"
        with capsys.disabled():
            print(f"\n[blender] synthetic fbx person {k}: max bone error {error * 1000:.4f} mm")


@pytest.mark.parametrize(
    ("fmt", "up", "units", "scale"), [("bvh", "z", "cm", 0.01), ("fbx", "z", "cm", 1.0), ("fbx", "y", "m", 1.0)]
)
def test_axis_and_unit_options(synthetic_poses, blender, tmp_path, fmt, up, units, scale):
    one = synthetic_poses.person(1)
    (skeleton,) = solve_people(one)
    (path,) = export_poses(one, tmp_path / f"p.{fmt}", fmt, options=ExportOptions(up=up, units=units))
    measured = blender(path, up=up, scale=scale)
    # BVH: the importer bakes its axis change; FBX keeps axes and unit scale on the armature object
    identity = fmt == "bvh" or (up == "z" and units == "m")
    error = check_armature(measured, 0, skeleton, bvh=fmt == "bvh", identity_object=identity)
    assert error < TOLERANCE_M


@pytest.mark.realdata
@pytest.mark.parametrize("fmt", ["bvh", "fbx"])
def test_pose2sim_take(pose2sim_poses, blender, tmp_path, fmt, capsys):
    (skeleton,) = solve_people(pose2sim_poses)
    (path,) = export_poses(pose2sim_poses, tmp_path / f"balancing.{fmt}", fmt)
    measured = blender(path)
    assert float(measured["fps"]) == pytest.approx(60.0, abs=1e-6)
    error = check_armature(measured, 0, skeleton, bvh=fmt == "bvh", identity_object=True)
    assert error < TOLERANCE_M
    with capsys.disabled():
        print(f"\n[blender] pose2sim {fmt}: {skeleton.num_frames} frames, max bone error {error * 1000:.4f} mm")
