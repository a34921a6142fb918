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
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import redis
import redis.asyncio

from ..config import BackendSettings
from ..coordination.leases import Notice, parse_notice
from ..core.keyspace import Keyspace
from ..events import Event
from ._async.protocol import AsyncBackend
from ._async.redis import AsyncRedisBackend
from ._async.timing import AsyncTimingLayer
from ._sync.protocol import SyncBackend
from ._sync.redis import SyncRedisBackend
from ._sync.timing import SyncTimingLayer
from .memory import AsyncMemoryBackend, MemoryBackend, MemoryStore
from .redis.clients import async_client, sync_client
from .redis.listener import FillListener

__all__ = [
    "FAMILIES",
    "Family",
    "LayerSpec",
    "MemoryFamily",
    "RedisFamily",
    "Stack",
    "Timing",
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
        self.store = MemoryStore(settings.maxsize, clock)
        self.store.listeners.append(notices.deliver)
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
        self._lock = threading.Lock()
        self._sync: SyncRedisBackend | None = None
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncRedisBackend]
        self._by_loop = weakref.WeakKeyDictionary()
        self.listener = self._new_listener()

    def _new_listener(self) -> FillListener:
        return FillListener(
            self.new_client, self.keyspace.channel, self._on_message, self._notices.wake_all
        )

    def _on_message(self, message: bytes) -> None:
        notice = parse_notice(message)
        if notice is not None:
            self._notices.deliver(*notice)

    def new_client(self) -> redis.Redis:
        return sync_client(self.settings.redis_kwargs)

    def new_async_client(self) -> redis.asyncio.Redis:
        return async_client(self.settings.redis_kwargs)

    def sync(self) -> SyncRedisBackend:
        backend = self._sync
        if backend is None:
            with self._lock:
                if self._sync is None:
                    self._sync = SyncRedisBackend(self.new_client(), self.keyspace, self.listener)
                backend = self._sync
        return backend

    def async_(self) -> AsyncBackend:
        loop = asyncio.get_running_loop()
        backend = self._by_loop.get(loop)
        if backend is None:
            backend = AsyncRedisBackend(self.new_async_client(), self.keyspace, self.listener)
            self._by_loop[loop] = backend
        return backend

    def close(self) -> None:
        self.listener.stop()
        with self._lock:
            backend, self._sync = self._sync, None
        if backend is not None:
            backend.close()

    async def aclose(self) -> None:
        backend = self._by_loop.pop(asyncio.get_running_loop(), None)
        if backend is not None:
            await backend.close()

    def after_fork(self) -> None:
        # The parent's listener thread and loops do not exist here; redis-py reopens
        # the sync client's connections by itself.
        self._lock = threading.Lock()
        self.listener = self._new_listener()
        self._by_loop = weakref.WeakKeyDictionary()
        if self._sync is not None:
            self._sync = SyncRedisBackend(self._sync.client, self.keyspace, self.listener)


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
        self._last: tuple[object, AsyncBackend] | None = None
        self._by_base: weakref.WeakKeyDictionary[Any, AsyncBackend] = weakref.WeakKeyDictionary()

    def relayer(self, layers: Sequence[LayerSpec]) -> None:
        """Use other layers from now on (the family's connections stay)."""
        self._layers = tuple(layers)
        self._sync, self._last = None, None
        self._by_base = weakref.WeakKeyDictionary()

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
        if last is not None and last[0] is loop:  # the common case: the same loop again
            return last[1]
        base = self.family.async_()
        top = self._by_base.get(base)
        if top is None:
            top = base
            for layer in self._layers:
                top = layer.wrap_async(top)
            self._by_base[base] = top
        self._last = (loop, top)
        return top

    def forget(self) -> None:
        """Drop the stacks built so far (after fork, or when a loop's clients closed)."""
        self._sync, self._last = None, None
        self._by_base = weakref.WeakKeyDictionary()


class Timing:
    """The timing layer for both faces: every operation's duration goes to ``emit``."""

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self._emit = emit

    def wrap_sync(self, inner: SyncBackend) -> SyncBackend:
        return SyncTimingLayer(inner, self._emit)

    def wrap_async(self, inner: AsyncBackend) -> AsyncBackend:
        return AsyncTimingLayer(inner, self._emit)
