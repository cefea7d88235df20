"""The two BlazePose networks as torch modules, and the batched stages that use them.

:class:`BlazePoseModels` loads ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` (see
:mod:`mocap.detection.weights`) into :class:`~mocap.detection.executor.TfliteExecutor` modules on
one device and precision, and runs the two stages on any number of images / regions at once:

* :meth:`BlazePoseModels.detect_people` — letterboxed 224x224 crops of several views (one
  ``grid_sample`` per view, zero border, values in [-1, 1]), one detector forward pass, then
  decoding and weighted NMS per view; alignment keypoints in image pixels.
* :meth:`BlazePoseModels.landmarks` — 256x256 rotated crops of every region of every view
  (replicated border, values in [0, 1]), one landmark forward pass, heatmap refinement, and the
  39 landmarks mapped back to image pixels with visibility and the pose presence score.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from mocap.detection import landmarks as lm
from mocap.detection import roi as roi_ops
from mocap.detection import ssd
from mocap.detection.executor import TfliteExecutor
from mocap.detection.tflite_model import read_tflite
from mocap.detection.weights import model_path
from mocap.errors import MocapError

log = logging.getLogger(__name__)

Precision = Literal["fp32", "fp16"]


class DeviceError(MocapError, RuntimeError):
    """The requested torch device cannot be used (e.g. ``cuda`` without a GPU)."""


def resolve_device(device: str) -> Any:
    """A ``torch.device`` for ``device``, checking CUDA is really there.

    Raises:
        DeviceError: naming the device and what to use instead.
    """
    import torch

    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise DeviceError(f"unknown torch device {device!r}; use cpu or cuda") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} requested but torch sees no CUDA GPU; use --device cpu")
    return resolved


@dataclass(frozen=True, eq=False)
class PeopleFound:
    """Detector results of one view.

    Attributes:
        keypoints_px: (N, 4, 2) alignment keypoints in image pixels (best person first).
        scores: (N,) detection scores.
        boxes_px: (N, 4) ``xmin, ymin, xmax, ymax`` pixels (the detector's face-centred box).
    """

    keypoints_px: NDArray[np.float64] = field(repr=False)
    scores: NDArray[np.float32]
    boxes_px: NDArray[np.float64] = field(repr=False)


@dataclass(frozen=True, eq=False)
class LandmarkResult:
    """Landmark model results for R regions.

    Attributes:
        xy: (R, 39, 2) pixels (0..32 the body, 33..34 the auxiliary alignment points).
        visibility: (R, 39) in [0, 1].
        presence: (R,) pose presence score in [0, 1].
    """

    xy: NDArray[np.float64] = field(repr=False)
    visibility: NDArray[np.float32] = field(repr=False)
    presence: NDArray[np.float32]


def to_device_images(images: Sequence[NDArray[np.uint8]], device: Any) -> list[Any]:
    """BGR uint8 (H, W, 3) frames as uint8 tensors on ``device`` (crops gather from them directly,
    so a full frame is never converted to float)."""
    import torch

    return [torch.from_numpy(np.ascontiguousarray(image)).to(device, non_blocking=True) for image in images]


class BlazePoseModels:
    """The detector and landmark networks on one device and precision.

    Args:
        device: torch device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
        precision: ``"fp32"`` or ``"fp16"`` weights and activations (decoding stays float32).
        detection_model, landmark_model: ``.tflite`` paths; found with
            :func:`mocap.detection.weights.model_path` when None.

    Raises:
        DeviceError, MissingFileError, FileFormatError: one line each.
    """

    def __init__(
        self,
        device: str = "cpu",
        precision: Precision = "fp32",
        detection_model: Path | None = None,
        landmark_model: Path | None = None,
    ) -> None:
        import torch

        self.device = resolve_device(device)
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        detector_graph = read_tflite(detection_model or model_path("pose_detection"))
        landmark_graph = read_tflite(landmark_model or model_path("pose_landmark_full"))
        # channels_last: the layout TFLite itself uses, ~15 % faster convolutions on the CPU and
        # the one tensor cores want on a GPU.
        # (CPU fp16 convolutions are far slower in channels_last: keep them contiguous.)
        cpu_half = self.device.type == "cpu" and self.dtype == torch.float16
        layout = torch.contiguous_format if cpu_half else torch.channels_last
        self._layout = layout
        to = {"device": self.device, "dtype": self.dtype, "memory_format": layout}  # (stubs lack memory_format)
        self.detector = TfliteExecutor(detector_graph).eval().to(**to)
        # Landmarks, pose flag and heatmap; the segmentation and world-landmark heads are pruned.
        self.landmarker = TfliteExecutor(landmark_graph, ["Identity", "Identity_1", "Identity_3"]).eval()
        self.landmarker = self.landmarker.to(**to)
        self.forward_passes = {"detector": 0, "landmarks": 0}
        #: Crops bit-identical to MediaPipe's (OpenCV fixed point); False: float grid_sample.
        self.opencv_exact = True

    def detect_people(
        self,
        images: Sequence[Any],
        *,
        min_score: float = 0.5,
        iou_threshold: float = 0.3,
        max_people: int | None = None,
    ) -> list[PeopleFound]:
        """People in each image, one detector forward pass for all of them.

        Args:
            images: (H, W, 3) uint8 BGR tensors from :func:`to_device_images`.
            min_score, iou_threshold: detection threshold and NMS overlap.
            max_people: most people per image (best first).
        """
        import torch

        if not images:
            return []
        sizes = [(int(im.shape[1]), int(im.shape[0])) for im in images]  # (width, height)
        regions = [roi_ops.letterbox_roi(*size) for size in sizes]
        positions = torch.cat([roi_ops.sampling_positions(*r, ssd.INPUT_SIZE, device=self.device) for r in regions])
        crops = roi_ops.sample_crops(
            list(images), np.arange(len(images)), positions, "zeros", opencv_exact=self.opencv_exact
        )
        with torch.inference_mode():
            batch = (crops * (2.0 / 255.0) - 1.0).to(self.dtype).contiguous(memory_format=self._layout)
            raw_boxes, raw_scores = self.detector(batch, nchw=True)
        self.forward_passes["detector"] += 1
        raw_boxes_np = raw_boxes.float().cpu().numpy()
        raw_scores_np = raw_scores.float().cpu().numpy()
        found = []
        for view, (center, side, rotation) in enumerate(regions):
            people = ssd.detect_people(
                raw_boxes_np[view],
                raw_scores_np[view],
                min_score=min_score,
                iou_threshold=iou_threshold,
                max_detections=max_people,
            )
            keypoints = roi_ops.crop_to_image(
                people.keypoints.reshape(1, -1, 2).astype(np.float64), center, side, rotation
            )
            corners = roi_ops.crop_to_image(people.boxes.reshape(1, -1, 2).astype(np.float64), center, side, rotation)
            found.append(
                PeopleFound(keypoints.reshape(-1, ssd.NUM_KEYPOINTS, 2), people.scores, corners.reshape(-1, 4))
            )
        return found

    def landmarks(
        self,
        images: Sequence[Any],
        view_of_roi: NDArray[np.int64],
        center: NDArray[np.float64],
        size: NDArray[np.float64],
        rotation: NDArray[np.float64],
    ) -> LandmarkResult:
        """Landmarks of R regions over the views, one landmark forward pass for all of them.

        Args:
            images: (H, W, 3) uint8 BGR tensors from :func:`to_device_images`, one per view.
            view_of_roi: (R,) view index of each region.
            center, size, rotation: (R, 2), (R,), (R,) regions in pixels / radians.
        """
        import torch

        count = len(view_of_roi)
        if count == 0:
            return LandmarkResult(
                np.zeros((0, lm.NUM_LANDMARKS, 2)), np.zeros((0, lm.NUM_LANDMARKS), np.float32), np.zeros(0, np.float32)
            )
        positions = roi_ops.sampling_positions(center, size, rotation, lm.CROP_SIZE, device=self.device)
        crops = roi_ops.sample_crops(list(images), view_of_roi, positions, "border", opencv_exact=self.opencv_exact)
        with torch.inference_mode():
            batch = (crops * (1.0 / 255.0)).to(self.dtype).contiguous(memory_format=self._layout)
            raw, flag, heatmap = self.landmarker(batch, nchw=True)
            self.forward_passes["landmarks"] += 1
            uv, visibility, _ = lm.decode_landmarks(raw)
            uv = lm.refine_with_heatmap(uv, heatmap.permute(0, 2, 3, 1))
        xy = roi_ops.crop_to_image(uv.double().cpu().numpy(), center, size, rotation)
        return LandmarkResult(xy, visibility.cpu().numpy(), flag.float().reshape(-1).cpu().numpy())
