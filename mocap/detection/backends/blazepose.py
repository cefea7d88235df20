"""The ``blazepose`` backend: MediaPipe's pose models on our torch executor, several people per view.

Per frame set (one image per view):

1. views that need it run the person detector on the whole (letterboxed) frame — all of them in
   one forward pass. A view needs it when it has no track, every ``redetect_every`` frames while
   it tracks fewer than ``max_people``, every frame for ``max(redetect_every, 1)`` frames after
   it lost a track (to find that person again at once), or always in ``static`` mode;
2. each detection gives a region (hip centre, 2 x |scale point - hip centre| x 1.25, rotated so
   the body points up); a detection whose region is clearly a region the view already has
   (centres within 5 % of the side, sides within 1.3x) is dropped;
3. **tiles** (``detect_tiles``): views still short of ``max_people`` run the detector once more
   (one pass for all of them) on squares of the frame's short side spread along its long side
   (:func:`~mocap.detection.roi.square_tiles`; 3 for 9:16). The letterbox shows the detector a
   1088 x 1920 frame at 224/1920; a tile shows its part 1.76x larger. Measured on the Pose2Sim
   multi-person take: the composited woman scores 0.13 in cam03's whole frame (threshold 0.5)
   and 0.94 in a tile. Tile detections whose hip or shoulder centre lies within 10 % of a cut
   edge are dropped (:func:`~mocap.detection.roi.clear_of_cut_edges`): a tile cutting a body
   shows the detector a partial person (a bottom tile turned a man's legs into an upside-down
   "person" scoring 0.6 that the landmark model then tracked);
4. **occluder masks** (``mask_others``, :mod:`mocap.detection.occluders`): the landmark model
   runs on every region of every view in one forward pass. A tracked person whose landmarks'
   bounding box held another tracked person's head and torso in the last frame is cropped from
   a copy of the image where the others' head-and-torso convex hulls (last frame) are painted
   grey, except where its own hull is; a new detection in a view with tracks likewise, with every
   tracked person it is not (region centre further than half a torso from their hip centre).
   Without it, where one person leans over another (cam03, frames 40-99: heads touching, hips ~100 px apart) the
   landmark model given the man's region returned the more visible woman;
5. regions whose pose presence is below ``min_presence`` (new people) or ``min_track_presence``
   (tracked people; lower, a hysteresis that keeps a person through a hard pose — the man's
   presence dips to 0.2-0.5 while he leans over — but never starts one) are lost; the others
   become tracks whose next region comes from the auxiliary landmarks 33-34 (MediaPipe's
   ``PoseLandmarksToRoi``). Two regions on the same person — median distance of the shoulders and
   hips below ``same_person`` x the region side; not all 33 landmarks, whose face and hands
   coincide when people touch — are one: tracks before new detections, among tracks the one
   whose torso moved least since the last frame (the other jumped onto this body), among new
   ones the more present. New people take the free slots in that order.
6. **cross-view guidance** (``rig``; off without one, and with ``max_people=1`` or ``static``):
   before the landmark pass, the people the other views tracked last frame are grouped by
   epipolar consistency, triangulated and projected into each view
   (:mod:`mocap.detection.guidance`). A view tracking fewer than ``max_people`` gets a region
   (hip centre, circle round the landmarks) for each projection none of its tracks matches; a
   view that lost a track lately (the quick re-detection window) also one per tracked person,
   under that track's slot. Such a crop masks the view's other tracked people (not over the
   projected head and torso), is held like a track (``min_track_presence``) and is kept only
   when the landmark model's torso lies within ``guide_agreement`` torso lengths of the
   projection; it ranks after tracks and before new detections. The projection only says
   where to look and what to accept: the output is always the landmark model's. A view that
   loses someone in this frame's landmark pass looks again at once (``second_look``,
   :mod:`mocap.detection.second_look`: this frame's projections, the people it still tracks
   painted out). Measured on the Pose2Sim two-person take, cam03 (the man leans over the
   composited woman; cam01, cam02 and cam04 see him plainly): both people in 94-95 % of frames
   without guidance, 97 % with it, 100 % with the second look (89 % with ``min_track_presence``
   0.3, which lost him at presence 0.2-0.3 in frames 45-52).

All of it is general: nothing depends on the take, the camera or the number of people beyond
``max_people``. With ``max_people=1`` and a person found in the whole frame, steps 3-4 never run
and the output is MediaPipe's.

Slots: a track keeps its person slot in its view for as long as it lives; output P is
``max_people``. Scores are the landmark visibilities.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.rig import CameraRig
from mocap.detection import landmarks as lm
from mocap.detection.blazepose_models import BlazePoseModels, to_device_images
from mocap.detection.guidance import CrossViewGuide, torso_distance
from mocap.detection.occluders import masked_images
from mocap.detection.protocol import Frame, FrameSetDetections
from mocap.detection.roi import (
    clear_of_cut_edges,
    roi_from_body,
    rois_from_alignment,
    square_tiles,
)
from mocap.detection.second_look import SecondLookSettings, second_look, take_free_slots
from mocap.detection.tracks import Regions, Track, bodies_and_scores, next_region, same_pose, same_region
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
    min_presence: float = Field(0.5, ge=0.0, le=1.0, description="pose presence a new person needs")
    min_track_presence: float = Field(
        0.15,
        ge=0.0,
        le=1.0,
        description="pose presence below which a tracked person is lost (hysteresis: below min_presence keeps "
        "a person through a hard pose or an overlap, never starts one)",
    )
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
    detect_tiles: bool = Field(
        True,
        description="when the whole frame shows a view fewer than max_people people, also look for them in "
        "square tiles of the frame (short side, along the long side) at up to long/short x the resolution",
    )
    mask_others: bool = Field(
        True,
        description="when a view tracks several people, paint the others' heads and torsos (last frame) grey in "
        "each one's landmark crop, so the landmark model cannot jump to the more visible person",
    )
    rig: Path | None = Field(
        None,
        description="calibration file of the views (anipose TOML, Qualisys .qca.txt, ...): a person that two or more "
        "other views track is looked for where a view lost them (cross-view guidance; off without a rig)",
    )
    guide_agreement: float = Field(
        0.5,
        gt=0.0,
        description="cross-view guidance: a landmark answer is that person when its torso lies within this many "
        "torso lengths of their projection",
    )
    second_look: bool = Field(
        True,
        description="cross-view guidance: when a view loses a person the other views see, run the landmark model "
        "on their projection again in the same frame, with the people it still tracks painted out",
    )
    roi_scale: float = Field(1.25, gt=0.0, description="region side over twice the alignment distance")
    detection_model: Path | None = Field(None, description="pose_detection.tflite (default: from mediapipe)")
    landmark_model: Path | None = Field(None, description="pose_landmark_full.tflite (default: from mediapipe)")

    @property
    def hold_presence(self) -> float:
        """Presence that keeps a tracked (or guided) person: the lower of the two thresholds."""
        return min(self.min_track_presence, self.min_presence)


class BlazePoseDetector:
    """BlazePose-33 keypoints for several views and people (see the module docstring).

    Args:
        config: backend options.
        models: already loaded networks to share (must match ``config.device``/``precision``).
    """

    name = "blazepose"
    layout: KeypointLayout = BLAZEPOSE33
    needs_images = True

    def __init__(
        self,
        config: BlazePoseConfig | None = None,
        models: BlazePoseModels | None = None,
        rig: CameraRig | None = None,
    ) -> None:
        self.config = config or BlazePoseConfig()
        if rig is None and self.config.rig is not None:
            from calibration.importers import import_rig

            rig = import_rig(self.config.rig)
        #: Cameras for cross-view guidance (``rig`` argument, else ``config.rig``; None: off).
        self.rig = rig
        self._guide: CrossViewGuide | None = None
        self.models = models or BlazePoseModels(
            self.config.device, self.config.precision, self.config.detection_model, self.config.landmark_model
        )
        #: Static mode: all frame sets of a batch in one pass (default: on accelerators, not the CPU).
        self.batch_frame_sets = self.models.device.type != "cpu"
        self._tracks: list[list[Track]] = []
        self._last_detection: list[int] = []
        self._lost_at: list[int] = []
        self._camera_names: tuple[str, ...] = ()

    def reset(self, camera_names: Sequence[str]) -> None:
        self._camera_names = tuple(camera_names)
        self._tracks = [[] for _ in camera_names]
        self._guide = None
        if self.rig is not None and self.config.max_people > 1 and not self.config.static:
            self._guide = CrossViewGuide(self.rig, self._camera_names, self.config.guide_agreement)
        self._last_detection = [-(10**9)] * len(camera_names)
        self._lost_at = [-(10**9)] * len(camera_names)

    def _needs_detection(self, view: int, frame_index: int) -> bool:
        cfg = self.config
        if cfg.static or not self._tracks[view]:
            return True
        if len(self._tracks[view]) >= cfg.max_people:
            return False
        every = cfg.redetect_every
        if frame_index - self._lost_at[view] <= max(every, 1):  # a track ended lately: look for it every frame
            return True
        return every > 0 and frame_index - self._last_detection[view] >= every

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
        names, tracks, last, lost = self._camera_names, self._tracks, self._last_detection, self._lost_at
        flat = self.detect([image for images in frame_sets for image in images], first_index)
        self._camera_names, self._tracks, self._last_detection, self._lost_at = names, tracks, last, lost
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
        tensors = to_device_images(frames, self.models.device)
        if self.config.static:
            self._tracks = [[] for _ in frames]
        regions = Regions()
        for view in range(len(frames)):
            for track in self._tracks[view]:
                regions.add(view, track.center, track.size, track.rotation, track.slot, track.body)
        detect_views = [v for v in range(len(frames)) if self._needs_detection(v, frame_index)]
        for view in detect_views:
            self._last_detection[view] = frame_index
        self._add_detections(tensors, detect_views, regions)
        self._add_guided(frame_index, regions)
        view_of_roi = np.asarray(regions.views, dtype=np.int64)
        crop_images, crop_of_roi = (
            masked_images(tensors, regions) if self.config.mask_others else (list(tensors), view_of_roi)
        )
        result = self.models.landmarks(
            crop_images,
            crop_of_roi,
            np.asarray(regions.centers, dtype=np.float64).reshape(-1, 2),
            np.asarray(regions.sizes, dtype=np.float64),
            np.asarray(regions.rotations, dtype=np.float64),
        )
        found = self._update(len(frames), frame_index, view_of_roi, regions, result)
        return self._second_look(tensors, frame_index, found)

    def _add_detections(self, tensors: list[Any], detect_views: list[int], regions: Regions) -> None:
        """Regions of people the detector finds in ``detect_views`` that no tracked region already
        covers: the whole frames in one pass, then square tiles (one more pass) of the views still
        short of ``max_people``."""
        cfg = self.config
        if not detect_views:
            return
        found = self.models.detect_people(
            [tensors[v] for v in detect_views],
            min_score=cfg.min_detection_score,
            iou_threshold=cfg.nms_iou,
            max_people=cfg.max_people,
        )
        for view, people in zip(detect_views, found, strict=True):
            self._add_fresh(view, people.keypoints_px, people.scores, regions)
        if not cfg.detect_tiles:
            return
        short = [v for v in detect_views if regions.count(v) < cfg.max_people]
        tiles = [(v, tile) for v in short for tile in square_tiles(int(tensors[v].shape[1]), int(tensors[v].shape[0]))]
        if not tiles:
            return
        crops = [tensors[v][y0 : y0 + side, x0 : x0 + side].contiguous() for v, (x0, y0, side) in tiles]
        in_tiles = self.models.detect_people(
            crops, min_score=cfg.min_detection_score, iou_threshold=cfg.nms_iou, max_people=cfg.max_people
        )
        for view in short:
            keypoints, scores = [], []
            height, width = int(tensors[view].shape[0]), int(tensors[view].shape[1])
            for (v, tile), people in zip(tiles, in_tiles, strict=True):
                if v == view:
                    points = people.keypoints_px + np.array(tile[:2], dtype=np.float64)
                    # hip and shoulder centres away from the tile's cuts: not a partial body
                    whole = clear_of_cut_edges(points[:, [0, 2]], tile, width, height)
                    keypoints.append(points[whole])
                    scores.append(people.scores[whole])
            if keypoints:
                all_scores = np.concatenate(scores)
                order = np.argsort(-all_scores, kind="stable")
                self._add_fresh(view, np.concatenate(keypoints)[order], all_scores[order], regions)

    def _add_guided(self, frame_index: int, regions: Regions) -> None:
        """Regions where the other views put people (cross-view guidance,
        :mod:`mocap.detection.guidance`). A view tracking fewer than ``max_people`` gets one for
        each person it does not track; a view that lost a track lately (within
        ``max(redetect_every, 1)`` frames, as for quick re-detection) also one for each person it
        tracks, under that track's slot: a second region for a person the landmark model just
        lost or moved onto someone else."""
        if self._guide is None:
            return
        cfg = self.config
        lately = max(cfg.redetect_every, 1)
        short = {v for v, tracks in enumerate(self._tracks) if len(tracks) < cfg.max_people}
        recent = {v for v in range(len(self._tracks)) if frame_index - self._lost_at[v] <= lately}
        if not short | recent:
            return
        bodies, scores = bodies_and_scores(self._tracks)
        missing = {v: cfg.max_people - len(self._tracks[v]) for v in short}
        for person in self._guide.people(bodies, scores, sorted(short | recent)):
            view = person.view
            if person.matched >= 0:
                if view not in recent:
                    continue
                slot = self._tracks[view][person.matched].slot
            else:
                if missing.get(view, 0) <= 0:
                    continue
                missing[view] -= 1
                slot = -1
            region = roi_from_body(person.body_px, lm.HIPS, lm.SHOULDERS, cfg.roi_scale)
            if region is not None:
                center, size, rotation = region
                regions.add(view, center, size, rotation, slot, None, expected=person.body_px)

    def _second_look(self, tensors: list[Any], frame_index: int, found: FrameSetDetections) -> FrameSetDetections:
        """The people a view lost in this frame's landmark pass and the other views see, looked for
        again at once (:mod:`mocap.detection.second_look`): each one found takes a free slot."""
        cfg = self.config
        lost = [
            v
            for v, tracks in enumerate(self._tracks)
            if self._lost_at[v] == frame_index and len(tracks) < cfg.max_people
        ]
        if self._guide is None or not cfg.second_look or not lost:
            return found
        settings = SecondLookSettings(cfg.roi_scale, cfg.hold_presence, cfg.guide_agreement, cfg.same_person)
        again = second_look(self._guide, self.models, self._tracks, tensors, lost, settings)
        return take_free_slots(again, self._tracks, found, cfg.max_people) if again else found

    def _add_fresh(
        self, view: int, keypoints_px: NDArray[np.float64], scores: NDArray[np.float32], regions: Regions
    ) -> None:
        """Detections (best first) as new candidate regions of ``view``, skipping those that are
        clearly a region the view already has, up to ``2 x max_people`` new ones per view (the
        landmark model sorts out the rest: see :meth:`_update`)."""
        cfg = self.config
        if len(scores) == 0:
            return
        center, size, rotation = rois_from_alignment(keypoints_px[:, 0], keypoints_px[:, 1], cfg.roi_scale)
        for k in range(len(size)):
            if regions.count(view, fresh_only=True) >= 2 * cfg.max_people:
                break
            known_centers, known_sizes = regions.of_view(view)
            if len(known_sizes) and same_region(center[k : k + 1], size[k : k + 1], known_centers, known_sizes).any():
                continue
            regions.add(view, center[k], float(size[k]), float(rotation[k]), -1, None)

    def _update(
        self, num_views: int, frame_index: int, view_of_roi: NDArray[np.int64], regions: Regions, result: object
    ) -> FrameSetDetections:
        from mocap.detection.blazepose_models import LandmarkResult

        if not isinstance(result, LandmarkResult):
            raise TypeError("landmark result expected")
        cfg = self.config
        joints = lm.BODY_LANDMARKS
        slots = regions.slots
        xy = np.full((num_views, cfg.max_people, joints, 2), np.nan, dtype=np.float32)
        score = np.zeros((num_views, cfg.max_people, joints), dtype=np.float32)
        body = result.xy[:, :joints]
        # A person the other views see (guided region) is held like a tracked one, if the
        # landmark model's answer lies where they said (else it found someone else).
        agreement = [
            torso_distance(body[r], e) if e is not None else float("inf") for r, e in enumerate(regions.expected)
        ]
        guided = np.array([e is not None for e in regions.expected], dtype=bool)
        tracked = np.array([slot >= 0 for slot in slots], dtype=bool) | guided
        alive = result.presence >= np.where(tracked, cfg.hold_presence, cfg.min_presence)
        alive &= ~guided | (np.asarray(agreement) < cfg.guide_agreement)
        torso = list(lm.TORSO)

        def priority(row: int) -> tuple[int, float]:
            # Tracks first, the one whose torso moved least first: when two tracks land on one
            # body, the one that jumped there loses. Guided regions next, closest to where the
            # other views put them first; new detections last, most present first.
            previous = regions.bodies[row]
            if previous is not None:
                return 0, float(np.median(np.linalg.norm(body[row, torso] - previous[torso], axis=-1)))
            if guided[row]:
                return 1, agreement[row]
            return 2, -float(result.presence[row])

        for view in range(num_views):
            rows = sorted((int(r) for r in np.flatnonzero((view_of_roi == view) & alive)), key=priority)
            kept: list[int] = []
            for r in rows:
                if any(same_pose(body[r], body[k], regions.sizes[k], cfg.same_person) for k in kept):
                    continue
                kept.append(r)
            # a track keeps its slot (a guided region may carry it: the first kept row takes it)
            slot_of: dict[int, int] = {}
            for r in kept:
                if slots[r] >= 0 and slots[r] not in slot_of.values():
                    slot_of[r] = slots[r]
            used = set(slot_of.values())
            tracks = []
            for r in kept:
                if slots[r] >= 0 and r not in slot_of:
                    continue  # a second region of a tracked person whose slot another region took
                slot = slot_of.get(r, -1)
                if slot < 0:  # a new person: the first free slot, if any is left
                    free = [s for s in range(cfg.max_people) if s not in used]
                    if not free:
                        continue
                    slot = free[0]
                    used.add(slot)
                xy[view, slot] = body[r]
                score[view, slot] = np.clip(result.visibility[r, :joints], 0.0, 1.0)
                region = next_region(result.xy[r], cfg.roi_scale)
                if region is not None:
                    tracks.append(Track(slot, *region, body[r].copy(), score[view, slot].astype(np.float64)))
            previous_slots = {slots[r] for r in np.flatnonzero(view_of_roi == view) if slots[r] >= 0}
            if previous_slots - {t.slot for t in tracks}:
                self._lost_at[view] = frame_index
            self._tracks[view] = [] if cfg.static else sorted(tracks, key=lambda t: t.slot)
        return FrameSetDetections(xy, score)
