"""Running a long computation in a child process, as a progress generator a job can drive. No Qt.

Why: a worker *thread* shares the GIL with the GUI thread. On a busy machine (two cores, other
programs) the operating system often takes the CPU away from the worker while it holds the GIL,
and the GUI thread then waits for the GIL until the worker runs again: the event loop stalls for
100-300 ms at a time (measured with :class:`ui.responsiveness.EventLoopProbe` while a take
processes). A child process has its own interpreter, so the GUI thread only waits for a core.

:func:`in_subprocess` starts a child from a *fork server* (``fork`` from the GUI would copy its
threads and Qt state; forking or spawning from the large GUI process holds the GIL for the whole
fork, a 100-300 ms stall): a small server process, started once by :func:`warm_up` (at
application start) with the computation's modules already imported (:data:`PRELOAD`), forks each
child. The child runs ``function(*args, cancel=token, **kwargs)`` (a progress generator, see
:mod:`calibration.progress`); the parent forwards its :class:`~calibration.progress.Progress`
reports, its result (which must pickle) or its error. The parent's cancel token is passed on
through an event the child's token reads; when the parent stops waiting (cancelled, or an error),
the child is asked to stop and, if it does not within a few seconds, terminated.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import traceback
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from calibration.errors import CancelledError, MocapError
from calibration.progress import CancelToken, Progress

log = logging.getLogger(__name__)

T = TypeVar("T")
#: How often the parent looks at its cancel token and the child's health, seconds.
POLL_S = 0.1
#: Modules the fork server imports once, so that children start without importing them.
PRELOAD = ["ui.processing", "mocap.association.associate", "mocap.triangulation.pipeline"]


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def warm_up() -> None:
    """Start the fork server now (once per process), so the first job does not wait for it."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


class SubprocessError(MocapError, RuntimeError):
    """The computation in the child process failed; the message is the child's one-line error."""


class _EventToken(CancelToken):
    """A cancel token that reads a ``multiprocessing`` event set by the parent."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self._shared = event

    @property
    def cancelled(self) -> bool:
        return bool(self._shared.is_set())


def _child(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, stop: Any) -> None:
    """Entry point of the child: run the generator, send ("progress" | "result" | "cancelled" | "error", value)."""
    try:
        operation = function(*args, cancel=_EventToken(stop), **kwargs)
        while True:
            try:
                out.put(("progress", next(operation)))
            except StopIteration as done:
                out.put(("result", done.value))
                return
    except CancelledError:
        out.put(("cancelled", None))
    except MocapError as exc:
        out.put(("error", str(exc) or type(exc).__name__))
    except Exception as exc:  # reported to the parent as one line; the traceback goes to the log
        log.error("child process failed:\n%s", traceback.format_exc())
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        out.put(("error", f"{type(exc).__name__}" + (f": {text}" if text else "")))


def in_subprocess(
    function: Callable[..., Generator[Progress, None, T]],
    *args: Any,
    cancel: CancelToken | None = None,
    **kwargs: Any,
) -> Generator[Progress, None, T]:
    """Run the progress generator ``function`` in a child process (see the module docstring).

    ``function`` must be importable by name (a module-level function) and take ``cancel``; its
    arguments and result must pickle.

    Raises:
        CancelledError: ``cancel`` was set (or the child was cancelled).
        SubprocessError: the child raised (its one-line message) or died (its exit code).
    """
    context = _context()
    out = context.Queue()
    stop = context.Event()
    yield Progress("starting a worker process", 0, None)
    process = context.Process(target=_child, args=(function, args, kwargs, out, stop), daemon=True)
    process.start()
    try:
        while True:
            if cancel is not None and cancel.cancelled:
                stop.set()
            try:
                kind, value = out.get(timeout=POLL_S)
            except queue.Empty:
                if not process.is_alive():
                    raise SubprocessError(
                        f"the worker process ended without an answer (exit code {process.exitcode})"
                    ) from None
                continue
            if kind == "progress":
                yield value
            elif kind == "result":
                return value  # type: ignore[no-any-return]
            elif kind == "cancelled":
                raise CancelledError("cancelled")
            else:
                raise SubprocessError(str(value))
    finally:
        stop.set()
        process.join(timeout=5.0)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5.0)
        out.close()
