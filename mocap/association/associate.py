"""Multi-person reconstruction of a take: association across views and time, then the standard
reconstruction (robust triangulation and filtering) of :mod:`mocap.triangulation.pipeline`.

* :func:`associate_people_iter` runs the :class:`~mocap.association.tracker.Tracker` frame by frame
  (a fast linear triangulation drives the tracking) and returns every confirmed track's claimed
  detections as :class:`~mocap.triangulation.observations.PersonObservations`, left/right
  corrections applied, plus which person every detection slot was given to (the GUI colours 2D
  overlays with it).
* :class:`MultiPersonAssociator` is the same as an
  :class:`~mocap.triangulation.observations.Associator`, for ``reconstruct(..., associate=...)``.
* :func:`associate_take_iter` does both steps: association, then robust triangulation, gap
  filling and smoothing, returning poses with stable ids and the slot assignment.

``tracking=False`` associates each frame on its own (cross-view clustering only, no identities
across frames): the baseline against which tracking is measured.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.progress import CancelToken, Progress, check_cancelled, drain
from calibration.rig import CameraRig
from mocap.association.cross_view import cluster_detections
from mocap.association.geometry import normalized_detections, rays_world, view_geometry
from mocap.association.tracker import Claim, Tracker, TrackerConfig
from mocap.detections2d import Detections2D
from mocap.poses3d import Poses3D
from mocap.triangulation.observations import Associator, PersonObservations, align_views
from mocap.triangulation.pipeline import ReconstructConfig, reconstruct_iter


@dataclass(frozen=True, eq=False)
class Association:
    """Who is who in a take.

    Attributes:
        observations: (T, V, P, J) every person's claimed keypoints, ids 0..P-1 by first appearance.
        slot_person: (T, V, S) person id given to each detection slot, -1 when unused.
        flipped: (T, V, S) True where a detection was read with some left/right pair swapped.
    """

    observations: PersonObservations
    slot_person: NDArray[np.int64] = field(repr=False)
    flipped: NDArray[np.bool_] = field(repr=False)


@dataclass(frozen=True, eq=False)
class AssociationResult:
    """People reconstructed from a take.

    Attributes:
        poses: (T, P, J, 3) poses with stable ``person_id`` 0..P-1 in order of first appearance.
        slot_person: (T, V, S) person id given to each detection slot, -1 when unused.
        flipped: (T, V, S) True where a detection was read with some left/right pair swapped.
    """

    poses: Poses3D
    slot_person: NDArray[np.int64] = field(repr=False)
    flipped: NDArray[np.bool_] = field(repr=False)


def _observations(
    detections: Detections2D, claims: list[dict[int, dict[int, Claim]]]
) -> tuple[PersonObservations, NDArray[np.int64], NDArray[np.bool_]]:
    t_count, v_count, s_count, j_count = detections.score.shape
    p_count = len(claims)
    xy = np.full((t_count, v_count, p_count, j_count, 2), np.nan)
    score = np.zeros((t_count, v_count, p_count, j_count))
    slot_person = np.full((t_count, v_count, s_count), -1, dtype=np.int64)
    flipped = np.zeros((t_count, v_count, s_count), dtype=bool)
    identity = np.arange(j_count)
    for p, per_frame in enumerate(claims):
        for t, views in per_frame.items():
            for v, claim in views.items():
                xy[t, v, p] = detections.xy[t, v, claim.slot, claim.order]
                score[t, v, p] = detections.score[t, v, claim.slot, claim.order]
                slot_person[t, v, claim.slot] = p
                flipped[t, v, claim.slot] = not np.array_equal(claim.order, identity)
    observations = PersonObservations(
        xy, score, np.arange(p_count, dtype=np.int32), detections.camera_names, detections.layout, detections.fps
    )
    return observations, slot_person, flipped


def associate_people_iter(
    rig: CameraRig,
    detections: Detections2D,
    config: TrackerConfig | None = None,
    *,
    tracking: bool = True,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, Association]:
    """Associate the people of a take across views and time, yielding progress.

    Raises:
        MismatchError: the detections lack a camera of the rig.
        CancelledError: when ``cancel`` is set.
    """
    config = config or TrackerConfig()
    detections = align_views(rig, detections)
    geometry = view_geometry(rig)
    normalized = normalized_detections(rig, detections)  # (T, V, S, J, 2)
    rays = rays_world(geometry, normalized)
    scores = detections.score.astype(np.float64)
    flip = np.array(detections.layout.flip_permutation)
    claims: list[dict[int, dict[int, Claim]]]
    total = detections.num_frames
    if tracking:
        tracker = Tracker(geometry, flip, config, detections.layout.joint_names)
        for t in range(total):
            check_cancelled(cancel)
            tracker.step(t, normalized[t], rays[t], scores[t])
            if t % 25 == 0 or t == total - 1:
                yield Progress("associating people", t + 1, total)
        claims = [track.claims for track in tracker.close()]
    else:
        claims = []
        identity = np.arange(len(flip))
        for t in range(total):
            check_cancelled(cancel)
            usable = (scores[t] > config.cross_view.min_score) & np.isfinite(normalized[t, ..., 0])
            candidates = [np.flatnonzero(usable[v].sum(axis=-1) >= config.min_joints) for v in range(len(rig))]
            scored = np.where(usable, scores[t], 0.0)
            clusters = cluster_detections(geometry, candidates, normalized[t], scored, config.cross_view)
            for p, cluster in enumerate(c for c in clusters if len(c) >= config.min_views):
                while len(claims) <= p:
                    claims.append({})
                claims[p][t] = {v: Claim(s, identity.copy()) for v, s in cluster.items()}
            if t % 25 == 0 or t == total - 1:
                yield Progress("associating people (per frame)", t + 1, total)
    observations, slot_person, flipped = _observations(detections, claims)
    return Association(observations, slot_person, flipped)


def associate_people(
    rig: CameraRig, detections: Detections2D, config: TrackerConfig | None = None, *, tracking: bool = True
) -> Association:
    """:func:`associate_people_iter` without progress reports."""
    return drain(associate_people_iter(rig, detections, config, tracking=tracking))


def given_observations(observations: PersonObservations) -> Associator:
    """An associator that returns ``observations`` as they are (already associated elsewhere)."""

    def associate(
        rig: CameraRig, detections: Detections2D, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, PersonObservations]:
        yield from ()
        return observations

    return associate


@dataclass(frozen=True)
class MultiPersonAssociator:
    """Multi-person association as an :class:`~mocap.triangulation.observations.Associator`."""

    config: TrackerConfig = field(default_factory=TrackerConfig)
    tracking: bool = True

    def __call__(
        self, rig: CameraRig, detections: Detections2D, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, PersonObservations]:
        association = yield from associate_people_iter(
            rig, detections, self.config, tracking=self.tracking, cancel=cancel
        )
        return association.observations


#: Reconstruction without tracking: a person index means nothing from one frame to the next, so
#: nothing may look across frames (no temporal guidance, no gap filling or smoothing).
PER_FRAME_RECONSTRUCTION = ReconstructConfig.model_validate({"triangulation": {"guide_max_gap": 0}, "filtering": None})


def associate_take_iter(
    rig: CameraRig,
    detections: Detections2D,
    config: TrackerConfig | None = None,
    *,
    reconstruction: ReconstructConfig | None = None,
    tracking: bool = True,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, AssociationResult]:
    """Associate, then triangulate and filter the people of a take, yielding progress.

    ``tracking=False`` defaults to :data:`PER_FRAME_RECONSTRUCTION`.

    Raises:
        MismatchError: the detections lack a camera of the rig.
        CancelledError: when ``cancel`` is set.
        FilterSettingsError: a filter setting the frame rate cannot honour.
    """
    association = yield from associate_people_iter(rig, detections, config, tracking=tracking, cancel=cancel)
    if not tracking and reconstruction is None:
        reconstruction = PER_FRAME_RECONSTRUCTION
    result = yield from reconstruct_iter(
        rig, detections, reconstruction, associate=given_observations(association.observations), cancel=cancel
    )
    return AssociationResult(result.poses, association.slot_person, association.flipped)


def associate_take(
    rig: CameraRig,
    detections: Detections2D,
    config: TrackerConfig | None = None,
    *,
    reconstruction: ReconstructConfig | None = None,
    tracking: bool = True,
) -> AssociationResult:
    """:func:`associate_take_iter` without progress reports."""
    return drain(associate_take_iter(rig, detections, config, reconstruction=reconstruction, tracking=tracking))
