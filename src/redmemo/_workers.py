"""The threads that run sync background work (refreshes, fills nobody waits for).

As few threads as keep up: one, and another (up to ``max_workers``) only when a job has
waited longer than :data:`PATIENCE` for a free one. Refreshes are short Redis work; run
side by side on several threads, they fight the caller's thread for the GIL (measured:
a sustained run of stale calls cost 4.9x a hit with four threads, 2.8x with one). A slow
refresh still does not hold up the others for longer than the patience, once work keeps
arriving.

Handing a job over is on the caller's path (the first call after ``refresh`` makes
one), so it is kept to an append and, for an idle thread, one lock release: each idle
thread sleeps on a lock of its own that the submitter releases. A
``concurrent.futures.Future`` and a ``Condition`` cost about three times as much
(measured 14 us against 5 us on the test machine, mostly Python-level bookkeeping), and
nothing in redmemo waits for a job's result: only for whether it has ended.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["PATIENCE", "Job", "Workers"]

PATIENCE = 0.05  # seconds a job may wait for a busy thread before another is started


class Job:
    """A submitted job: whether it has ended, and how (``error``)."""

    __slots__ = ("_ended", "_event", "error")

    def __init__(self) -> None:
        self._ended = False
        self._event: threading.Event | None = None  # made only for someone who waits
        self.error: BaseException | None = None

    def done(self) -> bool:
        return self._ended


_Queued = tuple[float, Job, Callable[..., Any], tuple[Any, ...]]


class Workers:
    def __init__(self, max_workers: int, name: str = "redmemo-refresh") -> None:
        self.max_workers = max_workers
        self._name = name
        self._lock = threading.Lock()
        self._jobs: collections.deque[_Queued] = collections.deque()
        self._threads: list[threading.Thread] = []
        self._sleeping: list[threading.Lock] = []  # the wake-up locks of idle threads
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Job:
        job = Job()
        wake = thread = None
        with self._lock:
            if self._closed:
                raise RuntimeError("the background workers were shut down")
            self._jobs.append((time.monotonic(), job, fn, args))
            if self._sleeping:
                wake = self._sleeping.pop()
            else:
                thread = self._grow()
        # Both without the lock, which the thread takes first: woken while we held it,
        # it would only go back to sleep on it, and be woken a second time.
        if wake is not None:
            wake.release()
        elif thread is not None:
            thread.start()
        return job

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        """Wait for ``job`` to end (for tests); whether it has within ``timeout``."""
        with self._lock:
            if job._ended:
                return True
            if job._event is None:
                job._event = threading.Event()
            event = job._event
        return event.wait(timeout)

    def __len__(self) -> int:
        """How many threads there are."""
        return len(self._threads)

    def _grow(self) -> threading.Thread | None:
        """A thread to start if there is none, or if the oldest job waited too long
        (decided with the lock held)."""
        if len(self._threads) >= self.max_workers:
            return None
        if self._threads and time.monotonic() - self._jobs[0][0] < PATIENCE:
            return None
        thread = threading.Thread(target=self._work, name=self._name, daemon=True)
        self._threads.append(thread)
        return thread

    def _work(self) -> None:
        wake = threading.Lock()
        wake.acquire()
        lock = self._lock
        while True:
            with lock:
                while not self._jobs:
                    if self._closed:
                        return
                    self._sleeping.append(wake)
                    lock.release()
                    try:
                        wake.acquire()  # released by whoever took it off the list
                    finally:
                        lock.acquire()
                _, job, fn, args = self._jobs.popleft()
                # More waiting behind this one: they may need a hand.
                helper = self._grow() if self._jobs else None
            if helper is not None:
                helper.start()
            try:
                fn(*args)
            except BaseException as exc:
                job.error = exc
            with lock:
                job._ended = True
                event = job._event
            if event is not None:
                event.set()

    def shutdown(self, wait: bool = True) -> None:
        """Run what is queued, then let the threads end (waiting for them if ``wait``)."""
        with self._lock:
            self._closed = True
            for wake in self._sleeping:
                wake.release()
            self._sleeping.clear()
            threads = list(self._threads)
        if wait:
            current = threading.current_thread()
            for thread in threads:
                # One not started yet (by a submit racing this) runs the queue and ends.
                if thread is not current and thread.ident is not None:
                    thread.join()
