"""The blazepose backend end to end: MediaPipe parity, batching, tracking, several people, a real take."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from calibration.progress import drain
from mocap.detection.backends.blazepose import BlazePoseConfig, BlazePoseDetector
from mocap.detection.blazepose_models import BlazePoseModels
from mocap.detection.protocol import detect_batch
from mocap.detection.registry import create_detector
from mocap.detection.run import detect_media_iter, match_camera_names, media_paths
from mocap.detection.tflite_reference import mediapipe_available
from mocap.errors import MismatchError, MissingFileError

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def models():
    if not mediapipe_available():
        pytest.skip("mediapipe==0.10.14 is not installed (it ships the BlazePose models)")
    return BlazePoseModels("cpu")


@pytest.fixture(scope="module")
def take_frames(shared_data):
    import cv2

    frames = []
    for camera in range(1, 5):
        videos = shared_data / "pose2sim_demo" / "single_person" / "videos"
        capture = cv2.VideoCapture(str(videos / f"cam0{camera}.mp4"))
        frames.append([capture.read()[1] for _ in range(4)])
        capture.release()
    return frames


@pytest.mark.slow
def test_landmarks_match_mediapipes_legacy_pose(models, real_images, capsys):
    import mediapipe as mp

    detector = BlazePoseDetector(BlazePoseConfig(static=True), models)
    distances, visible = [], []
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for image in real_images.values():
            height, width = image.shape[:2]
            result = pose.process(np.ascontiguousarray(image[:, :, ::-1]))
            if result.pose_landmarks is None:
                continue
            reference = np.array([[m.x * width, m.y * height] for m in result.pose_landmarks.landmark])
            ours = detector.detect([image], 0)
            distances.append(np.linalg.norm(ours.xy[0, 0] - reference, axis=-1))
            visible.append(np.array([m.visibility for m in result.pose_landmarks.landmark]) > 0.5)
    assert len(distances) >= 3
    d, v = np.concatenate(distances), np.concatenate(visible)
    per_image = [round(float(np.median(x)), 2) for x in distances]
    with capsys.disabled():
        print(
            f"\n[detection] blazepose vs mp.solutions.pose on {len(distances)} images: median {np.median(d):.2f} px "
            f"(visible landmarks {np.median(d[v]):.2f} px), per image {per_image}"
        )
    assert np.median(d) < 2.0
    assert all(np.median(x) < 2.0 for x in distances)


@pytest.mark.parametrize("tiles", [False, True])
def test_one_forward_pass_per_stage_for_all_views(models, take_frames, tiles):
    config = BlazePoseConfig(max_people=2, redetect_every=2, detect_tiles=tiles)
    detector = BlazePoseDetector(config, models)
    detector.reset(["a", "b", "c", "d"])
    before = dict(models.forward_passes)
    for t in range(4):
        out = detector.detect([frames[t] for frames in take_frames], t)
        assert out.xy.shape == (4, 2, 33, 2)
        assert (out.score[:, 0].max(axis=-1) > 0).all()  # the person is found in every view
        assert (out.score[:, 1].max(axis=-1) == 0).all()  # and nobody else (one person in this take)
    passes = {k: models.forward_passes[k] - before[k] for k in before}
    assert passes["landmarks"] == 4  # one pass per frame set for all views and people
    # frame 0, then the re-detection at frame 2: all views at once; with tiles one more pass for
    # the tiles of every view still short of max_people (all four: the take has one person)
    assert passes["detector"] == (4 if tiles else 2)


def test_static_batches_of_frame_sets_run_each_stage_once(models, take_frames):
    detector = BlazePoseDetector(BlazePoseConfig(static=True), models)
    detector.reset(["a", "b"])
    frame_sets = [[take_frames[0][t], take_frames[1][t]] for t in (0, 3)]
    before = dict(models.forward_passes)
    per_set = detect_batch(detector, frame_sets, 10)  # on the CPU: one frame set per pass
    assert {k: models.forward_passes[k] - before[k] for k in before} == {"detector": 2, "landmarks": 2}
    detector.batch_frame_sets = True  # the accelerator default: one pass for all frame sets
    before = dict(models.forward_passes)
    batch = detect_batch(detector, frame_sets, 10)
    assert {k: models.forward_passes[k] - before[k] for k in before} == {"detector": 1, "landmarks": 1}
    assert detector._camera_names == ("a", "b")
    for k in range(len(frame_sets)):
        assert batch[k].xy.shape == per_set[k].xy.shape == (2, 1, 33, 2)
        assert float(np.nanmax(np.abs(batch[k].xy - per_set[k].xy))) < 0.05


def test_tracking_skips_the_detector_for_one_person(models, take_frames):
    detector = BlazePoseDetector(BlazePoseConfig(), models)
    detector.reset(["cam01"])
    before = models.forward_passes["detector"]
    tracked = [detector.detect([take_frames[0][t]], t) for t in range(4)]
    assert models.forward_passes["detector"] - before == 1
    static = BlazePoseDetector(BlazePoseConfig(static=True), models).detect([take_frames[0][3]], 3)
    assert np.nanmedian(np.linalg.norm(tracked[-1].xy - static.xy, axis=-1)) < 10.0


@pytest.mark.slow
def test_fp16_within_a_pixel_of_fp32(models, real_images, capsys):
    half = BlazePoseModels("cpu", "fp16")
    full_detector = BlazePoseDetector(BlazePoseConfig(static=True), models)
    half_detector = BlazePoseDetector(BlazePoseConfig(static=True, precision="fp16"), half)
    shifts = []
    for name in ("cam01",):  # fp16 convolutions are ~20x slower than fp32 on a CPU: one image here
        image = real_images[name]
        full, low = full_detector.detect([image], 0), half_detector.detect([image], 0)
        visible = full.score > 0.5
        shifts.append(np.linalg.norm(full.xy - low.xy, axis=-1)[visible])
    shift = float(np.median(np.concatenate(shifts)))
    with capsys.disabled():
        print(f"\n[detection] fp16 vs fp32: median {shift:.2f} px over visible landmarks of {len(shifts)} image(s)")
    assert shift < 1.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(models, take_frames):
    gpu = BlazePoseDetector(BlazePoseConfig(device="cuda", static=True))
    cpu = BlazePoseDetector(BlazePoseConfig(static=True), models)
    images = [frames[0] for frames in take_frames]
    a, b = cpu.detect(images, 0), gpu.detect(images, 0)
    assert np.nanmedian(np.linalg.norm(a.xy - b.xy, axis=-1)) < 0.5


def test_coco_people_found_and_scored(models, shared_data, capsys):
    import cv2

    from mocap.skeleton import COCO17, layout_mapping

    document = json.loads((shared_data / "images" / "test_coco.json").read_text())
    detector = BlazePoseDetector(BlazePoseConfig(static=True, max_people=8, min_detection_score=0.3), models)
    mapping = layout_mapping(detector.layout, COCO17)
    sigmas = (
        np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
        / 10
    )
    oks_all, pck_all, present = [], [], 0
    for info in document["images"]:
        path = shared_data / "images" / info["file_name"]
        if not path.is_file():
            continue  # the JSON lists images that are not shipped
        present += 1
        found = detector.detect([cv2.imread(str(path))], 0)
        ours = mapping.points(found.xy[0])  # (P, 17, 2)
        for ann in (a for a in document["annotations"] if a["image_id"] == info["id"] and a["num_keypoints"] > 0):
            truth = np.asarray(ann["keypoints"], dtype=float).reshape(17, 3)
            labelled = truth[:, 2] > 0
            d = np.linalg.norm(ours - truth[None, :, :2], axis=-1)  # (P, 17)
            similarity = np.exp(-(d**2) / (2 * ann["area"] * (2 * sigmas) ** 2))
            oks = np.nanmean(np.where(labelled, similarity, np.nan), axis=1)
            best = int(np.nanargmax(np.nan_to_num(oks, nan=-1)))
            _, _, w, h = ann["bbox"]
            pck = np.nanmean(np.where(labelled, d[best] < 0.2 * max(w, h), np.nan))
            oks_all.append(np.nan_to_num(oks[best]))
            pck_all.append(np.nan_to_num(pck))
    assert present >= 1
    with capsys.disabled():
        print(
            f"\n[detection] COCO ({present} images present, {len(oks_all)} people): mean OKS {np.mean(oks_all):.2f}, "
            f"PCK@0.2 {np.mean(pck_all):.2f}; per person OKS {np.round(oks_all, 2).tolist()}"
        )
    assert np.max(oks_all) > 0.5  # at least the clearly visible people are found and fit


def test_camera_names_follow_the_rig():
    assert match_camera_names(["cam01", "Cam-02"], ["cam_01", "cam_02"]) == ["cam_01", "cam_02"]
    with pytest.raises(MismatchError, match="cam07"):
        match_camera_names(["cam07"], ["cam_01"])


def test_unreadable_video_is_a_one_line_error(tmp_path, models):
    broken = tmp_path / "cam01.mp4"
    broken.write_bytes(b"\x00" * 1000)
    with pytest.raises(Exception, match="cannot be decoded as video") as info:
        drain(detect_media_iter([broken], BlazePoseDetector(BlazePoseConfig(), models)))
    assert "\n" not in str(info.value)
    with pytest.raises(MissingFileError):
        media_paths([tmp_path / "missing.mp4"])


@pytest.mark.slow
def test_mocap_detect_on_the_real_take_triangulates_near_the_reference(shared_data, tmp_path, capsys):
    from calibration.rig_toml import load_rig
    from mocap.detections2d import Detections2D
    from mocap.skeleton import BODY25B, layout_mapping
    from mocap.triangulation.single_person import triangulate_single_person
    from mocap.triangulation.studies import read_trc

    base = shared_data / "pose2sim_demo" / "balancing_trial_reference"
    out = tmp_path / "keypoints2d.npz"
    videos = shared_data / "pose2sim_demo" / "single_person" / "videos"
    command = [sys.executable, "-m", "mocap.cli", "detect", str(videos)]
    command += ["--rig", str(base / "calibration_converted_by_pose2sim.toml"), "--out", str(out), "--threads", "1"]
    command += ["--stop", "20"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    detections = Detections2D.load(out)
    assert detections.camera_names == ("cam_01", "cam_02", "cam_03", "cam_04") and detections.num_frames == 20
    mapping = layout_mapping(detections.layout, BODY25B)
    body25b = Detections2D(
        mapping.points(detections.xy), mapping.scores(detections.score), detections.camera_names, BODY25B, 60.0
    )
    poses = triangulate_single_person(load_rig(base / "calibration_converted_by_pose2sim.toml"), body25b)
    names, trc = read_trc(base / "triangulated_reference.trc")
    reference = np.stack([trc[:20, :, 2], trc[:20, :, 0], trc[:20, :, 1]], axis=-1)  # TRC is Y-up
    ours = poses.xyz[:, 0, [BODY25B.index(n) for n in names]]
    distance = np.linalg.norm(ours - reference, axis=-1)
    median_mm = float(np.nanmedian(distance)) * 1000
    with capsys.disabled():
        print(f"\n[detection] mocap detect + DLT vs triangulated_reference.trc: median {median_mm:.1f} mm (20 frames)")
    assert median_mm < 50.0


def test_registry_creates_each_backend(shared_data):
    assert create_detector("blazepose", static=True).layout.name == "blazepose33"
    with pytest.raises(Exception, match="available: blazepose, mediapipe, precomputed"):
        create_detector("openpose")
