"""The only place that knows threads from asyncio.

``AsyncCompat`` and ``SyncCompat`` offer the same few operations under the same names, so
that the generated sync code differs from its async source by a rename.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._log import logger
from ._workers import Job, Workers

__all__ = [
    "INTERRUPTS",
    "AsyncCompat",
    "AsyncGate",
    "Background",
    "Soon",
    "SyncCompat",
    "SyncGate",
]

T = TypeVar("T")

# What stops a computation from outside: a cancelled task (a request timeout, a client
# gone), Ctrl-C, an exit. Not the function's own errors.
INTERRUPTS = (asyncio.CancelledError, KeyboardInterrupt, SystemExit)


def _consume(future: asyncio.Future[Any]) -> None:
    # Retrieve the outcome of a future nobody awaits any more, so asyncio does not log
    # "exception was never retrieved" for a flight that failed after we stopped waiting.
    if not future.cancelled():
        future.exception()


class AsyncCompat:
    @staticmethod
    async def wait(future: concurrent.futures.Future[T], timeout: float | None) -> T:
        """The result of a thread-safe future; raises the builtin TimeoutError."""
        inner = asyncio.wrap_future(future)
        try:
            # shield: a timeout must not cancel the shared future other callers wait on.
            return await asyncio.wait_for(asyncio.shield(inner), timeout)
        except asyncio.TimeoutError:
            inner.add_done_callback(_consume)
            raise TimeoutError from None

    @staticmethod
    async def run_blocking(fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(fn)

    @staticmethod
    async def let_others_run() -> None:
        """Background work between two steps: the loop's other tasks go first."""
        await asyncio.sleep(0)

    @staticmethod
    def loop_id() -> int:
        """The running event loop's identity (work that must stay on its loop)."""
        return id(asyncio.get_running_loop())

    @staticmethod
    async def uncancelled(step: Awaitable[T]) -> T:
        """Finish ``step`` even if the caller is cancelled again meanwhile (clean-up)."""
        return await asyncio.shield(step)


class SyncCompat:
    @staticmethod
    def wait(future: concurrent.futures.Future[T], timeout: float | None) -> T:
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:  # distinct from TimeoutError before 3.11
            raise TimeoutError from None

    @staticmethod
    def run_blocking(fn: Callable[[], T]) -> T:
        return fn()

    @staticmethod
    def let_others_run() -> None:
        """Background work between two steps: hand the GIL to a waiting caller rather
        than keep it until the interpreter takes it (a switch interval, 5 ms)."""
        time.sleep(0)

    @staticmethod
    def loop_id() -> int:
        """Threads share one: sync work belongs to no event loop."""
        return 0

    @staticmethod
    def uncancelled(step: T) -> T:
        """The sync twin: the step has run already."""
        return step


class AsyncGate:
    """At most ``size`` holders at once, for one event loop; the others wait in line, up
    to ``timeout`` seconds. Entering when there is room costs no await."""

    def __init__(self, size: int, timeout: float) -> None:
        self.free = size
        self.timeout = timeout
        self._line: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_enter(self) -> bool:
        if self.free > 0:
            self.free -= 1
            return True
        return False

    async def enter(self) -> None:
        """Wait for room; raises the builtin TimeoutError when none came in time."""
        if self.try_enter():
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.timeout)
        except asyncio.TimeoutError:
            if not turn.done():
                turn.cancel()
                raise TimeoutError from None
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.leave()  # handed room just as we were cancelled: pass it on
            else:
                turn.cancel()
            raise

    def leave(self) -> None:
        """Hand the room to the first in line still waiting, else free it."""
        line = self._line
        while line:
            turn = line.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


class SyncGate:
    """The thread-safe twin of :class:`AsyncGate`: a queue of tokens (a C-level
    SimpleQueue costs a fraction of a threading.Semaphore when there is room)."""

    def __init__(self, size: int, timeout: float) -> None:
        self.timeout = timeout
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(size):
            self._tokens.put(None)

    def try_enter(self) -> bool:
        try:
            self._tokens.get_nowait()
        except queue.Empty:
            return False
        return True

    def enter(self) -> None:
        try:
            self._tokens.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError from None

    def leave(self) -> None:
        self._tokens.put(None)


class Soon:
    """Async background work spawned on a loop: its task, once the loop has made it."""

    __slots__ = ("loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task[None] | None = None

    def done(self) -> bool:
        return self.task is not None and self.task.done()


class Background:
    """Work started for later: refreshes and fills nobody waits for.

    Sync work runs on as few threads as keep up, made on first use (never a thread per
    call; see _workers.py); async work runs as tasks on the caller's loop, each
    referenced until it ends.
    """

    def __init__(self, max_workers: int = 4) -> None:
        self.max_workers = max_workers
        self._workers: Workers | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = threading.Lock()

    def sync_spawn(self, fn: Callable[..., Any], *args: Any) -> Job:
        workers = self._workers
        if workers is None:
            with self._lock:
                if self._workers is None:
                    self._workers = Workers(self.max_workers)
                workers = self._workers
        return workers.submit(_logged, fn, *args)

    def async_spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Soon:
        """Run ``fn(*args)`` as a task of the running loop, made on the loop's next turn:
        making a task (and its coroutine) costs the caller several microseconds, a
        callback scheduled for later about one (the first call after ``refresh`` hands
        its refresh over this way)."""
        loop = asyncio.get_running_loop()
        soon = Soon(loop)
        loop.call_soon(self._make_task, soon, fn, args)
        return soon

    def _make_task(
        self, soon: Soon, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> None:
        task = soon.loop.create_task(_alogged(fn, *args))
        soon.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def running(handle: Job | Soon) -> bool:
        """Whether spawned work can still finish: a task whose loop closed never will."""
        if handle.done():
            return False
        return not (isinstance(handle, Soon) and handle.loop.is_closed())

    async def drain(self) -> None:
        """Wait for the running loop's background tasks (for shutdown and tests)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0)  # tasks spawned until now are made meanwhile
            mine = [t for t in self._tasks if t.get_loop() is loop and not t.done()]
            if not mine:
                return
            await asyncio.gather(*mine, return_exceptions=True)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=wait)


def _logged(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        logger.exception("redmemo: background work failed")


async def _alogged(fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
    try:
        await fn(*args)
    except Exception:
        logger.exception("redmemo: background work failed")
