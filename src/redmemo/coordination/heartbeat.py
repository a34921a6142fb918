"""Keeps the leases of running computations alive, so that a function slower than its
lease is neither taken over nor prevented from storing.

One daemon thread per cache extends each running computation's lease when half of it
has passed, for as long as the computation runs. A computation shorter than half its
lease costs two dictionary operations and no I/O; the thread sleeps while nothing is due.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable

from .._log import warn_throttled

__all__ = ["Heartbeat"]

# extend(key, token, lease_ms) -> still ours
Extend = Callable[[str, bytes, int], bool]

_COMPACT_ABOVE = 64


class Heartbeat:
    def __init__(self, extend: Extend) -> None:
        self._extend = extend
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._running: dict[int, tuple[str, bytes, int]] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        # When the thread wakes next (inf: when told): a computation due later needs no
        # wake-up, which would cost the computing caller a thread switch.
        self._wake_at = math.inf

    def start(self, key: str, token: bytes, lease_ms: int) -> int:
        """Keep ``key``'s lease alive until :meth:`stop` (returns the handle)."""
        handle = next(self._ids)
        due = time.monotonic() + lease_ms / 2000.0
        with self._cond:
            self._running[handle] = (key, token, lease_ms)
            heapq.heappush(self._heap, (due, handle))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="redmemo-heartbeat", daemon=True
                )
                self._thread.start()
            elif due < self._wake_at:
                self._cond.notify()
        return handle

    def stop(self, handle: int) -> None:
        with self._cond:
            self._running.pop(handle, None)  # its heap item is skipped when due
            heap = self._heap
            if len(heap) > _COMPACT_ABOVE and len(heap) > 4 * len(self._running):
                # Many short computations leave items due far ahead: drop them now
                # rather than hold them for half a lease each.
                running = self._running
                self._heap = [item for item in heap if item[1] in running]
                heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._running)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    heap = self._heap  # stop() may replace it while we wait
                    if heap and heap[0][0] <= time.monotonic():
                        _, handle = heapq.heappop(heap)
                        running = self._running.get(handle)
                        if running is None:
                            continue  # finished meanwhile
                        key, token, lease_ms = running
                        break
                    # A finished computation's item stays until it is due (stop() bounds
                    # them): dropped early, the heap would empty after every computation
                    # and each next start() would have to wake this thread.
                    self._wake_at = heap[0][0] if heap else math.inf
                    timeout = self._wake_at - time.monotonic() if heap else None
                    self._cond.wait(timeout)
                    self._wake_at = -math.inf  # awake: it reads the heap before sleeping
            try:
                ours = self._extend(key, token, lease_ms)
            except Exception as exc:  # the backend failed: try again at the next beat
                warn_throttled("heartbeat", "redmemo: could not extend a lease: %s", exc)
                ours = True
            with self._cond:
                if ours and handle in self._running:
                    heapq.heappush(self._heap, (time.monotonic() + lease_ms / 2000.0, handle))
                elif not ours:
                    self._running.pop(handle, None)  # taken over or invalidated
