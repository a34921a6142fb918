"""One in-process computation per key: the first caller leads, the others share it."""

from __future__ import annotations

import threading
from concurrent.futures import Future

__all__ = ["Abandoned", "Flights"]


class Abandoned(Exception):
    """The leader of a flight stopped without a result (it was cancelled or
    interrupted): the callers that joined it start over, and one of them leads."""


class Flights:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Future[object]] = {}

    def join(self, key: str) -> tuple[Future[object], bool]:
        """The key's flight future, and whether the caller leads it (must compute)."""
        with self._lock:
            future = self._by_key.get(key)
            if future is not None:
                return future, False
            future = Future()
            self._by_key[key] = future
            return future, True

    def running(self, key: str) -> Future[object] | None:
        """The key's flight if one is running (a lock-free read: dict.get is atomic)."""
        return self._by_key.get(key)

    def forget(self) -> None:
        """Let calls from now on start their own flights: after an invalidation, no call
        may join a computation that began before it. Running leaders still land."""
        with self._lock:
            self._by_key = {}

    def land(self, key: str, future: Future[object]) -> None:
        with self._lock:
            if self._by_key.get(key) is future:
                del self._by_key[key]

    def __len__(self) -> int:
        return len(self._by_key)
