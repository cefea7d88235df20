import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from mocap.detections2d import Detections2D
from mocap.poses3d import Poses3D

MOCAP = Path(sys.executable).with_name("mocap")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MOCAP), *args], capture_output=True, text=True, timeout=120, env=os.environ.copy())


def test_demo_prints_mpjpe_and_writes_its_outputs(tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "--out", str(out), "--frames", "90")
    assert result.returncode == 0, result.stderr
    assert "MPJPE against ground truth:" in result.stdout
    mm = float(result.stdout.split("MPJPE against ground truth:")[1].split("mm")[0])
    assert 2.0 < mm < 30.0
    assert "people found: 2, identity switches: 0" in result.stdout
    for name in ("rig.toml", "keypoints2d.npz", "poses3d.npz", "take_person0.bvh", "take_person1.bvh", "take.fbx"):
        assert str(out / name) in result.stdout and (out / name).stat().st_size > 0
    poses = Poses3D.load(out / "poses3d.npz")
    assert poses.num_frames == 90 and poses.num_people == 2
    assert Detections2D.load(out / "keypoints2d.npz").num_views == 4
    assert np.isfinite(poses.xyz).mean() > 0.9


def test_demo_rejects_a_take_without_people(tmp_path):
    result = run("demo", "--out", str(tmp_path / "demo"), "--people", "0")
    assert result.returncode == 2 and "--people" in result.stderr and not (tmp_path / "demo").exists()


def test_bad_output_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("demo", "--out", str(blocker / "sub"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("mocap: error: ") and "sub" in result.stderr


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0 and "demo" in result.stdout


def test_every_command_and_benchmark_module_is_complete():
    import mocap.benchmarks
    import mocap.commands
    from mocap.plugins import discover

    names = [m.NAME for m in discover(mocap.commands)]
    assert "demo" in names and "bench" in names
    assert "synthetic" in [m.NAME for m in discover(mocap.benchmarks)]


def test_bench_synthetic_prints_a_table():
    result = run("bench", "synthetic", "--frames", "10", "--repeat", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["case", "frames"] and len(lines) == 5
    assert all(float(line.split()[-2]) > 0 for line in lines[1:])
