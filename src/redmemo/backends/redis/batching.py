"""Auto-pipelining: the GETs that concurrent tasks issue in one event-loop turn go to
Redis as one MGET (per hash slot on a cluster, in one pipeline), their scripts as one
pipeline.

The first GET of a turn is sent at once, so a lone caller waits for nothing; the GETs
that follow it in the same turn wait for the end of the turn and share one command. Two
hundred tasks reading two hundred keys then cost a couple of round trips and one reply
to parse, instead of two hundred. Only reads are merged into one command: a read sent
twice or merged changes nothing, a write would.

The sync face has no turns; its threads combine instead (:class:`SyncGetBatch`): while one
thread's GET is in flight, the GETs of other threads queue up, and when it returns, one
of them sends all the queued keys as one MGET, then hands over to the next queue. A lone
thread never waits for another; under many threads, one round trip and one parse serve
dozens of reads, which is what the GIL makes scarce.

Scripts (leases, stores) of one turn go as one pipeline too (:class:`AsyncScriptBatch`),
each sent once; threads send theirs alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence

from ...errors import BackendError

__all__ = ["AsyncGetBatch", "AsyncScriptBatch", "SyncGetBatch", "SyncScriptBatch"]

Fetch = Callable[[Sequence[str]], Awaitable[list[bytes | None]]]
SendOne = Callable[[str], Awaitable[bytes | None]]


class AsyncGetBatch:
    """One per event loop (as the backend that holds it)."""

    __slots__ = ("_fetch", "_open", "_sending", "_waiting")

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch  # the backend's get_many
        self._open = False  # a GET went out in this turn: the next ones join the batch
        self._waiting: dict[str, asyncio.Future[bytes | None]] = {}
        self._sending: set[asyncio.Task[None]] = set()  # referenced until done

    async def get(self, key: str, send_one: SendOne) -> bytes | None:
        """The entry at ``key``: sent at once by ``send_one`` if it is the turn's first
        GET, else answered by the MGET sent at the end of the turn."""
        if self.first():
            return await send_one(key)
        return await self.join(key)

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


class _Slot:
    """One queued GET: its key, and the lock its thread sleeps on until answered."""

    __slots__ = ("batch", "error", "key", "value", "wake")

    def __init__(self, key: str) -> None:
        self.key = key
        self.value: bytes | None = None
        self.error: BaseException | None = None
        self.batch: list[_Slot] | None = None  # set when this thread is to send the next
        self.wake = threading.Lock()
        self.wake.acquire()  # released by whoever answers: the cheapest wake-up there is


class _Retry(Exception):
    """The thread that sent a batch was interrupted: each caller reads for itself."""


class SyncGetBatch:
    """Combines the GETs of concurrent threads (one per backend, shared by its threads)."""

    __slots__ = ("_busy", "_fetch", "_lock", "_queue")

    def __init__(self, fetch: Callable[[Sequence[str]], list[bytes | None]]) -> None:
        self._fetch = fetch  # the backend's get_many
        self._lock = threading.Lock()
        self._busy = False  # a GET or MGET is in flight
        self._queue: list[_Slot] = []

    def get(self, key: str, send_one: Callable[[str], bytes | None]) -> bytes | None:
        with self._lock:
            if self._busy:
                slot = _Slot(key)
                self._queue.append(slot)
            else:
                self._busy = True
                slot = None
        if slot is None:  # nothing in flight: send it now
            try:
                return send_one(key)
            finally:
                self._hand_over()
        slot.wake.acquire()
        if slot.batch is not None:  # our turn to send the queue, our own key included
            self._send(slot.batch)
        if slot.error is not None:
            if isinstance(slot.error, _Retry):
                return send_one(key)
            raise slot.error
        return slot.value

    def _hand_over(self) -> None:
        """The command in flight returned: the queue goes next, sent by its first thread."""
        with self._lock:
            queue, self._queue = self._queue, []
            if not queue:
                self._busy = False
                return
        queue[0].batch = queue
        queue[0].wake.release()

    def _send(self, batch: list[_Slot]) -> None:
        try:
            replies = self._fetch([slot.key for slot in batch])
        except BackendError as exc:
            for slot in batch:
                error = BackendError(str(exc))
                error.__cause__ = exc.__cause__
                slot.error = error
        except BaseException:
            for slot in batch:
                slot.error = _Retry()
            raise
        else:
            for slot, raw in zip(batch, replies, strict=True):
                slot.value = raw
        finally:
            for slot in batch[1:]:
                slot.wake.release()
            self._hand_over()


ScriptCall = tuple[str, Sequence[str], Sequence[object]]
SendScripts = Callable[[list[ScriptCall]], Awaitable[list[object]]]


class AsyncScriptBatch:
    """The scripts (leases, stores, releases) that concurrent tasks of one event loop run
    in the same turn go as one pipeline, each with its own reply or error; the first of
    a turn is sent at once. A script is sent once either way: a pipeline is not a
    transaction, and nothing in it is sent again."""

    __slots__ = ("_open", "_send_all", "_sending", "_waiting")

    def __init__(self, send_all: SendScripts) -> None:
        # The backend's pipeline of scripts: a reply or an exception per call.
        self._send_all = send_all
        self._open = False
        self._waiting: list[tuple[ScriptCall, asyncio.Future[object]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def run(
        self, call: ScriptCall, send_one: Callable[[ScriptCall], Awaitable[object]]
    ) -> object:
        if not self._open:
            self._open = True
            asyncio.get_running_loop().call_soon(self._flush)
            return await send_one(call)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._waiting.append((call, future))
        return await future

    def _flush(self) -> None:
        self._open = False
        # A caller cancelled before its script went out: it is not sent at all.
        waiting = [(call, future) for call, future in self._waiting if not future.done()]
        self._waiting = []
        if waiting:
            task = asyncio.get_running_loop().create_task(self._send(waiting))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, waiting: list[tuple[ScriptCall, asyncio.Future[object]]]) -> None:
        try:
            replies = await self._send_all([call for call, _ in waiting])
        except BackendError as exc:
            for _, future in waiting:
                if not future.done():
                    error = BackendError(str(exc))
                    error.__cause__ = exc.__cause__
                    future.set_exception(error)
            return
        except BaseException:
            for _, future in waiting:
                future.cancel()
            raise
        for (_, future), reply in zip(waiting, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)


class SyncScriptBatch:
    """The sync twin: a thread's script is sent on its own (writes are not combined)."""

    __slots__ = ()

    def __init__(self, send_all: Callable[[list[ScriptCall]], list[object]]) -> None:
        pass

    def run(self, call: ScriptCall, send_one: Callable[[ScriptCall], object]) -> object:
        return send_one(call)
