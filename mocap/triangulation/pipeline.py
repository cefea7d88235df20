"""Reconstruction of a take: association -> triangulation -> filtering, as one progress generator.

::

    detections (T, V, S, J) --align to rig--> associator --> PersonObservations (T, V, P, J)
        --triangulate_sequence (per chunk of frames)--> TriangulationResult (T, P, J)
        --filter_poses--> Poses3D (T, P, J, 3)

The associator is a parameter (:class:`~mocap.triangulation.observations.Associator`): the
single-person rule by default; multi-person association plugs in unchanged. Triangulation runs in
chunks of frames so the CLI and the GUI can show progress and cancel between chunks; chunks
overlap by ``guide_max_gap`` frames so temporal guidance sees the same neighbours as in one pass.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from calibration.progress import CancelToken, Progress, check_cancelled, drain
from calibration.rig import CameraRig
from mocap.detections2d import Detections2D
from mocap.filtering.pipeline import FilterConfig, check_filter_settings, filter_poses
from mocap.poses3d import Poses3D
from mocap.triangulation.observations import Associator, PersonObservations, align_views, associate_single_person
from mocap.triangulation.result import TriangulationResult
from mocap.triangulation.triangulate import TriangulationConfig, triangulate_sequence

#: Frames per triangulation chunk (one progress step).
CHUNK_FRAMES = 256


class ReconstructConfig(BaseModel):
    """Settings of :func:`reconstruct`: triangulation then filtering (None: no filtering)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    triangulation: TriangulationConfig = Field(default_factory=TriangulationConfig)
    filtering: FilterConfig | None = Field(default_factory=FilterConfig)


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """What :func:`reconstruct` made.

    Attributes:
        poses: (T, P, J, 3) the final (filtered) poses.
        raw: (T, P, J) the triangulation before filtering, with per-view errors and statuses.
        observations: the per-person 2D observations that were triangulated.
        seconds: wall time of the whole reconstruction.
    """

    poses: Poses3D
    raw: TriangulationResult = field(repr=False)
    observations: PersonObservations = field(repr=False)
    seconds: float = 0.0


def _triangulate_chunks(
    rig: CameraRig, observations: PersonObservations, config: TriangulationConfig, cancel: CancelToken | None
) -> Generator[Progress, None, TriangulationResult]:
    pixels, weights = observations.pixels_views_last()  # (T, P, J, V, 2), (T, P, J, V)
    total = pixels.shape[0]
    margin = config.guide_max_gap if config.method == "robust" else 0
    parts: list[TriangulationResult] = []
    yield Progress("triangulating", 0, total)
    for start in range(0, total, CHUNK_FRAMES):
        check_cancelled(cancel)
        stop = min(total, start + CHUNK_FRAMES)
        lo, hi = max(0, start - margin), min(total, stop + margin)
        result = triangulate_sequence(rig, pixels[lo:hi], weights[lo:hi], config)
        keep = slice(start - lo, start - lo + (stop - start))
        parts.append(result.select(keep))
        yield Progress("triangulating", stop, total)
    return parts[0] if len(parts) == 1 else TriangulationResult.concatenate(parts)


def reconstruct_iter(
    rig: CameraRig,
    detections: Detections2D,
    config: ReconstructConfig | None = None,
    *,
    associate: Associator = associate_single_person,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, Reconstruction]:
    """Reconstruct the people of a take, yielding progress (see the module docstring).

    Args:
        rig: calibrated cameras; detections are matched to them by camera name.
        detections: (T, V, S, J) 2D keypoints.
        config: triangulation and filtering settings.
        associate: turns detections into per-person observations.
        cancel: checked between steps.

    Raises:
        MismatchError: the detections lack a camera of the rig.
        CancelledError: ``cancel`` was set.
        FilterSettingsError: a filter setting the frame rate cannot honour.
    """
    config = config or ReconstructConfig()
    start = time.perf_counter()
    aligned = align_views(rig, detections)
    if config.filtering is not None:
        check_filter_settings(config.filtering, detections.fps)
    observations = yield from associate(rig, aligned, cancel)
    raw = yield from _triangulate_chunks(rig, observations, config.triangulation, cancel)
    poses = Poses3D(
        raw.points_world.astype(np.float32),
        observations.person_id,
        raw.reprojection_error_px,
        raw.n_views,
        observations.layout,
        observations.fps,
    )
    if config.filtering is not None:
        check_cancelled(cancel)
        yield Progress("filtering", 0, 1)
        poses = filter_poses(poses, config.filtering)
        yield Progress("filtering", 1, 1)
    return Reconstruction(poses, raw, observations, time.perf_counter() - start)


def reconstruct(
    rig: CameraRig,
    detections: Detections2D,
    config: ReconstructConfig | None = None,
    *,
    associate: Associator = associate_single_person,
) -> Reconstruction:
    """:func:`reconstruct_iter` without progress reports."""
    return drain(reconstruct_iter(rig, detections, config, associate=associate))
