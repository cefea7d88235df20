"""The BlazePose person detector's head: SSD anchors, box/keypoint decoding, weighted NMS.

Facts from MediaPipe 0.10.14's ``PoseDetectionCpu`` graph (read from the installed wheel):

* anchors (``SsdAnchorsCalculator``): 5 layers, strides 8, 16, 32, 32, 32 on a 224x224 input,
  scales from 0.1484375 to 0.75, aspect ratio 1 plus one interpolated scale per layer, offset
  0.5, fixed anchor size (w = h = 1). Layers of equal stride share one feature map, so the
  anchors are 28x28x2 + 14x14x2 + 7x7x6 = 2254, ordered row, column, anchor.
* decoding (``TensorsToDetectionsCalculator``): 12 values per anchor, ``x, y, w, h`` (x first)
  then 4 keypoints ``x, y``, all divided by 224 and offset by the anchor centre; score =
  sigmoid(clip(raw, -100, 100)), kept when >= 0.5; boxes with negative size are dropped.
* non-maximum suppression (``NonMaxSuppressionCalculator``): WEIGHTED, IoU > 0.3 joins a
  cluster; a cluster's box and keypoints are the score-weighted means, its score the best one.

Keypoints: 0 mid-hip centre, 1 a point whose distance from 0 gives the full-body size and
rotation, 2 mid-shoulder centre, 3 the same for the upper body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

INPUT_SIZE = 224
NUM_KEYPOINTS = 4


@dataclass(frozen=True)
class AnchorSpec:
    """Options of MediaPipe's ``SsdAnchorsCalculator`` (those the pose detector uses)."""

    input_size: int = INPUT_SIZE
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    offset: float = 0.5


@lru_cache(maxsize=4)
def ssd_anchor_centers(spec: AnchorSpec = AnchorSpec()) -> NDArray[np.float32]:
    """(A, 2) anchor centres ``(x, y)`` in [0, 1] of the input (fixed anchor size: w = h = 1)."""
    centers: list[NDArray[np.float64]] = []
    layer = 0
    count = len(spec.strides)
    while layer < count:
        per_cell = 0
        last = layer
        while last < count and spec.strides[last] == spec.strides[layer]:
            per_cell += len(spec.aspect_ratios) + (1 if spec.interpolated_scale_aspect_ratio > 0 else 0)
            last += 1
        cells = int(np.ceil(spec.input_size / spec.strides[layer]))
        grid = (np.arange(cells) + spec.offset) / cells
        y, x = np.meshgrid(grid, grid, indexing="ij")
        xy = np.stack([x, y], axis=-1).reshape(-1, 1, 2)
        centers.append(np.repeat(xy, per_cell, axis=1).reshape(-1, 2))
        layer = last
    out = np.concatenate(centers).astype(np.float32)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class PersonBoxes:
    """Person detections of one image, in the detector's [0, 1] input coordinates.

    Attributes:
        boxes: (N, 4) ``xmin, ymin, xmax, ymax``.
        keypoints: (N, 4, 2) alignment keypoints ``x, y``.
        scores: (N,) in [0, 1], best first after NMS.
    """

    boxes: NDArray[np.float32] = field(repr=False)
    keypoints: NDArray[np.float32] = field(repr=False)
    scores: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def decode_boxes(
    raw: NDArray[np.float32], anchors: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Boxes and keypoints from raw regressions.

    Args:
        raw: (..., A, 12) model output ``Identity``.
        anchors: (A, 2) anchor centres.

    Returns:
        boxes (..., A, 4) ``xmin, ymin, xmax, ymax`` and keypoints (..., A, 4, 2), in [0, 1] units.
    """
    scaled = raw / np.float32(INPUT_SIZE)
    center = scaled[..., 0:2] + anchors
    half = scaled[..., 2:4] / 2
    boxes = np.concatenate([center - half, center + half], axis=-1)
    keypoints = scaled[..., 4:12].reshape(*raw.shape[:-1], NUM_KEYPOINTS, 2) + anchors[:, None, :]
    return boxes.astype(np.float32), keypoints.astype(np.float32)


def scores_from_logits(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """sigmoid(clip(logits, -100, 100)) as MediaPipe computes detection scores."""
    clipped = np.clip(logits.astype(np.float64), -100.0, 100.0)
    return (1.0 / (1.0 + np.exp(-clipped))).astype(np.float32)


def iou(box: NDArray[np.float32], boxes: NDArray[np.float32]) -> NDArray[np.float64]:
    """(N,) intersection over union of ``box`` (4,) with ``boxes`` (N, 4) (0 when disjoint)."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((inter > 0) & (union > 0), inter / union, 0.0)
    return out.astype(np.float64)


def weighted_nms(
    boxes: NDArray[np.float32],
    keypoints: NDArray[np.float32],
    scores: NDArray[np.float32],
    iou_threshold: float = 0.3,
    max_detections: int | None = None,
) -> PersonBoxes:
    """MediaPipe's WEIGHTED non-maximum suppression.

    The best remaining detection and every remaining one overlapping it by IoU > threshold form a
    cluster (the best included); the output is the cluster's score-weighted mean box and
    keypoints with the best score. Repeats on the detections left over.

    Args:
        boxes: (N, 4); keypoints: (N, K, 2); scores: (N,).
        iou_threshold: overlap above which detections merge.
        max_detections: stop after this many outputs (None: all).
    """
    order = np.argsort(-scores, kind="stable")
    remaining = order
    out_boxes: list[NDArray[np.float64]] = []
    out_keypoints: list[NDArray[np.float64]] = []
    out_scores: list[float] = []
    while remaining.size and (max_detections is None or len(out_scores) < max_detections):
        best = remaining[0]
        overlap = iou(boxes[best], boxes[remaining])
        members = remaining[overlap > iou_threshold]
        if members.size == 0:  # a degenerate (zero-area) best box overlaps nothing, not even itself
            members = remaining[:1]
        weights = scores[members].astype(np.float64)
        total = weights.sum()
        out_boxes.append((boxes[members] * weights[:, None]).sum(axis=0) / total)
        out_keypoints.append((keypoints[members] * weights[:, None, None]).sum(axis=0) / total)
        out_scores.append(float(scores[best]))
        remaining = remaining[overlap <= iou_threshold]
        remaining = remaining[remaining != best]
    k = keypoints.shape[1] if keypoints.ndim == 3 else NUM_KEYPOINTS
    return PersonBoxes(
        np.asarray(out_boxes, dtype=np.float32).reshape(-1, 4),
        np.asarray(out_keypoints, dtype=np.float32).reshape(-1, k, 2),
        np.asarray(out_scores, dtype=np.float32).reshape(-1),
    )


def detect_people(
    raw_boxes: NDArray[np.float32],
    raw_scores: NDArray[np.float32],
    *,
    min_score: float = 0.5,
    iou_threshold: float = 0.3,
    max_detections: int | None = None,
) -> PersonBoxes:
    """People in one image from the detector's two raw outputs.

    Args:
        raw_boxes: (A, 12) regressions; raw_scores: (A,) or (A, 1) logits.
        min_score: detections scoring below are dropped before NMS.
        iou_threshold: NMS overlap threshold.
        max_detections: most people returned (best first).
    """
    anchors = ssd_anchor_centers()
    scores = scores_from_logits(raw_scores.reshape(-1))
    keep = scores >= min_score
    boxes, keypoints = decode_boxes(raw_boxes[keep], anchors[keep])
    valid = (boxes[:, 2] >= boxes[:, 0]) & (boxes[:, 3] >= boxes[:, 1])
    return weighted_nms(boxes[valid], keypoints[valid], scores[keep][valid], iou_threshold, max_detections)
