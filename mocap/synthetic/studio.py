"""The synthetic studio: a seeded multi-camera take with ground truth, the test bed of every stage.

``generate_take(StudioConfig(...))`` builds a :class:`SyntheticTake`:

1. **People** play real walking motion (``../shared/data/motion``; a procedural gait when the
   file is absent) with their own phase, height and placement, never closer than
   ``min_separation_m`` (:mod:`mocap.synthetic.motion`).
2. **Cameras** on a ring or dome, realistic intrinsics and lenses (:mod:`mocap.synthetic.cameras`),
   pulled back until the crowd's paths fit.
3. **Observation** per view, at the view's own clock (``time_offsets_frames``): exact projection
   through the lens; keypoints behind the camera or outside the image are missing; occlusion by
   every body's capsules (:mod:`mocap.synthetic.occlusion`); then the detector model below.

Detector model (what turns ``true_xy`` into ``detections``):

* unoccluded keypoints: Gaussian noise of ``noise_px`` per coordinate, score U(0.75, 1);
* occluded keypoints: missing with probability ``occluded_miss_rate``, otherwise noise of
  ``occluded_noise_scale x noise_px`` and score U(0.2, 0.6);
* any detected keypoint then goes missing with probability ``missed_rate``;
* ``false_positives_per_view`` (Poisson mean per view and frame) ghost people: a real pose from
  another moment placed somewhere else in the volume, seen by that one view only (so no other
  view confirms it), noisy, score U(0.2, 0.8), each joint dropped with probability 0.3;
* a detection has its left and right joints swapped with probability ``left_right_swap_rate``
  (a common detector failure on people seen from behind);
* person slots are shuffled per view and frame (``shuffle_slots``), as detectors do.

Everything derives from ``seed``: the same config gives bit-identical arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.rig import CameraRig
from mocap.data_paths import default_motion_file
from mocap.detections2d import Detections2D
from mocap.poses3d import Poses3D
from mocap.skeleton.layouts import CANONICAL_JOINTS, KeypointLayout, get_layout
from mocap.synthetic.body import REFERENCE_HEIGHT_M, capsule_weights
from mocap.synthetic.cameras import make_rig
from mocap.synthetic.motion import MotionClip, Placement, choose_placements, load_clip, place
from mocap.synthetic.occlusion import occluded as occlusion_mask

#: Slot marker in ``slot_person``: an empty (padded) slot.
EMPTY_SLOT = -1
#: Slot marker in ``slot_person``: a false-positive (ghost) detection.
GHOST_SLOT = -2

_CANON = {name: i for i, name in enumerate(CANONICAL_JOINTS)}


class StudioConfig(BaseModel):
    """Everything that defines a synthetic take. Defaults: 4 cameras, 1 person, 10 s at 30 fps, no noise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(0, description="Seed of every random choice.")
    num_cameras: int = Field(4, ge=1, le=64, description="Number of cameras.")
    arrangement: Literal["ring", "dome"] = Field("ring", description="Camera arrangement.")
    resolution: tuple[int, int] | Literal["mixed"] = Field(
        (1920, 1080), description="(width, height) of every camera, or 'mixed' resolutions."
    )
    lens: Literal["none", "mild", "strong"] = Field("mild", description="Lens distortion preset.")
    camera_distance_m: float | None = Field(
        None, gt=0, description="Horizontal camera distance from the centre; None: 3 m beyond the farthest path."
    )
    num_people: int = Field(1, ge=0, le=12, description="People in the take.")
    num_frames: int = Field(300, ge=1, description="Frames in the take.")
    fps: float = Field(30.0, gt=0, description="Frames per second.")
    layout: str = Field("coco17", description="Keypoint layout of the detections and ground truth.")
    motion: Literal["auto", "procedural"] | Path = Field(
        "auto", description="'auto': the real walk when present, else procedural; or a BVH path."
    )
    min_separation_m: float = Field(0.6, gt=0, description="Closest two people's hip centres may come.")
    noise_px: float = Field(0.0, ge=0, description="Pixel noise (std per coordinate) of visible keypoints.")
    missed_rate: float = Field(0.0, ge=0, le=1, description="Probability that a detected keypoint is dropped.")
    false_positives_per_view: float = Field(0.0, ge=0, description="Mean ghost detections per view and frame.")
    occlusion: bool = Field(True, description="Model self and mutual occlusion.")
    occluded_miss_rate: float = Field(0.5, ge=0, le=1, description="Probability an occluded keypoint is missing.")
    occluded_noise_scale: float = Field(3.0, ge=0, description="Noise multiplier for occluded keypoints.")
    time_offsets_frames: tuple[float, ...] | None = Field(
        None, description="Per-camera clock offsets in frames (view v sees time t + offset_v / fps)."
    )
    max_time_offset_frames: float = Field(
        0.0, ge=0, description="When no offsets are given: whole-frame offsets drawn in +- this range."
    )
    left_right_swap_rate: float = Field(
        0.0, ge=0, le=1, description="Probability that a detection has its left and right joints swapped."
    )
    shuffle_slots: bool = Field(True, description="Shuffle person slots per view and frame.")


@dataclass(frozen=True, eq=False)
class SyntheticTake:
    """A generated take and its ground truth.

    Attributes:
        config: what made it.
        rig: the cameras (exact).
        poses: ground-truth 3D keypoints at the nominal frame times, (T, P, J, 3), error NaN.
        detections: what a detector would report, (T, V, S, J) with S >= visible people + ghosts.
        true_xy: (T, V, P, J, 2) exact projection of each true person at the view's own time;
            NaN where behind the camera or outside the image.
        visible: (T, V, P, J) in front of the camera and inside the image.
        occluded: (T, V, P, J) hidden by a body (only where visible).
        slot_person: (T, V, S) the true person of each detection slot; ``EMPTY_SLOT`` (-1) or
            ``GHOST_SLOT`` (-2) otherwise.
        swapped: (T, V, P) True where the detection of a person has left and right swapped.
        time_offsets_frames: (V,) each view's clock offset in frames.
        all_points: (T, P, len(CANONICAL_JOINTS), 3) every canonical keypoint at nominal times.
        placements: how each person plays the motion.
        motion_source: the BVH path or ``"procedural gait"``.
    """

    config: StudioConfig
    rig: CameraRig
    poses: Poses3D
    detections: Detections2D
    true_xy: NDArray[np.float64] = field(repr=False)
    visible: NDArray[np.bool_] = field(repr=False)
    occluded: NDArray[np.bool_] = field(repr=False)
    slot_person: NDArray[np.int64] = field(repr=False)
    swapped: NDArray[np.bool_] = field(repr=False)
    time_offsets_frames: NDArray[np.float64] = field(repr=False)
    all_points: NDArray[np.float64] = field(repr=False)
    placements: tuple[Placement, ...] = field(repr=False)
    motion_source: str = ""

    @property
    def layout(self) -> KeypointLayout:
        return self.poses.layout


def _clip(config: StudioConfig) -> MotionClip:
    if config.motion == "procedural":
        return load_clip(None)
    if config.motion == "auto":
        path = default_motion_file()
        return load_clip(None if path is None else str(path))
    return load_clip(str(config.motion))


def _time_offsets(config: StudioConfig, rng: np.random.Generator) -> NDArray[np.float64]:
    if config.time_offsets_frames is not None:
        if len(config.time_offsets_frames) != config.num_cameras:
            raise ValueError(
                f"time_offsets_frames has {len(config.time_offsets_frames)} values for {config.num_cameras} cameras"
            )
        return np.array(config.time_offsets_frames, dtype=np.float64)
    limit = int(np.floor(config.max_time_offset_frames))
    if limit == 0:
        return np.zeros(config.num_cameras)
    return rng.integers(-limit, limit + 1, config.num_cameras).astype(np.float64)


def _people_points(clip: MotionClip, placements: list[Placement], times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """(N, P, J_canon, 3) for times (N,)."""
    if not placements:
        return np.zeros((len(times_s), 0, len(CANONICAL_JOINTS), 3))
    return np.stack([place(clip, p, times_s) for p in placements], axis=1)


def _capsules(points: NDArray[np.float64], scales: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """Capsule ends (..., P*K, 3) and radii (..., P*K) from canonical points (..., P, J, 3)."""
    weights_a, weights_b, base = capsule_weights()
    a = np.einsum("kj,...jc->...kc", weights_a, points)
    b = np.einsum("kj,...jc->...kc", weights_b, points)
    radii = np.broadcast_to(scales[:, None] * base[None, :], a.shape[:-1])
    flat = a.shape[:-3] + (-1,)
    return a.reshape(flat + (3,)), b.reshape(flat + (3,)), radii.reshape(flat)


@dataclass(frozen=True, eq=False)
class Observation:
    """What the cameras report for some frames (see :class:`SyntheticTake` for the arrays)."""

    true_xy: NDArray[np.float64] = field(repr=False)
    visible: NDArray[np.bool_] = field(repr=False)
    occluded: NDArray[np.bool_] = field(repr=False)
    xy: NDArray[np.float32] = field(repr=False)
    score: NDArray[np.float32] = field(repr=False)
    slot_person: NDArray[np.int64] = field(repr=False)
    swapped: NDArray[np.bool_] = field(repr=False)


@dataclass(frozen=True, eq=False)
class SyntheticWorld:
    """The studio without a fixed length: cameras, people and their motion, observable at any frame.

    :func:`generate_take` observes frames ``0 .. num_frames-1`` at once; a live feed observes one
    frame at a time, as the wall clock advances.
    """

    config: StudioConfig
    layout: KeypointLayout
    clip: MotionClip
    placements: tuple[Placement, ...]
    rig: CameraRig
    time_offsets_frames: NDArray[np.float64] = field(repr=False)

    @classmethod
    def create(cls, config: StudioConfig) -> tuple[SyntheticWorld, np.random.Generator]:
        """The world of ``config`` and the random source of its detector model.

        Raises:
            LayoutError, PlacementError, MissingFileError, FileFormatError: see :func:`generate_take`.
        """
        layout = get_layout(config.layout)
        rng = np.random.default_rng(config.seed)
        rng_people, rng_rig, rng_obs = (np.random.default_rng(s) for s in rng.integers(0, 2**63, 3))
        clip = _clip(config)
        placements = choose_placements(clip, config.num_people, rng_people, min_separation_m=config.min_separation_m)
        # cameras outside the crowd's paths over one clip period (the motion repeats with it)
        period = np.arange(0.0, clip.duration_s, 1.0 / 30.0)
        reach = 1.5
        if placements:
            hips = _people_points(clip, placements, period)[:, :, _CANON["mid_hip"], :2]
            reach = max(reach, float(np.max(np.linalg.norm(hips, axis=-1))) + 0.3)
        rig = make_rig(
            config.num_cameras,
            rng_rig,
            arrangement=config.arrangement,
            distance_m=config.camera_distance_m or reach + 3.0,
            volume_radius_m=0.85 * reach,
            resolution=config.resolution,
            distortion=config.lens,
        )
        offsets = _time_offsets(config, rng_rig)
        return cls(config, layout, clip, tuple(placements), rig, offsets), rng_obs

    def people_points(self, frames: NDArray[np.float64]) -> NDArray[np.float64]:
        """Every canonical keypoint of every person at (fractional) frame numbers: (N, P, Jc, 3)."""
        return _people_points(self.clip, list(self.placements), np.asarray(frames, dtype=np.float64) / self.config.fps)

    def observe(self, frames: NDArray[np.int64], rng: np.random.Generator) -> Observation:
        """Project, occlude and run the detector model for the given frame numbers (N,)."""
        config, rig, layout = self.config, self.rig, self.layout
        frames = np.asarray(frames)
        t, v, p = len(frames), len(rig), len(self.placements)
        offsets = self.time_offsets_frames
        # every canonical point as each view sees it: (N, V, P, Jc, 3)
        per_view = np.empty((t, v, p, len(CANONICAL_JOINTS), 3))
        for offset in np.unique(offsets):
            per_view[:, offsets == offset] = self.people_points(frames + offset)[:, None]
        joints = [_CANON[name] for name in layout.joint_names]
        points = per_view[:, :, :, joints]  # (N, V, P, J, 3)
        true_xy = np.stack([rig.cameras[i].project(points[:, i]) for i in range(v)], axis=1)
        visible = np.stack([rig.cameras[i].in_image(true_xy[:, i]) for i in range(v)], axis=1)
        true_xy[~visible] = np.nan
        scales = np.array([pl.scale * self.clip.height_m / REFERENCE_HEIGHT_M for pl in self.placements])
        if config.occlusion and p > 0:
            cap_a, cap_b, radii = _capsules(per_view, scales)  # (N, V, P*K, 3)
            hidden = occlusion_mask(rig.centers_world, points.reshape(t, v, -1, 3), cap_a, cap_b, radii)
            occluded = hidden.reshape(t, v, p, len(joints)) & visible
        else:
            occluded = np.zeros_like(visible)
        xy, score, slot_person, swapped = _observe(
            config, rig, layout, self.clip, list(self.placements), true_xy, visible, occluded, rng
        )
        return Observation(true_xy, visible, occluded, xy, score, slot_person, swapped)


def generate_take(config: StudioConfig) -> SyntheticTake:
    """Build a take from ``config`` (see the module docstring).

    Raises:
        LayoutError: unknown layout.
        PlacementError: the people cannot be placed apart.
        MissingFileError, FileFormatError: a motion file that cannot be read.
    """
    world, rng_obs = SyntheticWorld.create(config)
    frames = np.arange(config.num_frames)
    observed = world.observe(frames, rng_obs)
    nominal = world.people_points(frames.astype(np.float64))
    joints = [_CANON[name] for name in world.layout.joint_names]
    detections = Detections2D(observed.xy, observed.score, world.rig.names, world.layout, config.fps)
    ids = np.arange(config.num_people, dtype=np.int32)
    poses = Poses3D.from_points(nominal[:, :, joints].astype(np.float32), world.layout, config.fps, ids)
    return SyntheticTake(
        config=config,
        rig=world.rig,
        poses=poses,
        detections=detections,
        true_xy=observed.true_xy,
        visible=observed.visible,
        occluded=observed.occluded,
        slot_person=observed.slot_person,
        swapped=observed.swapped,
        time_offsets_frames=world.time_offsets_frames,
        all_points=nominal,
        placements=world.placements,
        motion_source=world.clip.source,
    )


def _ghosts(
    config: StudioConfig,
    rig: CameraRig,
    layout: KeypointLayout,
    clip: MotionClip,
    rng: np.random.Generator,
    num_frames: int,
) -> list[list[list[tuple[NDArray[np.float64], NDArray[np.float64]]]]]:
    """Per frame, per view, a list of (xy (J, 2), score (J,)) ghost detections."""
    joints = [_CANON[name] for name in layout.joint_names]
    counts = rng.poisson(config.false_positives_per_view, (num_frames, config.num_cameras))
    out: list[list[list[tuple[NDArray[np.float64], NDArray[np.float64]]]]] = [
        [[] for _ in range(config.num_cameras)] for _ in range(num_frames)
    ]
    for ti, vi in zip(*np.nonzero(counts), strict=True):
        for _ in range(counts[ti, vi]):
            radius = 2.5 * np.sqrt(rng.uniform())
            angle = rng.uniform(0, 2 * np.pi)
            ghost = Placement(
                yaw=float(rng.uniform(0, 2 * np.pi)),
                offset_xy=(float(radius * np.cos(angle)), float(radius * np.sin(angle))),
                phase_s=float(rng.uniform(0, clip.duration_s)),
                speed=1.0,
                scale=float(rng.uniform(1.5, 1.9) / clip.height_m),
            )
            body = place(clip, ghost, np.zeros(1))[0, joints]
            # keep the ghost's body but centre it where a person might stand in this view
            xy = rig.cameras[vi].project(body)
            inside = rig.cameras[vi].in_image(xy)
            keep = inside & (rng.uniform(size=len(joints)) > 0.3)
            if not np.any(keep):
                continue
            xy = xy + rng.normal(0.0, max(config.noise_px, 1.0) * 2.0, xy.shape)
            xy[~keep] = np.nan
            score = np.where(keep, rng.uniform(0.2, 0.8, len(joints)), 0.0)
            out[ti][vi].append((xy, score))
    return out


def _observe(
    config: StudioConfig,
    rig: CameraRig,
    layout: KeypointLayout,
    clip: MotionClip,
    placements: list[Placement],
    true_xy: NDArray[np.float64],
    visible: NDArray[np.bool_],
    occluded: NDArray[np.bool_],
    rng: np.random.Generator,
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int64], NDArray[np.bool_]]:
    """Apply the detector model.

    Returns:
        xy (T, V, S, J, 2), score (T, V, S, J), slot_person (T, V, S), swapped (T, V, P).
    """
    t, v, _, j = visible.shape
    clear = visible & ~occluded
    noisy = (
        true_xy
        + rng.normal(0.0, 1.0, true_xy.shape)
        * np.where(occluded, config.noise_px * config.occluded_noise_scale, config.noise_px)[..., None]
    )
    score = np.where(clear, rng.uniform(0.75, 1.0, clear.shape), rng.uniform(0.2, 0.6, clear.shape))
    detected = clear | (occluded & (rng.uniform(size=clear.shape) >= config.occluded_miss_rate))
    detected &= rng.uniform(size=clear.shape) >= config.missed_rate
    noisy[~detected] = np.nan
    score = np.where(detected, score, 0.0)
    swapped = np.zeros((t, v, visible.shape[2]), dtype=bool)
    if config.left_right_swap_rate > 0:
        swapped = rng.uniform(size=swapped.shape) < config.left_right_swap_rate
        flip = list(layout.flip_permutation)
        noisy[swapped] = noisy[swapped][:, flip]
        score[swapped] = score[swapped][:, flip]

    ghosts = _ghosts(config, rig, layout, clip, rng, t) if config.false_positives_per_view > 0 else None
    present: NDArray[np.bool_] = np.any(detected, axis=-1)  # (T, V, P): the person left a keypoint
    ghost_counts = np.array([[len(ghosts[ti][vi]) if ghosts else 0 for vi in range(v)] for ti in range(t)])
    slots = int(max(1, np.max(present.sum(axis=-1) + ghost_counts, initial=0)))
    xy = np.full((t, v, slots, j, 2), np.nan, dtype=np.float32)
    scores = np.zeros((t, v, slots, j), dtype=np.float32)
    slot_person = np.full((t, v, slots), EMPTY_SLOT, dtype=np.int64)
    for ti in range(t):
        for vi in range(v):
            entries: list[tuple[int, NDArray[np.float64], NDArray[np.float64]]] = [
                (int(pi), noisy[ti, vi, pi], score[ti, vi, pi]) for pi in np.flatnonzero(present[ti, vi])
            ]
            if ghosts:
                entries += [(GHOST_SLOT, gxy, gscore) for gxy, gscore in ghosts[ti][vi]]
            order = rng.permutation(len(entries)) if config.shuffle_slots else np.arange(len(entries))
            for slot, k in enumerate(order):
                who, exy, escore = entries[k]
                xy[ti, vi, slot] = exy
                scores[ti, vi, slot] = escore
                slot_person[ti, vi, slot] = who
    return xy, scores, slot_person, swapped
