"""The Pose2Sim demo take: its converted calibration and OpenPose keypoints against its reference TRC (real data).

``triangulated_reference.trc`` is Pose2Sim's triangulation of the same OpenPose JSON with the same
calibration (a reference output, not ground truth); TRC is Y-up, so world = (trc_z, trc_x, trc_y).
"""

import numpy as np
import pytest

from calibration.errors import FileFormatError
from calibration.rig_toml import load_rig
from mocap.cli import main
from mocap.formats.openpose_json import read_openpose_take
from mocap.poses3d import Poses3D
from mocap.skeleton import BODY25B
from mocap.triangulation import PointStatus, TriangulationConfig, triangulate_dlt
from mocap.triangulation.single_person import triangulate_single_person
from mocap.triangulation.studies import POSE2SIM_TAKE, pose2sim_study, read_trc

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def base(shared_data):
    return shared_data / POSE2SIM_TAKE


@pytest.fixture(scope="module")
def reference(base):
    rig = load_rig(base / "calibration_converted_by_pose2sim.toml")
    # folders cam01_json..cam04_json are matched to the rig's cam_01..cam_04 by name
    detections = read_openpose_take(base / "openpose_body25b_json", rig.names, "body25b", fps=60.0)
    names, trc = read_trc(base / "triangulated_reference.trc")
    assert len(names) == 21 and names[:2] == ["RHip", "RKnee"]
    return rig, detections, (names, np.stack([trc[..., 2], trc[..., 0], trc[..., 1]], axis=-1))  # TRC is Y-up


def against_reference(poses, trc):
    names, trc_world = trc
    ours = poses.xyz[:, 0, [BODY25B.index(n) for n in names]]
    distance = np.linalg.norm(ours - trc_world, axis=-1)
    return float(np.nanmedian(distance)) * 1000, float(np.isfinite(distance).mean())


def test_the_take_reads_by_camera_name(reference):
    rig, detections, trc_world = reference
    assert rig.names == ("cam_01", "cam_02", "cam_03", "cam_04") and detections.camera_names == rig.names
    assert [len(c.distortion) for c in rig] == [4, 4, 4, 4]
    assert detections.xy.shape[:2] == (100, 4) and trc_world[1].shape == (100, 21, 3)


def test_plain_dlt_reproduces_the_reference_and_robust_agrees(reference, capsys):
    rig, detections, trc_world = reference
    plain = triangulate_single_person(rig, detections, config=TriangulationConfig(method="dlt", refine=False))
    robust = triangulate_single_person(rig, detections)  # default: robust, refined, guided
    plain_mm, plain_both = against_reference(plain, trc_world)
    robust_mm, robust_both = against_reference(robust, trc_world)
    reprojection = [float(np.nanmedian(p.reprojection_error)) for p in (plain, robust)]
    with capsys.disabled():
        print(
            f"\n[pose2sim] vs triangulated_reference.trc: plain DLT median {plain_mm:.2f} mm ({plain_both:.1%} of "
            f"joints), robust default {robust_mm:.2f} mm ({robust_both:.1%}); median reprojection error plain "
            f"{reprojection[0]:.2f} px, robust {reprojection[1]:.2f} px"
        )
    assert plain_mm < 5.0 and plain_both > 0.95
    assert robust_mm < 5.0 and robust_both > 0.95
    assert reprojection[0] < 20.0  # OpenPose noise: the reference pipeline gets ~13 px


def test_per_view_statistics_and_reasons(reference):
    rig, detections, _ = reference
    best = detections.score.sum(axis=-1).argmax(axis=-1)
    xy = np.take_along_axis(detections.xy, best[:, :, None, None, None], axis=2)[:, :, 0]
    score = np.take_along_axis(detections.score, best[:, :, None, None], axis=2)[:, :, 0]
    result = triangulate_dlt(rig, np.moveaxis(xy, 1, -2), np.moveaxis(score, 1, -1))
    assert result.view_errors_px.shape == (100, 25, 4)
    seen = result.views_used
    assert np.all(np.isfinite(result.view_errors_px[seen])) and np.all(np.isnan(result.view_errors_px[~seen]))
    assert set(np.unique(result.status)) <= {PointStatus.OK, PointStatus.TOO_FEW_VIEWS}


def test_cli_on_the_real_take(base, tmp_path, capsys):
    out = tmp_path / "poses3d.npz"
    code = main(
        [
            "reconstruct",
            "--rig",
            str(base / "calibration_converted_by_pose2sim.toml"),
            "--detections",
            str(base / "openpose_body25b_json"),
            "--layout",
            "body25b",
            "--fps",
            "60",
            "--out",
            str(out),
        ]
    )
    stdout = capsys.readouterr().out
    assert code == 0 and "median reprojection error" in stdout
    poses = Poses3D.load(out)
    assert poses.num_frames == 100 and poses.fps == 60.0 and poses.valid.mean() > 0.95


def test_the_study_prints_what_the_tests_check(base):
    study = pose2sim_study(base)
    assert study.plain_median < 0.005 and study.default_median < 0.005
    assert study.plain_both > 0.95 and 5.0 < study.plain_reprojection < 20.0
    assert "median reprojection error" in study.lines()[0]


def test_a_file_that_is_not_a_trc_is_named(tmp_path):
    bad = tmp_path / "bad.trc"
    bad.write_text("not\na\ntrc\nfile\n")
    with pytest.raises(FileFormatError, match=r"bad\.trc: not a TRC file"):
        read_trc(bad)
