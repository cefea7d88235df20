"""Looping motion clips and placing several people in the studio.

A :class:`MotionClip` holds one seamless loop of canonical keypoints (world Z-up, metres). For a
real recording the loop is the stretch whose last frame best matches its first one (pose in the
body's own heading frame plus velocity); the remaining gap in position and heading is spread
linearly over the loop so that the loop closes exactly and long takes never drift.

Each person plays the clip with their own phase, height (1.55-1.90 m) and a rigid placement
(yaw, offset). Placements are drawn at random until every pair of people stays at least
``min_separation_m`` apart (hip centres), so paths cross and people occlude each other in the
cameras without walking through each other. Everyone walks at the clip's own speed: the crowd's
motion then repeats with the clip's period, so checking one period proves the separation for a
take of any length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from mocap.formats.bvh_reader import read_bvh
from mocap.skeleton.layouts import CANONICAL_JOINTS
from mocap.synthetic.body import canonical_points
from mocap.synthetic.gait import procedural_walk

_J = {name: i for i, name in enumerate(CANONICAL_JOINTS)}
_FEET = [
    _J[n] for n in ("left_heel", "right_heel", "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe")
]


class PlacementError(ValueError):
    """People cannot be placed with the requested separation."""


def _heading(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Facing direction angle (T,) from the hip vector: forward is the left-to-right hip axis turned -90 deg."""
    hips = points[:, _J["left_hip"], :2] - points[:, _J["right_hip"], :2]
    return np.arctan2(-hips[:, 0], hips[:, 1])


def _rotate_xy(xy: NDArray[np.float64], angle: NDArray[np.float64] | float) -> NDArray[np.float64]:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * xy[..., 0] - s * xy[..., 1], s * xy[..., 0] + c * xy[..., 1]], axis=-1)


@dataclass(frozen=True, eq=False)
class MotionClip:
    """One seamless loop of every canonical keypoint.

    Attributes:
        points: (L, len(CANONICAL_JOINTS), 3) metres, world Z-up, floor at z = 0; frame L would
            equal frame 0.
        fps: frames per second of ``points``.
        source: where the motion came from (file path or ``"procedural gait"``).
    """

    points: NDArray[np.float64] = field(repr=False)
    fps: float
    source: str

    @property
    def duration_s(self) -> float:
        return len(self.points) / self.fps

    @property
    def centre_xy(self) -> NDArray[np.float64]:
        """Mean hip-centre position over the loop (2,)."""
        return self.points[:, _J["mid_hip"], :2].mean(axis=0)

    @property
    def height_m(self) -> float:
        """Median head-top height."""
        return float(np.median(self.points[:, _J["head_top"], 2]))

    def sample(self, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Keypoints at arbitrary times (N,) -> (N, J, 3), looping, linear between frames."""
        position = np.mod(np.asarray(times_s, dtype=np.float64) * self.fps, len(self.points))
        low = np.floor(position).astype(np.int64) % len(self.points)
        high = (low + 1) % len(self.points)
        frac = (position - np.floor(position))[:, None, None]
        return self.points[low] * (1.0 - frac) + self.points[high] * frac


def _best_loop(points: NDArray[np.float64], fps: float) -> tuple[int, int]:
    """Start and end frames (end exclusive) of the loop whose end best matches its start."""
    n = len(points)
    heading = _heading(points)
    root = points[:, _J["mid_hip"]]
    local = points - root[:, None, :]
    local[..., :2] = _rotate_xy(local[..., :2], -heading[:, None])
    velocity = np.gradient(points, axis=0) * fps
    velocity[..., :2] = _rotate_xy(velocity[..., :2], -heading[:, None])
    features = np.concatenate([local.reshape(n, -1), 0.1 * velocity.reshape(n, -1)], axis=1)
    starts = np.arange(0, max(1, n // 6))
    ends = np.arange(max(starts[-1] + 2, int(0.75 * n)), n)
    cost = np.linalg.norm(features[ends][None, :, :] - features[starts][:, None, :], axis=-1)
    s, e = np.unravel_index(np.argmin(cost), cost.shape)
    return int(starts[s]), int(ends[e])


def _close_loop(points: NDArray[np.float64], start: int, end: int) -> NDArray[np.float64]:
    """Frames ``start .. end-1`` with the end-to-start gap spread over the loop (see module doc)."""
    heading = _heading(points)
    root = points[:, _J["mid_hip"], :2]
    turn = np.angle(np.exp(1j * (heading[end] - heading[start])))
    shift = root[end] - root[start]
    loop = points[start:end].copy()
    u = np.arange(end - start) / (end - start)
    centre = root[start:end][:, None, :]
    loop[..., :2] = _rotate_xy(loop[..., :2] - centre, -turn * u[:, None]) + centre - u[:, None, None] * shift
    # What is left is the pose mismatch at the seam: blend it in over the last quarter second so
    # the wrap from the last frame to the first moves like any other frame step.
    window = min(len(loop) // 4, 30)
    expected_first = 2 * loop[-1] - loop[-2]
    residual = loop[0] - expected_first
    ramp = (np.arange(1, window + 1) / (window + 1))[:, None, None]
    loop[-window:] += ramp * residual
    return loop


@lru_cache(maxsize=4)
def load_clip(path: str | None) -> MotionClip:
    """The loop from a BVH file, or the procedural gait when ``path`` is None.

    Raises:
        MissingFileError, FileFormatError: from the BVH reader.
    """
    if path is None:
        motion = procedural_walk()
        points = canonical_points(motion)  # generated as exactly one lap
        source = "procedural gait"
    else:
        motion = read_bvh(Path(path))
        raw = canonical_points(motion)
        start, end = _best_loop(raw, motion.fps)
        points = _close_loop(raw, start, end)
        source = str(path)
    floor = np.percentile(points[:, _FEET, 2].min(axis=1), 5)
    points[..., 2] -= floor
    points.setflags(write=False)
    return MotionClip(points, motion.fps, source)


@dataclass(frozen=True)
class Placement:
    """How one person plays the clip.

    Attributes:
        yaw: rotation about world Z, radians.
        offset_xy: where the clip's centre goes, metres (2,).
        phase_s: clip time at take time 0, seconds.
        speed: clip seconds per take second (1 for everyone placed by :func:`choose_placements`).
        scale: body scale (1 = the clip's own height).
    """

    yaw: float
    offset_xy: tuple[float, float]
    phase_s: float
    speed: float
    scale: float


def place(clip: MotionClip, placement: Placement, times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Keypoints of one person at take times (N,) -> (N, J, 3), metres, world."""
    points = clip.sample(placement.phase_s + np.asarray(times_s) * placement.speed)
    out = np.empty_like(points)
    xy = (points[..., :2] - clip.centre_xy) * placement.scale
    out[..., :2] = _rotate_xy(xy, placement.yaw) + np.asarray(placement.offset_xy)
    out[..., 2] = points[..., 2] * placement.scale
    return out


def choose_placements(
    clip: MotionClip,
    num_people: int,
    rng: np.random.Generator,
    *,
    offset_radius_m: float | None = None,
    min_separation_m: float = 0.6,
    heights_m: tuple[float, float] = (1.55, 1.90),
    tries_per_person: int = 100,
    restarts: int = 40,
) -> list[Placement]:
    """Random placements keeping every pair of people ``min_separation_m`` apart at all times.

    ``offset_radius_m`` bounds how far the clip's centre moves from the origin; by default it
    grows with the crowd (0.4 m x sqrt(num_people)). People are added one by one; when one
    cannot be added, the whole crowd is drawn again (up to ``restarts`` times).

    Raises:
        PlacementError: if no crowd satisfies the separation.
    """
    if offset_radius_m is None:
        offset_radius_m = 0.4 * np.sqrt(num_people)
    period = np.arange(0.0, clip.duration_s, 1.0 / 30.0)  # one period decides all (module doc)
    hip = _J["mid_hip"]
    for _ in range(restarts):
        chosen: list[Placement] = []
        paths: list[NDArray[np.float64]] = []
        for _person in range(num_people):
            for _try in range(tries_per_person):
                radius = offset_radius_m * np.sqrt(rng.uniform())
                angle = rng.uniform(0, 2 * np.pi)
                candidate = Placement(
                    yaw=float(rng.uniform(0, 2 * np.pi)),
                    offset_xy=(float(radius * np.cos(angle)), float(radius * np.sin(angle))),
                    phase_s=float(rng.uniform(0, clip.duration_s)),
                    speed=1.0,
                    scale=float(rng.uniform(*heights_m) / clip.height_m),
                )
                path = place(clip, candidate, period)[:, hip, :2]
                if all(np.min(np.linalg.norm(path - other, axis=-1)) >= min_separation_m for other in paths):
                    chosen.append(candidate)
                    paths.append(path)
                    break
            else:
                break
        if len(chosen) == num_people:
            return chosen
    raise PlacementError(
        f"could not place {num_people} people at least {min_separation_m} m apart; "
        "use fewer people or a smaller separation"
    )
