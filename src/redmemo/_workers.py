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

Even that release is a system call (5-7 us on a virtual machine, where waking a sleeping
thread means waking its CPU), paid in the middle of the caller's call. So a thread that
ran a job less than :data:`DOZE_FOR` ago waits in short naps (:data:`DOZE`) instead, and
a job handed to it puts off the wake-up to the next moment some thread waits for Redis
(:func:`wake_deferred`, called by the lane once a command is sent, while its reply is on
the way): the system call then costs nothing the round trip does not already. With no
such moment the nap's end finds the job. A thread idle for longer sleeps until woken
at once, as before, so an idle process does not wake up at all.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["DOZE", "DOZE_FOR", "PATIENCE", "Job", "Workers", "promise_wakes", "wake_deferred"]

PATIENCE = 0.05  # seconds a job may wait for a busy thread before another is started
DOZE = 0.02  # seconds of one nap of a thread that ran a job lately
DOZE_FOR = 1.0  # seconds after its last job that a thread naps instead of sleeping

# Wake-ups put off until a thread waits for Redis (one per Workers at most, by its flag).
_DEFERRED: list[Callable[[], None]] = []
if hasattr(os, "register_at_fork"):  # the parent's threads are not the child's
    os.register_at_fork(after_in_child=_DEFERRED.clear)
_promised = False  # whether something in this process calls wake_deferred()


def promise_wakes() -> None:
    """Say that :func:`wake_deferred` will be called from now on (by the lane, made for
    a Redis client): only then are wake-ups put off. In a process without one (the
    in-memory backend, cluster or Sentinel clients) a job would wait for a nap to end."""
    global _promised
    _promised = True


def wake_deferred() -> None:
    """Give the wake-ups put off until now: for a thread that has just sent a command
    and is about to wait for its reply."""
    while _DEFERRED:
        try:
            wake = _DEFERRED.pop()
        except IndexError:  # another thread took the last one
            return
        wake()


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
        # The wake-up locks of idle threads: asleep until woken, or napping.
        self._sleeping: list[threading.Lock] = []
        self._dozing: list[threading.Lock] = []
        self._wake_put_off = False  # a wake-up of a napping thread is in _DEFERRED
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Job:
        job = Job()
        wake = thread = None
        put_off = False
        with self._lock:
            if self._closed:
                raise RuntimeError("the background workers were shut down")
            self._jobs.append((time.monotonic(), job, fn, args))
            if self._dozing and _promised:
                put_off = not self._wake_put_off  # one put off already wakes one
                self._wake_put_off = True
            elif self._dozing or self._sleeping:
                wake = (self._dozing or self._sleeping).pop()
            else:
                thread = self._grow()
        # Without the lock, which the thread takes first: woken while we held it, it
        # would only go back to sleep on it, and be woken a second time.
        if put_off:
            _DEFERRED.append(self._wake_dozing)
        elif wake is not None:
            wake.release()
        elif thread is not None:
            thread.start()
        return job

    def _wake_dozing(self) -> None:
        """The wake-up put off by submit (the thread may have found the job already)."""
        with self._lock:
            self._wake_put_off = False
            wake = self._dozing.pop() if self._dozing else None
        if wake is not None:
            wake.release()

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
        last = time.monotonic()  # when this thread last ended a job
        while True:
            with lock:
                while not self._jobs:
                    if self._closed:
                        return
                    self._idle(wake, time.monotonic() - last < DOZE_FOR)
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
            last = time.monotonic()

    def _idle(self, wake: threading.Lock, dozing: bool) -> None:
        """Wait to be woken (``wake`` is released by whoever takes it off its list), or
        for a nap to end. Called and returns with the lock held."""
        lock = self._lock
        waiting = self._dozing if dozing else self._sleeping
        waiting.append(wake)
        lock.release()
        try:
            woken = wake.acquire(True, DOZE if dozing else -1)
        finally:
            lock.acquire()
        if woken:
            return
        if wake in waiting:
            waiting.remove(wake)
            return
        # Taken off the list as the nap ended: its release is on the way. Taken now, it
        # cannot meet a later one on a lock already released.
        lock.release()
        try:
            wake.acquire()
        finally:
            lock.acquire()

    def shutdown(self, wait: bool = True) -> None:
        """Run what is queued, then let the threads end (waiting for them if ``wait``)."""
        with self._lock:
            self._closed = True
            for wake in self._sleeping + self._dozing:
                wake.release()
            self._sleeping.clear()
            self._dozing.clear()
            threads = list(self._threads)
        with contextlib.suppress(ValueError):  # a wake-up put off, no longer needed
            _DEFERRED.remove(self._wake_dozing)
        if wait:
            current = threading.current_thread()
            for thread in threads:
                # One not started yet (by a submit racing this) runs the queue and ends.
                if thread is not current and thread.ident is not None:
                    thread.join()
