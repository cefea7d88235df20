"""The open session: create/open one, list its takes with their status, pick a take to review.

Reading ``session.toml`` and every ``take.toml`` (and recovering an abandoned recording, which
:meth:`mocap.session.store.Session.take` does) is file I/O, so it runs in a job; the controller
keeps the :class:`SessionSummary` the job returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore

from ui.jobs import JobRunner
from ui.takes import DETECTIONS_FILE, POSES_FILE, newest_file


@dataclass(frozen=True)
class TakeSummary:
    """One take as the browser lists it.

    Attributes:
        name: folder name.
        status: ``recording``, ``complete``, ``stopped``, ``interrupted`` or ``imported``.
        duration_s: recorded duration, seconds.
        frame_sets: frame sets recorded.
        cameras: camera names.
        results: what processing made so far (``"2D + 3D"``, ``"2D"``, ``""``).
        stop_reason: why it ended early, if it did.
    """

    name: str
    status: str
    duration_s: float
    frame_sets: int
    cameras: tuple[str, ...]
    results: str
    stop_reason: str = ""


@dataclass(frozen=True)
class SessionSummary:
    """What the browser shows of a session.

    Attributes:
        root: the session folder.
        name: its name.
        calibration: the active rig file, or None when the session has no calibration.
        takes: in natural order.
    """

    root: Path
    name: str
    calibration: Path | None
    takes: tuple[TakeSummary, ...]

    def take(self, name: str) -> TakeSummary | None:
        return next((t for t in self.takes if t.name == name), None)


def summarize_session(root: str | Path, *, create: bool = False, name: str | None = None) -> SessionSummary:
    """Open (or create) the session at ``root`` and summarise it.

    Raises:
        MissingFileError, FileFormatError: not a session, or an unreadable file (named).
        MocapError: ``create`` where a session exists already.
    """
    from mocap.session.store import Session

    session = Session.create(root, name) if create else Session.open(root)
    takes = []
    for take_name in session.take_names():
        take = session.take(take_name)
        has_2d = newest_file(take.derived_dir, DETECTIONS_FILE) is not None
        has_3d = newest_file(take.derived_dir, POSES_FILE) is not None
        results = " + ".join(label for label, ok in (("2D", has_2d), ("3D", has_3d)) if ok)
        info = take.info
        takes.append(
            TakeSummary(
                info.name, info.status, info.duration_s, info.frame_sets, take.camera_names, results, info.stop_reason
            )
        )
    return SessionSummary(Path(root), session.info.name, session.rig_path, tuple(takes))


class SessionController(QtCore.QObject):
    """Owns the open session (see the module docstring).

    Signals:
        session_changed(object): the new :class:`SessionSummary` (None: no session).
        take_selected(object, str): the user picked a take to review (session root, take name).
        current_changed(object, str): the highlighted take changed (session root or None, take name or "").
        error(str): opening or reading failed.
    """

    session_changed = QtCore.Signal(object)
    take_selected = QtCore.Signal(object, str)
    current_changed = QtCore.Signal(object, str)
    error = QtCore.Signal(str)

    def __init__(self, jobs: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._summary: SessionSummary | None = None
        self._current = ""

    @property
    def summary(self) -> SessionSummary | None:
        return self._summary

    @property
    def root(self) -> Path | None:
        return self._summary.root if self._summary is not None else None

    def open(self, root: str | Path) -> None:
        """Open the session at ``root`` (in a job)."""
        self._jobs.submit(
            "session",
            f"opening session {root}",
            lambda _c: summarize_session(root),
            on_result=self._set,
            on_error=self.error.emit,
        )

    def create(self, root: str | Path, name: str | None = None) -> None:
        """Create a session at ``root`` and open it (in a job)."""
        self._jobs.submit(
            "session",
            f"creating session {root}",
            lambda _c: summarize_session(root, create=True, name=name),
            on_result=self._set,
            on_error=self.error.emit,
        )

    def refresh(self) -> None:
        """Read the session again (after recording or processing)."""
        if self._summary is not None:
            self.open(self._summary.root)

    def set_summary(self, summary: SessionSummary | None) -> None:
        """Show a summary made elsewhere (the demo builder)."""
        self._set(summary)

    @property
    def current_take(self) -> str:
        """The highlighted take ("" when none)."""
        return self._current

    def set_current(self, name: str) -> None:
        """The user highlighted take ``name`` ("" for none); processing and recording follow it."""
        if self._summary is None or self._summary.take(name) is None:
            name = ""
        if name != self._current:
            self._current = name
            self.current_changed.emit(self.root, name)

    def select_take(self, name: str) -> None:
        """The user picked take ``name``: ask for it to be reviewed."""
        if self._summary is None or self._summary.take(name) is None:
            self.error.emit(f"no take named {name!r} in the open session")
            return
        self.take_selected.emit(self._summary.root, name)

    def _set(self, summary: SessionSummary | None) -> None:
        self._summary = summary
        self.session_changed.emit(summary)
        current = self._current
        self._current = ""
        if summary is not None and summary.take(current) is not None:
            self.set_current(current)
        else:
            self.current_changed.emit(self.root, "")
