"""The real demo's parts: Qualisys calibration, finding/fetching the Pose2Sim take, and a short real run."""

import zipfile

import numpy as np
import pytest

from calibration.importers.qualisys import load_qualisys
from calibration.rig_toml import load_rig
from mocap.capture.video import VideoWriter
from mocap.errors import FileFormatError, MissingFileError, MocapError
from mocap.pipeline.real_demo import REFERENCE_TRC, fetch_pose2sim_demo, find_pose2sim_take, reference_distance
from mocap.pipeline.run import run_take
from mocap.session.importing import import_videos
from mocap.session.media import open_video
from mocap.session.store import Session

FRAMES = 4
QCA = """<?xml version='1.0' encoding='ASCII'?>
<calibration type="regular"><cameras>
<camera serial="camA">
  <fov_video bottom="479" left="0" right="639" top="0"/>
  <transform r11="1" r12="0" r13="0" r21="0" r22="1" r23="0" r31="0" r32="0" r33="1" x="0" y="0" z="3000"/>
  <intrinsic centerPointU="20480" centerPointV="15360" focalLengthU="32000" focalLengthV="32000"
    radialDistortion1="0.1" radialDistortion2="0.01" radialDistortion3="0" tangentalDistortion1="0.001"
    tangentalDistortion2="0.002"/>
</camera>
<camera serial="camB">
  <fov_video bottom="479" left="0" right="639" top="0"/>
  <transform r11="1" r12="0" r13="0" r21="0" r22="1" r23="0" r31="0" r32="0" r33="1" x="1000" y="0" z="3000"/>
  <intrinsic centerPointU="20480" centerPointV="15360" focalLengthU="32000" focalLengthV="32000"
    radialDistortion1="0" radialDistortion2="0" radialDistortion3="0" tangentalDistortion1="0"
    tangentalDistortion2="0"/>
</camera>
</cameras></calibration>
"""


def test_qualisys_conventions(tmp_path):
    path = tmp_path / "Calib.qca.txt"
    path.write_text(QCA)
    rig = load_qualisys(path)
    assert rig.names == ("camA", "camB") and rig["camA"].image_size == (640, 480)
    np.testing.assert_allclose(rig["camA"].matrix, [[500, 0, 320], [0, 500, 240], [0, 0, 1]])
    np.testing.assert_allclose(rig["camA"].distortion, [0.1, 0.01, 0.001, 0.002, 0.0])
    np.testing.assert_allclose(rig.centers_world, [[0, 0, 3], [1, 0, 3]], atol=1e-12)
    # a Qualisys camera looks down its -z: the camera 3 m above the origin sees it at the image centre
    np.testing.assert_allclose(rig["camB"].project([[1.0, 0.0, 0.0]]), [[320, 240]], atol=1e-9)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not xml", r"not a Qualisys XML calibration"),
        ("<calibration><cameras/></calibration>", r"no active <camera> elements"),
        (QCA.replace('focalLengthU="32000"', 'focalLengthU="wide"', 1), r"intrinsic.focalLengthU.*'wide'"),
    ],
)
def test_bad_qualisys_files(tmp_path, text, match):
    path = tmp_path / "bad.qca.txt"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=match):
        load_qualisys(path)
    with pytest.raises(MissingFileError):
        load_qualisys(tmp_path / "absent.qca.txt")


def fake_wheel(folder, *, with_demo=True):
    """A stand-in for the Pose2Sim wheel: the demo's videos and calibration under Pose2Sim/Demo_SinglePerson."""
    wheel = folder / "pose2sim-0.10.49-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("Pose2Sim/__init__.py", "")
        if with_demo:
            archive.writestr("Pose2Sim/Demo_SinglePerson/calibration/Calib.qca.txt", QCA)
            archive.writestr("Pose2Sim/Demo_SinglePerson/Config.toml", "")
            for name in ("cam01", "cam02"):
                archive.writestr(f"Pose2Sim/Demo_SinglePerson/videos/{name}.mp4", b"video bytes")
    return wheel


def test_the_take_is_fetched_once_into_the_cache(tmp_path):
    calls = []

    def download(target):
        calls.append(target)
        return fake_wheel(target)

    take = fetch_pose2sim_demo(tmp_path / "cache", download)
    assert take == tmp_path / "cache" / "pose2sim-0.10.49" / "single_person"
    assert sorted(p.name for p in (take / "videos").iterdir()) == ["cam01.mp4", "cam02.mp4"]
    assert (take / "calibration" / "Calib.qca.txt").read_text() == QCA
    assert not (take / "Config.toml").exists()
    assert fetch_pose2sim_demo(tmp_path / "cache", download) == take and len(calls) == 1


def test_a_failed_fetch_leaves_nothing_behind(tmp_path):
    with pytest.raises(MocapError, match=r"holds no Pose2Sim/Demo_SinglePerson/ videos and calibration"):
        fetch_pose2sim_demo(tmp_path / "cache", lambda target: fake_wheel(target, with_demo=False))
    assert list((tmp_path / "cache" / "pose2sim-0.10.49").iterdir()) == []


def test_without_shared_data_the_cache_is_used_and_fetching_can_be_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MOCAP_TEST_DATA", str(tmp_path / "no_data"))
    monkeypatch.setenv("MOCAP_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(MissingFileError, match=r"neither in the shared data folder nor in the user cache"):
        find_pose2sim_take(allow_fetch=False)
    fetched = find_pose2sim_take(download=fake_wheel)
    assert find_pose2sim_take(allow_fetch=False) == fetched


@pytest.mark.realdata
def test_qualisys_rig_matches_pose2sims_conversion(shared_data):
    base = shared_data / "pose2sim_demo"
    ours = load_qualisys(base / "single_person" / "calibration" / "Calib.qca.txt")
    theirs = load_rig(base / "balancing_trial_reference" / "calibration_converted_by_pose2sim.toml")
    np.testing.assert_allclose(ours.centers_world, theirs.centers_world, atol=1e-6)
    trc = np.loadtxt(base / "balancing_trial_reference" / "triangulated_reference.trc", skiprows=5)[:, 2:]
    body = trc.reshape(-1, 3)[:, [2, 0, 1]]  # the person's joints in the take; TRC is Y-up
    # Pose2Sim's conversion scales the distortion differently: sub-pixel on the body, < 3 px at worst
    difference = np.abs(ours.project(body) - theirs.project(body))
    assert np.median(difference) < 0.5 and difference.max() < 3.0


@pytest.fixture
def one_torch_thread():
    """One torch thread: much faster than two on a machine whose cores are busy with other work."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_blazepose_on_the_first_frames_of_the_real_take(shared_data, tmp_path):
    """Real videos -> BlazePose -> 3D -> BVH/FBX on 4 frames of the Pose2Sim take; then all from the cache."""
    source = shared_data / "pose2sim_demo" / "single_person"
    videos = []
    for path in sorted((source / "videos").glob("cam*.mp4")):
        short = tmp_path / f"{path.stem}.mkv"
        with open_video(path) as reader, VideoWriter(short, reader.size, 60.0) as writer:
            for _, frame in reader.frames(0, FRAMES):
                writer.write(frame)
        videos.append(short)
    session = Session.create(tmp_path / "session")
    session.set_calibration(load_qualisys(source / "calibration" / "Calib.qca.txt"))
    take = import_videos(session, videos, name="short")
    first = run_take(take)
    poses = first.poses
    assert poses.num_frames == FRAMES and poses.layout.name == "blazepose33"
    assert poses.valid.mean() > 0.8
    assert np.nanmedian(poses.reprojection_error) < 15.0  # px on 1088x1920 images
    # Pose2Sim's own triangulation of OpenPose keypoints of the same frames: a few centimetres away
    assert reference_distance(poses, shared_data / REFERENCE_TRC) < 0.08
    assert sorted(p.suffix for p in first.exports) == [".bvh", ".fbx"]
    assert all(record.cached for record in run_take(take).stages)
