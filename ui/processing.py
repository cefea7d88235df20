"""Processing a take of a session: its 2D keypoints and the session's rig in, 3D people out. No Qt.

:func:`process_take_iter` is a progress generator run in a job by
:class:`~ui.controllers.processing.ProcessingController`. It reads the take's newest
``keypoints2d.npz`` (under ``derived/``), reconstructs every person with multi-person
association, triangulation and filtering (:func:`mocap.association.associate.associate_take_iter`,
which drives :func:`mocap.triangulation.pipeline.reconstruct_iter`) and writes
``derived/reconstruct/poses3d.npz``, ``slot_person.npy`` and the stage manifest ``stage.toml``
(written last: a cancelled or failed run leaves no manifest and no half-written file, as every
file goes through :func:`calibration.files.atomic_output`).

Departure from the design, on purpose: 2D detection of a take's videos belongs to
``mocap.pipeline.run_take`` (another issue). Until it lands, a take without 2D keypoints cannot
be processed here; :func:`processing_status` says so and the GUI's Process button is disabled
with that reason as its tooltip (``mocap detect`` on the take's videos fills the gap).
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
from ui.takes import DETECTIONS_FILE, newest_file

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
    if newest_file(take.derived_dir, DETECTIONS_FILE) is None:
        return (
            "the take has no 2D keypoints yet; run `mocap detect` on its videos "
            "(detection in the GUI comes with mocap.pipeline)"
        )
    return ""


def process_take_iter(
    session_root: str | Path, take_name: str, cancel: CancelToken | None = None
) -> Generator[Progress, None, ProcessedTake]:
    """Reconstruct the people of a take and write the results (see the module docstring).

    Raises:
        MissingFileError: no such session or take, or no 2D keypoints yet.
        NoCalibrationError: the session has no rig.
        MismatchError: the keypoints lack a camera of the rig.
        CancelledError: ``cancel`` was set (nothing new is left behind).
    """
    from mocap.association.associate import associate_take_iter
    from mocap.detections2d import Detections2D
    from mocap.errors import MissingFileError
    from mocap.session.store import Session

    started = time.perf_counter()
    yield Progress("reading the take", 0, None, take_name)
    session = Session.open(session_root)
    take = session.take(take_name)
    rig = session.load_rig()
    rig = rig.subset([n for n in rig.names if n in take.camera_names] or list(rig.names))
    keypoints = newest_file(take.derived_dir, DETECTIONS_FILE)
    if keypoints is None:
        raise MissingFileError(f"{take.root}: the take has no 2D keypoints yet; run `mocap detect` on its videos")
    detections = Detections2D.load(keypoints)
    result = yield from associate_take_iter(rig, detections, cancel=cancel)
    check_cancelled(cancel)
    yield Progress("writing the results", 0, 1)
    stage_config = {
        "detections": str(keypoints.relative_to(take.root)),
        "association": "default",
        "reconstruction": "default",
    }
    files = write_reconstruction(take.root, result.poses, result.slot_person, stage_config, started)
    yield Progress("writing the results", 1, 1)
    poses = result.poses
    valid = np.isfinite(poses.xyz[..., 0])
    errors = np.asarray(poses.reprojection_error)[valid]
    errors = errors[np.isfinite(errors)]
    return ProcessedTake(
        Path(session_root),
        take_name,
        tuple(files),
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
