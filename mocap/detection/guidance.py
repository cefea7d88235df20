"""Cross-view guidance: look for a person where the rig says they are in a view that lost them.

A view can lose a person the other views see well: the man of the Pose2Sim two-person take,
leaning over the composited woman in cam03, drops below the landmark model's presence threshold
or its landmarks jump onto her, while cam01, cam02 and cam04 see him plainly. With a calibrated
rig the other views say where he is:

1. the people the *other* views track (last frame's landmarks) are grouped into persons by
   epipolar consistency (:func:`mocap.association.cross_view.cluster_detections`, the
   studio's per-frame association; at least two views per person);
2. each person's landmarks are triangulated (confidence-weighted linear DLT of the undistorted
   points, :func:`mocap.association.geometry.solve_dlt`) and projected into the view
   (:class:`Expected`);
3. the people the view tracks are matched to the projections, nearest torsos first
   (:func:`torso_distance` below ``agreement``); a projection left unmatched is a person the view
   lost.

The backend turns projections into landmark regions (hip centre, the circle round the
landmarks) cropped with the view's other tracked people masked out, and keeps the landmark
model's answer only when its torso lies within ``agreement`` torso lengths of the projection:
the projection guides where to look and what to accept, but is never output.

Layering: detection uses the association package here, plain numpy functions of ``mocap`` that
import nothing of detection (DESIGN.md section 2 orders the packages
``ui -> mocap -> calibration`` and is silent inside ``mocap``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from calibration.rig import CameraRig
from mocap.association.cross_view import CrossViewConfig, cluster_detections
from mocap.association.geometry import solve_dlt, view_geometry
from mocap.detection.landmarks import HIPS, MIRRORED_TORSO, SHOULDERS, TORSO
from mocap.detection.run import match_camera_names
from mocap.errors import ShapeError


def torso_length(body: NDArray[np.float64]) -> float:
    """Distance (pixels) between the shoulder and hip centres of one body (J, 2); NaN if unknown."""
    return float(np.linalg.norm(body[list(SHOULDERS)].mean(axis=0) - body[list(HIPS)].mean(axis=0)))


def torso_distance(body: NDArray[np.float64], expected: NDArray[np.float64]) -> float:
    """Median distance of the torso landmarks of ``body`` (J, 2) from those of ``expected``
    (J, 2), in torso lengths of ``expected``; ``inf`` where either is unknown.

    Measured on the Pose2Sim single-person take: the man's landmarks in cam03 lie 0.11-0.2 torso
    lengths from his projection triangulated from the three other views (torso landmarks are not
    the same anatomical points in every view). Left and right may be swapped: a body fitted facing
    the other way is still that person (the single-person take, cam02 frame 43: a mirrored fit of
    the man, unmatched, made the guide look for him again and add him a second time).
    """
    length = torso_length(expected)
    direct = np.linalg.norm(body[list(TORSO)] - expected[list(TORSO)], axis=-1)
    swapped = np.linalg.norm(body[list(MIRRORED_TORSO)] - expected[list(TORSO)], axis=-1)
    if not np.isfinite(length) or length < 1.0 or not np.isfinite(direct).all():
        return float("inf")
    return float(min(np.median(direct), np.median(swapped)) / length)


@dataclass(frozen=True, eq=False)
class Expected:
    """A person the other views see, projected into one view.

    Attributes:
        view: the view (index into the guide's camera names).
        body_px: (J, 2) pixels of the view's image: the person's triangulated landmarks
            projected; NaN where a landmark could not be triangulated or lies behind the camera.
        views: the other views whose landmarks made it.
        matched: index of the body of the view that is this person (-1: none, the view lost them).
    """

    view: int
    body_px: NDArray[np.float64] = field(repr=False)
    views: tuple[int, ...]
    matched: int = -1


class CrossViewGuide:
    """Where the people the other views track should be in a view (see the module docstring).

    Args:
        rig: the calibrated cameras.
        camera_names: the detector's view names in view order, matched to the rig's names
            ignoring case, ``_``, ``-`` and spaces (``cam01`` <-> ``cam_01``).
        agreement: a body matches a projection when its torso lies within this many torso
            lengths of it (:func:`torso_distance`).

    Raises:
        MismatchError: a view name matches no camera of the rig.
    """

    def __init__(self, rig: CameraRig, camera_names: Sequence[str], agreement: float = 0.5) -> None:
        self.rig = rig.subset(match_camera_names(camera_names, rig.names))
        self.geometry = view_geometry(self.rig)
        self.agreement = agreement
        self.association = CrossViewConfig()

    def people(
        self,
        bodies: Sequence[NDArray[np.float64]],
        scores: Sequence[NDArray[np.float64]],
        views: Sequence[int],
    ) -> list[Expected]:
        """The people the other views see, projected into each of ``views``.

        Args:
            bodies: per view, (N_v, J, 2) pixels of the people it tracks (N_v may be 0).
            scores: per view, (N_v, J) their landmark visibilities.
            views: the views to project into.

        Returns:
            Per view, the projections of persons seen consistently by two or more other views,
            those seen by more views first, each with the body of the view it matches (if any).

        Raises:
            ShapeError: ``bodies``/``scores`` do not give one entry per camera.
        """
        count = len(self.rig)
        if len(bodies) != count or len(scores) != count:
            raise ShapeError("bodies", f"{count} views (one per camera)", str(len(bodies)))
        joints = max((b.shape[1] for b in bodies if len(b)), default=0)
        slots = max((len(b) for b in bodies), default=0)
        if joints == 0:
            return []
        pixels = np.full((count, slots, joints, 2), np.nan)
        weights = np.zeros((count, slots, joints))
        for v, (body, score) in enumerate(zip(bodies, scores, strict=True)):
            pixels[v, : len(body)] = body
            weights[v, : len(body)] = np.nan_to_num(score)
        normalized = self.rig.undistort_points(pixels, normalized=True)  # (V, S, J, 2)
        found = []
        for view in views:
            candidates = [
                np.arange(len(bodies[v]), dtype=np.int64) if v != view else np.zeros(0, dtype=np.int64)
                for v in range(count)
            ]
            people = []
            for person in cluster_detections(self.geometry, candidates, normalized, weights, self.association):
                observed = np.full((joints, count, 2), np.nan)
                confidence = np.zeros((joints, count))
                for v, slot in person.items():
                    observed[:, v] = normalized[v, slot]
                    confidence[:, v] = weights[v, slot]
                points = solve_dlt(self.geometry.extrinsics, observed, confidence)  # (J, 3) world
                projected = self.rig[view].project(points)  # (J, 2)
                hip_centre = projected[list(HIPS)].mean(axis=0)
                if np.isfinite(torso_length(projected)) and bool(self.rig[view].in_image(hip_centre)):
                    people.append(Expected(view, projected, tuple(sorted(person))))
            found.extend(self._match(people, bodies[view]))
        return found

    def _match(self, people: list[Expected], bodies: NDArray[np.float64]) -> list[Expected]:
        """The projections with the bodies they match, in their given order (bodies and
        projections paired one to one, nearest torsos first)."""
        pairs = sorted(
            (torso_distance(body, person.body_px), b, p)
            for b, body in enumerate(bodies)
            for p, person in enumerate(people)
        )
        body_of: dict[int, int] = {}
        for distance, b, p in pairs:
            if distance >= self.agreement:
                break
            if b in body_of.values() or p in body_of:
                continue
            body_of[p] = b
        return [replace(person, matched=body_of.get(p, -1)) for p, person in enumerate(people)]
