"""What a triangulation returns: points, per-view reprojection errors, views used, and a reason per point.

Every triangulation function of this package (plain DLT, robust, refined; numpy and torch) returns
the same :class:`TriangulationResult`. Shapes keep the caller's leading batch shape ``...``
(e.g. ``T, P, J``) with the view axis ``V`` last where there is one.

A point that cannot be made is NaN, and :class:`PointStatus` says why (numerical degeneracy is
data, not an exception; see :mod:`calibration.conventions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray


class PointStatus(IntEnum):
    """Why a point is (or is not) in the result; stored as ``int8`` in :attr:`TriangulationResult.status`."""

    OK = 0
    """Triangulated."""
    TOO_FEW_VIEWS = 1
    """Fewer than ``min_views`` views saw the point with a score above ``min_score``."""
    DEGENERATE = 2
    """The rays are (nearly) parallel: the linear system has no stable solution."""
    BEHIND_CAMERA = 3
    """The solution lies behind a camera that saw the point (inconsistent observations)."""
    NO_CONSENSUS = 4
    """Robust mode: fewer than ``min_views`` views agree within the reprojection threshold."""
    CONTESTED = 5
    """Robust mode: only two views agree and every other view contradicts them (ambiguous: with
    outliers, two wrong views agree by chance about as often as two right ones survive)."""


#: The array fields of :class:`TriangulationResult`, in order.
ARRAY_FIELDS = ("points_world", "reprojection_error_px", "view_errors_px", "views_used", "n_views", "status")

#: One-line explanation per status, for reports and logs.
STATUS_TEXT: dict[PointStatus, str] = {
    PointStatus.OK: "triangulated",
    PointStatus.TOO_FEW_VIEWS: "seen by fewer views than min_views (above min_score)",
    PointStatus.DEGENERATE: "rays (nearly) parallel; no stable intersection",
    PointStatus.BEHIND_CAMERA: "solution behind a camera that saw it",
    PointStatus.NO_CONSENSUS: "fewer than min_views views agree within the reprojection threshold",
    PointStatus.CONTESTED: "only two views agree and the others contradict them",
}


@dataclass(frozen=True, eq=False)
class TriangulationResult:
    """Triangulated points and how they were made.

    Attributes:
        points_world: (..., 3) float64 metres, world frame; NaN where ``status != OK``.
        reprojection_error_px: (...,) mean over the views used of the distance between the
            observed and the reprojected (distorted) pixel; NaN where ``points_world`` is NaN.
        view_errors_px: (..., V) reprojection error of every view that saw the point (used or
            rejected as an outlier), pixels; NaN where the view has no observation or the point
            is NaN.
        views_used: (..., V) True for the views that made the point (inliers).
        n_views: (...,) int64, number of views used; 0 where ``points_world`` is NaN.
        status: (...,) int8 :class:`PointStatus` per point.
        threshold_px: the outlier threshold the robust modes used (pixels); NaN for plain DLT.
    """

    points_world: NDArray[np.float64] = field(repr=False)
    reprojection_error_px: NDArray[np.float64] = field(repr=False)
    view_errors_px: NDArray[np.float64] = field(repr=False)
    views_used: NDArray[np.bool_] = field(repr=False)
    n_views: NDArray[np.int64] = field(repr=False)
    status: NDArray[np.int8] = field(repr=False)
    threshold_px: float = float("nan")

    def __post_init__(self) -> None:
        for name in ARRAY_FIELDS:
            # results are built by this package from arrays nobody else holds: freeze, do not copy
            getattr(self, name).setflags(write=False)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading shape ``...`` of the points."""
        return tuple(self.points_world.shape[:-1])

    @property
    def valid(self) -> NDArray[np.bool_]:
        """(...,) True where a point was made."""
        return self.status == PointStatus.OK

    def select(self, index: Any) -> TriangulationResult:
        """The points at ``index`` of the batch axes (a slice, a mask, ...), as a new result."""
        fields = {name: np.array(getattr(self, name)[index]) for name in ARRAY_FIELDS}
        return TriangulationResult(**fields, threshold_px=self.threshold_px)

    @staticmethod
    def concatenate(parts: Sequence[TriangulationResult]) -> TriangulationResult:
        """Results joined along the first batch axis (the threshold of the first part is kept)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        fields = {name: np.concatenate([getattr(p, name) for p in parts]) for name in ARRAY_FIELDS}
        return TriangulationResult(**fields, threshold_px=parts[0].threshold_px)

    def status_counts(self) -> dict[str, int]:
        """How many points ended with each status, keyed by the status name (zero counts omitted)."""
        values, counts = np.unique(self.status, return_counts=True)
        return {PointStatus(int(v)).name: int(c) for v, c in zip(values, counts, strict=True)}

    def describe_failures(self) -> str:
        """One line listing why points are missing, e.g. ``"12 TOO_FEW_VIEWS (seen by ...)"``."""
        parts = [
            f"{count} {name} ({STATUS_TEXT[PointStatus[name]]})"
            for name, count in self.status_counts().items()
            if name != PointStatus.OK.name
        ]
        return "; ".join(parts) if parts else "none"
