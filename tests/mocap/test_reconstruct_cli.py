"""``mocap reconstruct`` end to end: npz and OpenPose inputs, rigs with 4/5/8 coefficients, bad input."""

import numpy as np
import pytest

from calibration.rig import CameraRig
from calibration.rig_toml import save_rig
from mocap.cli import main
from mocap.detections2d import Detections2D
from mocap.metrics import mpjpe
from mocap.poses3d import Poses3D
from mocap.synthetic.studio import StudioConfig, generate_take
from tests.mocap.test_openpose_matching import write_openpose_take


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio")
    take = generate_take(StudioConfig(num_frames=60, noise_px=2.0, seed=9))
    save_rig(take.rig, folder / "rig.toml")
    take.detections.save(folder / "keypoints2d.npz")
    return take, folder


def run_cli(capsys, *args):
    code = main(["reconstruct", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_npz_to_poses(studio, tmp_path, capsys):
    take, folder = studio
    out, npz = tmp_path / "poses3d.npz", folder / "keypoints2d.npz"
    code, stdout, _ = run_cli(capsys, "--rig", folder / "rig.toml", "--detections", npz, "--out", out)
    assert code == 0, stdout
    poses = Poses3D.load(out)
    assert poses.num_frames == 60 and mpjpe(poses.xyz, take.poses.xyz) < 0.015
    assert "median reprojection error" in stdout and "outlier threshold 20.0 px" in stdout
    with np.load(out, allow_pickle=False) as data:
        assert data["xyz"].shape == (60, 1, 17, 3) and data["person_id"].tolist() == [0]


@pytest.mark.parametrize("coefficients", [4, 5, 8])
def test_openpose_folders_and_rigs_with_4_5_or_8_coefficients(studio, tmp_path, capsys, coefficients):
    take, _ = studio
    lens = {4: [-0.05, 0.01, 1e-4, -2e-4], 5: [-0.05, 0.01, 1e-4, -2e-4, 0.002]}
    lens[8] = [-0.05, 0.01, 1e-4, -2e-4, 0.002, 0.01, -0.003, 0.001]
    rig = CameraRig(tuple(c.replace(distortion=np.array(lens[coefficients])) for c in take.rig))
    save_rig(rig, tmp_path / "rig.toml")
    points = take.poses.xyz[:, 0].astype(np.float64)
    pixels = np.moveaxis(rig.project(points), 0, 1)[:, :, None]  # (T, V, 1, J, 2) exact
    detections = Detections2D(pixels, np.ones(pixels.shape[:-1]), rig.names, take.layout, 30.0)
    write_openpose_take(detections, tmp_path / "json", [f"Cam{i + 1}_json" for i in range(len(rig))])
    out = tmp_path / "poses3d.npz"
    code, _, err = run_cli(
        capsys, "--rig", tmp_path / "rig.toml", "--detections", tmp_path / "json", "--out", out, "--layout", "coco17",
        "--cutoff-hz", "0",
    )  # fmt: skip
    assert code == 0, err
    poses = Poses3D.load(out)
    assert mpjpe(poses.xyz, take.poses.xyz) < 1e-4 and poses.fps == 30.0  # exact but for float32 pixels


def test_bad_input_is_one_line_and_writes_nothing(studio, tmp_path, capsys):
    take, folder = studio
    out = tmp_path / "poses3d.npz"
    rig = ["--rig", folder / "rig.toml"]
    npz = folder / "keypoints2d.npz"
    three = tmp_path / "three.npz"
    take.detections.subset_views(["cam_1", "cam_2", "cam_3"]).save(three)
    cases = {
        "views": (*rig, "--detections", three, "--out", out),
        "no such rig": ("--rig", tmp_path / "none.toml", "--detections", npz, "--out", out),
        "no such file": (*rig, "--detections", tmp_path / "none.npz", "--out", out),
        "--threshold-px": (*rig, "--detections", npz, "--out", out, "--threshold-px", "-1"),
        "--min-views": (*rig, "--detections", npz, "--out", out, "--min-views", "1"),
        "does not exist": (*rig, "--detections", npz, "--out", tmp_path / "no" / "p.npz"),
        "not body25b": (*rig, "--detections", npz, "--out", out, "--layout", "body25b"),
        "below half the frame rate": (*rig, "--detections", npz, "--out", out, "--cutoff-hz", "20"),
    }
    for expected, args in cases.items():
        code, _, err = run_cli(capsys, *args)
        assert code == 2, expected
        assert err.startswith("mocap: error: ") and err.strip().count("\n") == 0 and expected in err, err
        assert not out.exists()
    assert list(tmp_path.iterdir()) == [three]  # no partial files


def test_all_missing_detections_write_nan_poses_and_say_why(studio, tmp_path, capsys):
    take, folder = studio
    empty = Detections2D(
        np.full_like(take.detections.xy, np.nan),
        np.zeros_like(take.detections.score),
        take.detections.camera_names,
        take.layout,
        30.0,
    )
    empty.save(tmp_path / "empty.npz")
    out = tmp_path / "poses3d.npz"
    code, stdout, _ = run_cli(
        capsys, "--rig", folder / "rig.toml", "--detections", tmp_path / "empty.npz", "--out", out
    )
    assert code == 0 and "0.0 % of joints" in stdout and "TOO_FEW_VIEWS" in stdout
    assert np.isnan(Poses3D.load(out).xyz).all()
