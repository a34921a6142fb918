"""The threads that run sync background work (refreshes, fills nobody waits for).

As few threads as keep up: one, and another (up to ``max_workers``) only when a job has
waited longer than :data:`PATIENCE` for a free one. Refreshes are short Redis work; run
side by side on several threads, they fight the caller's thread for the GIL (measured:
a sustained run of stale calls cost 4.9x a hit with four threads, 2.8x with one). A slow
refresh still does not hold up the others for longer than the patience, once work keeps
arriving. Handing a job to a busy thread costs an append; to an idle one, one wake-up.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["PATIENCE", "Workers"]

PATIENCE = 0.05  # seconds a job may wait for a busy thread before another is started

_Job = tuple[float, "Future[None]", Callable[..., Any], tuple[Any, ...]]


class Workers:
    def __init__(self, max_workers: int, name: str = "redmemo-refresh") -> None:
        self.max_workers = max_workers
        self._name = name
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: collections.deque[_Job] = collections.deque()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads waiting for a job
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[None]:
        future: Future[None] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the background workers were shut down")
            self._jobs.append((time.monotonic(), future, fn, args))
            if self._idle:
                self._wake.notify()
                return future
            thread = self._grow()
        if thread is not None:  # started without the lock, which it takes first
            thread.start()
        return future

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
        while True:
            with self._lock:
                while not self._jobs:
                    if self._closed:
                        return
                    self._idle += 1
                    self._wake.wait()
                    self._idle -= 1
                _, future, fn, args = self._jobs.popleft()
                # More waiting behind this one: they may need a hand.
                helper = self._grow() if self._jobs else None
            if helper is not None:
                helper.start()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                fn(*args)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(None)

    def shutdown(self, wait: bool = True) -> None:
        """Run what is queued, then let the threads end (waiting for them if ``wait``)."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            threads = list(self._threads)
        if wait:
            current = threading.current_thread()
            for thread in threads:
                # One not started yet (by a submit racing this) runs the queue and ends.
                if thread is not current and thread.ident is not None:
                    thread.join()
