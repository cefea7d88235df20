"""One frame set's 2D keypoints in, tracked and smoothed 3D people out: the compute of live mode.

Per frame set (``xy (V, S, J, 2)`` pixels and ``score (V, S, J)`` from the detector):

1. **associate and track**: the keypoints are undistorted to normalized coordinates
   (:func:`mocap.live.undistort.undistort_normalized`: OpenCV, verified against the exact model) and world rays
   and handed to :class:`~mocap.association.tracker.Tracker` (the same online tracker the offline
   association drives frame by frame), which claims detections for known people, re-triangulates
   them, rejects views that do not fit and starts new people from what is left;
2. **triangulate**: every confirmed person updated in this frame is triangulated from the
   detections it claimed (left/right corrections applied) by the confidence-weighted DLT of
   :func:`mocap.triangulation.dlt.triangulate_dlt` (its steps, on the coordinates already
   undistorted for the tracker) — joints seen by fewer than two views are NaN
   (the tracker's own pose fills them with its prediction, which is right for tracking but not
   for publishing);
3. **smooth**: one :class:`~mocap.filtering.one_euro.OneEuroFilter` per person id, driven by the
   frame sets' capture times (so dropped frame sets are a longer ``dt``, not a wrong speed).

Bounded state over a run of any length: the tracker keeps every claim of every frame for the
offline association (``Track.claims``) and every retired track (``Tracker.finished``); live mode
needs neither and runs it with ``keep_history=False``. Filters of people unseen for longer than
the filter's ``reset_after_s`` are dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calibration.rig import CameraRig
from mocap.association.geometry import rays_world, view_geometry
from mocap.association.tracker import Tracker, TrackerConfig
from mocap.errors import ShapeError
from mocap.filtering.one_euro import OneEuroConfig, OneEuroFilter
from mocap.live.undistort import undistort_normalized
from mocap.skeleton.layouts import KeypointLayout
from mocap.triangulation.dlt import Observations, finish, solve_subset
from mocap.triangulation.result import PointStatus, TriangulationResult


@dataclass(frozen=True, eq=False)
class LivePeople:
    """The people of one frame set.

    Attributes:
        person_ids: (P,) int32 stable ids of the confirmed people updated in this frame set.
        poses: (P, J, 3) float32 metres, world Z-up, smoothed (raw when smoothing is off); NaN
            where a joint was seen by fewer than two views.
        raw_poses: (P, J, 3) float32 the same before smoothing.
        reprojection_error_px: (P, J) float32 mean reprojection error of the raw joints, pixels.
        n_views: (P, J) int64 views that made each joint (0 where NaN).
        slot_person: (V, S) int64 person id given to each detection slot, -1 when unused.
        stage_ms: milliseconds spent in ``associate``, ``triangulate`` and ``smooth``.
    """

    person_ids: NDArray[np.int32] = field(repr=False)
    poses: NDArray[np.float32] = field(repr=False)
    raw_poses: NDArray[np.float32] = field(repr=False)
    reprojection_error_px: NDArray[np.float32] = field(repr=False)
    n_views: NDArray[np.int64] = field(repr=False)
    slot_person: NDArray[np.int64] = field(repr=False)
    stage_ms: dict[str, float] = field(default_factory=dict)


class LiveReconstructor:
    """Tracks, triangulates and smooths people frame set by frame set (module docstring).

    Args:
        rig: the cameras, in the order of the view axis of the keypoints.
        layout: keypoint layout of the detector (axis J).
        tracker: association and tracking thresholds.
        smoothing: one-euro settings; None publishes the raw triangulation.
        min_score: keypoints scored at or below this do not take part in triangulation.
    """

    def __init__(
        self,
        rig: CameraRig,
        layout: KeypointLayout,
        tracker: TrackerConfig | None = None,
        smoothing: OneEuroConfig | None = None,
        *,
        min_score: float = 0.0,
    ) -> None:
        self.rig = rig
        self.layout = layout
        self._geometry = view_geometry(rig)
        self._tracker = Tracker(
            self._geometry,
            np.array(layout.flip_permutation),
            tracker or TrackerConfig(),
            layout.joint_names,
            keep_history=False,
        )
        self._extrinsics = np.stack([c.extrinsic_matrix[:3] for c in rig.cameras])  # (V, 3, 4)
        self._smoothing = smoothing
        self._min_score = min_score
        self._filters: dict[int, OneEuroFilter] = {}
        self._last_seen: dict[int, float] = {}
        self._last_frame = -1

    @property
    def num_tracks(self) -> int:
        """People the tracker follows now (tentative, confirmed and lost)."""
        return len(self._tracker.tracks)

    @property
    def num_filters(self) -> int:
        """People with smoothing state."""
        return len(self._filters)

    def step(self, frame: int, time_s: float, xy: NDArray[np.floating], score: NDArray[np.floating]) -> LivePeople:
        """Reconstruct one frame set.

        Args:
            frame: frame-set number; increases from call to call (gaps = frame sets skipped).
            time_s: capture time of the frame set, seconds; increases from call to call.
            xy: (V, S, J, 2) pixels of every detection slot of every view; NaN where missing.
            score: (V, S, J) keypoint scores; 0 where missing.

        Raises:
            ShapeError: the arrays do not match the rig and layout.
            ValueError: ``frame`` does not increase.
        """
        v_count, j_count = len(self.rig), self.layout.num_joints
        xy = np.asarray(xy)
        score = np.asarray(score)
        if xy.ndim != 4 or xy.shape[0] != v_count or xy.shape[2:] != (j_count, 2):
            raise ShapeError("xy", f"(V={v_count}, S, J={j_count}, 2)", str(xy.shape))
        if score.shape != xy.shape[:3]:
            raise ShapeError("score", f"{xy.shape[:3]} (as xy)", str(score.shape))
        if frame <= self._last_frame:
            raise ValueError(f"frame {frame} after frame {self._last_frame}: frame numbers must increase")
        self._last_frame = frame
        s_count = xy.shape[1]
        t0 = time.perf_counter()
        pixels = xy.astype(np.float64)
        scores = np.nan_to_num(score.astype(np.float64), nan=0.0)
        normalized = np.stack([undistort_normalized(c, pixels[v]) for v, c in enumerate(self.rig.cameras)])
        rays = rays_world(self._geometry, normalized)
        self._tracker.step(frame, normalized, rays, scores)
        ids, _, slots = self._tracker.snapshot(frame, v_count, s_count)
        claims = [self._tracker_claims(int(i), frame) for i in ids]
        t1 = time.perf_counter()
        # (P, J, V, 2) pixels, normalized coordinates and weights of every person's claimed detections
        person_px = np.full((len(ids), j_count, v_count, 2), np.nan)
        person_n = np.full((len(ids), j_count, v_count, 2), np.nan)
        person_w = np.zeros((len(ids), j_count, v_count))
        for p, views in enumerate(claims):
            for v, (slot, order) in views.items():
                person_px[p, :, v] = pixels[v, slot, order]
                person_n[p, :, v] = normalized[v, slot, order]
                person_w[p, :, v] = scores[v, slot, order]
        result = self._triangulate(person_px, person_n, person_w)
        raw = result.points_world  # (P, J, 3)
        t2 = time.perf_counter()
        smoothed = self._smooth(ids, raw, time_s)
        t3 = time.perf_counter()
        return LivePeople(
            person_ids=ids.astype(np.int32),
            poses=smoothed.astype(np.float32),
            raw_poses=raw.astype(np.float32),
            reprojection_error_px=result.reprojection_error_px.astype(np.float32),
            n_views=result.n_views,
            slot_person=slots,
            stage_ms={"associate": 1000 * (t1 - t0), "triangulate": 1000 * (t2 - t1), "smooth": 1000 * (t3 - t2)},
        )

    def _triangulate(
        self, pixels: NDArray[np.float64], normalized: NDArray[np.float64], weights: NDArray[np.float64]
    ) -> TriangulationResult:
        """:func:`~mocap.triangulation.dlt.triangulate_dlt` (weighted DLT, at least two views) on
        coordinates already undistorted for the tracker: undistorting is most of the cost."""
        batch = pixels.shape[:-2]
        v_count = len(self.rig)
        flat_px = pixels.reshape(-1, v_count, 2)
        flat_n = normalized.reshape(-1, v_count, 2)
        flat_w = weights.reshape(-1, v_count)
        usable = (flat_w > self._min_score) & np.all(np.isfinite(flat_n), axis=-1)
        obs = Observations(
            batch_shape=tuple(batch),
            pixels=flat_px,
            normalized=np.where(usable[..., None], flat_n, 0.0),
            weights=np.where(usable, flat_w, 0.0),
            usable=usable,
            extrinsics=self._extrinsics,
        )
        points, degenerate = solve_subset(obs, usable)
        status = np.full(len(points), PointStatus.OK, dtype=np.int8)
        status[degenerate] = PointStatus.DEGENERATE
        status[usable.sum(axis=1) < 2] = PointStatus.TOO_FEW_VIEWS
        return finish(self.rig, obs, points, usable.copy(), status)

    def _tracker_claims(self, track_id: int, frame: int) -> dict[int, tuple[int, NDArray[np.int64]]]:
        for track in self._tracker.tracks:
            if track.track_id == track_id:
                return {v: (c.slot, c.order) for v, c in track.claims.get(frame, {}).items()}
        return {}

    def _smooth(self, ids: NDArray[np.int32], raw: NDArray[np.float64], time_s: float) -> NDArray[np.float64]:
        if self._smoothing is None:
            return raw
        out = np.empty_like(raw)
        for p, person in enumerate(ids.tolist()):
            smoother = self._filters.get(person)
            if smoother is None:
                smoother = self._filters[person] = OneEuroFilter(self._smoothing)
            out[p] = smoother(raw[p], time_s)
            self._last_seen[person] = time_s
        stale = [i for i, seen in self._last_seen.items() if time_s - seen > self._smoothing.reset_after_s]
        for person in stale:
            del self._filters[person], self._last_seen[person]
        return out
