"""Processing a take of a session with the pipeline the CLI runs (``mocap process``). No Qt.

:func:`process_take_iter` is a progress generator that
:class:`~ui.controllers.processing.ProcessingController` runs in a child process. It drives
:func:`mocap.pipeline.run.run_take_iter` through its ``detect``, ``triangulate`` and ``filter``
stages (exports come from the export dialog), so results land where the pipeline keeps them
(``derived/<stage>/`` with a manifest each; a cancelled stage leaves no manifest and runs again)
and cached stages are reused.

Detection: when the take already holds 2D keypoints made elsewhere (a ``keypoints2d.npz`` under
``derived/`` outside the pipeline's own ``derived/detect/``, e.g. the demo take's simulated
detector or a ``mocap detect`` run), the detect stage replays them with the ``precomputed``
backend; otherwise it runs the default detector (BlazePose) on the take's videos. People: as
many as the synthetic studio put in the take, else one, unless the caller says.

:func:`write_reconstruction` writes reconstruction results with a stage manifest for takes made
outside the pipeline (the demo session).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calibration.files import atomic_output, ensure_folder
from calibration.progress import CancelToken, Progress, check_cancelled
from ui.takes import DETECTIONS_FILE

#: Folder under ``derived/`` that processing writes.
STAGE = "reconstruct"


@dataclass(frozen=True)
class ProcessedTake:
    """What :func:`process_take_iter` made.

    Attributes:
        session_root: the session folder.
        take_name: the take.
        files: files written, in ``derived/reconstruct/``.
        people: people reconstructed.
        valid_fraction: share of (frame, person, joint) entries with a 3D point.
        median_error_px: median reprojection error of the triangulated joints (NaN when none).
        seconds: wall time.
    """

    session_root: Path
    take_name: str
    files: tuple[Path, ...] = field(repr=False)
    people: int
    valid_fraction: float
    median_error_px: float
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.take_name}: {self.people} people, {self.valid_fraction * 100:.0f} % of joints, "
            f"median reprojection error {self.median_error_px:.2f} px, {self.seconds:.1f} s"
        )


def external_keypoints(take: Any) -> Path | None:
    """The newest ``keypoints2d.npz`` under the take's ``derived/`` that the pipeline did not make."""
    own = take.derived_dir / "detect"
    found = (
        [p for p in take.derived_dir.rglob(DETECTIONS_FILE) if own not in p.parents]
        if take.derived_dir.is_dir()
        else []
    )
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def processing_status(session_root: str | Path, take_name: str) -> str:
    """Why the take cannot be processed, or ``""`` when it can (reads the session: run in a job).

    Raises:
        MissingFileError, FileFormatError: no such session or take.
    """
    from mocap.session.store import Session

    session = Session.open(session_root)
    take = session.take(take_name)
    if session.rig_path is None:
        return "the session has no calibration; run the calibration wizard first"
    if take.info.status == "recording":
        return "the take is still being recorded"
    if len(take.camera_names) < 2:
        return "the take has fewer than two cameras; 3D needs two or more"
    if external_keypoints(take) is None and not all(take.video_path(n).is_file() for n in take.camera_names):
        missing = [n for n in take.camera_names if not take.video_path(n).is_file()]
        return f"the take has no 2D keypoints and no video for {', '.join(missing)}"
    return ""


def take_people(take: Any) -> int:
    """People to look for: the synthetic studio's count when the take came from it, else 1."""
    value = take.info.synthetic.get("num_people") if take.info.synthetic else None
    return int(value) if isinstance(value, int) and value > 0 else 1


def process_take_iter(
    session_root: str | Path, take_name: str, cancel: CancelToken | None = None, *, people: int | None = None
) -> Generator[Progress, None, ProcessedTake]:
    """Run the pipeline's detect, triangulate and filter stages on a take (module docstring).

    Args:
        session_root: the session.
        take_name: the take.
        cancel: cancellation (between frame sets and stages).
        people: people in the take (default: :func:`take_people`).

    Raises:
        MissingFileError, FileFormatError: no such session or take, unreadable media.
        NoCalibrationError: the session has no rig.
        MismatchError: the take's cameras do not match the rig.
        CancelledError: ``cancel`` was set (the running stage leaves no manifest).
    """
    from mocap.pipeline.config import DetectStageConfig, PipelineConfig
    from mocap.pipeline.run import run_take_iter
    from mocap.session.store import Session

    started = time.perf_counter()
    yield Progress("reading the take", 0, None, take_name)
    take = Session.open(session_root).take(take_name)
    keypoints = external_keypoints(take)
    detect = (
        DetectStageConfig(backend="precomputed", options={"paths": [str(keypoints)]})
        if keypoints is not None
        else DetectStageConfig()
    )
    config = PipelineConfig(people=people or take_people(take), detect=detect)
    result = yield from run_take_iter(take, config, stages=("detect", "triangulate", "filter"), cancel=cancel)
    check_cancelled(cancel)
    poses = result.poses
    if poses is None:  # the filter stage always yields poses; guards the type
        raise RuntimeError("the pipeline returned no poses")
    valid = np.isfinite(poses.xyz[..., 0])
    errors = np.asarray(poses.reprojection_error)[valid]
    errors = errors[np.isfinite(errors)]
    return ProcessedTake(
        Path(session_root),
        take_name,
        tuple(f for run in result.stages for f in run.outputs),
        int(np.sum(np.asarray(poses.person_id) >= 0)),
        float(valid.mean()) if valid.size else 0.0,
        float(np.median(errors)) if errors.size else float("nan"),
        time.perf_counter() - started,
    )


def write_reconstruction(
    take_dir: Path,
    poses: Any,
    slot_person: np.ndarray,
    stage_config: dict[str, Any],
    started: float,
    extra_files: tuple[Path, ...] = (),
) -> list[Path]:
    """Write ``poses3d.npz``, ``slot_person.npy`` and then the manifest into ``derived/reconstruct/``.

    Args:
        take_dir: the take folder.
        poses: :class:`~mocap.poses3d.Poses3D`.
        slot_person: (T, V, S) person id per detection slot.
        stage_config: what made them (recorded in the manifest).
        started: ``time.perf_counter()`` at the start of the stage.
        extra_files: other files of the stage already written (listed in the manifest).

    Returns:
        the files written, manifest last.
    """
    derived = ensure_folder(take_dir / "derived" / STAGE)
    files = [*extra_files, poses.save(derived / "poses3d.npz")]
    with atomic_output(derived / "slot_person.npy") as handle:
        np.save(handle, np.asarray(slot_person, dtype=np.int64), allow_pickle=False)
    files.append(derived / "slot_person.npy")
    files.append(_write_manifest(take_dir, derived, files, stage_config, time.perf_counter() - started))
    return files


def _write_manifest(take_dir: Path, derived: Path, files: list[Path], config: dict[str, Any], seconds: float) -> Path:
    from mocap.session.provenance import (
        StageManifest,
        code_version,
        config_hash,
        now_iso,
        record_outputs,
        stage_key,
        write_manifest,
    )

    manifest = StageManifest(
        stage=STAGE,
        key=stage_key(STAGE, config, {}),
        config_hash=config_hash(config),
        code_version=code_version(),
        created=now_iso(),
        seconds=seconds,
        config=config,
        inputs={},
        outputs=record_outputs(take_dir, files),
    )
    return write_manifest(derived / "stage.toml", manifest)
