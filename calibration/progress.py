"""Progress and cancellation for long operations, shared by the CLI and the GUI.

A long operation is a generator function that yields :class:`Progress` and returns its result::

    def calibrate_iter(..., cancel: CancelToken | None = None) -> Generator[Progress, None, CameraRig]:
        for i, video in enumerate(videos):
            check_cancelled(cancel)
            ...
            yield Progress("detecting boards", i + 1, len(videos), video.name)
        return rig

The CLI drives it with a progress bar (``mocap.cli_progress.run_with_bar``), the GUI from a worker
thread forwarding each ``Progress`` by signal, tests with :func:`drain`. Cancellation is
cooperative: the operation calls :func:`check_cancelled` between steps.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import TypeVar

from calibration.errors import CancelledError

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One progress report.

    Attributes:
        stage: what is being done (``"detecting boards"``); a new stage starts a new bar.
        done: units finished in this stage.
        total: units in this stage, or None when unknown.
        message: detail for the current unit (file name, camera), may be empty.
    """

    stage: str
    done: int
    total: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1], or None when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))


class CancelToken:
    """Thread-safe flag a caller sets to ask an operation to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def check_cancelled(token: CancelToken | None) -> None:
    """Raise :class:`CancelledError` if ``token`` was cancelled."""
    if token is not None and token.cancelled:
        raise CancelledError("cancelled")


def drain(operation: Generator[Progress, None, T]) -> T:
    """Run a progress generator to the end and return its result (no display)."""
    while True:
        try:
            next(operation)
        except StopIteration as stop:
            return stop.value
