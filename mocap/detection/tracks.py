"""What the blazepose backend keeps about the people it follows in each view.

:class:`Track` is one person followed in one view (slot, region for the next frame, last
landmarks); :class:`Regions` the regions of one frame set queued for the landmark model; and two
tests of sameness: :func:`same_region` (a detection clearly is a tracked region) and
:func:`same_pose` (two landmark sets are one body, judged on the torso only, see its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mocap.detection import landmarks as lm
from mocap.detection.landmarks import TORSO
from mocap.detection.roi import rois_from_alignment


@dataclass
class Track:
    """One person followed in one view: its slot and the region for the next frame."""

    slot: int
    center: NDArray[np.float64]
    size: float
    rotation: float
    body: NDArray[np.float64]  # (33, 2) pixels: the landmarks of the last frame
    score: NDArray[np.float64]  # (33,) their visibilities


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


#: Head (nose, eyes, ears, mouth) and torso: the part of a person painted out of others' crops.
HEAD_AND_TORSO = (*range(11), *TORSO)


def next_region(landmarks_px: NDArray[np.float64], roi_scale: float) -> tuple[NDArray[np.float64], float, float] | None:
    """The region a person's landmarks (39, 2) give the next frame: from the auxiliary alignment
    points 33-34 (MediaPipe's ``PoseLandmarksToRoi``); None where they give no usable region."""
    center, size, rotation = rois_from_alignment(
        landmarks_px[lm.AUX_START][None], landmarks_px[lm.AUX_END][None], roi_scale
    )
    if not (np.all(np.isfinite(center)) and size[0] > 1.0):
        return None
    return center[0], float(size[0]), float(rotation[0])


def bodies_and_scores(
    tracks: list[list[Track]],
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """Per view, the (N, 33, 2) last landmarks and (N, 33) visibilities of the people it tracks."""
    joints = lm.BODY_LANDMARKS
    bodies = [np.array([t.body for t in ts], dtype=np.float64).reshape(-1, joints, 2) for ts in tracks]
    scores = [np.array([t.score for t in ts], dtype=np.float64).reshape(-1, joints) for ts in tracks]
    return bodies, scores


def same_pose(a: NDArray[np.float64], b: NDArray[np.float64], region_size: float, fraction: float) -> bool:
    """True when two landmark sets (J, 2) are one person: the median distance of their torso
    landmarks (:data:`TORSO`) below ``fraction`` of the region side.

    Faces and hands are left out on purpose: when one person leans over another their heads or
    hands meet in the image and a median over all 33 landmarks called them one person, while
    both shoulders and both hips coincide only when the landmark model really put both regions
    on the same body.
    """
    torso = list(TORSO)
    return bool(np.median(np.linalg.norm(a[torso] - b[torso], axis=-1)) < fraction * region_size)


@dataclass
class Regions:
    """Regions of one frame set queued for the landmark model (slot -1: a new detection)."""

    views: list[int] = field(default_factory=list)
    centers: list[NDArray[np.float64]] = field(default_factory=list)
    sizes: list[float] = field(default_factory=list)
    rotations: list[float] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    bodies: list[NDArray[np.float64] | None] = field(default_factory=list)  # a track's last landmarks
    expected: list[NDArray[np.float64] | None] = field(default_factory=list)  # guidance: the projection

    def add(
        self,
        view: int,
        center: NDArray[np.float64],
        size: float,
        rotation: float,
        slot: int,
        body: NDArray[np.float64] | None,
        expected: NDArray[np.float64] | None = None,
    ) -> None:
        self.expected.append(expected)
        self.views.append(view)
        self.centers.append(center)
        self.sizes.append(size)
        self.rotations.append(rotation)
        self.slots.append(slot)
        self.bodies.append(body)

    def count(self, view: int, fresh_only: bool = False) -> int:
        return sum(1 for v, s in zip(self.views, self.slots, strict=True) if v == view and (s < 0 or not fresh_only))

    def of_view(self, view: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(N, 2) centres and (N,) sides of the view's regions."""
        rows = [i for i, v in enumerate(self.views) if v == view]
        centers = np.array([self.centers[i] for i in rows], dtype=np.float64).reshape(-1, 2)
        return centers, np.array([self.sizes[i] for i in rows], dtype=np.float64)
