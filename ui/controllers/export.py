"""Export of the reviewed take: formats, person, frame range, units and up axis, written by the
exporters of :mod:`mocap.export` in a job; the output folder is opened afterwards.

The controller checks the request (range inside the take, a person the take holds, a file name)
and reports problems as one line; the writers check the rest and write atomically, so a failed
export leaves no file behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore, QtGui

from mocap.errors import ExportError
from mocap.poses3d import Poses3D
from ui.controllers.review import ReviewController
from ui.jobs import JobRunner
from ui.takes import TakeData


@dataclass(frozen=True)
class FormatInfo:
    """An export format as the dialog offers it."""

    name: str
    suffix: str
    description: str
    default_units: str
    default_up: str


@dataclass(frozen=True)
class ExportRequest:
    """What to export.

    Attributes:
        format: format name (``bvh``, ``fbx``, ``trc``, ``c3d``, ``csv``, ``npz``).
        path: output file (several people: per-person files beside it, as the format does).
        person_ids: people to export; empty = every person.
        first_frame: first frame to write (0-based, inclusive).
        last_frame: last frame to write (inclusive).
        units: ``m``, ``cm``, ``mm`` or None for the format's default.
        up: ``z``, ``y`` or None for the format's default.
    """

    format: str
    path: Path
    person_ids: tuple[int, ...] = ()
    first_frame: int = 0
    last_frame: int = -1
    units: str | None = None
    up: str | None = None


def available_formats() -> tuple[FormatInfo, ...]:
    """Every registered export format."""
    from mocap.export import exporter_names, get_exporter

    out = []
    for name in exporter_names():
        exporter = get_exporter(name)
        out.append(FormatInfo(name, exporter.suffix, exporter.description, exporter.default_units, exporter.default_up))
    return tuple(out)


def frame_range(poses: Poses3D, first: int, last: int) -> Poses3D:
    """Frames ``first..last`` (inclusive) of ``poses``.

    Raises:
        ExportError: the range is empty or outside the take.
    """
    if not 0 <= first <= last < poses.num_frames:
        raise ExportError(f"frame range {first}-{last} is outside the take (frames 0-{poses.num_frames - 1}) or empty")
    window = slice(first, last + 1)
    return Poses3D(
        poses.xyz[window],
        poses.person_id,
        poses.reprojection_error[window],
        poses.n_views[window],
        poses.layout,
        poses.fps,
    )


def run_export(poses: Poses3D, request: ExportRequest) -> list[Path]:
    """Write ``request`` (see :class:`ExportRequest`); returns the files written.

    Raises:
        ExportError, OutputPathError, SolveError, ...: bad input; nothing is written then.
    """
    from pydantic import ValidationError

    from mocap.export import ExportOptions, export_poses

    last = poses.num_frames - 1 if request.last_frame < 0 else request.last_frame
    window = frame_range(poses, request.first_frame, last)
    try:
        options = ExportOptions(units=request.units, up=request.up)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ExportError(f"bad export option: {exc.errors()[0]['msg']}") from None
    return export_poses(
        window, request.path, request.format, person_ids=list(request.person_ids) or None, options=options
    )


def open_folder(folder: Path) -> None:
    """Show ``folder`` in the desktop's file manager."""
    QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(folder)))


class ExportController(QtCore.QObject):
    """Owns the export of the reviewed take (see the module docstring).

    Args:
        review: the take to export comes from here.
        jobs: runs the writers.
        opener: shows a folder (default: the desktop's file manager; tests pass a recorder).

    Signals:
        available_changed(bool, str): whether there is something to export, and why not.
        busy_changed(bool): an export started or ended.
        exported(list): the files written.
        error(str): the export failed (nothing was written).
    """

    available_changed = QtCore.Signal(bool, str)
    busy_changed = QtCore.Signal(bool)
    exported = QtCore.Signal(list)
    error = QtCore.Signal(str)

    def __init__(
        self,
        review: ReviewController,
        jobs: JobRunner,
        opener: Callable[[Path], None] = open_folder,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._opener = opener
        self._take: TakeData | None = None
        self._formats: tuple[FormatInfo, ...] | None = None
        self.open_folder_after = True
        review.take_changed.connect(self._set_take)

    @property
    def take(self) -> TakeData | None:
        return self._take

    @property
    def available(self) -> tuple[bool, str]:
        """(True, "") when a take with 3D poses is loaded, else (False, why)."""
        if self._take is None:
            return False, "load a take first (session browser)"
        if self._take.poses is None or not self._take.person_ids:
            return False, f"{self._take.title} has no 3D poses; process it first"
        return True, ""

    def formats(self) -> tuple[FormatInfo, ...]:
        """The formats to offer (read from the exporter registry once)."""
        if self._formats is None:
            self._formats = available_formats()
        return self._formats

    def default_path(self, format_name: str) -> Path:
        """``<take>/exports/<take>.<suffix>``, or the home folder when the take has no folder."""
        suffix = next((f.suffix for f in self.formats() if f.name == format_name), f".{format_name}")
        take = self._take
        stem = (take.folder.name if take is not None and take.folder is not None else "export") or "export"
        folder = take.folder / "exports" if take is not None and take.folder is not None else Path.home()
        return folder / f"{stem}{suffix}"

    def export(self, request: ExportRequest) -> None:
        """Check ``request`` and write it in a job; ``exported`` or ``error`` answers."""
        ok, why = self.available
        take = self._take
        if not ok or take is None or take.poses is None:
            self.error.emit(why)
            return
        if request.format not in {f.name for f in self.formats()}:
            self.error.emit(f"unknown export format {request.format!r}")
            return
        poses = take.poses

        def work(_cancel: object) -> list[Path]:
            from calibration.files import ensure_folder

            ensure_folder(request.path.parent)
            return run_export(poses, request)

        self.busy_changed.emit(True)
        self._jobs.submit(
            "export", f"exporting {request.format.upper()}", work, on_result=self._done, on_error=self._failed
        )

    def _done(self, paths: list[Path]) -> None:
        self.busy_changed.emit(False)
        self.exported.emit(paths)
        if self.open_folder_after and paths:
            self._opener(paths[0].parent)

    def _failed(self, message: str) -> None:
        self.busy_changed.emit(False)
        self.error.emit(message)

    def _set_take(self, take: TakeData | None) -> None:
        self._take = take
        ok, why = self.available
        self.available_changed.emit(ok, why)
