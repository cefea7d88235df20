"""The CPU fast path of the weighted DLT (with optional Gauss-Newton refinement): one compiled pass per point.

:func:`triangulate_dlt_fast` returns what :func:`~mocap.triangulation.dlt.triangulate_dlt` returns
(with ``refine=True``: what :func:`~mocap.triangulation.triangulate.triangulate` with
``TriangulationConfig(method="dlt", refine=True)`` returns) — same algorithm, same statuses,
points equal to ~1e-9 m — but does everything for a point in one compiled loop: undistortion by
Newton's method, the weighted normal equations and their closed-form solution, the Gauss-Newton
steps on the weighted pixel reprojection error (:mod:`mocap.triangulation.refine`), reprojection
through the lens. The numpy path makes a pass over memory per array operation; this one touches
each observation a few times while it is in registers, which is what makes it tens of times faster
than aniposelib on the same batch (``mocap bench triangulation``).

Batches of at least :data:`PARALLEL_MIN_POINTS` points are spread over the CPU cores; smaller
ones (a live frame) run on the calling thread, because waking a thread team costs more than they
take (and, on a loaded machine, milliseconds).

Why numba: the numpy path spends most of its time undistorting (a Newton iteration is ~20 array
operations over every observation) and no library inverts OpenCV's lens model in bulk exactly
(OpenCV's ``undistortPoints`` stops after a fixed number of fixed-point steps). numba is already
installed with aniposelib, a dependency; the first call compiles the kernels (tens of seconds),
which numba then caches on disk.

This module imports numba; import it only where the fast path is wanted.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from calibration.arrays import as_float64, check_shape
from calibration.rig import CameraRig
from mocap.errors import ShapeError
from mocap.triangulation.camera_arrays import camera_arrays
from mocap.triangulation.dlt import check_arguments
from mocap.triangulation.kernels_numba import LENS5, LENS12, NO_LENS, run_parallel, run_serial
from mocap.triangulation.result import TriangulationResult

#: Batches with at least this many points run on all cores.
PARALLEL_MIN_POINTS = 4096


def triangulate_dlt_fast(
    rig: CameraRig,
    pixels: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    min_views: int = 2,
    min_weight: float = 0.0,
    refine: bool = False,
    iterations: int = 10,
    tolerance_m: float = 1e-10,
) -> TriangulationResult:
    """The weighted DLT (and optional refinement) in one compiled pass; see the module docstring.

    Args:
        rig: cameras in the order of the view axis.
        pixels: (..., V, 2) distorted pixels; NaN where a view did not see the point.
        weights: (..., V) confidences >= 0 (NaN counts as 0), or None for 1 everywhere.
        min_views: fewest views a point needs (>= 2).
        min_weight: views with a weight at or below this are ignored.
        refine: polish each point by Gauss-Newton on the weighted pixel reprojection error.
        iterations: most Gauss-Newton steps per point.
        tolerance_m: a point stops once its step is shorter than this.

    Returns:
        A :class:`TriangulationResult` with the leading shape of ``pixels``, as
        :func:`~mocap.triangulation.dlt.triangulate_dlt` returns it.

    Raises:
        ShapeError: if the view axis does not match the rig or weights do not match pixels.
        ValueError: if ``min_views < 2`` or ``min_weight < 0``.
    """
    check_arguments(min_views, min_weight)
    v = len(rig)
    px = as_float64("pixels", pixels, (..., v, 2))
    batch = px.shape[:-2]
    if weights is None:
        w = np.ones(batch + (v,))
    else:
        w = as_float64("weights", weights, (..., v))
        check_shape("weights", w, batch + (v,))
    flat_px = np.ascontiguousarray(px.reshape(-1, v, 2))
    flat_w = np.ascontiguousarray(np.nan_to_num(w.reshape(-1, v), nan=0.0, posinf=0.0, neginf=0.0))
    if np.any(flat_w < 0):
        raise ShapeError("weights", "confidences >= 0", f"min {flat_w.min():g}")
    intrinsics, distortion, extrinsics = camera_arrays(rig)
    lens = np.where(
        np.any(distortion[:, 5:] != 0, axis=1), LENS12, np.where(np.any(distortion != 0, axis=1), LENS5, NO_LENS)
    )
    n = flat_px.shape[0]
    points, view_errors = np.empty((n, 3)), np.empty((n, v))
    used, status = np.empty((n, v), dtype=np.bool_), np.empty(n, dtype=np.int8)
    mean_error, n_views = np.empty(n), np.empty(n, dtype=np.int64)
    settings = (int(min_views), float(min_weight), int(iterations) if refine else 0, float(tolerance_m))
    run = run_parallel if n >= PARALLEL_MIN_POINTS else run_serial
    outputs = (points, view_errors, used, status, mean_error, n_views)
    run(flat_px, flat_w, intrinsics, distortion, lens.astype(np.int64), extrinsics, settings, *outputs)
    return TriangulationResult(
        points_world=points.reshape(batch + (3,)),
        reprojection_error_px=mean_error.reshape(batch),
        view_errors_px=view_errors.reshape(batch + (v,)),
        views_used=used.reshape(batch + (v,)),
        n_views=n_views.reshape(batch),
        status=status.reshape(batch),
    )
