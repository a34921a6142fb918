"""The heartbeat that keeps running computations' leases alive."""

from __future__ import annotations

import threading
import time

from redmemo.coordination.heartbeat import Heartbeat


def test_a_short_lease_is_extended_though_a_longer_one_was_due_first() -> None:
    extended = threading.Event()

    def extend(key: str, token: bytes, lease_ms: int) -> bool:
        if key == "short":
            extended.set()
        return True

    beat = Heartbeat(extend)
    long_one = beat.start("long", b"t1", 600_000)  # due in 5 minutes: the thread sleeps
    beat.stop(long_one)
    time.sleep(0.2)  # let the thread go to sleep until the long one is due
    short = beat.start("short", b"t2", 100)  # due in 50 ms: the thread must be woken
    try:
        assert extended.wait(10)
    finally:
        beat.stop(short)


def test_many_short_computations_leave_no_bookkeeping_behind() -> None:
    beat = Heartbeat(lambda key, token, lease_ms: True)
    keeper = beat.start("running", b"t", 600_000)
    for i in range(10_000):
        beat.stop(beat.start(f"k{i}", b"t", 600_000))  # each due in 5 minutes
    assert len(beat) == 1
    assert len(beat._heap) < 100  # not one item per finished computation until it is due
    beat.stop(keeper)


def test_computations_in_a_row_do_not_wake_the_thread_each() -> None:
    beat = Heartbeat(lambda key, token, lease_ms: True)
    notified: list[int] = []
    notify = beat._cond.notify

    def counting(n: int = 1) -> None:
        notified.append(n)
        notify(n)

    beat._cond.notify = counting  # type: ignore[method-assign]
    for i in range(50):
        beat.stop(beat.start(f"k{i}", b"t", 600_000))  # each due in 5 minutes
        time.sleep(0.002)  # the thread's turn: it must have no reason to run
    # The first start begins the thread; none due before it wakes needs telling.
    assert len(notified) <= 1
