"""The ``precomputed`` and ``mediapipe`` backends: stored keypoints replayed, MediaPipe as a reference."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mocap.cli import main
from mocap.detection.backends.precomputed import PrecomputedDetector, camera_name_from_folder
from mocap.detection.registry import create_detector
from mocap.detection.tflite_reference import mediapipe_available
from mocap.detections2d import Detections2D
from mocap.errors import MismatchError, MissingFileError, ShapeError
from mocap.skeleton import BODY25B, COCO17


def _stored(rng, frames=5, views=3, people=2) -> Detections2D:
    xy = rng.uniform(0, 500, size=(frames, views, people, COCO17.num_joints, 2)).astype(np.float32)
    score = rng.uniform(0.2, 1.0, size=(frames, views, people, COCO17.num_joints)).astype(np.float32)
    xy[1, 2, 1] = np.nan
    score[1, 2, 1] = 0.0
    return Detections2D(xy, score, ("cam_a", "cam_b", "cam_c"), COCO17, 25.0)


def _write_openpose(folder, frames: list[list[np.ndarray]]) -> None:
    """One OpenPose JSON per frame: ``frames[t]`` lists (J, 3) arrays, one per person."""
    folder.mkdir(parents=True)
    for t, people in enumerate(frames):
        document = {"version": 1.3, "people": [{"pose_keypoints_2d": p.reshape(-1).tolist()} for p in people]}
        (folder / f"take_{t:012d}_keypoints.json").write_text(json.dumps(document))


def test_npz_is_replayed_by_camera_name(tmp_path, rng):
    stored = _stored(rng)
    path = stored.save(tmp_path / "keypoints2d.npz")
    detector = create_detector("precomputed", paths=path)
    assert detector.layout.name == COCO17.name and not detector.needs_images
    detector.reset(["cam_c", "cam_a"])
    out = detector.detect([None, None], 1)
    np.testing.assert_array_equal(out.xy, stored.xy[1, [2, 0]])
    np.testing.assert_array_equal(out.score, stored.score[1, [2, 0]])
    past = detector.detect([None, None], 99)
    assert np.isnan(past.xy).all() and (past.score == 0).all()
    with pytest.raises(MismatchError, match=r"cam_z.*stored: cam_a, cam_b, cam_c"):
        detector.reset(["cam_a", "cam_z"])
    with pytest.raises(MismatchError, match="3 views given"):
        detector.detect([None, None, None], 0)


def test_openpose_folders_give_people_per_view(tmp_path, rng):
    joints = BODY25B.num_joints
    person = np.concatenate([rng.uniform(0, 400, (joints, 2)), rng.uniform(0.3, 1, (joints, 1))], axis=1)
    _write_openpose(tmp_path / "json" / "cam01_json", [[person], [person + [1, 2, 0]], [person, person + [50, 0, 0]]])
    _write_openpose(tmp_path / "json" / "cam02_json", [[person], [], [person]])
    detector = PrecomputedDetector.from_path(tmp_path / "json", layout="body25b", fps=60.0)
    assert detector.detections.camera_names == ("cam01", "cam02") and detector.num_frames == 3
    assert detector.detections.fps == 60.0 and detector.layout.name == BODY25B.name
    detector.reset(["cam01", "cam02"])
    first, second, third = (detector.detect([None, None], t) for t in range(3))
    np.testing.assert_allclose(first.xy[0, 0], person[:, :2], rtol=1e-6)
    np.testing.assert_allclose(second.xy[0, 0], person[:, :2] + [1, 2], rtol=1e-6)
    assert (second.score[1] == 0).all()  # nobody in cam02 at frame 1
    assert third.num_slots >= 2 and (third.score[0].max(axis=-1) > 0).sum() == 2
    assert camera_name_from_folder(tmp_path / "cam03_JSON") == "cam03"


def test_missing_or_empty_sources_are_one_line(tmp_path):
    with pytest.raises(MissingFileError, match="no such keypoints file"):
        create_detector("precomputed", paths=[tmp_path / "nowhere"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match=r"no OpenPose \.json files") as info:
        create_detector("precomputed", paths=[tmp_path / "empty"])
    assert "\n" not in str(info.value)


def test_cli_precomputed_renames_to_the_rig_and_writes_npz(tmp_path, rng, capsys):
    from calibration.rig_toml import save_rig
    from mocap.synthetic.studio import StudioConfig, generate_take

    rig = generate_take(StudioConfig(num_cameras=2, num_frames=2, seed=0)).rig
    three = _stored(rng)
    stored = Detections2D(
        three.xy[:, :2],
        three.score[:, :2],
        tuple(n.replace("_", "-").upper() for n in rig.names),
        COCO17,
        25.0,
    )
    source = stored.save(tmp_path / "in.npz")
    rig_path = tmp_path / "rig.toml"
    save_rig(rig, rig_path)
    out = tmp_path / "out.npz"
    code = main(["detect", str(source), "--backend", "precomputed", "--rig", str(rig_path), "--out", str(out)])
    assert code == 0
    written = Detections2D.load(out)
    assert written.camera_names == tuple(rig.names)
    np.testing.assert_array_equal(written.xy, stored.xy)
    assert "5 frames x 2 views" in capsys.readouterr().out


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    broken = tmp_path / "cam01.mp4"
    broken.write_bytes(b"\x00" * 1000)
    assert main(["detect", str(broken), "--out", str(tmp_path / "k.npz")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("mocap: error: ") and error.strip().count("\n") == 0 and "cam01.mp4" in error
    assert not (tmp_path / "k.npz").exists()
    import cv2

    (tmp_path / "cam02").mkdir()
    cv2.imwrite(str(tmp_path / "cam02" / "0001.png"), np.zeros((8, 8, 3), np.uint8))
    assert main(["detect", str(tmp_path / "cam02"), "--backend", "nothing"]) == 2
    assert "available: blazepose, mediapipe, precomputed" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "cam02"), "--max-people", "0"]) == 2
    assert "--max-people" in capsys.readouterr().err


def test_mediapipe_backend_without_the_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe now raises ImportError
    with pytest.raises(MissingFileError, match=r"pip install mediapipe==0\.10\.14") as info:
        create_detector("mediapipe")
    assert "\n" not in str(info.value)


@pytest.mark.realdata
@pytest.mark.skipif(not mediapipe_available(), reason="needs mediapipe==0.10.14")
@pytest.mark.slow
def test_mediapipe_backend_follows_the_person_in_every_view(shared_data):
    import cv2

    from mocap.detection.backends.blazepose import BlazePoseConfig, BlazePoseDetector

    with pytest.raises(ShapeError, match="max_people"):
        create_detector("mediapipe", max_people=2)
    videos = shared_data / "pose2sim_demo" / "single_person" / "videos"
    images = []
    for camera in (1, 2):
        capture = cv2.VideoCapture(str(videos / f"cam0{camera}.mp4"))
        images.append(capture.read()[1])
        capture.release()
    reference = create_detector("mediapipe", static=True)
    reference.reset(["cam01", "cam02"])
    theirs = reference.detect(images, 0)
    ours = BlazePoseDetector(BlazePoseConfig(static=True)).detect(images, 0)
    assert theirs.xy.shape == ours.xy.shape == (2, 1, 33, 2)
    assert (theirs.score.max(axis=-1) > 0.5).all()
    assert float(np.nanmedian(np.linalg.norm(theirs.xy - ours.xy, axis=-1))) < 2.0


@pytest.mark.skipif(not mediapipe_available(), reason="needs mediapipe==0.10.14")
def test_a_mediapipe_detector_left_open_does_not_hang_the_exit(tmp_path):
    script = (
        "import numpy as np\n"
        "from mocap.detection.registry import create_detector\n"
        "detector = create_detector('mediapipe')\n"
        "detector.reset(['a'])\n"
        "detector.detect([np.zeros((64, 64, 3), np.uint8)], 0)\n"
        "print('detected', flush=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and "detected" in result.stdout, result.stderr[-500:]
