"""One entry point for triangulating a take: the method, its settings, and temporal guidance.

``triangulate_sequence(rig, pixels, weights, TriangulationConfig(...))`` triangulates points over
time, ``(T, ..., V, 2)``:

1. every point with the configured method — ``"dlt"`` (plain weighted DLT,
   :mod:`.dlt`) or ``"robust"`` (outlier views rejected, :mod:`.robust`), optionally refined by
   Gauss-Newton (:mod:`.refine`);
2. with the robust method and ``guide_max_gap > 0``: points the robust step could not settle
   (``CONTESTED`` or ``NO_CONSENSUS``) get a prior interpolated from the same point in the
   neighbouring frames (cubic, across at most ``guide_max_gap`` frames) and are triangulated from
   the views that agree with it (:mod:`.guided`). Points no two views confirm stay NaN with their
   first status.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

from calibration.arrays import as_float64
from calibration.rig import CameraRig
from mocap.errors import ShapeError
from mocap.triangulation.dlt import reproject, triangulate_dlt
from mocap.triangulation.guided import triangulate_guided
from mocap.triangulation.refine import refine_points
from mocap.triangulation.result import ARRAY_FIELDS, PointStatus, TriangulationResult
from mocap.triangulation.robust import triangulate_robust


class TriangulationConfig(BaseModel):
    """How 2D observations become 3D points."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["dlt", "robust"] = Field(
        "robust", description="'dlt': every view that saw the point; 'robust': outlier views rejected."
    )
    min_views: int = Field(2, ge=2, description="Fewest (inlier) views a point needs.")
    min_score: float = Field(0.0, ge=0, le=1, description="Keypoints with a score at or below this are ignored.")
    threshold_px: float = Field(
        20.0, gt=0, description="Robust: reprojection error above which a view is an outlier (the floor if adaptive)."
    )
    adaptive_threshold: bool = Field(
        True, description="Robust: raise the threshold to 3x the batch's median inlier error (at most 4x the floor)."
    )
    refine: bool = Field(True, description="Gauss-Newton refinement of the weighted pixel reprojection error.")
    accept_contested: bool = Field(
        False, description="Robust: keep points only two views agree on while the others contradict them."
    )
    guide_max_gap: int = Field(
        10, ge=0, description="Robust: settle unresolved points with a prior from up to this many frames away; 0: off."
    )


def triangulate(
    rig: CameraRig, pixels: ArrayLike, weights: ArrayLike | None, config: TriangulationConfig | None = None
) -> TriangulationResult:
    """Triangulate points ``(..., V, 2)`` independently (no time axis) with the configured method."""
    config = config or TriangulationConfig()
    if config.method == "robust":
        return triangulate_robust(
            rig,
            pixels,
            weights,
            min_views=config.min_views,
            min_weight=config.min_score,
            threshold_px=config.threshold_px,
            adaptive=config.adaptive_threshold,
            refine=config.refine,
            accept_contested=config.accept_contested,
        )
    result = triangulate_dlt(rig, pixels, weights, min_views=config.min_views, min_weight=config.min_score)
    if not config.refine or not np.any(result.valid):
        return result
    px = as_float64("pixels", pixels, (..., len(rig), 2))
    w = np.ones(px.shape[:-1]) if weights is None else np.nan_to_num(as_float64("weights", weights, (..., len(rig))))
    ok = result.valid
    refined = np.array(result.points_world, copy=True)
    refined[ok] = refine_points(rig, result.points_world[ok], px[ok], w[ok], result.views_used[ok])
    return _rescored(rig, px, w, refined, result)


def _rescored(
    rig: CameraRig,
    pixels: NDArray[np.float64],
    weights: NDArray[np.float64],
    points: NDArray[np.float64],
    before: TriangulationResult,
) -> TriangulationResult:
    """Recompute the errors of ``before``'s views for new points (same views, same statuses)."""
    flat = points.reshape(-1, 3)
    extrinsics = np.stack([c.extrinsic_matrix[:3] for c in rig.cameras])
    projected, _ = reproject(rig, flat, extrinsics)
    errors = np.linalg.norm(projected - pixels.reshape(-1, len(rig), 2), axis=-1).reshape(before.view_errors_px.shape)
    seen = np.isfinite(before.view_errors_px)
    used = before.views_used
    count = used.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.where(used, errors, 0.0).sum(axis=-1) / count, np.nan)
    return TriangulationResult(
        points_world=points,
        reprojection_error_px=mean,
        view_errors_px=np.where(seen, errors, np.nan),
        views_used=used.copy(),
        n_views=before.n_views.copy(),
        status=before.status.copy(),
        threshold_px=before.threshold_px,
    )


def triangulate_sequence(
    rig: CameraRig, pixels: ArrayLike, weights: ArrayLike | None, config: TriangulationConfig | None = None
) -> TriangulationResult:
    """Triangulate points over time, ``(T, ..., V, 2)``, with temporal guidance (module docstring).

    Args:
        rig: cameras of the view axis.
        pixels: (T, ..., V, 2) distorted pixels; NaN where missing.
        weights: (T, ..., V) confidences, or None.
        config: method and settings.

    Raises:
        ShapeError: shapes that do not match the rig or each other, or no time axis.
    """
    config = config or TriangulationConfig()
    px = as_float64("pixels", pixels, (..., len(rig), 2))
    if px.ndim < 3:
        raise ShapeError("pixels", "shape (T, ..., V, 2) with a time axis", f"shape {px.shape}")
    first = triangulate(rig, px, weights, config)
    if config.method != "robust" or config.guide_max_gap == 0:
        return first
    from mocap.filtering.gaps import fill_gaps

    unsettled = (first.status == PointStatus.CONTESTED) | (first.status == PointStatus.NO_CONSENSUS)
    if not np.any(unsettled):
        return first
    prior = fill_gaps(first.points_world, config.guide_max_gap, "cubic").values
    candidates = unsettled & np.all(np.isfinite(prior), axis=-1)
    if not np.any(candidates):
        return first
    w = np.ones(px.shape[:-1]) if weights is None else as_float64("weights", weights, (..., len(rig)))
    guided = triangulate_guided(
        rig,
        px[candidates],
        w[candidates],
        prior[candidates],
        min_views=config.min_views,
        min_weight=config.min_score,
        threshold_px=first.threshold_px if np.isfinite(first.threshold_px) else config.threshold_px,
        refine=config.refine,
    )
    return merge(first, candidates, guided)


def merge(base: TriangulationResult, where: NDArray[np.bool_], update: TriangulationResult) -> TriangulationResult:
    """``base`` with the points selected by ``where`` (...,) replaced by ``update``'s valid points.

    ``update`` holds the selected points in order (its batch shape is ``(where.sum(),)``).
    """
    take = np.zeros(where.shape, dtype=bool)
    take[where] = update.valid
    fields = {}
    for name in ARRAY_FIELDS:
        array = np.array(getattr(base, name), copy=True)
        array[take] = getattr(update, name)[update.valid]
        fields[name] = array
    return TriangulationResult(**fields, threshold_px=base.threshold_px)
