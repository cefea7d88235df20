"""Per-person 2D observations: what an association step hands to triangulation.

Detections come per view in *slots* that mean nothing across views (slot 0 of camera A and slot 0
of camera B may be different people). An **associator** decides which slot of which view is which
person, frame by frame, and returns :class:`PersonObservations`: for every person track, its
keypoints in every view of the rig (NaN where that view did not see the person).

The single-person associator of this module picks, per view and frame, the slot with the highest
total score. Multi-person association (cross-view and temporal, ``mocap.association``) plugs into
:func:`mocap.triangulation.pipeline.reconstruct` the same way: any callable with the
:class:`Associator` signature.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from calibration.arrays import check_shape, frozen
from calibration.progress import CancelToken, Progress
from calibration.rig import CameraRig
from mocap.detections2d import Detections2D
from mocap.errors import MismatchError, ShapeError
from mocap.skeleton.layouts import KeypointLayout


@dataclass(frozen=True, eq=False)
class PersonObservations:
    """Every person track's 2D keypoints in every view of a rig.

    Attributes:
        xy: (T, V, P, J, 2) float64 distorted pixels, views in rig order; NaN where not seen.
        score: (T, V, P, J) float64 confidences in [0, 1]; 0 where not seen.
        person_id: (P,) int32 stable track ids (>= 0).
        camera_names: (V,) the rig's camera names, in order.
        layout: keypoint layout of axis J.
        fps: frames per second.
    """

    xy: NDArray[np.float64] = field(repr=False)
    score: NDArray[np.float64] = field(repr=False)
    person_id: NDArray[np.int32]
    camera_names: tuple[str, ...]
    layout: KeypointLayout
    fps: float

    def __post_init__(self) -> None:
        sizes = {"V": len(self.camera_names), "J": self.layout.num_joints}
        object.__setattr__(self, "xy", frozen("xy", self.xy, ("T", "V", "P", "J", 2), np.float64, sizes))
        object.__setattr__(self, "score", frozen("score", self.score, ("T", "V", "P", "J"), np.float64, sizes))
        ids = frozen("person_id", self.person_id, ("P",), np.int32, sizes)
        if np.any(ids < 0) or len(np.unique(ids)) != len(ids):
            raise ShapeError("person_id", "unique ids >= 0", str(ids.tolist()))
        object.__setattr__(self, "person_id", ids)
        object.__setattr__(self, "camera_names", tuple(self.camera_names))

    @property
    def num_people(self) -> int:
        return int(self.person_id.shape[0])

    def pixels_views_last(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``xy`` as (T, P, J, V, 2) and ``score`` as (T, P, J, V): the view axis where triangulation wants it."""
        return np.moveaxis(self.xy, 1, -2), np.moveaxis(self.score, 1, -1)


class Associator(Protocol):
    """Turns a take's per-view detections into per-person observations, yielding progress.

    ``detections`` are already in the rig's view order (same camera names, same order).
    """

    def __call__(
        self, rig: CameraRig, detections: Detections2D, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, PersonObservations]: ...


def align_views(rig: CameraRig, detections: Detections2D) -> Detections2D:
    """Detections reordered to the rig's camera order (extra views are dropped).

    Raises:
        MismatchError: naming the cameras the detections lack, and both sides' names.
    """
    missing = [n for n in rig.names if n not in detections.camera_names]
    if missing:
        raise MismatchError(
            f"detections lack cameras {', '.join(missing)} of the rig "
            f"(detections: {', '.join(detections.camera_names)}; rig: {', '.join(rig.names)})"
        )
    return detections.subset_views(rig.names)


def best_slots(detections: Detections2D) -> PersonObservations:
    """One person: per view and frame, the slot with the highest total score.

    On the Pose2Sim demo take (2-3 OpenPose detections in two of four views) this rule agrees with
    an exhaustive search over slot combinations for the lowest reprojection error on 399 of 400
    view-frames; the robust triangulation then rejects what a wrong pick leaves behind.
    """
    best = detections.score.sum(axis=-1).argmax(axis=-1)  # (T, V)
    xy = np.take_along_axis(detections.xy, best[:, :, None, None, None], axis=2)  # (T, V, 1, J, 2)
    score = np.take_along_axis(detections.score, best[:, :, None, None], axis=2)  # (T, V, 1, J)
    return PersonObservations(
        xy.astype(np.float64),
        score.astype(np.float64),
        np.zeros(1, dtype=np.int32),
        detections.camera_names,
        detections.layout,
        detections.fps,
    )


def associate_single_person(
    rig: CameraRig, detections: Detections2D, cancel: CancelToken | None = None
) -> Generator[Progress, None, PersonObservations]:
    """The :class:`Associator` for single-person takes (see :func:`best_slots`)."""
    check_shape("detections.xy", detections.xy, (None, len(rig), None, None, 2))
    yield Progress("picking the person in every view", 0, 1)
    observations = best_slots(detections)
    yield Progress("picking the person in every view", 1, 1)
    return observations
