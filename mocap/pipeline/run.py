"""``run_take_iter``: a take's videos to 3D poses and exports, stage by stage, cached and resumable.

::

    videos --detect--> derived/detect/keypoints2d.npz        (rig camera names, S frame sets)
           --triangulate--> derived/triangulate/poses3d.npz  (association + robust triangulation)
           --filter--> derived/filter/poses3d.npz            (gap filling, smoothing)
           --export--> exports/<take>.bvh, .fbx, ...          (skeleton solved by the exporters)

Each stage's key chains its config with its inputs' keys (:mod:`mocap.pipeline.cache`), so the
plan — which stages run and which are reused — is known before any data is read. ``stages``
selects the stages to (re)compute; a stage outside the selection must already be cached with the
current key, else the run stops with a one-line error naming it. The whole run is one progress
generator (:class:`~calibration.progress.Progress`, cancelled with a
:class:`~calibration.progress.CancelToken`) shared by ``mocap process`` and the GUI.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from calibration.files import atomic_output
from calibration.progress import CancelToken, Progress, check_cancelled, drain
from calibration.rig import CameraRig
from mocap.detections2d import Detections2D
from mocap.errors import MocapError
from mocap.pipeline.cache import StageCache
from mocap.pipeline.config import PipelineConfig
from mocap.pipeline.plan import TakePlan, plan_take
from mocap.poses3d import Poses3D
from mocap.session.store import Take
from mocap.triangulation.observations import PersonObservations

log = logging.getLogger(__name__)

DETECTIONS_FILE = "keypoints2d.npz"
POSES_FILE = "poses3d.npz"
OFFSETS_FILE = "offsets.json"
#: (T, V, S) person id given to each detection slot (views in rig order), -1 when unused.
ASSIGNMENT_FILE = "slot_person.npy"
#: Partial detections of an unfinished detect stage (see mocap.pipeline.detect_take).
CHECKPOINT_FILE = "partial.npz"

T = TypeVar("T")


class SyncError(MocapError, ValueError):
    """Clock offsets between the videos cannot be estimated with the confidence asked for."""


@dataclass(frozen=True)
class StageRun:
    """What happened to one stage: ``cached`` (reused) or run, its key, seconds and output files."""

    stage: str
    key: str
    cached: bool
    seconds: float
    outputs: tuple[Path, ...]


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """The outcome of :func:`run_take_iter`.

    Attributes:
        take: the processed take.
        stages: one record per stage that was needed, in order.
        detections: (S, V, P, J) 2D keypoints, or None when no stage needed them.
        poses: (S, P, J, 3) final poses of the last pose stage reached, or None.
        exports: files written (or reused) by the export stage.
        seconds: wall time of the whole run.
    """

    take: Take
    stages: tuple[StageRun, ...]
    detections: Detections2D | None = field(default=None, repr=False)
    poses: Poses3D | None = field(default=None, repr=False)
    exports: tuple[Path, ...] = ()
    seconds: float = 0.0

    def stage(self, name: str) -> StageRun:
        return next(s for s in self.stages if s.stage == name)


def _export_paths(take: Take, formats: Sequence[str]) -> list[Path]:
    return [take.exports_dir / f"{take.name}.{fmt}" for fmt in formats]


def run_take_iter(
    take: Take,
    config: PipelineConfig | None = None,
    *,
    rig: CameraRig | None = None,
    stages: Sequence[str] | None = None,
    force: bool = False,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, PipelineResult]:
    """Process ``take`` (see the module docstring).

    Args:
        take: an open take (:meth:`mocap.session.store.Session.take`).
        config: stage settings (default: :class:`PipelineConfig` defaults).
        rig: calibrated cameras (default: the session's active rig).
        stages: stages to compute (None: all); the others must be cached.
        force: recompute the selected stages even when cached.
        cancel: checked between steps; a cancelled stage leaves no manifest.

    Raises:
        NoCalibrationError: no ``rig`` and the session has no calibration.
        MismatchError: the take's cameras do not match the rig, or too few cameras.
        StageNotCachedError: a stage outside ``stages`` is not cached for this config.
        MocapError subclasses: bad videos, settings the frame rate cannot honour, ...
        CancelledError: cancelled.
    """
    config = config or PipelineConfig()
    started = time.perf_counter()
    plan = plan_take(take, config, rig=rig, stages=stages, force=force)
    cache = StageCache(take)
    keys, inputs = plan.keys, plan.inputs

    detections: Detections2D | None = None
    poses: Poses3D | None = None
    records: list[StageRun] = []
    exports: list[Path] = []
    for stage in plan.needed:
        check_cancelled(cancel)
        manifest = plan.cached.get(stage)
        if stage not in plan.runs and manifest is not None:
            files = tuple(take.root / o.file for o in manifest.outputs)
            yield Progress(f"{stage} (cached)", 1, 1)
            if stage == "detect":
                detections = Detections2D.load(files[0])
            elif stage in ("triangulate", "filter"):
                poses = Poses3D.load(files[0])
            else:
                exports = list(files)
            records.append(StageRun(stage, keys[stage], True, 0.0, files))
            continue
        stage_started = time.perf_counter()
        folder = cache.prepare(stage)
        if stage == "detect":
            checkpoint = folder / CHECKPOINT_FILE
            detections = yield from _detect(take, config, plan, checkpoint, keys[stage], cancel)
            outputs = [detections.save(folder / DETECTIONS_FILE)]
            checkpoint.unlink(missing_ok=True)
        elif stage == "triangulate":
            timed = _present(detections, stage)
            outputs = []
            if config.sync != "none":
                yield Progress("sync", 0, 1)
                timed, offsets_file = _synchronise(take, timed, config, folder)
                outputs.append(offsets_file)
            poses, slot_person = yield from _triangulate(plan.rig, timed, config, cancel)
            with atomic_output(folder / ASSIGNMENT_FILE) as handle:
                np.save(handle, slot_person, allow_pickle=False)
            outputs[:0] = [poses.save(folder / POSES_FILE), folder / ASSIGNMENT_FILE]
        elif stage == "filter":
            poses = _filter(_present(poses, stage), config)
            yield Progress("filter", 1, 1)
            outputs = [poses.save(folder / POSES_FILE)]
        else:
            exports = yield from _export(take, _present(poses, stage), config, cancel)
            outputs = exports
        seconds = time.perf_counter() - stage_started
        cache.commit(stage, config.stage_config(stage), inputs[stage], outputs, seconds)
        records.append(StageRun(stage, keys[stage], False, seconds, tuple(outputs)))
        log.info("%s: stage %s done in %.1f s", take.root, stage, seconds)
    return PipelineResult(take, tuple(records), detections, poses, tuple(exports), time.perf_counter() - started)


def _present(value: T | None, stage: str) -> T:
    """The previous stage's result; the plan runs or loads every stage before ``stage``."""
    if value is None:
        raise RuntimeError(f"stage {stage}: its input was not produced (pipeline plan error)")
    return value


def _detect(
    take: Take,
    config: PipelineConfig,
    plan: TakePlan,
    checkpoint: Path,
    key: str,
    cancel: CancelToken | None,
) -> Generator[Progress, None, Detections2D]:
    from mocap.detection.registry import create_detector
    from mocap.pipeline.detect_take import detect_take_iter

    options = config.detect.detector_options(config.people)
    if config.detect.uses_rig(config.people):
        options["rig"] = plan.rig  # several people: a view that loses one looks where the others see them
    detector = create_detector(config.detect.backend, **options)
    return (
        yield from detect_take_iter(
            take, detector, plan.camera_names, checkpoint=checkpoint, checkpoint_key=key, cancel=cancel
        )
    )


def _synchronise(
    take: Take, detections: Detections2D, config: PipelineConfig, folder: Path
) -> tuple[Detections2D, Path]:
    """Detections re-timed by estimated clock offsets, and ``offsets.json`` recording them.

    Raises:
        SyncError: no audio in a video (``audio``), or an offset less certain than allowed.
    """
    import json

    from calibration.files import write_text_atomic
    from mocap.capture.offsets import apply_offsets, offsets_from_audio, offsets_from_keypoints

    if config.sync == "audio":
        videos = [take.video_path(c) for c in take.camera_names]
        estimate = offsets_from_audio(videos, take.info.fps, names=detections.camera_names)
        if estimate is None:
            raise SyncError(f"{take.root}: a video of the take has no sound; use sync = keypoints")
    else:
        estimate = offsets_from_keypoints(detections)
    doubtful = [
        f"{name} ({confidence:.2f})"
        for name, confidence in zip(estimate.camera_names, estimate.confidence, strict=True)
        if not confidence >= config.min_sync_confidence
    ]
    if doubtful:
        raise SyncError(
            f"{take.root}: clock offsets too uncertain for {', '.join(doubtful)} (below "
            f"{config.min_sync_confidence:g}); give the videos sound or trim them to start together"
        )
    record = {
        "method": estimate.method,
        "reference": estimate.reference,
        "cameras": list(estimate.camera_names),
        "offsets_frames": [round(float(o), 3) for o in estimate.offsets_frames],
        "whole_frames": [int(o) for o in estimate.whole_frames],
        "confidence": [round(float(c), 3) for c in estimate.confidence],
    }
    path = write_text_atomic(folder / OFFSETS_FILE, json.dumps(record, indent=2) + "\n")
    log.info("%s: clock offsets (frames) %s", take.root, record["whole_frames"])
    return apply_offsets(detections, estimate.whole_frames), path


def _single_person_slots(detections: Detections2D, observations: PersonObservations) -> NDArray[np.int64]:
    """(T, V, S) the person each detection slot became: the slot whose keypoints person 0 took, else -1."""
    taken = observations.xy[:, :, :1].astype(np.float32)  # (T, V, 1, J, 2), copied from one slot
    same = (detections.xy == taken) | (np.isnan(detections.xy) & np.isnan(taken))
    match = same.all(axis=(-1, -2)) & (detections.score.sum(axis=-1) > 0)  # (T, V, S)
    return np.where(match, int(observations.person_id[0]), -1).astype(np.int64)


def _triangulate(
    rig: CameraRig, detections: Detections2D, config: PipelineConfig, cancel: CancelToken | None
) -> Generator[Progress, None, tuple[Poses3D, NDArray[np.int64]]]:
    """Associate and triangulate; also returns the (T, V, S) person id of every detection slot (rig order)."""
    from mocap.triangulation.observations import align_views, associate_single_person
    from mocap.triangulation.pipeline import ReconstructConfig, reconstruct_iter

    aligned = align_views(rig, detections)
    assignment: list[NDArray[np.int64]] = []

    def associate(
        rig: CameraRig, detections: Detections2D, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, PersonObservations]:
        if config.people == 1:
            observations = yield from associate_single_person(rig, detections, cancel)
            assignment.append(_single_person_slots(detections, observations))
            return observations
        from mocap.association.associate import associate_people_iter

        association = yield from associate_people_iter(rig, detections, cancel=cancel)
        assignment.append(np.asarray(association.slot_person, dtype=np.int64))
        return association.observations

    reconstruct_config = ReconstructConfig(triangulation=config.triangulation, filtering=None)
    result = yield from reconstruct_iter(rig, aligned, reconstruct_config, associate=associate, cancel=cancel)
    return result.poses, assignment[0]


def _filter(poses: Poses3D, config: PipelineConfig) -> Poses3D:
    if config.filtering is None:
        return poses
    from mocap.filtering.pipeline import filter_poses

    return filter_poses(poses, config.filtering)


def _export(
    take: Take, poses: Poses3D, config: PipelineConfig, cancel: CancelToken | None
) -> Generator[Progress, None, list[Path]]:
    from calibration.files import ensure_folder
    from mocap.export import export_poses

    if not np.isfinite(poses.xyz).any():
        raise MocapError(f"{take.root}: no joint was reconstructed, nothing to export; check detections and rig")
    ensure_folder(take.exports_dir)
    written: list[Path] = []
    targets = _export_paths(take, config.export.formats)
    for done, (fmt, path) in enumerate(zip(config.export.formats, targets, strict=True)):
        check_cancelled(cancel)
        yield Progress("export", done, len(targets), path.name)
        written.extend(export_poses(poses, path, fmt, options=config.export.options))
    yield Progress("export", len(targets), len(targets))
    return written


def run_take(
    take: Take,
    config: PipelineConfig | None = None,
    *,
    rig: CameraRig | None = None,
    stages: Sequence[str] | None = None,
    force: bool = False,
) -> PipelineResult:
    """:func:`run_take_iter` without progress reports."""
    return drain(run_take_iter(take, config, rig=rig, stages=stages, force=force))


def final_poses_path(take: Take) -> Path | None:
    """The 3D poses of ``take``'s last finished pose stage, or None before processing.

    The filtered poses when the filter stage finished on the current triangulation, else the
    triangulated ones; only stages with a manifest count, so a stage cut short is never read.
    """
    cache = StageCache(take)
    triangulated, filtered = cache.manifest("triangulate"), cache.manifest("filter")
    if triangulated is None or not triangulated.outputs:
        return None
    chosen = triangulated
    if filtered is not None and filtered.outputs and filtered.inputs.get("triangulate") == triangulated.key:
        chosen = filtered
    path = take.root / chosen.outputs[0].file
    return path if path.is_file() else None
