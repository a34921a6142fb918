"""Auto-pipelining of reads: the GETs that concurrent tasks issue in one event-loop turn
go to Redis as one MGET (per hash slot on a cluster, in one pipeline).

The first GET of a turn is sent at once, so a lone caller waits for nothing; the GETs
that follow it in the same turn wait for the end of the turn and share one command. Two
hundred tasks reading two hundred keys then cost a couple of round trips and one reply
to parse, instead of two hundred. Only reads are merged: a read sent twice or merged
changes nothing, a write would.

The sync face has no turns: :class:`SyncGetBatch` sends every GET on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from ...errors import BackendError

__all__ = ["AsyncGetBatch", "SyncGetBatch"]

Fetch = Callable[[Sequence[str]], Awaitable[list[bytes | None]]]


class AsyncGetBatch:
    """One per event loop (as the backend that holds it)."""

    __slots__ = ("_fetch", "_open", "_sending", "_waiting")

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch  # the backend's get_many
        self._open = False  # a GET went out in this turn: the next ones join the batch
        self._waiting: dict[str, asyncio.Future[bytes | None]] = {}
        self._sending: set[asyncio.Task[None]] = set()  # referenced until done

    def first(self) -> bool:
        """Whether this GET is the turn's first (send it at once); the next are not."""
        if self._open:
            return False
        self._open = True
        asyncio.get_running_loop().call_soon(self._flush)
        return True

    def join(self, key: str) -> asyncio.Future[bytes | None]:
        """The answer for ``key`` from the MGET sent at the end of this turn."""
        future = self._waiting.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[key] = future
        return future

    def _flush(self) -> None:
        self._open = False
        waiting, self._waiting = self._waiting, {}
        if waiting:
            task = asyncio.get_running_loop().create_task(self._send(waiting))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, waiting: dict[str, asyncio.Future[bytes | None]]) -> None:
        try:
            replies = await self._fetch(list(waiting))
        except BackendError as exc:
            for future in waiting.values():
                if not future.done():
                    # One exception each: callers raise and chain them concurrently.
                    error = BackendError(str(exc))
                    error.__cause__ = exc.__cause__
                    future.set_exception(error)
            return
        except BaseException:
            for future in waiting.values():
                future.cancel()  # their callers see a cancellation, not a value
            raise
        for future, raw in zip(waiting.values(), replies, strict=True):
            if not future.done():  # a caller cancelled meanwhile
                future.set_result(raw)


class SyncGetBatch:
    """The sync twin: a thread's GET is always sent on its own."""

    __slots__ = ()

    def __init__(self, fetch: Callable[[Sequence[str]], list[bytes | None]]) -> None:
        pass

    def first(self) -> bool:
        return True

    def join(self, key: str) -> bytes | None:
        raise AssertionError("a sync GET is never batched (first() is always True)")
