"""Shared fixtures of the detection tests: parsed models (module-cached) and real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap.detection.tflite_model import TfliteGraph, read_tflite
from mocap.detection.weights import installed_model


def _graph(name: str) -> TfliteGraph:
    path = installed_model(name)
    if path is None:
        pytest.skip("mediapipe==0.10.14 is not installed (it ships the BlazePose models)")
    return read_tflite(path)


@pytest.fixture(scope="session")
def detection_graph() -> TfliteGraph:
    return _graph("pose_detection")


@pytest.fixture(scope="session")
def landmark_graph() -> TfliteGraph:
    return _graph("pose_landmark_full")


@pytest.fixture(scope="session")
def real_images(shared_data: Path) -> dict[str, np.ndarray]:
    """BGR photos and first frames of two Pose2Sim videos (absent COCO images are skipped)."""
    import cv2

    images = {}
    for path in sorted((shared_data / "images").glob("*")):
        if path.suffix.lower() in (".png", ".jpg"):
            image = cv2.imread(str(path))
            if image is not None:
                images[path.stem] = image
    for camera in ("cam01", "cam03"):
        capture = cv2.VideoCapture(str(shared_data / "pose2sim_demo" / "single_person" / "videos" / f"{camera}.mp4"))
        ok, frame = capture.read()
        capture.release()
        if ok:
            images[camera] = frame
    if not images:
        pytest.skip("no real images in the shared data folder")
    return images
