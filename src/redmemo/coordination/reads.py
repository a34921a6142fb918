"""Concurrent readers of one key in a process share one GET.

A thousand tasks asking for the same key at once would otherwise send a thousand GETs
(and hold a thousand pooled connections) for one answer. The first reader reads; the
others register while its GET is in flight and get the same bytes.

No lock: the hit path pays a ``setdefault`` and a ``del``. That is safe because each
step is one atomic dict or list operation, the leader removes its entry *before* it
answers the followers, and a follower checks that the entry is still there *after* it
registered: either the leader saw the follower, or the follower sees the leader gone
and reads for itself.
"""

from __future__ import annotations

from concurrent.futures import Future

__all__ = ["Reads"]

Waiting = list[Future[bytes | None]]


class Reads:
    def __init__(self) -> None:
        self._by_key: dict[str, Waiting] = {}

    def lead(self, key: str) -> Waiting | None:
        """Start reading ``key`` (returns the read's handle), or None if a read of it is
        in flight already."""
        waiting: Waiting = []
        return waiting if self._by_key.setdefault(key, waiting) is waiting else None

    def follow(self, key: str) -> Future[bytes | None] | None:
        """A future of the read in flight for ``key``; None if it ended meanwhile."""
        waiting = self._by_key.get(key)
        if waiting is None:
            return None
        future: Future[bytes | None] = Future()
        waiting.append(future)
        if self._by_key.get(key) is not waiting:
            return None  # it ended as we joined: maybe unseen, so read for ourselves
        return future

    def finish(
        self,
        key: str,
        waiting: Waiting,
        value: bytes | None = None,
        error: BaseException | None = None,
    ) -> None:
        if self._by_key.get(key) is waiting:  # not if forgotten meanwhile
            del self._by_key[key]  # first: no follower joins after this
        for future in waiting:
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)

    def forget(self) -> None:
        """After an invalidation: no later reader may take the answer of a GET sent
        before it."""
        self._by_key = {}

    def __len__(self) -> int:
        return len(self._by_key)
