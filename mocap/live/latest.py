"""A one-item mailbox where the newest item wins: the hand-over between capture and processing.

The producer (the thread that pulls frame sets from the grabber, or the recorder's callback) puts
every item; the consumer takes the newest one when it is ready for more. An item the consumer had
no time for is replaced and counted as dropped, so a slow consumer skips frame sets instead of
building a queue: memory stays one item whatever the load.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Thread-safe single slot; ``put`` replaces, ``take`` empties (module docstring)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, item: T) -> None:
        """Offer ``item``; an item not taken yet is dropped (and counted)."""
        with self._condition:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self.put_count += 1
            self._condition.notify_all()

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item, waiting up to ``timeout`` seconds; None on timeout or once closed and empty."""
        with self._condition:
            self._condition.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """No more items will come; a waiting ``take`` returns."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        with self._condition:
            return self._closed and self._item is None
