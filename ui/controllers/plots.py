"""Per-joint plots of the reviewed take: which person and joint are plotted, and their series.

The series (a joint's trajectory, its reprojection error per frame, the person's mean error per
frame and the number of views) are cut out of the whole take in a job, since they span every
frame; the view draws them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtCore

from ui.controllers.review import ReviewController
from ui.jobs import JobRunner
from ui.takes import TakeData


@dataclass(frozen=True, eq=False)
class JointSeries:
    """One joint of one person over the take.

    Attributes:
        person_id: the person.
        joint: index into the layout's joints.
        joint_name: its name.
        time_s: (T,) frame times, seconds.
        xyz: (T, 3) world position, metres (NaN where missing).
        error_px: (T,) reprojection error of the joint, pixels (NaN where unknown).
        mean_error_px: (T,) mean reprojection error of the person's joints, pixels.
        n_views: (T,) views the joint was triangulated from.
        present_fraction: share of frames where the joint exists.
        median_error_px: median of ``error_px`` (NaN when unknown everywhere).
    """

    person_id: int
    joint: int
    joint_name: str
    time_s: NDArray[np.float64] = field(repr=False)
    xyz: NDArray[np.float64] = field(repr=False)
    error_px: NDArray[np.float64] = field(repr=False)
    mean_error_px: NDArray[np.float64] = field(repr=False)
    n_views: NDArray[np.int64] = field(repr=False)
    present_fraction: float = 0.0
    median_error_px: float = float("nan")


def joint_series(take: TakeData, person_id: int, joint: int) -> JointSeries:
    """Cut the series of ``joint`` of ``person_id`` out of ``take`` (see :class:`JointSeries`).

    Raises:
        KeyError: the take has no poses or no such person (the message lists the ids).
    """
    if take.poses is None:
        raise KeyError(f"{take.title}: no 3D poses; process the take first")
    one = take.poses.person(person_id)  # (T, 1, J, ...)
    errors = one.reprojection_error[:, 0].astype(np.float64)  # (T, J)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without any error are NaN
        mean_error = np.nanmean(errors, axis=1)
        median = float(np.nanmedian(errors[:, joint])) if np.isfinite(errors[:, joint]).any() else float("nan")
    xyz = one.xyz[:, 0, joint].astype(np.float64)
    return JointSeries(
        person_id=person_id,
        joint=joint,
        joint_name=take.layout.joint_names[joint],
        time_s=np.arange(take.num_frames) / take.fps,
        xyz=xyz,
        error_px=errors[:, joint],
        mean_error_px=mean_error,
        n_views=one.n_views[:, 0, joint].astype(np.int64),
        present_fraction=float(np.isfinite(xyz[:, 0]).mean()) if len(xyz) else 0.0,
        median_error_px=median,
    )


class PlotsController(QtCore.QObject):
    """Owns the plotted selection (person, joint) and its series.

    Signals:
        choices_changed(list, list): person ids and joint names to choose from.
        series_changed(object): the new :class:`JointSeries`, or None when nothing can be plotted.
        error(str): computing the series failed.
    """

    choices_changed = QtCore.Signal(list, list)
    series_changed = QtCore.Signal(object)
    error = QtCore.Signal(str)

    def __init__(self, review: ReviewController, jobs: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._take: TakeData | None = None
        self._person = -1
        self._joint = 0
        self._series: JointSeries | None = None
        review.take_changed.connect(self.set_take)

    @property
    def person_id(self) -> int:
        return self._person

    @property
    def joint(self) -> int:
        return self._joint

    @property
    def series(self) -> JointSeries | None:
        return self._series

    def set_take(self, take: TakeData | None) -> None:
        """A new take: offer its people and joints, plot the first person's centre joint."""
        self._take = take
        people = list(take.person_ids) if take is not None else []
        joints = list(take.layout.joint_names) if take is not None else []
        self.choices_changed.emit(people, joints)
        if not people or take is None:
            self._person = -1
            self._series = None
            self.series_changed.emit(None)
            return
        centre = take.stage.centre_joints[0] if take.stage.centre_joints else 0
        self.select(people[0], centre)

    def select(self, person_id: int, joint: int) -> None:
        """Plot ``joint`` of ``person_id`` (computed in a job; the newest selection wins)."""
        take = self._take
        if take is None:
            return
        self._person, self._joint = int(person_id), int(joint)
        self._jobs.submit(
            "joint-series",
            f"plotting {take.layout.joint_names[joint]} of person {person_id}",
            lambda _cancel: joint_series(take, int(person_id), int(joint)),
            on_result=self._computed,
            on_error=self.error.emit,
        )

    def _computed(self, series: JointSeries) -> None:
        self._series = series
        self.series_changed.emit(series)
