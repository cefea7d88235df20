"""Tracking people over time: detections claimed by 3D tracks first, new people from the rest.

Per frame (after Chen et al., "Cross-View Tracking for Multi-Human 3D Pose Estimation at over
100 FPS", CVPR 2020, which associates 2D detections to 3D targets before any cross-view matching):

1. **Predict** every track's joints with a constant-velocity model.
2. **Claim**: in each view, the cost of detection ``s`` for track ``p`` is the median over joints
   of the metric distance between the predicted 3D joint and the detection's viewing ray. The
   left/right pairs of a body part (face, arms, legs) are read crossed when that brings the part's
   rays at least ``swap_margin_m`` per pair and 30 % closer to the prediction — the **left/right
   swap correction** of individual 2D detections against the 3D pose (detectors swap whole bodies
   or limb chains; deciding per part with a margin keeps noise from crossing close pairs such as
   the eyes). Tracks and detections are matched per view by the Hungarian method, gated at
   ``track_gate_m``.
3. **Triangulate** each track from the views it claimed; a view whose rays miss the result by more
   than ``view_reject_m`` (median over joints) is released, and single joints whose ray misses by
   more than ``joint_reject_m`` are dropped from that view when two other views remain; then the
   track is solved again.
4. **Births**: detections no track claimed are associated across views
   (:mod:`mocap.association.cross_view`); a cluster seen in ``birth_min_views`` views (fewer when
   fewer views see anyone in the frame, but never under ``min_views``) that
   triangulates consistently and has a human size becomes a tentative track — or **re-identifies**
   a track lost less than ``max_lost_s`` ago within ``reid_radius_m`` of where it was last seen.
5. **Hysteresis**: a tentative track is confirmed after ``confirm_frames`` consecutive frames and
   dropped if it misses one before that; a confirmed track that misses frames is *lost* and keeps
   its id for ``max_lost_s``.

Complexity per frame: O(V P S J) ray distances and V Hungarian problems of size P x S for P tracks
and S detections per view, plus the cross-view clustering of the unclaimed detections only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from mocap.association.cross_view import CrossViewConfig, cluster_detections
from mocap.association.geometry import ViewGeometry, nanmedian, point_ray_distances, solve_dlt


@dataclass(frozen=True)
class TrackerConfig:
    """Thresholds of the tracker (distances in metres)."""

    cross_view: CrossViewConfig = field(default_factory=CrossViewConfig)
    track_gate_m: float = 0.3
    view_reject_m: float = 0.12
    joint_reject_m: float = 0.1
    min_views: int = 2
    birth_min_views: int = 3
    min_joints: int = 5
    confirm_frames: int = 3
    max_lost_frames: int = 60
    reid_radius_m: float = 0.6
    swap_correction: bool = True
    swap_margin_m: float = 0.06


@dataclass
class Claim:
    """A detection claimed by a track: its slot and the joint order to read it in (swap correction)."""

    slot: int
    order: NDArray[np.int64]


@dataclass
class Track:
    """Mutable state of one tracked person (internal to :class:`Tracker`)."""

    track_id: int
    pose: NDArray[np.float64]  # (J, 3) last known joints (NaN where never seen)
    velocity: NDArray[np.float64]  # (J, 3) metres per frame
    last_frame: int
    hits: int = 1
    confirmed: bool = False
    lost: int = 0
    claims: dict[int, dict[int, Claim]] = field(default_factory=dict)  # frame -> view -> claim
    ever_confirmed: bool = False

    def predict(self, frame: int) -> NDArray[np.float64]:
        steps = min(frame - self.last_frame, 5)
        return self.pose + self.velocity * steps

    def centroid(self) -> NDArray[np.float64]:
        return np.nanmean(self.pose, axis=0)


class Tracker:
    """Online multi-person association and tracking over frames (see the module docstring).

    Args:
        geometry: the rig's view geometry.
        flip: (J,) the layout's left/right permutation.
        config: thresholds.
    """

    def __init__(
        self,
        geometry: ViewGeometry,
        flip: NDArray[np.int64],
        config: TrackerConfig,
        joint_names: tuple[str, ...] = (),
        *,
        keep_history: bool = True,
    ) -> None:
        """``keep_history=False`` (live mode) keeps only the current frame's claims of every track
        and no retired tracks, so memory stays flat over a run of any length; :meth:`close` then
        returns only the tracks still running."""
        self.geometry = geometry
        self.keep_history = keep_history
        self.config = config
        self.flip = np.asarray(flip)
        self.pairs = np.array([(j, int(f)) for j, f in enumerate(self.flip) if f > j], dtype=np.int64).reshape(-1, 2)
        # body part of each left/right pair: 0 face, 1 arms, 2 legs (by canonical joint name)
        names = joint_names or tuple(str(j) for j in range(len(self.flip)))
        self.pair_part = np.array([_body_part(names[a]) for a, _ in self.pairs], dtype=np.int64)
        self.tracks: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 0

    # ------------------------------------------------------------------ per frame

    def step(
        self, frame: int, normalized: NDArray[np.float64], rays: NDArray[np.float64], scores: NDArray[np.float64]
    ) -> None:
        """Process one frame: ``normalized`` (V, S, J, 2), ``rays`` (V, S, J, 3), ``scores`` (V, S, J)."""
        cfg = self.config
        usable = (scores > cfg.cross_view.min_score) & np.isfinite(normalized[..., 0])
        valid_detection = usable.sum(axis=-1) >= cfg.min_joints  # (V, S)
        claims = self._claim(frame, rays, usable, valid_detection)
        solved = self._solve(normalized, rays, scores, usable, claims)
        claimed = np.zeros_like(valid_detection)
        survivors: list[Track] = []
        for track, views, pose in zip(self.tracks, claims, solved, strict=True):
            if pose is not None:
                for v, claim in views.items():
                    claimed[v, claim.slot] = True
                self._update(track, frame, pose, views)
                survivors.append(track)
            elif track.confirmed and track.lost < cfg.max_lost_frames:
                track.lost += 1
                survivors.append(track)
            else:
                self._retire(track)
        self.tracks = survivors
        seeing = int(valid_detection.any(axis=1).sum())
        self._births(frame, normalized, rays, scores, usable, valid_detection & ~claimed, seeing)

    def snapshot(
        self, frame: int, num_views: int, num_slots: int
    ) -> tuple[NDArray[np.int32], NDArray[np.float64], NDArray[np.int64]]:
        """Confirmed people updated at ``frame``: ids (P,), poses (P, J, 3) and the person id given
        to each detection slot of that frame (V, S), -1 where unused (for live display)."""
        live = [t for t in self.tracks if t.confirmed and t.last_frame == frame]
        slots = np.full((num_views, num_slots), -1, dtype=np.int64)
        for track in live:
            for v, claim in track.claims.get(frame, {}).items():
                slots[v, claim.slot] = track.track_id
        ids = np.array([t.track_id for t in live], dtype=np.int32)
        poses = np.stack([t.pose for t in live]) if live else np.zeros((0, len(self.flip), 3))
        return ids, poses, slots

    def close(self) -> list[Track]:
        """End tracking; every track that was ever confirmed, by id."""
        for track in self.tracks:
            self._retire(track)
        self.tracks = []
        return sorted(self.finished, key=lambda t: t.track_id)

    # ------------------------------------------------------------------ steps

    def _claim(
        self,
        frame: int,
        rays: NDArray[np.float64],
        usable: NDArray[np.bool_],
        valid_detection: NDArray[np.bool_],
    ) -> list[dict[int, Claim]]:
        cfg = self.config
        claims: list[dict[int, Claim]] = [{} for _ in self.tracks]
        if not self.tracks:
            return claims
        predicted = np.stack([t.predict(frame) for t in self.tracks])  # (P, J, 3)
        centers = self.geometry.centers[:, None, None, None, :]
        straight = point_ray_distances(predicted[None, :, None], centers, rays[:, None])  # (V, P, S, J)
        order = np.broadcast_to(np.arange(len(self.flip)), straight.shape).copy()
        if cfg.swap_correction and len(self.pairs):
            crossed = point_ray_distances(predicted[None, :, None][..., self.flip, :], centers, rays[:, None])
            left, right = self.pairs[:, 0], self.pairs[:, 1]
            keep = straight[..., left] + straight[..., right]  # (V, P, S, pairs), NaN where unseen
            swap = crossed[..., left] + crossed[..., right]
            seen = np.isfinite(keep) & np.isfinite(swap)
            use = np.zeros(keep.shape, dtype=bool)
            for part in np.unique(self.pair_part):
                in_part = (self.pair_part == part)[None, None, None, :] & seen
                n = in_part.sum(axis=-1)
                keep_sum = np.where(in_part, keep, 0.0).sum(axis=-1)
                swap_sum = np.where(in_part, swap, 0.0).sum(axis=-1)
                better = (n > 0) & (swap_sum < keep_sum - cfg.swap_margin_m * n) & (swap_sum < 0.7 * keep_sum)
                use |= better[..., None] & (self.pair_part == part)
            straight[..., left] = np.where(use, crossed[..., left], straight[..., left])
            straight[..., right] = np.where(use, crossed[..., right], straight[..., right])
            order[..., left] = np.where(use, right, left)
            order[..., right] = np.where(use, left, right)
        distance = np.where(usable[:, None], straight, np.nan)
        counts = np.isfinite(distance).sum(axis=-1)
        cost = nanmedian(distance, axis=-1)
        penalty = np.array([0.0 if t.confirmed else 0.05 for t in self.tracks])[None, :, None]
        gate = np.array([cfg.track_gate_m * (1 + 0.25 * min(t.lost, 8)) for t in self.tracks])[None, :, None]
        allowed = (counts >= cfg.min_joints) & valid_detection[:, None, :] & (cost <= gate)
        cost = np.where(allowed, cost + penalty, np.inf)
        for v in range(cost.shape[0]):
            if not np.any(allowed[v]):
                continue
            rows, cols = linear_sum_assignment(np.where(allowed[v], cost[v], 1e6))
            for p, s in zip(rows, cols, strict=True):
                if allowed[v, p, s]:
                    claims[p][v] = Claim(int(s), order[v, p, s].copy())
        return claims

    def _solve(
        self,
        normalized: NDArray[np.float64],
        rays: NDArray[np.float64],
        scores: NDArray[np.float64],
        usable: NDArray[np.bool_],
        claims: list[dict[int, Claim]],
    ) -> list[NDArray[np.float64] | None]:
        """Triangulate every track from its claims at once, releasing views and joints that do not fit.

        Views released here are removed from ``claims``.
        """
        cfg = self.config
        v_count, _, j_count = scores.shape
        p_count = len(claims)
        if p_count == 0:
            return []
        x = np.full((p_count, j_count, v_count, 2), np.nan)
        w = np.zeros((p_count, j_count, v_count))
        ray = np.full((p_count, v_count, j_count, 3), np.nan)
        for p, views in enumerate(claims):
            if len(views) < cfg.min_views:
                continue
            for v, claim in views.items():
                x[p, :, v] = normalized[v, claim.slot, claim.order]
                w[p, :, v] = np.where(usable[v, claim.slot, claim.order], scores[v, claim.slot, claim.order], 0.0)
                ray[p, v] = rays[v, claim.slot, claim.order]
        claimed = (w > 0).any(axis=1)  # (P, V)
        released = np.zeros_like(claimed)
        extrinsics, centers = self.geometry.extrinsics, self.geometry.centers[None, :, None, :]
        pose = solve_dlt(extrinsics, x.reshape(-1, v_count, 2), w.reshape(-1, v_count)).reshape(p_count, j_count, 3)
        for _round in range(2):
            miss = point_ray_distances(pose[:, None], centers, ray)  # (P, V, J)
            miss = np.where(np.swapaxes(w, 1, 2) > 0, miss, np.nan)
            bad_view = claimed & ~released & ~(nanmedian(miss, axis=-1) <= cfg.view_reject_m)  # (P, V)
            released |= bad_view
            w *= ~bad_view[:, None, :]
            # single joints: drop the worst view of a joint when it misses and two views remain
            miss = np.where(bad_view[:, :, None], np.nan, miss)
            worst = np.argmax(np.where(np.isfinite(miss), miss, -1.0), axis=1)  # (P, J)
            worst_miss = np.take_along_axis(miss, worst[:, None, :], axis=1)[:, 0]
            drop = (worst_miss > cfg.joint_reject_m) & ((w > 0).sum(axis=2) >= 3)
            p_idx, j_idx = np.nonzero(drop)
            w[p_idx, j_idx, worst[p_idx, j_idx]] = 0.0
            if not bad_view.any() and not drop.any():
                break
            pose = solve_dlt(extrinsics, x.reshape(-1, v_count, 2), w.reshape(-1, v_count)).reshape(p_count, j_count, 3)
        results: list[NDArray[np.float64] | None] = []
        for p, views in enumerate(claims):
            for released_view in np.flatnonzero(released[p]):
                views.pop(int(released_view), None)
            enough = len(views) >= cfg.min_views and np.isfinite(pose[p, :, 0]).sum() >= cfg.min_joints
            results.append(pose[p] if enough else None)
        return results

    def _update(self, track: Track, frame: int, pose: NDArray[np.float64], views: dict[int, Claim]) -> None:
        steps = max(1, frame - track.last_frame)
        seen = np.isfinite(pose[:, 0])
        known = np.isfinite(track.pose[:, 0])
        both = seen & known
        velocity = np.zeros_like(track.velocity)
        velocity[both] = (pose[both] - track.pose[both]) / steps
        track.velocity = np.where(both[:, None], 0.5 * track.velocity + 0.5 * velocity, track.velocity)
        track.pose = np.where(seen[:, None], pose, track.predict(frame))
        track.last_frame = frame
        if not self.keep_history:
            track.claims.clear()
        track.claims[frame] = dict(views)
        track.lost = 0
        track.hits += 1
        if track.hits >= self.config.confirm_frames:
            track.confirmed = True
            track.ever_confirmed = True

    def _retire(self, track: Track) -> None:
        if track.ever_confirmed and self.keep_history:
            self.finished.append(track)

    def _births(
        self,
        frame: int,
        normalized: NDArray[np.float64],
        rays: NDArray[np.float64],
        scores: NDArray[np.float64],
        usable: NDArray[np.bool_],
        free: NDArray[np.bool_],
        seeing: int,
    ) -> None:
        cfg = self.config
        candidates = [np.flatnonzero(free[v]) for v in range(free.shape[0])]
        if sum(len(c) > 0 for c in candidates) < 2:
            return
        scored = np.where(usable, scores, 0.0)
        need = max(cfg.min_views, min(cfg.birth_min_views, seeing))
        identity = np.arange(len(self.flip))
        for cluster in cluster_detections(self.geometry, candidates, normalized, scored, cfg.cross_view):
            if len(cluster) < need:
                continue
            views = {v: Claim(s, identity.copy()) for v, s in cluster.items()}
            pose = self._solve(normalized, rays, scores, usable, [views])[0]
            if pose is None or len(views) < need or not _human_sized(pose):
                continue
            centre = np.nanmean(pose, axis=0)
            active = [t for t in self.tracks if t.lost == 0]
            if any(np.linalg.norm(t.centroid() - centre) < cfg.reid_radius_m / 2 for t in active):
                continue  # a person already tracked; their detections were released this frame
            lost = [t for t in self.tracks if t.lost > 0]
            revived = min(lost, key=lambda t: np.linalg.norm(t.centroid() - centre), default=None)
            if revived is not None and np.linalg.norm(revived.centroid() - centre) < cfg.reid_radius_m:
                revived.velocity[:] = 0.0
                self._update(revived, frame, pose, views)
                continue
            track = Track(self._next_id, pose, np.zeros_like(pose), frame)
            track.pose = np.where(np.isfinite(pose), pose, np.nan)
            track.claims[frame] = views
            self._next_id += 1
            self.tracks.append(track)


def _body_part(name: str) -> int:
    """0 face, 1 arms, 2 legs, for a left/right joint pair (by canonical name)."""
    if any(k in name for k in ("hip", "knee", "ankle", "heel", "toe", "foot")):
        return 2
    if any(k in name for k in ("shoulder", "elbow", "wrist", "pinky", "index", "thumb", "hand", "collar")):
        return 1
    return 0


def _human_sized(pose: NDArray[np.float64]) -> bool:
    """A plausible person: 0.3–2.6 m tall from lowest to highest joint, under 2 m across."""
    points = pose[np.isfinite(pose[:, 0])]
    if len(points) < 2:
        return False
    height = points[:, 2].max() - points[:, 2].min()
    width = np.linalg.norm(points[:, :2].max(axis=0) - points[:, :2].min(axis=0))
    return bool(0.3 <= height <= 2.6 and width <= 2.0)
