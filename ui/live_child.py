"""The child process of a :class:`~ui.live_process.ProcessFeed`: makes the feed, forwards its frame
sets to the GUI process, reports its errors. No Qt.

:func:`child_main` makes the feed with the factory it was given, creates the shared-memory ring for
its cameras (:class:`~ui.live_process.RingLayout`) and announces both (``("ready", ...)``). Then
its main thread serves the parent's commands: ``start``, ``stop`` and ``free`` (a slot the parent
has read). Frame sets reach the parent through a :class:`Forwarder`:

* a :class:`~mocap.live.paced.PacedFeed` (the synthetic studio) hands each frame set over on its
  own thread as soon as it is made (:attr:`~mocap.live.paced.PacedFeed.on_publish`): the child
  then has one busy thread, and its main thread only wakes for the parent's messages;
* any other feed (the live engine of :mod:`mocap.live`) is polled every :data:`POLL_S`.

A frame set is written into a free slot (images of the slot's shape) and its other fields are
sent with the slot number; with no free slot (the parent is behind) it is skipped (the parent
counts the frame-set numbers it never received as dropped). The child ends when told to stop,
when the feed fails (its error is sent as one readable line, with the traceback for the log), or
when the parent goes away (the pipe closes or the child is re-parented); it always stops its feed
and unlinks the ring.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import traceback
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mocap.errors import MocapError
from mocap.live.frames import LiveError, LiveFeed, LiveFrame
from mocap.live.paced import PacedFeed
from ui.live_process import IN_RING, FeedFactory, RingLayout

log = logging.getLogger(__name__)

#: How often a feed that does not hand its frame sets over is asked for a newer one, seconds.
POLL_S = 0.004
#: How often the main thread looks at the parent and the feed's health when nothing arrives, seconds.
IDLE_S = 0.1


class ParentGone(Exception):
    """The GUI process went away: the child ends quietly."""


class Forwarder:
    """Writes frame sets into the ring's free slots and sends the rest to the parent.

    :meth:`publish` may run on the feed's thread while the main thread calls :meth:`give_back`.
    """

    def __init__(self, conn: Connection, ring: RingLayout, shm: SharedMemory) -> None:
        self._conn = conn
        self._slot_images = [ring.views(shm.buf, s) for s in range(ring.slots)]
        self._free: deque[int] = deque(range(ring.slots))
        self._lock = threading.Lock()
        self._last_index: int | None = None

    def give_back(self, slot: int) -> None:
        with self._lock:
            self._free.append(slot)

    def publish(self, frame: LiveFrame) -> None:
        """Forward ``frame`` unless it was forwarded already or no slot is free."""
        if frame.index == self._last_index:
            return
        self._last_index = frame.index
        with self._lock:
            if not self._free:
                return  # the parent is behind: it counts the frame sets it never got as dropped
            slot = self._free.popleft()
        images = None if frame.images is None else put_images(frame.images, self._slot_images[slot])
        fields = (
            frame.index,
            frame.capture_time_s,
            frame.published_time_s,
            frame.xy,
            frame.score,
            frame.slot_person,
            frame.person_ids,
            frame.poses,
            images,
            dict(frame.stage_ms),
        )
        self._conn.send(("frame", slot, fields))

    def close(self) -> None:
        """Drop every view of the shared memory (it can be closed then)."""
        self._slot_images.clear()


def put_images(
    images: Sequence[NDArray[np.uint8] | None], targets: Sequence[NDArray[np.uint8]]
) -> tuple[str | NDArray[np.uint8] | None, ...]:
    """Copy the images that fit into the slot's arrays (:data:`~ui.live_process.IN_RING` in their
    place); the others travel in the message as they are."""
    placed: list[str | NDArray[np.uint8] | None] = []
    for v, image in enumerate(images):
        if image is not None and v < len(targets) and image.shape == targets[v].shape and image.dtype == np.uint8:
            np.copyto(targets[v], image)
            placed.append(IN_RING)
        else:
            placed.append(image)
    return tuple(placed)


def child_main(factory: FeedFactory, conn: Connection, slots: int) -> None:
    """The child process (see the module docstring)."""
    parent = os.getppid()
    feed: LiveFeed | None = None
    shm: SharedMemory | None = None
    forwarder: Forwarder | None = None
    phase = "starting"
    error: tuple[str, str, str] | None = None
    try:
        feed = factory()
        ring = RingLayout.for_rig(feed.rig, slots)
        shm = SharedMemory(create=True, size=ring.size)
        forwarder = Forwarder(conn, ring, shm)
        rig = feed.rig
        conn.send(("ready", rig.cameras, dict(rig.metadata), feed.layout, float(feed.fps), shm.name, ring))
        phase = "running"
        serve(feed, conn, forwarder, parent)
    except ParentGone:
        pass
    except BaseException as exc:
        error = ("error", describe(exc, phase), traceback.format_exc())
    if feed is not None:
        try:  # before the error goes out: the feed's thread sends nothing after this
            feed.stop()
        except Exception:  # the feed's own error is the one to report
            log.debug("stopping the feed failed", exc_info=True)
    if error is not None:
        with contextlib.suppress(OSError, ValueError):
            conn.send(error)
    if forwarder is not None:
        forwarder.close()
    if shm is not None:
        shm.close()
        shm.unlink()
    conn.close()


def serve(feed: LiveFeed, conn: Connection, forwarder: Forwarder, parent: int) -> None:
    """Serve the parent's commands and forward the feed's frame sets until ``stop``.

    Raises:
        ParentGone: the parent went away.
        LiveError: the feed failed (from its ``latest``).
    """
    pushed = isinstance(feed, PacedFeed)
    if isinstance(feed, PacedFeed):
        feed.on_publish = forwarder.publish
    started = False
    while True:
        if conn.poll(POLL_S if started and not pushed else IDLE_S):
            while conn.poll():
                command = receive(conn)
                if command[0] == "free":
                    forwarder.give_back(int(command[1]))
                elif command[0] == "start":
                    feed.start()
                    started = True
                elif command[0] == "stop":
                    return
        if os.getppid() != parent:
            raise ParentGone
        if started:
            frame = feed.latest()  # raises the feed's error (also one of publish on the feed's thread)
            if not pushed and frame is not None:
                forwarder.publish(frame)


def receive(conn: Connection) -> Any:
    try:
        return conn.recv()
    except (EOFError, OSError) as exc:
        raise ParentGone from exc


def describe(exc: BaseException, phase: str) -> str:
    """One readable line for an error of the feed (``phase``: ``"starting"`` or ``"running"``)."""
    if isinstance(exc, LiveError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    what = text if isinstance(exc, MocapError) else f"{type(exc).__name__}" + (f": {text}" if text else "")
    return f"the live feed could not start: {what}" if phase == "starting" else f"the live feed stopped: {what}"
