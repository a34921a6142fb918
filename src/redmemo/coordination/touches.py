"""Hits of a bounded function whose policy records them, held back and sent late.

A hit stays one plain GET: the key is noted here, and the notes ride along with the
function's next store (``bound_store.lua``) or, once they are ``interval`` old or
``limit`` many, with one read that is sent as a script instead of a GET
(``bound_read.lua``). In one thread, calls keep their order: a store sees every hit
before it. Other processes see this one's hits at most ``interval`` late (or at its next
store), which moves an eviction decision by that much at most.
"""

from __future__ import annotations

import threading
import time

__all__ = ["Touches"]


class Touches:
    def __init__(self, interval: float = 0.1, limit: int = 256) -> None:
        self.interval = interval
        self.limit = limit
        self._keys: list[str] = []
        self._since = time.monotonic()
        self._lock = threading.Lock()

    def record(self, key: str) -> None:
        with self._lock:
            if len(self._keys) < 4 * self.limit:  # past that, between sends: dropped
                self._keys.append(key)

    def due(self) -> bool:
        """Whether the notes should go now (with the next read)."""
        keys = self._keys
        return bool(keys) and (
            len(keys) >= self.limit or time.monotonic() - self._since >= self.interval
        )

    def take(self) -> tuple[str, ...]:
        with self._lock:
            keys, self._keys = self._keys, []
            self._since = time.monotonic()
        return tuple(keys)

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._keys = []
