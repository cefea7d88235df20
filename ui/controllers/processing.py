"""Processing the highlighted take: whether it can be processed, running it with progress and
cancel, and what happens after (the session is read again, a reviewed take is reloaded).

Both the check (:func:`ui.processing.processing_status` reads ``take.toml`` and ``derived/``) and
the run (:func:`ui.processing.process_take_iter`: the pipeline of ``mocap process``) are jobs;
the controller keeps the answers. The run computes in a child process (:mod:`ui.subprocess_jobs`):
a worker thread would hold the GIL the GUI thread needs, and on a busy two-core machine that
stalls the event loop for hundreds of milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore

from calibration.progress import Progress
from ui.jobs import JobHandle, JobRunner
from ui.processing import ProcessedTake, process_take_iter, processing_status
from ui.subprocess_jobs import in_subprocess

CHANNEL = "process"


class ProcessingController(QtCore.QObject):
    """Owns the processing state of the highlighted take (see the module docstring).

    Signals:
        available_changed(bool, str): whether Process can run, and why not.
        running_changed(bool): a run started or ended.
        progress_changed(str, float): stage text and fraction done (-1: unknown).
        processed(object): a :class:`~ui.processing.ProcessedTake` (the run finished).
        error(str): the check or the run failed (readable line).
    """

    available_changed = QtCore.Signal(bool, str)
    running_changed = QtCore.Signal(bool)
    progress_changed = QtCore.Signal(str, float)
    processed = QtCore.Signal(object)
    error = QtCore.Signal(str)

    def __init__(self, jobs: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._root: Path | None = None
        self._take = ""
        self._why = "highlight a take in the session browser"
        self._handle: JobHandle | None = None
        self.last_result: ProcessedTake | None = None
        #: People in the take; None: as many as the synthetic studio put in it, else one.
        self.people: int | None = None

    @property
    def take(self) -> tuple[Path | None, str]:
        return self._root, self._take

    @property
    def available(self) -> bool:
        return not self._why and self._handle is None

    @property
    def why_not(self) -> str:
        return self._why

    @property
    def running(self) -> bool:
        return self._handle is not None

    def set_take(self, root: Path | None, take: str) -> None:
        """Follow the highlighted take: check in a job whether it can be processed."""
        self._root, self._take = (Path(root) if root is not None else None), take
        if root is None or not take:
            self._set_why("highlight a take in the session browser")
            return
        self._set_why("checking the take…")
        self._jobs.submit(
            "process-check",
            f"checking {take}",
            lambda _c: processing_status(root, take),
            on_result=self._set_why,
            on_error=self._check_failed,
        )

    def process(self) -> None:
        """Process the highlighted take in a job (progress, cancel, results)."""
        if self._handle is not None or self._root is None or not self._take:
            return
        if self._why:
            self.error.emit(f"cannot process {self._take or 'a take'}: {self._why}")
            return
        root, take, people = self._root, self._take, self.people
        self._handle = self._jobs.submit(
            CHANNEL,
            f"processing {take}",
            lambda cancel: in_subprocess(process_take_iter, root, take, cancel=cancel, people=people),
            on_result=self._finished,
            on_error=self._failed,
            on_progress=self._progress,
            on_cancelled=self._cancelled,
        )
        self.running_changed.emit(True)
        self.available_changed.emit(False, f"processing {take}…")

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    # ------------------------------------------------------------------ answers

    def _set_why(self, why: str) -> None:
        self._why = why
        self.available_changed.emit(self.available, why if why else f"process {self._take}")

    def _check_failed(self, message: str) -> None:
        self._set_why(message)

    def _progress(self, report: Progress) -> None:
        text = report.stage + (f" — {report.message}" if report.message else "")
        fraction = report.fraction
        self.progress_changed.emit(text, -1.0 if fraction is None else fraction)

    def _ended(self) -> None:
        self._handle = None
        self.running_changed.emit(False)
        self._set_why(self._why)

    def _finished(self, result: ProcessedTake) -> None:
        self.last_result = result
        self._ended()
        self.processed.emit(result)

    def _failed(self, message: str) -> None:
        self._ended()
        self.error.emit(message)

    def _cancelled(self) -> None:
        self._ended()
        self.progress_changed.emit("cancelled", -1.0)
