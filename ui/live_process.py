"""A live feed run in a child process, so that the GUI process only draws. No Qt.

Why: the synthetic studio renders four 640x480 images and reconstructs three people per frame set
(~20 ms of CPU), the live engine of :mod:`mocap.live` runs capture, detection and tracking threads.
In the GUI process all of that holds the GIL the GUI thread needs to draw (the window drew 26.6
fps of a 30 fps demo feed, and ~7 fps of the live engine). In a child process it only competes for
a core.

:class:`ProcessFeed` is a :class:`~mocap.live.frames.LiveFeed`: it starts a child with the
``spawn`` start method (a fresh interpreter: no copy of the GUI's threads or Qt state) that calls
``factory()`` (a picklable callable returning a feed: a module-level function or a
``functools.partial`` of one), starts that feed on :meth:`~ProcessFeed.start` and forwards its
newest frame sets to the parent (the child's side is :mod:`ui.live_child`):

* the camera images go through a ring of :data:`SLOTS` slots of shared memory
  (:class:`multiprocessing.shared_memory.SharedMemory`, created and unlinked by the child), one
  slot per frame set, each view at the size of its rig camera (an image of another size travels
  in the message instead);
* everything else of the :class:`~mocap.live.frames.LiveFrame` (keypoints, people, times) goes
  through a pipe, with the slot number. The child writes a slot only when the parent has given it
  back (a ``("free", slot)`` message), so at most :data:`SLOTS` frame sets are in flight and
  nothing queues up: when the parent is behind, the child skips frame sets and counts them as
  dropped (latest wins, as in every live feed).

The parent never waits: :meth:`ProcessFeed.latest` (called by the GUI's timer) reads what has
arrived without blocking, keeps the newest frame set, copies its images out of the slot into
arrays of an :class:`ImagePool` (~0.5 ms for four 640x480 images: the frame then owns its memory,
however long the views keep it) and gives the slots back at once. Frame sets it skipped are given
back unread.

Errors: an exception in the child (creating the feed, or the feed failing later) is sent as one
readable line and raised by :meth:`~ProcessFeed.latest` (or by the constructor while starting) as
a :class:`~mocap.live.frames.LiveError`; a child that dies without a word (killed, crashed) is
reported with its exit code. Shutdown: :meth:`ProcessFeed.stop` asks the child to stop its feed,
waits for it (terminating it after :data:`STOP_TIMEOUT_S`) and closes the shared memory; the child
also exits on its own when the parent goes away (its pipe closes or it is re-parented), and a
:class:`ProcessFeed` collected without ``stop`` reaps its child, so no process outlives the window.

Clocks: the times of a frame set are ``time.monotonic()`` of the child, the same clock as the
parent's on one machine, so latencies are measured up to the arrival in the GUI process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.rig import CameraRig
from mocap.live.frames import LiveError, LiveFeed, LiveFrame, LiveStats, latency_stats
from mocap.skeleton.layouts import KeypointLayout

log = logging.getLogger(__name__)

FeedFactory = Callable[[], LiveFeed]
#: Frame sets in flight between the child and the GUI (slots of the shared-memory ring).
SLOTS = 4
#: How long the child may take to create its feed (imports, building the world, opening cameras).
START_TIMEOUT_S = 120.0
#: How long :meth:`ProcessFeed.stop` waits for the child before terminating it.
STOP_TIMEOUT_S = 5.0
#: An image that travels through the ring (else the message carries the image itself, or None).
IN_RING = "ring"


@dataclass(frozen=True)
class RingLayout:
    """Where the images of a frame set lie in the shared memory.

    Attributes:
        shapes: per view the (height, width, 3) of its uint8 BGR image.
        slots: frame sets the ring holds.
    """

    shapes: tuple[tuple[int, int, int], ...]
    slots: int

    @classmethod
    def for_rig(cls, rig: CameraRig, slots: int = SLOTS) -> RingLayout:
        """Slots for one BGR image per camera of ``rig`` at its calibrated size."""
        return cls(tuple((int(c.image_size[1]), int(c.image_size[0]), 3) for c in rig.cameras), slots)

    @property
    def slot_bytes(self) -> int:
        return sum(int(np.prod(shape)) for shape in self.shapes)

    @property
    def size(self) -> int:
        return max(1, self.slots * self.slot_bytes)

    def views(self, buffer: Any, slot: int) -> list[NDArray[np.uint8]]:
        """The images of ``slot`` as arrays over ``buffer`` (the shared memory's ``buf``)."""
        offset = slot * self.slot_bytes
        images = []
        for shape in self.shapes:
            images.append(np.ndarray(shape, np.uint8, buffer=buffer, offset=offset))
            offset += int(np.prod(shape))
        return images


class ImagePool:
    """Reusable arrays for the images of the frame sets read from the ring.

    A frame set's images are read-only views of a set of arrays of the pool; the set is written
    again only when no view of it is alive any more (the window has moved on to newer frame
    sets). Reusing the memory is 7x cheaper than copying into new arrays, whose fresh pages the
    kernel must map on first write (0.5 vs 3.5 ms for four 640x480 images on this CPU). Beyond
    ``limit`` sets in use (a consumer keeping many frame sets), new arrays are made unpooled.
    """

    def __init__(self, shapes: tuple[tuple[int, int, int], ...], limit: int = 8) -> None:
        self._shapes = shapes
        self._limit = limit
        self._sets: list[tuple[list[NDArray[np.uint8]], list[weakref.ref[NDArray[np.uint8]]]]] = []

    def copy(self, sources: list[NDArray[np.uint8]]) -> list[NDArray[np.uint8]]:
        """Read-only copies of ``sources`` (one image per view, of the pool's shapes)."""
        arrays = self._free_set()
        views = []
        for array, source in zip(arrays, sources, strict=True):
            np.copyto(array, source)
            view = array.view()
            view.flags.writeable = False
            views.append(view)
        for entry in self._sets:
            if entry[0] is arrays:
                entry[1][:] = [weakref.ref(v) for v in views]
        return views

    def _free_set(self) -> list[NDArray[np.uint8]]:
        for arrays, handed_out in self._sets:
            if all(ref() is None for ref in handed_out):
                return arrays
        arrays = [np.empty(shape, np.uint8) for shape in self._shapes]
        if len(self._sets) < self._limit:
            self._sets.append((arrays, []))
        return arrays


class ProcessFeed:
    """A live feed made by ``factory()`` in a child process (see the module docstring).

    Creating it starts the child and waits until the feed exists there (its rig and layout are
    known then); :meth:`start` starts the feed. Call it from a worker thread, not the GUI thread.

    Args:
        factory: makes the feed in the child; must pickle (a module-level function, or a
            ``functools.partial`` of one).
        slots: frame sets in flight (slots of the shared-memory ring).
        start_timeout_s: how long the child may take to create the feed.

    Raises:
        LiveError: the feed could not be created (the child's message), or the child died or
            did not answer within ``start_timeout_s``.
    """

    def __init__(self, factory: FeedFactory, *, slots: int = SLOTS, start_timeout_s: float = START_TIMEOUT_S) -> None:
        from ui.live_child import child_main

        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe(duplex=True)
        self._process = context.Process(
            target=child_main, args=(factory, child_conn, slots), name="mocap-live-feed", daemon=True
        )
        self._process.start()
        child_conn.close()
        self._reaper = weakref.finalize(self, _reap, self._process, self._conn)
        self._lock = threading.RLock()  # latest() on the GUI thread, stop() in a job
        self._latest: LiveFrame | None = None
        self._error: str | None = None
        self._latencies: deque[float] = deque(maxlen=10_000)
        self._received = 0
        self._last_index = -1  # the newest frame-set number received (the feed counts from 0 at start)
        self._started = time.monotonic()
        self._stopped = False
        try:
            ready = self._wait_ready(start_timeout_s)
            cameras, metadata, layout, fps, shm_name, ring = ready[1:]
            self._rig = CameraRig(cameras, metadata)
            self._layout: KeypointLayout = layout
            self._fps = float(fps)
            self._ring: RingLayout = ring
            self._pool = ImagePool(ring.shapes)
            self._shm: SharedMemory | None = SharedMemory(shm_name)
        except BaseException:
            self.stop()
            raise

    # ------------------------------------------------------------------ LiveFeed

    @property
    def rig(self) -> CameraRig:
        return self._rig

    @property
    def layout(self) -> KeypointLayout:
        return self._layout

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def pid(self) -> int | None:
        """The child's process id (None once it is gone)."""
        return self._process.pid if self._process.exitcode is None else None

    @property
    def process(self) -> multiprocessing.process.BaseProcess:
        """The child process (for tests and measurements)."""
        return self._process

    def start(self) -> None:
        """Start the feed in the child."""
        with self._lock:
            self._started = time.monotonic()
            self._send(("start",))

    def stop(self) -> None:
        """Stop the child (terminated if it does not stop within :data:`STOP_TIMEOUT_S`) and
        release the shared memory. Safe to call more than once."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._send(("stop",))
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while self._process.is_alive() and time.monotonic() < deadline:
                self._drain()  # the child's last messages: it never blocks on a full pipe
                self._process.join(0.05)
            self._reaper()  # terminates it if still alive, closes the pipe
            shm = getattr(self, "_shm", None)
            if shm is not None:
                self._shm = None
                shm.close()
                with contextlib.suppress(FileNotFoundError):  # the child unlinks it, unless it was killed
                    shm.unlink()

    def latest(self) -> LiveFrame | None:
        """The newest frame set that arrived (None before the first); never waits.

        Raises:
            LiveError: the feed failed in the child (its message), or the child died.
        """
        with self._lock:
            if self._stopped:
                return self._latest
            newest = self._drain()
            if newest is None and self._error is None and self._process.exitcode is not None:
                newest = self._drain()  # what it sent before it ended
            if newest is not None:
                self._latest = self._unpack(newest)
            if self._error is not None:
                raise LiveError(self._error)
            if self._process.exitcode is not None:
                raise LiveError(f"the live feed's process ended unexpectedly (exit code {self._process.exitcode})")
            return self._latest

    def stats(self) -> LiveStats:
        """Frame sets that arrived in this process, per second since :meth:`start`; dropped: the
        frame-set numbers that never arrived (the feed was late, or every slot was taken);
        latency: capture -> arrival here."""
        with self._lock:
            latencies = list(self._latencies)
            received, dropped = self._received, max(0, self._last_index + 1 - self._received)
        return latency_stats(latencies, received, dropped, time.monotonic() - self._started)

    # ------------------------------------------------------------------ internals

    def _send(self, message: tuple[Any, ...]) -> None:
        with contextlib.suppress(OSError, ValueError):  # the child is gone (latest() says so) or the pipe closed
            self._conn.send(message)

    def _wait_ready(self, timeout_s: float) -> tuple[Any, ...]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._conn.poll(0.05):
                try:
                    message = self._conn.recv()
                except (EOFError, OSError):
                    break
                if message[0] == "ready":
                    return message
                if message[0] == "error":
                    _log_child_error(message)
                    raise LiveError(message[1])
            elif self._process.exitcode is not None:
                break
        code = self._process.exitcode
        if code is None:
            raise LiveError(f"the live feed's process did not start within {timeout_s:.0f} s")
        raise LiveError(f"the live feed's process ended while starting (exit code {code})")

    def _drain(self) -> tuple[Any, ...] | None:
        """Read every message that arrived; give back the slots of all frame sets but the newest."""
        newest: tuple[Any, ...] | None = None
        try:
            while self._conn.poll():
                message = self._conn.recv()
                if message[0] == "frame":
                    self._received += 1
                    self._last_index = max(self._last_index, int(message[2][0]))
                    if newest is not None:
                        self._send(("free", newest[1]))
                    newest = message
                elif message[0] == "error" and self._error is None:
                    _log_child_error(message)
                    self._error = message[1]
        except (EOFError, OSError):
            pass  # the child is gone: latest() reports it from its exit code
        return newest

    def _unpack(self, message: tuple[Any, ...]) -> LiveFrame:
        _, slot, fields = message
        index, captured, published, xy, score, slot_person, person_ids, poses, images, stage_ms = fields
        if images is not None and self._shm is not None:
            ring = self._ring.views(self._shm.buf, slot)
            copies = self._pool.copy(ring)  # only the views whose image is in the ring are used
            images = tuple(copies[v] if isinstance(image, str) else image for v, image in enumerate(images))
            del ring, copies  # no view of the shared memory outlives this call (it can then be closed)
        self._send(("free", slot))
        self._latencies.append(time.monotonic() - captured)
        return LiveFrame(index, captured, published, xy, score, slot_person, person_ids, poses, images, stage_ms)


def _log_child_error(message: tuple[Any, ...]) -> None:
    log.warning("live feed process: %s\n%s", message[1], message[2] if len(message) > 2 else "")


def _reap(process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
    """Make sure the child is gone (after :meth:`ProcessFeed.stop`, or when a feed is collected)."""
    if process.is_alive():
        with contextlib.suppress(OSError, ValueError):
            conn.send(("stop",))
        process.join(STOP_TIMEOUT_S)
    if process.is_alive():
        log.warning("the live feed's process did not stop; terminating it")
        process.terminate()
        process.join(2.0)
    if process.is_alive():
        process.kill()
        process.join(2.0)
    conn.close()
