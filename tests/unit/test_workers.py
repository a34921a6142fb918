"""The threads that run sync background work."""

from __future__ import annotations

import threading
import time

from redmemo._workers import PATIENCE, Workers


def test_work_that_keeps_up_runs_on_one_thread() -> None:
    workers = Workers(max_workers=4)
    try:
        for _ in range(50):
            assert workers.wait(workers.submit(lambda: None), 10)
        ran = [workers.submit(lambda: None) for _ in range(50)]
        for job in ran:
            assert workers.wait(job, 10)
        assert len(workers) == 1
    finally:
        workers.shutdown(wait=False)


def test_an_idle_thread_is_woken_for_each_job() -> None:
    workers = Workers(max_workers=1)
    seen: list[int] = []
    try:
        for i in range(20):
            # Each job handed over once the thread is asleep again.
            threading.Event().wait(0.002)
            job = workers.submit(seen.append, i)
            assert workers.wait(job, 10)
            assert job.done()
        assert seen == list(range(20))
        assert len(workers) == 1
    finally:
        workers.shutdown(wait=False)  # a thread never woken would never end either


def test_a_slow_job_does_not_hold_up_the_next_for_long() -> None:
    workers = Workers(max_workers=2)
    release = threading.Event()
    try:
        slow = workers.submit(release.wait, 30)
        queued = workers.submit(lambda: None)  # behind the slow one, on the only thread
        assert not queued.done()
        # Work that arrives after the patience runs out gets a thread of its own, and
        # the queue with it.
        threading.Event().wait(PATIENCE * 2)
        assert workers.wait(workers.submit(lambda: None), 10)
        assert workers.wait(queued, 10)
        assert not slow.done()
        assert len(workers) == 2
    finally:
        release.set()
        workers.shutdown(wait=False)


def test_at_most_max_workers_threads_and_failures_are_kept() -> None:
    workers = Workers(max_workers=2)
    release = threading.Event()
    try:
        blocked = [workers.submit(release.wait, 30) for _ in range(2)]
        for _ in range(5):
            threading.Event().wait(PATIENCE * 2)
            workers.submit(release.wait, 30)
        assert len(workers) == 2
        release.set()
        for job in blocked:
            assert workers.wait(job, 10)
            assert job.error is None

        def fails() -> None:
            raise ValueError("broken")

        failed = workers.submit(fails)
        assert workers.wait(failed, 10)
        assert isinstance(failed.error, ValueError)
    finally:
        release.set()
        workers.shutdown(wait=False)


def test_shutdown_runs_what_is_queued() -> None:
    workers = Workers(max_workers=1)
    done: list[int] = []
    gate = threading.Event()
    workers.submit(gate.wait, 10)
    for i in range(5):
        workers.submit(done.append, i)
    gate.set()
    workers.shutdown(wait=True)
    assert done == [0, 1, 2, 3, 4]


def test_shutdown_wakes_an_idle_thread_to_end() -> None:
    workers = Workers(max_workers=1)
    assert workers.wait(workers.submit(lambda: None), 10)
    deadline = time.monotonic() + 10
    while not workers._sleeping and time.monotonic() < deadline:
        threading.Event().wait(0.001)
    assert workers._sleeping  # the thread is asleep, waiting for work
    # Waits for the thread, so returns only if it was woken to end.
    ender = threading.Thread(target=workers.shutdown, kwargs={"wait": True}, daemon=True)
    ender.start()
    ender.join(10)
    assert not ender.is_alive()
