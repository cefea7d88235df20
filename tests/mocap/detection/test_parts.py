"""Known answers for the pieces around the networks: sparse tensors, anchors, NMS, crops, heatmaps, weights."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

from mocap.detection import landmarks as lm
from mocap.detection import roi, ssd
from mocap.detection.sparse import DimensionLevel, densify
from mocap.detection.weights import MODEL_FILES, extract_from_wheel, model_path
from mocap.errors import FileFormatError, MissingFileError


def test_densify_csr_known_answer():
    # 2x3 matrix [[0, 5, 0], [7, 0, 9]]: row dim dense, column dim CSR.
    levels = (DimensionLevel(2), DimensionLevel(0, np.array([0, 1, 3]), np.array([1, 0, 2])))
    dense = densify(np.array([5.0, 7.0, 9.0]), (2, 3), (0, 1), (), levels)
    assert np.array_equal(dense, [[0, 5, 0], [7, 0, 9]])
    # Column-major traversal of the same matrix.
    levels_t = (DimensionLevel(3), DimensionLevel(0, np.array([0, 1, 2, 3]), np.array([1, 0, 1])))
    dense_t = densify(np.array([7.0, 5.0, 9.0]), (2, 3), (1, 0), (), levels_t)
    assert np.array_equal(dense_t, dense)


def test_densify_block_sparse_known_answer():
    # 2x4 matrix in 1x2 blocks: block grid 2x2 (rows dense, block columns CSR), inner block dense.
    levels = (
        DimensionLevel(2),
        DimensionLevel(0, np.array([0, 1, 2]), np.array([1, 0])),
        DimensionLevel(1),
        DimensionLevel(2),
    )
    values = np.array([1.0, 2.0, 3.0, 4.0])
    dense = densify(values, (2, 4), (0, 1, 2, 3), (0, 1), levels)
    assert np.array_equal(dense, [[0, 0, 1, 2], [3, 4, 0, 0]])


def test_anchors_match_the_pose_detector_layout():
    anchors = ssd.ssd_anchor_centers()
    assert anchors.shape == (2254, 2)
    assert np.allclose(anchors[0], [0.5 / 28, 0.5 / 28]) and np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[1568], [0.5 / 14, 0.5 / 14])
    assert np.allclose(anchors[-6:], [6.5 / 7, 6.5 / 7])


def test_weighted_nms_merges_a_cluster_by_score():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]], dtype=np.float32)
    keypoints = np.array([[[0.0, 0.0]], [[1.0, 1.0]], [[5.0, 5.0]]], dtype=np.float32)
    scores = np.array([0.9, 0.6, 0.7], dtype=np.float32)
    out = ssd.weighted_nms(boxes, keypoints, scores, 0.3)
    assert np.allclose(out.scores, [0.9, 0.7])
    assert np.allclose(out.keypoints[0, 0], [0.6 / 1.5, 0.6 / 1.5])
    assert np.allclose(out.boxes[0], [(0.6 * 0.1) / 1.5, 0.0, (0.9 * 1.0 + 0.6 * 1.1) / 1.5, 1.0])
    assert np.allclose(out.boxes[1], boxes[2]) and np.allclose(out.keypoints[1], keypoints[2])


def test_decoding_uses_x_first_and_anchor_offsets():
    raw = np.zeros((1, 12), dtype=np.float32)
    raw[0, :4] = [22.4, -11.2, 44.8, 22.4]  # 0.1, -0.05, 0.2, 0.1 of 224
    raw[0, 4:6] = [224.0, 0.0]
    boxes, keypoints = ssd.decode_boxes(raw, np.array([[0.5, 0.5]], dtype=np.float32))
    assert np.allclose(boxes[0], [0.5, 0.4, 0.7, 0.5])
    assert np.allclose(keypoints[0, 0], [1.5, 0.5])


def test_exact_crops_equal_opencv_warp_perspective(rng):
    import cv2

    image = rng.integers(0, 256, size=(120, 160, 3), dtype=np.uint8)
    center, size, rotation = np.array([[70.3, 52.9]]), np.array([150.0]), np.array([0.4])
    positions = roi.sampling_positions(center, size, rotation, 64, device="cpu")
    for mode, border in (("zeros", cv2.BORDER_CONSTANT), ("border", cv2.BORDER_REPLICATE)):
        ours = roi.fixed_point_bilinear(torch.from_numpy(image), positions, mode)[0]  # the device path
        rect = ((70.3, 52.9), (150.0, 150.0), float(np.degrees(0.4)))
        corners = cv2.boxPoints(rect).astype(np.float32)
        target = np.array([[0, 64], [0, 0], [64, 0], [64, 64]], dtype=np.float32)
        matrix = cv2.getPerspectiveTransform(corners, target)
        expected = cv2.warpPerspective(image, matrix, (64, 64), flags=cv2.INTER_LINEAR, borderMode=border)
        same = ours.permute(1, 2, 0).numpy() == expected[:, :, ::-1]
        assert same.mean() > 0.995, mode  # bit-identical but for double-rounding at a few 1/32 ties
        views = np.zeros(1, np.int64)
        cpu = roi.sample_crops([torch.from_numpy(image)], views, positions, mode)[0]  # OpenCV on the CPU
        assert (cpu.permute(1, 2, 0).numpy() == expected[:, :, ::-1]).mean() > 0.995, mode
        fast = roi.sample_crops([torch.from_numpy(image)], views, positions, mode, opencv_exact=False)[0]
        assert float((fast - ours).abs().mean()) < 1.0


def test_crop_units_map_back_to_the_sampled_pixels():
    center, size, rotation = np.array([[300.0, 200.0]]), np.array([256.0]), np.array([-0.7])
    positions = roi.sampling_positions(center, size, rotation, 256, device="cpu").numpy()
    uv = np.array([[[0.0, 0.0], [100 / 256, 30 / 256], [0.5, 0.5]]])
    pixels = roi.crop_to_image(uv, center, size, rotation)
    assert np.allclose(pixels[0, 0], positions[0, 0, 0]) and np.allclose(pixels[0, 1], positions[0, 30, 100])
    assert np.allclose(pixels[0, 2], center[0])


def test_alignment_region_points_the_body_up():
    center, size, rotation = roi.rois_from_alignment(np.array([[100.0, 200.0]]), np.array([[100.0, 100.0]]), 1.25)
    assert np.allclose(center, [[100, 200]]) and np.allclose(size, [250.0]) and np.allclose(rotation, [0.0])
    _, _, tilted = roi.rois_from_alignment(np.array([[0.0, 0.0]]), np.array([[100.0, 0.0]]))
    assert np.allclose(tilted, [np.pi / 2])  # body lying to the right: rotate the crop by +90 degrees


def test_heatmap_refinement_moves_to_the_peak_and_skips_weak_maps():
    heat = torch.full((1, 64, 64, 2), -10.0)
    heat[0, 20, 30, 0] = 10.0  # landmark 0: a sharp peak at column 30, row 20
    uv = torch.tensor([[[31.9 / 64, 21.5 / 64], [10 / 64, 10 / 64]]])
    refined = lm.refine_with_heatmap(uv, heat)
    assert torch.allclose(refined[0, 0] * 64, torch.tensor([30.0, 20.0]), atol=0.05)
    assert torch.equal(refined[0, 1], uv[0, 1])  # no confident cell: unchanged


def _fake_wheel(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(MODEL_FILES[name], b"model " + name.encode())


def test_models_come_out_of_a_cached_wheel(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _fake_wheel(wheels / "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.whl", MODEL_FILES)
    path = model_path("pose_detection", use_installed=False, cache_dir=tmp_path, allow_download=False)
    assert path == tmp_path / "pose_detection.tflite" and path.read_bytes() == b"model pose_detection"


def test_no_wheel_and_no_network_is_one_line(tmp_path):
    calls = []

    def offline(command):
        calls.append(command)
        return 1

    with pytest.raises(MissingFileError, match=r"pip install mediapipe==0\.10\.14") as info:
        model_path("pose_landmark_full", use_installed=False, cache_dir=tmp_path, runner=offline)
    assert "\n" not in str(info.value) and calls and "download" in calls[0]
    assert not (tmp_path / "pose_landmark_full.tflite").exists()


def test_a_damaged_wheel_is_named(tmp_path):
    wheel = tmp_path / "mediapipe-0.10.14-broken.whl"
    wheel.write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match="not a readable wheel"):
        extract_from_wheel(wheel, "pose_detection", tmp_path)
