"""Stale keys waiting for a refresh, taken by one background job per event loop (per
process for threads) in batches: a batch's leases go in one round trip and its stores in
another, instead of two round trips per key.

Under a sustained run of stale calls each refresh is the work that competes with the
callers (for the GIL, or for the loop); batched, most of it is shared. A key is queued
for the loop that saw it stale, since an async function may hold that loop's resources.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["RefreshQueue"]

Item = tuple[str, Any, Any]  # key, args, kwargs


class RefreshQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # loop id -> (keys waiting, the job taking them)
        self._by_loop: dict[int, tuple[list[Item], Any]] = {}

    def add(
        self, loop: int, item: Item, running: Callable[[Any], bool], spawn: Callable[[], Any]
    ) -> Any:
        """Queue ``item``; start a job (``spawn``) unless one of this loop runs. Returns
        the job that will take it."""
        with self._lock:
            items, job = self._by_loop.get(loop, ([], None))
            items.append(item)
            if job is None or not running(job):
                # Spawned under the lock: its first take() waits for this add to end.
                job = spawn()
            self._by_loop[loop] = (items, job)
            return job

    def take(self, loop: int) -> list[Item]:
        """The keys queued for ``loop`` since the last take; [] tells the job to end (no
        item added after that is left without a job: add() then starts one)."""
        with self._lock:
            items, job = self._by_loop.get(loop, ([], None))
            if not items:
                self._by_loop.pop(loop, None)
                return []
            self._by_loop[loop] = ([], job)
            return items

    def __len__(self) -> int:
        with self._lock:
            return sum(len(items) for items, _ in self._by_loop.values())
