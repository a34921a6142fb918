"""The threads that run sync background work."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

from redmemo import _workers
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
    _until(lambda: bool(workers._sleeping))  # the thread is asleep, waiting for work
    # Waits for the thread, so returns only if it was woken to end.
    ender = threading.Thread(target=workers.shutdown, kwargs={"wait": True}, daemon=True)
    ender.start()
    ender.join(10)
    assert not ender.is_alive()


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        threading.Event().wait(0.001)
    assert condition()


def _dozing(workers: Workers) -> None:
    """Run a job, then wait until the thread naps (it ran one lately)."""
    assert workers.wait(workers.submit(lambda: None), 10)
    _until(lambda: bool(workers._dozing))


def test_a_job_for_a_napping_thread_waits_for_a_moment_spent_waiting_on_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_workers, "DOZE", 30.0)  # the nap would outlast the test
    monkeypatch.setattr(_workers, "_promised", True)
    workers = Workers(max_workers=1)
    try:
        _dozing(workers)
        job = workers.submit(lambda: None)
        assert not workers.wait(job, 0.2)  # the wake-up is put off
        _workers.wake_deferred()  # what the lane does once a command is sent
        assert workers.wait(job, 10)
        assert not _workers._DEFERRED
    finally:
        workers.shutdown(wait=False)


def test_a_wake_up_put_off_and_never_given_the_nap_ends_and_finds_the_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_workers, "DOZE", 0.01)
    monkeypatch.setattr(_workers, "_promised", True)
    workers = Workers(max_workers=1)
    try:
        _dozing(workers)
        jobs = [workers.submit(lambda: None) for _ in range(3)]
        assert all(workers.wait(job, 10) for job in jobs)
    finally:
        workers.shutdown(wait=False)
        _workers._DEFERRED.clear()


def test_without_a_promise_or_after_the_naps_a_thread_is_woken_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_workers, "DOZE", 30.0)
    monkeypatch.setattr(_workers, "_promised", False)  # nothing would give it
    workers = Workers(max_workers=1)
    try:
        _dozing(workers)
        assert workers.wait(workers.submit(lambda: None), 10)
    finally:
        workers.shutdown(wait=False)
    monkeypatch.setattr(_workers, "_promised", True)
    monkeypatch.setattr(_workers, "DOZE_FOR", 0.0)  # idle means asleep at once
    workers = Workers(max_workers=1)
    try:
        assert workers.wait(workers.submit(lambda: None), 10)
        _until(lambda: bool(workers._sleeping))
        assert workers.wait(workers.submit(lambda: None), 10)
        assert not _workers._DEFERRED
    finally:
        workers.shutdown(wait=False)


def test_naps_ending_as_wake_ups_come_lose_no_job_and_break_no_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Naps of a millisecond, wake-ups given at random moments: a nap that ends as its
    # thread is being woken must take that release, or a later one fails.
    monkeypatch.setattr(_workers, "DOZE", 0.001)
    monkeypatch.setattr(_workers, "_promised", True)
    workers = Workers(max_workers=2)
    rng = random.Random(7)
    try:
        jobs = []
        for _ in range(400):
            jobs.append(workers.submit(lambda: None))
            if rng.random() < 0.5:
                _workers.wake_deferred()
            threading.Event().wait(rng.choice((0, 0.0005, 0.001, 0.002)))
        assert all(workers.wait(job, 10) for job in jobs)
        assert all(job.error is None for job in jobs)
        assert all(thread.is_alive() for thread in workers._threads)
    finally:
        workers.shutdown(wait=False)
        _workers._DEFERRED.clear()
