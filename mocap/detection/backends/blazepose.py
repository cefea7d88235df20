"""The ``blazepose`` backend: MediaPipe's pose models on our torch executor, several people per view.

Per frame set (one image per view):

1. views that need it run the person detector — all of them in one forward pass. A view needs
   it when it has no track, every ``redetect_every`` frames (0: only when a track is lost, as
   MediaPipe does for one person), or always in ``static`` mode (unrelated images);
2. each detection gives a region (hip centre, 2 x |scale point - hip centre| x 1.25, rotated so
   the body points up); a detection whose region is clearly a tracked one (centres within 5 %
   of the side, sides within 1.3x) is dropped — the track already follows that person;
3. the landmark model runs on every region of every view in one forward pass;
4. regions whose pose presence is below ``min_presence`` are lost; the others become tracks whose
   next region comes from the auxiliary landmarks 33-34 (MediaPipe's ``PoseLandmarksToRoi``);
   two regions on the same person (median landmark distance below ``same_person`` x the region
   side) keep the older track, else the more confident one. Comparing landmarks rather than
   boxes keeps two people who overlap in the image (one behind the other) apart.

Slots: a track keeps its person slot in its view for as long as it lives; output P is
``max_people``. Scores are the landmark visibilities.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from mocap.detection import landmarks as lm
from mocap.detection.blazepose_models import BlazePoseModels, to_device_images
from mocap.detection.protocol import Frame, FrameSetDetections
from mocap.detection.roi import rois_from_alignment
from mocap.errors import ShapeError
from mocap.skeleton.layouts import BLAZEPOSE33, KeypointLayout

log = logging.getLogger(__name__)


class BlazePoseConfig(BaseModel):
    """Options of the ``blazepose`` backend."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:N")
    precision: Literal["fp32", "fp16"] = Field("fp32", description="network precision (decoding stays fp32)")
    max_people: int = Field(1, ge=1, le=64, description="people tracked per view (person slots P)")
    min_detection_score: float = Field(0.5, ge=0.0, le=1.0, description="person detector score threshold")
    nms_iou: float = Field(0.3, gt=0.0, le=1.0, description="weighted-NMS overlap threshold of the detector")
    min_presence: float = Field(0.5, ge=0.0, le=1.0, description="pose presence below which a track is lost")
    redetect_every: int = Field(
        0,
        ge=0,
        description="also run the detector every N frames to find new people (0: only when a view has no track)",
    )
    static: bool = Field(False, description="treat frames as unrelated images: detect every frame, no tracking")
    same_person: float = Field(
        0.05,
        gt=0.0,
        le=1.0,
        description="two landmark sets closer (median) than this fraction of the region side are one person",
    )
    roi_scale: float = Field(1.25, gt=0.0, description="region side over twice the alignment distance")
    detection_model: Path | None = Field(None, description="pose_detection.tflite (default: from mediapipe)")
    landmark_model: Path | None = Field(None, description="pose_landmark_full.tflite (default: from mediapipe)")


@dataclass
class Track:
    """One person followed in one view: its slot and the region for the next frame."""

    slot: int
    center: NDArray[np.float64]
    size: float
    rotation: float


def same_region(
    center_a: NDArray[np.float64],
    size_a: NDArray[np.float64],
    center_b: NDArray[np.float64],
    size_b: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """(N, M) True where region a (detected) is clearly region b (tracked): centres closer than
    5 % of the larger side and sides within a factor 1.3. Anything less clear goes through the
    landmark model and :func:`same_pose`."""
    distance = np.linalg.norm(center_a[:, None] - center_b[None], axis=-1)
    larger = np.maximum(size_a[:, None], size_b[None])
    ratio = larger / np.maximum(np.minimum(size_a[:, None], size_b[None]), 1e-9)
    return (distance < 0.05 * larger) & (ratio < 1.3)


def same_pose(a: NDArray[np.float64], b: NDArray[np.float64], region_size: float, fraction: float) -> bool:
    """True when two landmark sets (J, 2) are one person: median distance below ``fraction`` of
    the region side."""
    return bool(np.median(np.linalg.norm(a - b, axis=-1)) < fraction * region_size)


class BlazePoseDetector:
    """BlazePose-33 keypoints for several views and people (see the module docstring).

    Args:
        config: backend options.
        models: already loaded networks to share (must match ``config.device``/``precision``).
    """

    name = "blazepose"
    layout: KeypointLayout = BLAZEPOSE33
    needs_images = True

    def __init__(self, config: BlazePoseConfig | None = None, models: BlazePoseModels | None = None) -> None:
        self.config = config or BlazePoseConfig()
        self.models = models or BlazePoseModels(
            self.config.device, self.config.precision, self.config.detection_model, self.config.landmark_model
        )
        #: Static mode: all frame sets of a batch in one pass (default: on accelerators, not the CPU).
        self.batch_frame_sets = self.models.device.type != "cpu"
        self._tracks: list[list[Track]] = []
        self._last_detection: list[int] = []
        self._camera_names: tuple[str, ...] = ()

    def reset(self, camera_names: Sequence[str]) -> None:
        self._camera_names = tuple(camera_names)
        self._tracks = [[] for _ in camera_names]
        self._last_detection = [-(10**9)] * len(camera_names)

    def _needs_detection(self, view: int, frame_index: int) -> bool:
        cfg = self.config
        if cfg.static or not self._tracks[view]:
            return True
        every = cfg.redetect_every
        return (
            every > 0 and len(self._tracks[view]) < cfg.max_people and frame_index - self._last_detection[view] >= every
        )

    def detect_batch(self, frame_sets: Sequence[Sequence[Frame | None]], first_index: int) -> list[FrameSetDetections]:
        """Keypoints of K consecutive frame sets (``frame_sets[k][v]``: view v of frame
        ``first_index + k``).

        In ``static`` mode on an accelerator the K x V images go through each stage in one
        forward pass; on the CPU, and with tracking (frame set k needs the regions of k - 1),
        frame sets run one after another, each still one pass per stage for all its views and
        people (on the CPU a pass over 8 frame sets cost ~2x more per image than 8 passes over one).

        Raises:
            ShapeError: frame sets with different view counts, or a bad image.
        """
        if not self.config.static or len(frame_sets) <= 1 or not self.batch_frame_sets:
            return [self.detect(images, first_index + k) for k, images in enumerate(frame_sets)]
        views = len(frame_sets[0])
        if any(len(images) != views for images in frame_sets):
            raise ShapeError("frame_sets", f"{views} views in every frame set", str([len(f) for f in frame_sets]))
        names, tracks, last = self._camera_names, self._tracks, self._last_detection
        flat = self.detect([image for images in frame_sets for image in images], first_index)
        self._camera_names, self._tracks, self._last_detection = names, tracks, last
        return [
            FrameSetDetections(flat.xy[k * views : (k + 1) * views], flat.score[k * views : (k + 1) * views])
            for k in range(len(frame_sets))
        ]

    def detect(self, images: Sequence[Frame | None], frame_index: int) -> FrameSetDetections:
        """Keypoints of one frame set (BGR uint8 images, one per view)."""
        if len(self._tracks) != len(images):
            self.reset(
                self._camera_names if len(self._camera_names) == len(images) else [str(i) for i in range(len(images))]
            )
        frames = []
        for view, image in enumerate(images):
            if image is None or image.ndim != 3 or image.shape[2] != 3:
                raise ShapeError(
                    f"image of view {view}", "(H, W, 3) uint8 BGR", "None" if image is None else str(image.shape)
                )
            frames.append(image)
        cfg = self.config
        tensors = to_device_images(frames, self.models.device)
        if cfg.static:
            self._tracks = [[] for _ in frames]
        detect_views = [v for v in range(len(frames)) if self._needs_detection(v, frame_index)]
        found = self.models.detect_people(
            [tensors[v] for v in detect_views],
            min_score=cfg.min_detection_score,
            iou_threshold=cfg.nms_iou,
            max_people=cfg.max_people,
        )
        views, centers, sizes, rotations, slots = [], [], [], [], []
        from_track: list[bool] = []
        for view in range(len(frames)):
            for track in self._tracks[view]:
                views.append(view)
                centers.append(track.center)
                sizes.append(track.size)
                rotations.append(track.rotation)
                slots.append(track.slot)
                from_track.append(True)
        for view, people in zip(detect_views, found, strict=True):
            self._last_detection[view] = frame_index
            if len(people.scores) == 0:
                continue
            center, size, rotation = rois_from_alignment(
                people.keypoints_px[:, 0], people.keypoints_px[:, 1], cfg.roi_scale
            )
            tracked = [i for i, v in enumerate(views) if v == view]
            used = {slots[i] for i in tracked}
            fresh: NDArray[np.bool_] = np.ones(len(size), dtype=bool)
            if tracked:
                known = same_region(
                    center, size, np.array([centers[i] for i in tracked]), np.array([sizes[i] for i in tracked])
                )
                fresh = ~np.any(known, axis=1)
            for k in np.flatnonzero(fresh):
                free = [s for s in range(cfg.max_people) if s not in used]
                if not free:
                    break
                used.add(free[0])
                views.append(view)
                centers.append(center[k])
                sizes.append(float(size[k]))
                rotations.append(float(rotation[k]))
                slots.append(free[0])
                from_track.append(False)
        view_of_roi = np.asarray(views, dtype=np.int64)
        result = self.models.landmarks(
            tensors,
            view_of_roi,
            np.asarray(centers, dtype=np.float64).reshape(-1, 2),
            np.asarray(sizes, dtype=np.float64),
            np.asarray(rotations, dtype=np.float64),
        )
        return self._update(len(frames), view_of_roi, np.asarray(slots, dtype=np.int64), from_track, sizes, result)

    def _update(
        self,
        num_views: int,
        view_of_roi: NDArray[np.int64],
        slots: NDArray[np.int64],
        from_track: list[bool],
        sizes: list[float],
        result: object,
    ) -> FrameSetDetections:
        from mocap.detection.blazepose_models import LandmarkResult

        if not isinstance(result, LandmarkResult):
            raise TypeError("landmark result expected")
        cfg = self.config
        joints = lm.BODY_LANDMARKS
        xy = np.full((num_views, cfg.max_people, joints, 2), np.nan, dtype=np.float32)
        score = np.zeros((num_views, cfg.max_people, joints), dtype=np.float32)
        alive = result.presence >= cfg.min_presence
        # Duplicates: two regions of one view on the same person keep the track, else the more confident.
        body = result.xy[:, :joints]
        for view in range(num_views):
            rows = [int(r) for r in np.flatnonzero((view_of_roi == view) & alive)]
            rows.sort(key=lambda r: (not from_track[r], -float(result.presence[r])))
            kept: list[int] = []
            for r in rows:
                if any(same_pose(body[r], body[k], sizes[k], cfg.same_person) for k in kept):
                    continue
                kept.append(r)
            tracks = []
            for r in kept:
                slot = int(slots[r])
                xy[view, slot] = body[r]
                score[view, slot] = np.clip(result.visibility[r, :joints], 0.0, 1.0)
                center, size, rotation = rois_from_alignment(
                    result.xy[r, lm.AUX_START][None], result.xy[r, lm.AUX_END][None], cfg.roi_scale
                )
                if np.all(np.isfinite(center)) and size[0] > 1.0:
                    tracks.append(Track(slot, center[0], float(size[0]), float(rotation[0])))
            self._tracks[view] = [] if cfg.static else sorted(tracks, key=lambda t: t.slot)
        return FrameSetDetections(xy, score)
