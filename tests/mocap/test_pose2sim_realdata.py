"""The Pose2Sim demo take: its converted calibration and OpenPose keypoints (real data)."""

import numpy as np
import pytest

from calibration.rig_toml import load_rig
from mocap.formats.openpose_json import read_openpose_folders
from mocap.skeleton import BODY25B
from mocap.triangulation.single_person import triangulate_single_person

pytestmark = pytest.mark.realdata

TRC_ORDER = [
    "RHip",
    "RKnee",
    "RAnkle",
    "RBigToe",
    "RSmallToe",
    "RHeel",
    "LHip",
    "LKnee",
    "LAnkle",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "Neck",
    "Head",
    "Nose",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
]


@pytest.fixture(scope="module")
def reference(shared_data):
    base = shared_data / "pose2sim_demo" / "balancing_trial_reference"
    rig = load_rig(base / "calibration_converted_by_pose2sim.toml")
    folders = [base / "openpose_body25b_json" / f"cam0{i}_json" for i in range(1, 5)]
    detections = read_openpose_folders(folders, rig.names, "body25b", fps=60.0)
    trc = np.loadtxt(base / "triangulated_reference.trc", skiprows=5)[:, 2:].reshape(-1, len(TRC_ORDER), 3)
    return rig, detections, np.stack([trc[..., 2], trc[..., 0], trc[..., 1]], axis=-1)  # TRC is Y-up


def test_pose2sim_calibration_projects_the_openpose_keypoints_consistently(reference, capsys):
    rig, detections, _ = reference
    assert rig.names == ("cam_01", "cam_02", "cam_03", "cam_04")
    assert [len(c.distortion) for c in rig] == [4, 4, 4, 4]
    poses = triangulate_single_person(rig, detections)
    median = float(np.nanmedian(poses.reprojection_error))
    with capsys.disabled():
        print(f"\n[pose2sim] triangulate -> reproject: median {median:.2f} px over {poses.valid.sum()} joints")
    assert poses.valid.mean() > 0.95
    assert median < 20.0  # OpenPose noise: the reference pipeline gets ~13 px


def test_our_dlt_matches_the_reference_triangulation(reference, capsys):
    rig, detections, trc_world = reference
    poses = triangulate_single_person(rig, detections)
    ours = poses.xyz[:, 0, [BODY25B.index(n) for n in TRC_ORDER]]
    distance = np.linalg.norm(ours - trc_world, axis=-1)
    median_mm = float(np.nanmedian(distance)) * 1000
    with capsys.disabled():
        print(f"\n[pose2sim] our DLT vs triangulated_reference.trc: median {median_mm:.2f} mm")
    assert median_mm < 5.0
