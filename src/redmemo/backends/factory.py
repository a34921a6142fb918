"""Building backends: a *family* per kind of URL, and the *stack* of layers over it.

A family owns what a backend needs to reach its data (the memory store; the Redis
clients, one sync and one per event loop, and the notice listener) and hands out the
base backend for each face. A :class:`Stack` puts the configured layers over it, once per
face and loop. Adding a kind of backend (cluster, sentinel) is adding a family to
:data:`FAMILIES` and a URL parser to ``config.py``; the loop does not change.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any, NamedTuple, Protocol

from ..config import BackendSettings
from ..coordination.leases import Notice, parse_notice
from ..coordination.near import NearStore
from ..core.breaker import Breaker
from ..core.keyspace import Keyspace
from ..core.policies import BoundsSeen
from ..errors import ConfigurationError
from ..events import Event
from ._async.breaker import AsyncBreakerLayer
from ._async.near import AsyncNearLayer
from ._async.protocol import AsyncBackend
from ._async.redis import AsyncRedisBackend
from ._async.timing import AsyncTimingLayer
from ._sync.breaker import SyncBreakerLayer
from ._sync.near import SyncNearLayer
from ._sync.protocol import SyncBackend
from ._sync.redis import SyncRedisBackend
from ._sync.timing import SyncTimingLayer
from .memory import AsyncMemoryBackend, MemoryBackend, MemoryStore, named_store
from .redis.clients import (
    LazyCluster,
    abandon,
    async_client_for,
    async_reader_for,
    client_for,
    listener_connector,
    pool_size,
    pool_timeout,
    reader_for,
    tracking_connector,
)
from .redis.listener import FillListener
from .redis.tracking import Tracker

__all__ = [
    "FAMILIES",
    "Family",
    "LayerSpec",
    "MemoryFamily",
    "Near",
    "RedisFamily",
    "Stack",
    "Timing",
    "Tripping",
    "open_family",
]


class Notices(Protocol):
    """Where a backend sends what it learns of fills: the runtime's waiters."""

    def deliver(self, key: str, kind: Notice, entry: bytes) -> None: ...

    def wake_all(self) -> None: ...


class Family(Protocol):
    kind: str

    def sync(self) -> SyncBackend: ...

    def async_(self) -> AsyncBackend:
        """The backend for the running event loop."""
        ...

    def close(self) -> None: ...

    async def aclose(self) -> None:
        """Release the running loop's connections."""
        ...

    def after_fork(self) -> None: ...


class MemoryFamily:
    kind = "memory"

    def __init__(
        self,
        settings: BackendSettings,
        keyspace: Keyspace,
        notices: Notices,
        clock: Callable[[], float],
    ) -> None:
        if settings.name is None:
            self.store = MemoryStore(settings.maxsize, clock)  # this cache's alone
        else:
            try:
                self.store = named_store(settings.name, settings.maxsize, clock)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
        self.store.listen(notices.deliver)
        self._sync = MemoryBackend(self.store, keyspace)
        self._async = AsyncMemoryBackend(self._sync)

    def sync(self) -> SyncBackend:
        return self._sync

    def async_(self) -> AsyncBackend:
        return self._async

    def close(self) -> None:
        """Nothing to release: the data stays for the life of the process."""

    async def aclose(self) -> None:
        """Nothing to release."""

    def after_fork(self) -> None:
        self.store.after_fork()


class _LoopClients(NamedTuple):
    loop: weakref.ref[asyncio.AbstractEventLoop]
    backend: AsyncRedisBackend
    closer: AsyncGenerator[None, None]
    start: asyncio.Future[None]  # referenced until the loop ends, as tasks must be


class RedisFamily:
    """One sync client, one async client per event loop (an asyncio connection belongs to
    the loop that opened it), and one listener thread for notices, all made on first use."""

    kind = "redis"

    def __init__(
        self,
        settings: BackendSettings,
        keyspace: Keyspace,
        notices: Notices,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.keyspace = keyspace
        self._notices = notices
        self._pool_timeout = pool_timeout(settings.redis_kwargs)
        self._pool_size = pool_size(settings.redis_kwargs)
        self._sharded = settings.topology == "cluster"
        self.bounds = BoundsSeen()  # set when a bounded function is decorated
        self._lock = threading.Lock()
        self._sync: SyncRedisBackend | None = None
        # Per event loop, by id (a weak dictionary would not do: the clients refer to
        # their loop, so it could never be collected).
        self._by_loop: dict[int, _LoopClients] = {}
        self.on_loop_closed: list[Callable[[asyncio.AbstractEventLoop], None]] = []
        self.listener = self._new_listener()
        self.tracker: Tracker | None = None  # the near cache's, once one is asked for

    def track(self, store: NearStore) -> Tracker:
        """The tracker that keeps ``store`` (a near cache) coherent. With a near cache,
        reads go to primaries: a replica's lagging reply could outlive an invalidation."""
        connect, topology = tracking_connector(self.settings, self._cluster)
        self.tracker = Tracker(connect, self.keyspace.entry_prefix, store, topology)
        return self.tracker

    def _reader(self, make: Callable[[BackendSettings], Any]) -> Any:
        return None if self.tracker is not None else make(self.settings)

    def _new_listener(self) -> FillListener:
        connect = listener_connector(self.settings, self._cluster)  # asked on each connect
        return FillListener(
            connect, self.keyspace.channel, self._on_message, self._notices.wake_all
        )

    def _cluster(self) -> LazyCluster:
        """The sync cluster client: the listener asks it which nodes there are."""
        client = self.sync().client
        assert isinstance(client, LazyCluster)
        return client

    def _on_message(self, message: bytes) -> None:
        notice = parse_notice(message)
        if notice is not None:
            self._notices.deliver(*notice)

    def new_client(self) -> Any:
        return client_for(self.settings)

    def new_async_client(self) -> Any:
        return async_client_for(self.settings)

    def _sync_backend(self, client: Any, reader: Any = None) -> SyncRedisBackend:
        return SyncRedisBackend(
            client,
            self.keyspace,
            self.listener,
            self._pool_timeout,
            self._pool_size,
            self._sharded,
            reader if reader is not None else self._reader(reader_for),
            self.bounds,
            self.settings.auto_pipeline,
        )

    def sync(self) -> SyncRedisBackend:
        backend = self._sync
        if backend is None:
            with self._lock:
                if self._sync is None:
                    self._sync = self._sync_backend(self.new_client())
                backend = self._sync
        return backend

    def async_(self) -> AsyncBackend:
        loop = asyncio.get_running_loop()
        record = self._by_loop.get(id(loop))
        if record is not None and record.loop() is loop:
            return record.backend
        self._forget_closed_loops()
        backend = AsyncRedisBackend(
            self.new_async_client(),
            self.keyspace,
            self.listener,
            self._pool_timeout,
            self._pool_size,
            self._sharded,
            self._reader(async_reader_for),
            self.bounds,
            self.settings.auto_pipeline,
        )
        closer = self._close_with(loop, backend)
        # Started now, the generator is finalized when the loop shuts down its async
        # generators (asyncio.run, pytest-asyncio, async_to_sync all do): the clients of a
        # loop end with it, instead of keeping it and its connections alive for ever.
        start = asyncio.ensure_future(closer.asend(None))
        self._by_loop[id(loop)] = _LoopClients(weakref.ref(loop), backend, closer, start)
        return backend

    async def _close_with(
        self, loop: asyncio.AbstractEventLoop, backend: AsyncRedisBackend
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            self._drop(loop)
            await backend.close()

    def _drop(self, loop: asyncio.AbstractEventLoop) -> None:
        record = self._by_loop.get(id(loop))
        if record is not None and record.loop() in (loop, None):
            del self._by_loop[id(loop)]
        for forget in self.on_loop_closed:
            forget(loop)

    def _forget_closed_loops(self) -> None:
        """Loops closed without shutting down their generators: free what they held."""
        for key, record in list(self._by_loop.items()):
            loop = record.loop()
            if loop is None or loop.is_closed():
                del self._by_loop[key]
                abandon(record.backend.client)
                if loop is not None:
                    for forget in self.on_loop_closed:
                        forget(loop)

    def close(self) -> None:
        """Stop the listener and release the sync client and every loop's clients."""
        self.listener.stop()
        if self.tracker is not None:
            self.tracker.stop()
        with self._lock:
            backend, self._sync = self._sync, None
        if backend is not None:
            backend.close()
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for record in list(self._by_loop.values()):
            loop = record.loop()
            if loop is current:
                continue  # its own aclose() closes it (close() cannot await)
            if loop is not None and loop.is_running():
                asyncio.run_coroutine_threadsafe(record.closer.aclose(), loop)
            else:
                abandon(record.backend.client)
                if loop is not None:
                    self._drop(loop)

    async def aclose(self) -> None:
        record = self._by_loop.get(id(asyncio.get_running_loop()))
        if record is not None:
            await record.closer.aclose()

    def after_fork(self) -> None:
        # The parent's listener thread and loops do not exist here; redis-py reopens
        # the sync client's connections by itself.
        self._lock = threading.Lock()
        self.listener = self._new_listener()
        if self.tracker is not None:
            self.tracker.after_fork()
        self._by_loop = {}
        if self._sync is not None:
            self._sync = self._sync_backend(self._sync.client, self._sync.reader)


FamilyFactory = Callable[[BackendSettings, Keyspace, Notices, Callable[[], float]], Family]

FAMILIES: dict[str, FamilyFactory] = {"memory": MemoryFamily, "redis": RedisFamily}


def open_family(
    settings: BackendSettings, keyspace: Keyspace, notices: Notices, clock: Callable[[], float]
) -> Family:
    return FAMILIES[settings.kind](settings, keyspace, notices, clock)


class LayerSpec(Protocol):
    """A layer for both faces: how to wrap a sync backend and an async one."""

    def wrap_sync(self, inner: SyncBackend) -> SyncBackend: ...

    def wrap_async(self, inner: AsyncBackend) -> AsyncBackend: ...


class Stack:
    """The family's backends with the layers over them, built once per face and loop."""

    def __init__(self, family: Family, layers: Sequence[LayerSpec] = ()) -> None:
        self.family = family
        self._layers = tuple(layers)
        self._sync: SyncBackend | None = None
        # The last loop's top of stack (by a weak reference to the loop), and each
        # loop's, by id; a family that closes a loop's clients tells us to forget it.
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], AsyncBackend] | None = None
        self._by_loop: dict[int, tuple[weakref.ref[asyncio.AbstractEventLoop], AsyncBackend]]
        self._by_loop = {}
        closed = getattr(family, "on_loop_closed", None)
        # A family without per-loop clients (memory) has one async backend for all loops.
        self._per_loop = closed is not None
        if closed is not None:
            closed.append(self._forget_loop)

    def relayer(self, layers: Sequence[LayerSpec]) -> None:
        """Use other layers from now on (the family's connections stay)."""
        self._layers = tuple(layers)
        self.forget()

    def sync(self) -> SyncBackend:
        top = self._sync
        if top is None:
            top = self.family.sync()
            for layer in self._layers:
                top = layer.wrap_sync(top)
            self._sync = top
        return top

    def async_(self) -> AsyncBackend:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:  # the common case: the same loop again
            return last[1]
        base = self.family.async_()
        if not self._per_loop:
            top = base
            for layer in self._layers:
                top = layer.wrap_async(top)
            self._last = (weakref.ref(loop), top)
            return top
        known = self._by_loop.get(id(loop))
        if known is not None and known[0]() is loop and known[1] is not None:
            top = known[1]
        else:
            top = base
            for layer in self._layers:
                top = layer.wrap_async(top)
            self._by_loop[id(loop)] = (weakref.ref(loop), top)
        self._last = (weakref.ref(loop), top)
        return top

    def _forget_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._by_loop.pop(id(loop), None)
        last = self._last
        if last is not None and last[0]() in (loop, None):
            self._last = None

    def forget(self) -> None:
        """Drop the stacks built so far (after fork, or when layers change)."""
        self._sync, self._last = None, None
        self._by_loop = {}


class Timing:
    """The timing layer for both faces: every operation's duration goes to ``emit``."""

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self._emit = emit

    def wrap_sync(self, inner: SyncBackend) -> SyncBackend:
        return SyncTimingLayer(inner, self._emit)

    def wrap_async(self, inner: AsyncBackend) -> AsyncBackend:
        return AsyncTimingLayer(inner, self._emit)


class Tripping:
    """The circuit-breaker layer for both faces, sharing one breaker (one backend)."""

    def __init__(self, breaker: Breaker, emit: Callable[[Event], None]) -> None:
        self.breaker = breaker
        self._emit = emit

    def wrap_sync(self, inner: SyncBackend) -> SyncBackend:
        return SyncBreakerLayer(inner, self.breaker, self._emit)

    def wrap_async(self, inner: AsyncBackend) -> AsyncBackend:
        return AsyncBreakerLayer(inner, self.breaker, self._emit)


class Near:
    """The near-cache layer for both faces, over one store of copies and its tracker."""

    def __init__(self, store: NearStore, tracker: Tracker) -> None:
        self.store = store
        self.tracker = tracker

    def wrap_sync(self, inner: SyncBackend) -> SyncBackend:
        return SyncNearLayer(inner, self.store, self.tracker)

    def wrap_async(self, inner: AsyncBackend) -> AsyncBackend:
        return AsyncNearLayer(inner, self.store, self.tracker)
