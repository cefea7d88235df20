"""A second look, in the same frame, for a person a view has just lost while the other views see them.

The blazepose backend learns that a view lost a tracked person only after its landmark pass: the
person's presence fell below the hold threshold, or their landmarks moved onto someone else and
were dropped as the same body. Cross-view guidance (:mod:`mocap.detection.guidance`) looks for
them again, but only from the next frame on, and from last frame's landmarks. The second look
does it at once, with this frame's landmarks:

1. the people the *other* views track now are grouped, triangulated and projected into the view
   (:meth:`~mocap.detection.guidance.CrossViewGuide.people`); a projection none of the view's
   remaining tracks matches is the person it lost;
2. the landmark model runs once more, for all such people of all views in one pass, on a region
   round the projection (hip centre, circle round the landmarks) cut from a copy of the image in
   which the heads and torsos of the people the view still tracks — this frame's landmarks, so
   exactly where they are — are painted grey, also where they cover the lost person (the
   person the model preferred is the one it must not see);
3. an answer is kept only if it is present (at least the hold threshold of a tracked person), its
   torso lies within ``agreement`` torso lengths of the projection, and it is not the same body as
   a remaining track (:func:`~mocap.detection.tracks.same_pose`). The output is always the
   landmark model's; the projection only says where to look and what to accept.

Measured on the Pose2Sim two-person take (``tests/mocap/detection/test_multi_person.py``, 100
frames, one torch thread): with the rig, cam03 — where the man walks past and leans over the
composited woman — found both people in 97 % of frames without the second look (it lost him at
frames 49, 86 and 90: a presence dip to 0.06, twice his landmarks drifting onto her), 100 % with
it (also with two torch threads); the other views 100 % either way. It costs one more landmark
pass in the frames where a view lost someone (3 of 100 there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from mocap.detection import landmarks as lm
from mocap.detection.guidance import CrossViewGuide, torso_distance
from mocap.detection.occluders import paint_heads_and_torsos
from mocap.detection.protocol import FrameSetDetections
from mocap.detection.roi import roi_from_body
from mocap.detection.tracks import Track, bodies_and_scores, next_region, same_pose

if TYPE_CHECKING:  # the models import torch; this module needs only their interface
    from mocap.detection.blazepose_models import BlazePoseModels


@dataclass(frozen=True, eq=False)
class Found:
    """A lost person the second look found again in one view.

    Attributes:
        view: the view.
        body: (33, 2) landmark pixels (the landmark model's answer).
        visibility: (33,) their visibilities in [0, 1].
        region: center (2,), size and rotation of the person's region for the next frame (from the
            auxiliary landmarks, as a track's); None where they give no usable region.
    """

    view: int
    body: NDArray[np.float64] = field(repr=False)
    visibility: NDArray[np.float32] = field(repr=False)
    region: tuple[NDArray[np.float64], float, float] | None


@dataclass(frozen=True)
class SecondLookSettings:
    """The backend's thresholds the second look applies (see :class:`~.backends.blazepose.BlazePoseConfig`)."""

    roi_scale: float
    min_presence: float
    agreement: float
    same_person: float


def second_look(
    guide: CrossViewGuide,
    models: BlazePoseModels,
    tracks: list[list[Track]],
    images: Sequence[Any],
    views: Sequence[int],
    settings: SecondLookSettings,
) -> list[Found]:
    """Look again in ``views`` for people the other views track and these views do not.

    Args:
        guide: the cross-view guide of the backend's views.
        models: the networks.
        tracks: per view, the people it tracks after this frame's landmark pass.
        images: per view, the frame as a (H, W, 3) uint8 tensor on the models' device.
        views: the views that lost someone this frame and have a free slot.
        settings: thresholds.

    Returns:
        The people found again, at most one per projection, none the same body as a track.
    """
    joints = lm.BODY_LANDMARKS
    bodies, scores = bodies_and_scores(tracks)
    rows: list[tuple[int, tuple[NDArray[np.float64], float, float], NDArray[np.float64]]] = []
    crops: list[Any] = []
    for person in guide.people(bodies, scores, sorted(views)):
        if person.matched >= 0:
            continue
        region = roi_from_body(person.body_px, lm.HIPS, lm.SHOULDERS, settings.roi_scale)
        if region is None:
            continue
        tracked = [t.body for t in tracks[person.view]]
        crops.append(paint_heads_and_torsos(images[person.view], tracked) if tracked else images[person.view])
        rows.append((person.view, region, person.body_px))
    if not rows:
        return []
    result = models.landmarks(
        crops,
        np.arange(len(rows), dtype=np.int64),
        np.array([region[0] for _, region, _ in rows], dtype=np.float64).reshape(-1, 2),
        np.array([region[1] for _, region, _ in rows], dtype=np.float64),
        np.array([region[2] for _, region, _ in rows], dtype=np.float64),
    )
    found: list[Found] = []
    known = [[(t.body, t.size) for t in ts] for ts in tracks]  # per view: bodies and their region sides
    for r, (view, (_, side, _), expected) in enumerate(rows):
        body = result.xy[r, :joints]
        if result.presence[r] < settings.min_presence or torso_distance(body, expected) >= settings.agreement:
            continue
        if any(same_pose(body, other, size, settings.same_person) for other, size in known[view]):
            continue
        known[view].append((body, side))
        visibility = np.clip(result.visibility[r, :joints], 0.0, 1.0).astype(np.float32)
        found.append(Found(view, body.copy(), visibility, next_region(result.xy[r], settings.roi_scale)))
    return found


def take_free_slots(
    found: Sequence[Found], tracks: list[list[Track]], detections: FrameSetDetections, max_people: int
) -> FrameSetDetections:
    """``detections`` with each person found again in the first free slot of their view (none
    left: dropped), and a track for the next frame where they gave a region (``tracks`` is
    updated in place, each view's kept in slot order)."""
    xy, score = detections.xy.copy(), detections.score.copy()
    for person in found:
        view_tracks = tracks[person.view]
        taken = {t.slot for t in view_tracks} | {s for s in range(max_people) if np.isfinite(xy[person.view, s]).any()}
        free = [s for s in range(max_people) if s not in taken]
        if not free:
            continue
        xy[person.view, free[0]] = person.body
        score[person.view, free[0]] = person.visibility
        if person.region is not None:
            center, size, rotation = person.region
            view_tracks.append(
                Track(free[0], center, size, rotation, person.body, person.visibility.astype(np.float64))
            )
            view_tracks.sort(key=lambda t: t.slot)
    return FrameSetDetections(xy, score)
