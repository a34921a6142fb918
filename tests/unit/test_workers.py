"""The threads that run sync background work."""

from __future__ import annotations

import threading

from redmemo._workers import PATIENCE, Workers


def test_work_that_keeps_up_runs_on_one_thread() -> None:
    workers = Workers(max_workers=4)
    try:
        for _ in range(50):
            workers.submit(lambda: None).result(10)
        ran = [workers.submit(lambda: None) for _ in range(50)]
        for future in ran:
            future.result(10)
        assert len(workers) == 1
    finally:
        workers.shutdown()


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
        workers.submit(lambda: None).result(10)
        queued.result(10)
        assert not slow.done()
        assert len(workers) == 2
    finally:
        release.set()
        workers.shutdown()


def test_at_most_max_workers_threads_and_failures_reach_the_future() -> None:
    workers = Workers(max_workers=2)
    release = threading.Event()
    try:
        blocked = [workers.submit(release.wait, 30) for _ in range(2)]
        for _ in range(5):
            threading.Event().wait(PATIENCE * 2)
            workers.submit(release.wait, 30)
        assert len(workers) == 2
        release.set()
        for future in blocked:
            assert future.result(10) is None

        def fails() -> None:
            raise ValueError("broken")

        failed = workers.submit(fails)
        assert isinstance(failed.exception(10), ValueError)
    finally:
        release.set()
        workers.shutdown()


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
