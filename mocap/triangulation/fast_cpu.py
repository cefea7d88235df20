"""The CPU fast paths of triangulation (weighted DLT, robust pair-MSAC, Gauss-Newton), compiled with numba.

:func:`triangulate_dlt_fast` returns what :func:`~mocap.triangulation.dlt.triangulate_dlt` returns
(with ``refine=True``: what :func:`~mocap.triangulation.triangulate.triangulate` with
``TriangulationConfig(method="dlt", refine=True)`` returns) — same algorithm, same statuses,
points equal to ~1e-9 m — through the vectorised block kernels of
:mod:`mocap.triangulation.kernels_block_numba` (each step one SIMD loop over a block of points:
undistortion by Newton's method with an exact fallback, the weighted normal equations and their
closed-form solution, reprojection through the lens; the Gauss-Newton steps on the weighted pixel
reprojection error, :mod:`mocap.triangulation.refine`, per point). :func:`triangulate_robust_fast`
does the same for :func:`~mocap.triangulation.robust.triangulate_robust` (same arguments; the
adaptive threshold is estimated as :func:`~mocap.triangulation.robust.estimate_threshold` does, on
the same sample, with this kernel doing the probe search), one point per call
(:mod:`mocap.triangulation.kernels_robust_numba`). The numpy path makes a pass over memory per array
operation; these touch each observation a few times while it is in cache. Measured with ``mocap
bench triangulation`` (one core of the 2-core machine, ~100 000 observed joints): the plain DLT
makes ~9-14.6 M points per CPU-second with 4 cameras (~4.6-7.9 M with 8), 46-60x aniposelib's
``triangulate`` with 4 cameras and 34-51x with 8, depending on the CPU (see BENCHMARKS.md); the
robust mode ~0.8-1.2 M with 4 cameras (~0.29 M with 8), ~7x the numpy robust mode. Each observed
view costs 13-22 ns, most of it arithmetic (two Newton steps of undistortion, 4-6 ns, bound by
floating-point throughput), the strided reads of the pixels ~3 ns; aniposelib's cost per point
hardly grows with the views, hence the lower ratio at 8.

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

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.rig import CameraRig
from mocap.triangulation.camera_arrays import camera_arrays
from mocap.triangulation.dlt import check_arguments, clean_weights, flat_inputs
from mocap.triangulation.kernels_block_numba import run_blocks_parallel, run_blocks_serial
from mocap.triangulation.kernels_numba import LENS5, LENS12, NO_LENS
from mocap.triangulation.kernels_robust_numba import MAX_VIEWS, run_robust_parallel, run_robust_serial
from mocap.triangulation.result import TriangulationResult

_CameraArrays = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]

#: Batches with at least this many points run on all cores.
PARALLEL_MIN_POINTS = 4096


@dataclass(frozen=True, eq=False)
class _Prepared:
    """Flattened, checked inputs and the rig as arrays."""

    batch: tuple[int, ...]
    pixels: NDArray[np.float64]  # (N, V, 2) contiguous
    weights: NDArray[np.float64]  # (N, V) contiguous; NaN/inf -> 0 and checked unless prepared with clean=False
    cameras: _CameraArrays

    def outputs(self) -> tuple[NDArray[Any], ...]:
        """Empty (points, view errors, used, status, mean error, views) for the kernels to fill.

        View errors and used views are view-major, (V, N): each camera's column of a block of points
        is then one contiguous, vectorised store (point-major they were strided stores, 4-7 % of
        the plain DLT's time); the result shows them as (..., V) views of these arrays.
        """
        n, v = self.weights.shape
        return (
            np.empty((n, 3)),
            np.empty((v, n)),
            np.empty((v, n), dtype=np.bool_),
            np.empty(n, dtype=np.int8),
            np.empty(n),
            np.empty(n, dtype=np.int64),
        )

    @property
    def _view_last(self) -> tuple[int, ...]:
        """Axes that move the view axis of a (V, *batch) array to the end."""
        return tuple(range(1, len(self.batch) + 1)) + (0,)

    def result(self, outputs: tuple[NDArray[Any], ...], threshold_px: float = float("nan")) -> TriangulationResult:
        points, view_errors, used, status, mean_error, n_views = outputs
        v, batch = self.weights.shape[1], self.batch
        return TriangulationResult(
            points_world=points.reshape(batch + (3,)),
            reprojection_error_px=mean_error.reshape(batch),
            view_errors_px=view_errors.reshape((v,) + batch).transpose(self._view_last),
            views_used=used.reshape((v,) + batch).transpose(self._view_last),
            n_views=n_views.reshape(batch),
            status=status.reshape(batch),
            threshold_px=threshold_px,
        )


#: The kernels' arrays of each rig object in use, by ``id`` (rigs compare by value and are not
#: hashable; rigs and cameras are immutable); an entry goes with its rig.
_RIG_ARRAYS: dict[int, tuple[weakref.ref[CameraRig], _CameraArrays]] = {}


def _forget(key: int, ref: weakref.ref[CameraRig]) -> None:
    if key in _RIG_ARRAYS and _RIG_ARRAYS[key][0] is ref:
        del _RIG_ARRAYS[key]


def _rig_arrays(rig: CameraRig) -> _CameraArrays:
    """Intrinsics, distortion, lens model and extrinsics of ``rig`` for the kernels, made once per rig
    object (building them from the cameras costs ~40 us, more than the kernels spend on a live frame)."""
    key = id(rig)
    entry = _RIG_ARRAYS.get(key)
    if entry is not None and entry[0]() is rig:
        return entry[1]
    intrinsics, distortion, extrinsics = camera_arrays(rig)
    has_lens = np.any(distortion != 0, axis=1)
    lens = np.where(np.any(distortion[:, 5:] != 0, axis=1), LENS12, np.where(has_lens, LENS5, NO_LENS))
    arrays = (intrinsics, distortion, lens.astype(np.int64), extrinsics)
    _RIG_ARRAYS[key] = (weakref.ref(rig, lambda ref: _forget(key, ref)), arrays)
    return arrays


def _prepare(
    rig: CameraRig,
    pixels: ArrayLike,
    weights: ArrayLike | None,
    min_views: int,
    min_weight: float,
    clean: bool = True,
) -> _Prepared:
    """Checked inputs; with ``clean=False`` the weights go on as given (see :func:`flat_inputs`)."""
    check_arguments(min_views, min_weight)
    batch, flat_px, flat_w = flat_inputs(len(rig), pixels, weights, clean)
    return _Prepared(batch, np.ascontiguousarray(flat_px), np.ascontiguousarray(flat_w), _rig_arrays(rig))


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
    # the kernel takes the weights as given (NaN and infinite ones: unusable views) and marks points
    # with a negative one; this saves two passes over the weights, ~5 % of a call on cold caches
    prepared = _prepare(rig, pixels, weights, min_views, min_weight, clean=False)
    settings = (int(min_views), float(min_weight), int(iterations) if refine else 0, float(tolerance_m))
    outputs = prepared.outputs()
    run = run_blocks_parallel if len(prepared.weights) >= PARALLEL_MIN_POINTS else run_blocks_serial
    if run(prepared.pixels, prepared.weights, *prepared.cameras, settings, *outputs) > 0:  # negative weights
        clean_weights(prepared.weights)  # raises the error that names the smallest weight
    return prepared.result(outputs)


def triangulate_robust_fast(
    rig: CameraRig,
    pixels: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    min_views: int = 2,
    min_weight: float = 0.0,
    threshold_px: float = 20.0,
    adaptive: bool = True,
    refine: bool = False,
    accept_contested: bool = False,
    refit_rounds: int = 3,
    iterations: int = 10,
    tolerance_m: float = 1e-10,
) -> TriangulationResult:
    """:func:`~mocap.triangulation.robust.triangulate_robust` in one compiled pass (same arguments, same result).

    ``iterations`` and ``tolerance_m`` are those of the refinement (as in :func:`triangulate_dlt_fast`).

    Raises:
        ShapeError: if the view axis does not match the rig or weights do not match pixels.
        ValueError: for ``min_views < 2``, ``min_weight < 0``, a threshold that is not positive, or
            a rig of more than 62 cameras.
    """
    if not threshold_px > 0:
        raise ValueError(f"threshold_px must be a positive number of pixels, got {threshold_px}")
    if len(rig) > MAX_VIEWS:
        raise ValueError(f"the compiled robust mode handles up to {MAX_VIEWS} cameras, the rig has {len(rig)}")
    prepared = _prepare(rig, pixels, weights, min_views, min_weight)
    n = len(prepared.weights)
    if adaptive and n > 0:
        threshold_px = _estimate_threshold(prepared, threshold_px, float(min_weight), int(refit_rounds))
    settings = (
        int(min_views),
        float(min_weight),
        float(threshold_px),
        bool(accept_contested),
        int(refit_rounds),
        int(iterations) if refine else 0,
        float(tolerance_m),
    )
    outputs = prepared.outputs()
    normalized = np.empty(prepared.pixels.shape)
    run = run_robust_parallel if n >= PARALLEL_MIN_POINTS else run_robust_serial
    run(prepared.pixels, prepared.weights, *prepared.cameras, settings, normalized, *outputs)
    return prepared.result(outputs, float(threshold_px))


def _estimate_threshold(prepared: _Prepared, floor_px: float, min_weight: float, refit_rounds: int) -> float:
    """:func:`~mocap.triangulation.robust.estimate_threshold`, the probe search compiled (same sample, same rule)."""
    from mocap.triangulation.robust import ADAPTIVE_FACTOR, ADAPTIVE_PROBE, ADAPTIVE_SAMPLE, ideal_errors

    n = len(prepared.weights)
    rows = np.arange(0, n, max(1, n // ADAPTIVE_SAMPLE))[:ADAPTIVE_SAMPLE]
    pixels, weights = np.ascontiguousarray(prepared.pixels[rows]), np.ascontiguousarray(prepared.weights[rows])
    probe = ADAPTIVE_PROBE * floor_px
    outputs = (points, _, used, status, _, _) = _Prepared((len(rows),), pixels, weights, prepared.cameras).outputs()
    normalized = np.empty(pixels.shape)
    run_robust_serial(
        pixels, weights, *prepared.cameras, (2, min_weight, probe, True, refit_rounds, 0, 0.0), normalized, *outputs
    )
    used = used.T  # (N, V) view of the kernels' view-major array
    strong = (used.sum(axis=1) >= 3) & (status == 0)
    if strong.sum() < 20:
        return floor_px
    intrinsics, _, _, extrinsics = prepared.cameras
    errors = ideal_errors(points[strong], normalized[strong], extrinsics, intrinsics[:, :2])[used[strong]]
    return float(np.clip(ADAPTIVE_FACTOR * np.median(errors), floor_px, probe))
