"""LatestSlot: newest item wins, drops counted, closing wakes the consumer."""

import threading
import time

from mocap.live.latest import LatestSlot


def test_the_newest_item_wins_and_replaced_ones_are_counted():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.take(timeout=0.01) is None
    for k in range(5):
        slot.put(k)
    assert slot.take(timeout=0.01) == 4
    assert slot.dropped == 4 and slot.put_count == 5
    assert slot.take(timeout=0.01) is None


def test_close_wakes_a_waiting_consumer():
    slot: LatestSlot[int] = LatestSlot()
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(slot.take(timeout=10.0)))
    thread.start()
    time.sleep(0.05)
    slot.close()
    thread.join(timeout=2.0)
    assert got == [None] and slot.closed


def test_an_item_put_before_close_is_still_taken():
    slot: LatestSlot[str] = LatestSlot()
    slot.put("last")
    slot.close()
    assert not slot.closed
    assert slot.take(timeout=0.01) == "last"
    assert slot.closed
