"""Invalidations that could not reach the backend, kept and retried (``invalidation=
"retry"``), and which cached values this process must not serve until they land.

An application that commits a write and then invalidates must not see its write fail
because the cache is down; nor may it serve, later, the value the invalidation was
meant to remove. So a failed invalidation is queued, a daemon thread retries it until
it succeeds, and meanwhile every call it may concern computes afresh, uncached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .._log import logger, warn_throttled
from ..core.glob import compile_glob

__all__ = ["Pending", "PendingInvalidation"]


@dataclass(frozen=True)
class PendingInvalidation:
    keys: tuple[str, ...] = ()  # entry keys (their dependents go with them)
    indexes: tuple[str, ...] = ()  # tag, function and node indexes
    pattern: str | None = None  # a user's glob
    clear: bool = False


@dataclass
class Pending:
    """The queue of failed invalidations and what they cover."""

    run: Callable[[PendingInvalidation], object] | None = None  # sends one (sync)
    body: Callable[[str], str | None] = lambda key: key
    active: bool = False  # read without the lock on every call: a plain attribute
    _queue: list[PendingInvalidation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, invalidation: PendingInvalidation) -> None:
        with self._lock:
            self._queue.append(invalidation)
            self.active = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._retry, name="redmemo-invalidations", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def __len__(self) -> int:
        return len(self._queue)

    def covers(self, key: str, indexes: Callable[[], Iterable[str]], has_deps: bool) -> bool:
        """Whether a pending invalidation may concern the entry ``key`` (whose indexes
        ``indexes()`` gives, and which may depend on other keys): if so, it is not
        served from the backend, nor stored."""
        with self._lock:
            queue = list(self._queue)
        needed: set[str] | None = None
        body = self.body(key) or ""
        for item in queue:
            if item.clear or key in item.keys or (item.keys and has_deps):
                return True
            if item.pattern is not None and compile_glob(item.pattern).fullmatch(body):
                return True
            if item.indexes:
                if needed is None:
                    needed = set(indexes())
                if needed.intersection(item.indexes):
                    return True
        return False

    def _retry(self) -> None:
        delay = 0.05
        while True:
            with self._lock:
                if not self._queue:
                    self.active = False
                    self._thread = None
                    return
                first = self._queue[0]
            try:
                assert self.run is not None
                self.run(first)
            except Exception as exc:
                warn_throttled(
                    "invalidation-retry",
                    "redmemo: a kept invalidation still cannot reach the backend (%s); "
                    "retrying, and computing what it covers uncached meanwhile",
                    exc,
                )
                self._wake.clear()
                self._wake.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.05
            with self._lock:
                self._queue.remove(first)
                if not self._queue:
                    logger.warning("redmemo: every kept invalidation has reached the backend")
