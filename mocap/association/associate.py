"""Multi-person reconstruction of a take: association across views and time, then triangulation.

``associate_take`` runs the :class:`~mocap.association.tracker.Tracker` frame by frame (a fast
linear triangulation drives the tracking), then triangulates every confirmed track's claimed
detections over the whole take in one batched pass, with the left/right corrections applied.
The result keeps, for every detection slot, the person it was given to — which the GUI uses to
colour 2D overlays by person.

Also available: ``tracking=False`` associates each frame on its own (cross-view clustering only,
no identities across frames), the baseline against which tracking is measured.
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
from mocap.errors import MismatchError
from mocap.poses3d import Poses3D
from mocap.triangulation.dlt import triangulate_dlt


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
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """Per person the claimed pixels (T, P, J, V, 2), weights (T, P, J, V), slot map and flips."""
    t_count, v_count, s_count, j_count = detections.score.shape
    p_count = len(claims)
    pixels = np.full((t_count, p_count, j_count, v_count, 2), np.nan)
    weights = np.zeros((t_count, p_count, j_count, v_count))
    slot_person = np.full((t_count, v_count, s_count), -1, dtype=np.int64)
    flipped = np.zeros((t_count, v_count, s_count), dtype=bool)
    identity = np.arange(j_count)
    for p, per_frame in enumerate(claims):
        for t, views in per_frame.items():
            for v, claim in views.items():
                pixels[t, p, :, v] = detections.xy[t, v, claim.slot, claim.order]
                weights[t, p, :, v] = detections.score[t, v, claim.slot, claim.order]
                slot_person[t, v, claim.slot] = p
                flipped[t, v, claim.slot] = not np.array_equal(claim.order, identity)
    return pixels, weights, slot_person, flipped


def associate_take_iter(
    rig: CameraRig,
    detections: Detections2D,
    config: TrackerConfig | None = None,
    *,
    tracking: bool = True,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, AssociationResult]:
    """Associate and triangulate the people of a take, yielding progress (see the module docstring).

    Raises:
        MismatchError: the detections lack a camera of the rig.
        CancelledError: when ``cancel`` is set.
    """
    config = config or TrackerConfig()
    missing = [n for n in rig.names if n not in detections.camera_names]
    if missing:
        raise MismatchError(
            f"detections lack cameras {', '.join(missing)} of the rig "
            f"(detections: {', '.join(detections.camera_names)}; rig: {', '.join(rig.names)})"
        )
    detections = detections.subset_views(rig.names)
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
            clusters = cluster_detections(
                geometry, candidates, normalized[t], np.where(usable, scores[t], 0), config.cross_view
            )
            for p, cluster in enumerate(c for c in clusters if len(c) >= config.min_views):
                while len(claims) <= p:
                    claims.append({})
                claims[p][t] = {v: Claim(s, identity.copy()) for v, s in cluster.items()}
            if t % 25 == 0 or t == total - 1:
                yield Progress("associating people (per frame)", t + 1, total)
    yield Progress("triangulating people", 0, 1)
    pixels, weights, slot_person, flipped = _observations(detections, claims)
    result = triangulate_dlt(rig, pixels, weights, min_views=config.min_views)
    poses = Poses3D(
        result.points_world.astype(np.float32),
        np.arange(len(claims), dtype=np.int32),
        result.reprojection_error_px,
        result.n_views,
        detections.layout,
        detections.fps,
    )
    yield Progress("triangulating people", 1, 1)
    return AssociationResult(poses, slot_person, flipped)


def associate_take(
    rig: CameraRig, detections: Detections2D, config: TrackerConfig | None = None, *, tracking: bool = True
) -> AssociationResult:
    """:func:`associate_take_iter` without progress reports."""
    return drain(associate_take_iter(rig, detections, config, tracking=tracking))
