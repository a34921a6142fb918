"""Callers waiting for another process's fill, woken by the backend's notices."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future

from .leases import Notice, parse_notice

__all__ = ["Waiters"]


class Waiters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, list[Future[tuple[Notice, bytes]]]] = {}

    def register(self, key: str) -> Future[tuple[Notice, bytes]]:
        future: Future[tuple[Notice, bytes]] = Future()
        with self._lock:
            self._by_key.setdefault(key, []).append(future)
        return future

    def discard(self, key: str, future: Future[tuple[Notice, bytes]]) -> None:
        with self._lock:
            waiting = self._by_key.get(key)
            if waiting is not None:
                with contextlib.suppress(ValueError):
                    waiting.remove(future)
                if not waiting:
                    del self._by_key[key]

    def deliver(self, key: str, kind: Notice, entry: bytes) -> None:
        with self._lock:
            waiting = self._by_key.pop(key, None)
        for future in waiting or ():
            if not future.done():
                future.set_result((kind, entry))

    def wake_all(self) -> None:
        """Wake every waiter without a value: each asks again (after lost notices)."""
        with self._lock:
            waiting, self._by_key = self._by_key, {}
        for futures in waiting.values():
            for future in futures:
                if not future.done():
                    future.set_result((Notice.WAKE, b""))

    def on_message(self, message: bytes) -> None:
        notice = parse_notice(message)
        if notice is not None:
            self.deliver(*notice)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._by_key.values())
