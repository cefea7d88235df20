"""The job runner: every slow operation of the GUI runs on a thread pool and answers by signal.

A controller submits a :class:`JobRequest` (immutable: an id, a *channel*, a label and the work)
and gets a :class:`JobHandle` back (its id and a cancel token). The work is a callable taking a
:class:`~calibration.progress.CancelToken`; it may return a value, or a progress generator (the
shared protocol of :mod:`calibration.progress`) whose return value is the result. A worker of the
pool runs it and reports back through queued signals, so every callback runs on the GUI thread:

* ``progress``: each :class:`~calibration.progress.Progress` (throttled to ~20 per second, the
  last one of a stage always delivered);
* ``finished``: the result;
* ``failed``: a one-line readable message (``MocapError`` messages as they are; any other
  exception as ``"<label>: <Type>: <message>"``, with the traceback logged);
* ``cancelled``: when the token was set and the work raised
  :class:`~calibration.errors.CancelledError` (or ended after the cancel).

**Stale responses are dropped**: a newer request on the same channel (say ``"frame-images"``)
makes older ones stale; their answers never reach the callbacks (napari's slicer does the same).
Requests on different channels never affect each other.

The GUI thread never runs the work itself. :meth:`JobRunner.wait` exists for tests and shutdown.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from PySide6 import QtCore

from calibration.errors import CancelledError, MocapError
from calibration.progress import CancelToken, Progress

log = logging.getLogger(__name__)

Work = Callable[[CancelToken], Any]
ResultCallback = Callable[[Any], None]
ErrorCallback = Callable[[str], None]
ProgressCallback = Callable[[Progress], None]

#: Shortest time between two progress signals of one job (the last of a stage always goes out).
PROGRESS_INTERVAL_S = 0.05
_IDS = itertools.count(1)


@dataclass(frozen=True, eq=False)
class JobRequest:
    """One unit of slow work.

    Attributes:
        id: unique, increasing with submission order.
        channel: requests on one channel replace each other (older answers are dropped).
        label: what the job does, for messages (``"processing take_001"``).
        work: the callable, run on a worker thread with the job's cancel token.
        cancel: the job's cancel token.
    """

    id: int
    channel: str
    label: str
    work: Work = field(repr=False)
    cancel: CancelToken = field(repr=False)


@dataclass(frozen=True)
class JobHandle:
    """What :meth:`JobRunner.submit` returns: the request's id and a way to cancel it."""

    id: int
    channel: str
    cancel_token: CancelToken

    def cancel(self) -> None:
        self.cancel_token.cancel()


@dataclass
class _Callbacks:
    on_result: ResultCallback | None
    on_error: ErrorCallback | None
    on_progress: ProgressCallback | None
    on_cancelled: Callable[[], None] | None


def describe_error(label: str, exc: BaseException) -> str:
    """One readable line for ``exc`` raised by the job ``label``."""
    if isinstance(exc, MocapError):
        return str(exc) or type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{label}: {type(exc).__name__}" + (f": {text}" if text else "")


class _Signals(QtCore.QObject):
    """Signals a worker emits; they live on the GUI thread, so delivery is queued there."""

    progress = QtCore.Signal(int, object)
    finished = QtCore.Signal(int, object)
    failed = QtCore.Signal(int, str)
    cancelled = QtCore.Signal(int)


class _Worker(QtCore.QRunnable):
    def __init__(self, request: JobRequest, signals: _Signals) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._request = request
        self._signals = signals

    def run(self) -> None:
        request = self._request
        try:
            outcome = request.work(request.cancel)
            if isinstance(outcome, Generator):
                outcome = self._drive(outcome)
        except CancelledError:
            self._signals.cancelled.emit(request.id)
            return
        except Exception as exc:  # reported to the GUI as a readable line
            if not isinstance(exc, MocapError):
                log.error("job %r failed:\n%s", request.label, traceback.format_exc())
            self._signals.failed.emit(request.id, describe_error(request.label, exc))
            return
        if request.cancel.cancelled:
            self._signals.cancelled.emit(request.id)
        else:
            self._signals.finished.emit(request.id, outcome)

    def _drive(self, operation: Generator[Progress, None, Any]) -> Any:
        last_sent = 0.0
        pending: Progress | None = None
        while True:
            try:
                report = next(operation)
            except StopIteration as stop:
                if pending is not None:
                    self._signals.progress.emit(self._request.id, pending)
                return stop.value
            now = time.monotonic()
            finished_stage = report.total is not None and report.done >= report.total
            if now - last_sent >= PROGRESS_INTERVAL_S or finished_stage:
                self._signals.progress.emit(self._request.id, report)
                last_sent, pending = now, None
            else:
                pending = report


class JobRunner(QtCore.QObject):
    """Runs :class:`JobRequest` work on a ``QThreadPool`` (see the module docstring).

    Signals (GUI thread; stale requests already filtered out):
        started(JobRequest), progress(JobRequest, Progress), finished(JobRequest, object),
        failed(JobRequest, str), cancelled(JobRequest), busy_changed(bool).
    """

    started = QtCore.Signal(object)
    progress = QtCore.Signal(object, object)
    finished = QtCore.Signal(object, object)
    failed = QtCore.Signal(object, str)
    cancelled = QtCore.Signal(object)
    busy_changed = QtCore.Signal(bool)

    def __init__(self, max_threads: int | None = None, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(max(2, max_threads or QtCore.QThread.idealThreadCount()))
        self._signals = _Signals(self)
        self._signals.progress.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.cancelled.connect(self._on_cancelled)
        self._requests: dict[int, JobRequest] = {}
        self._callbacks: dict[int, _Callbacks] = {}
        self._latest: dict[str, int] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ submitting

    def submit(
        self,
        channel: str,
        label: str,
        work: Work,
        *,
        on_result: ResultCallback | None = None,
        on_error: ErrorCallback | None = None,
        on_progress: ProgressCallback | None = None,
        on_cancelled: Callable[[], None] | None = None,
        cancel_previous: bool = False,
    ) -> JobHandle:
        """Queue ``work`` on the pool; the newest request of ``channel`` makes older ones stale.

        The callbacks run on the GUI thread, only for a request that is not stale.
        ``cancel_previous`` also sets the cancel token of the older requests of the channel, so
        work whose answer will be dropped stops early.
        """
        if cancel_previous:
            self.cancel_channel(channel)
        request = JobRequest(next(_IDS), channel, label, work, CancelToken())
        was_busy = self.busy
        self._requests[request.id] = request
        self._callbacks[request.id] = _Callbacks(on_result, on_error, on_progress, on_cancelled)
        self._latest[channel] = request.id
        self.started.emit(request)
        if not was_busy:
            self.busy_changed.emit(True)
        self._pool.start(_Worker(request, self._signals))
        return JobHandle(request.id, channel, request.cancel)

    def cancel_channel(self, channel: str) -> None:
        """Cancel every running request of ``channel``."""
        for request in list(self._requests.values()):
            if request.channel == channel:
                request.cancel.cancel()

    def cancel_all(self) -> None:
        for request in list(self._requests.values()):
            request.cancel.cancel()

    @property
    def busy(self) -> bool:
        """True while any request is queued or running."""
        return bool(self._requests)

    def running(self, channel: str) -> bool:
        """True while a request of ``channel`` is queued or running."""
        return any(r.channel == channel for r in self._requests.values())

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the pool is idle (tests, shutdown); queued answers arrive at the next event loop turn."""
        return bool(self._pool.waitForDone(timeout_ms))

    def is_stale(self, request_id: int) -> bool:
        request = self._requests.get(request_id)
        return request is None or self._latest.get(request.channel) != request_id

    # ------------------------------------------------------------------ answers (GUI thread)

    def _done(self, request_id: int) -> tuple[JobRequest | None, _Callbacks | None, bool]:
        stale = self.is_stale(request_id)
        request = self._requests.pop(request_id, None)
        callbacks = self._callbacks.pop(request_id, None)
        if not self._requests:
            self.busy_changed.emit(False)
        return request, callbacks, stale

    def _on_progress(self, request_id: int, report: Progress) -> None:
        if self.is_stale(request_id):
            return
        request = self._requests[request_id]
        callbacks = self._callbacks[request_id]
        self.progress.emit(request, report)
        if callbacks.on_progress is not None:
            callbacks.on_progress(report)

    def _on_finished(self, request_id: int, result: object) -> None:
        request, callbacks, stale = self._done(request_id)
        if stale or request is None or callbacks is None:
            return
        self.finished.emit(request, result)
        if callbacks.on_result is not None:
            callbacks.on_result(result)

    def _on_failed(self, request_id: int, message: str) -> None:
        request, callbacks, stale = self._done(request_id)
        if stale or request is None or callbacks is None:
            log.info("dropped the error of a stale job: %s", message)
            return
        self.failed.emit(request, message)
        if callbacks.on_error is not None:
            callbacks.on_error(message)

    def _on_cancelled(self, request_id: int) -> None:
        request, callbacks, stale = self._done(request_id)
        if stale or request is None or callbacks is None:
            return
        self.cancelled.emit(request)
        if callbacks.on_cancelled is not None:
            callbacks.on_cancelled()
