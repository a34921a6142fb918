"""``Cache``: one object for sync and async code, on memory or on Redis."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff
import redis.retry

from ._async.backend import AsyncBackend
from ._async.redis_backend import AsyncRedisBackend
from ._async.store import AsyncStoreMixin
from ._compat import Background
from ._log import warn_throttled
from ._sync.backend import SyncBackend
from ._sync.redis_backend import SyncRedisBackend
from ._sync.store import SyncStoreMixin
from .config import BackendSettings, env_disabled, resolve_settings
from .decorator import DecoratorMixin
from .durations import Duration, to_seconds_or_none
from .entry import EntryCodec
from .errors import BackendError, ConfigurationError
from .leases import Flights, Waiters
from .listener import FillListener
from .memory import AsyncMemoryBackend, MemoryStore
from .serializers import SerializerSpec, resolve_serializer
from .shared_stats import SharedStats
from .stats import merge

__all__ = ["Cache"]

# Caches alive in this process, so that a forked child can reset what fork broke.
_LIVE: weakref.WeakSet[Cache] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for cache in list(_LIVE):
        cache._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Cache(DecoratorMixin, SyncStoreMixin, AsyncStoreMixin):
    """A cache on memory (the default) or on Redis, for sync and async callers alike.

    ``get``/``set``/... serve sync code and ``aget``/``aset``/... async code; both share
    one configuration and, on the memory backend, one store. Redis clients are made on
    first use: one sync client, and one async client per event loop (an asyncio
    connection belongs to the loop that opened it).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        namespace: str = "redmemo",
        serializer: SerializerSpec | None = None,
        ttl: Duration | None = None,
        enabled: bool | None = None,
        compression: str | None = None,
        compress_threshold: int = 1024,
        secret: bytes | str | None = None,
        host: str | None = None,
        port: int | None = None,
        db: int | None = None,
        password: str | None = None,
        clock: Callable[[], float] | None = None,
        background_workers: int = 4,
        share_stats: Duration | None = None,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError(
                f"namespace must be a non-empty str (it confines clear()), got {namespace!r}"
            )
        if enabled is not None and not isinstance(enabled, bool):
            raise ConfigurationError(f"enabled must be True, False or None, got {enabled!r}")
        self.settings: BackendSettings = resolve_settings(
            url, host=host, port=port, db=db, password=password
        )
        self.namespace = namespace
        self._prefix = namespace + ":"
        self.default_ttl = to_seconds_or_none(ttl)
        self.enabled = (not env_disabled()) if enabled is None else enabled
        self.clock = time.time if clock is None else clock
        self.serializer = resolve_serializer(serializer)
        self._codec = EntryCodec(
            self.serializer,
            compression=compression,
            compress_threshold=compress_threshold,
            secret=secret,
        )
        self._lock = threading.Lock()
        # Coordination of decorated functions: in-process flights, callers waiting for
        # another process, background refreshes, and the channel fills are announced on.
        self._functions = weakref.WeakSet()
        self._flights = Flights()
        self._waiters = Waiters()
        if not isinstance(background_workers, int) or background_workers < 1:
            raise ConfigurationError("background_workers must be a positive int")
        self._background = Background(background_workers)
        self._channel = f"{namespace}:__redmemo_fills__"
        self._listener: FillListener | None = None
        self._shared_stats = SharedStats(
            namespace, self._stats_client, to_seconds_or_none(share_stats, name="share_stats")
        )
        self._memory: MemoryStore | None = None
        self._amemory: AsyncMemoryBackend | None = None
        if self.settings.kind == "memory":
            self._memory = MemoryStore(self.settings.maxsize, self.clock)
            self._memory.notify = self._waiters.deliver
            self._amemory = AsyncMemoryBackend(self._memory)
        else:
            self._listener = FillListener(self._new_client, self._channel, self._waiters.on_message)
        self._sync: SyncRedisBackend | None = None
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncRedisBackend]
        self._by_loop = weakref.WeakKeyDictionary()
        self._last_loop: asyncio.AbstractEventLoop | None = None
        self._last_async: AsyncRedisBackend | None = None
        _LIVE.add(self)

    def _after_fork(self) -> None:
        """In a forked child: threads, locks held by them and event loops did not survive.

        Start the in-process coordination afresh (flights, waiters, the refresh pool);
        the listener restarts on its own, and redis-py reopens connections by itself.
        """
        self._lock = threading.Lock()
        self._flights = Flights()
        self._waiters = Waiters()
        self._background = Background(self._background.max_workers)
        if self._memory is not None:
            self._memory._lock = threading.RLock()
            self._memory.notify = self._waiters.deliver
        elif self._listener is not None:
            self._listener = FillListener(self._new_client, self._channel, self._waiters.on_message)
        self._by_loop = weakref.WeakKeyDictionary()
        self._last_loop, self._last_async = None, None
        for fn in list(self._functions):
            fn._refreshing = set()  # refreshes in flight at the fork ran in the parent

    def __repr__(self) -> str:
        return f"Cache({self.settings.display_url!r}, namespace={self.namespace!r})"

    @property
    def backend_kind(self) -> str:
        """``"memory"`` or ``"redis"``."""
        return self.settings.kind

    # -- backends -----------------------------------------------------------------------

    def _sync_backend(self) -> SyncBackend:
        if self._memory is not None:
            return self._memory
        backend = self._sync
        if backend is None:
            with self._lock:
                if self._sync is None:
                    self._sync = SyncRedisBackend(self._new_client())
                backend = self._sync
        return backend

    def _async_backend(self) -> AsyncBackend:
        if self._amemory is not None:
            return self._amemory
        loop = asyncio.get_running_loop()
        if loop is self._last_loop and self._last_async is not None:
            return self._last_async
        backend = self._by_loop.get(loop)
        if backend is None:
            backend = AsyncRedisBackend(self._new_async_client())
            self._by_loop[loop] = backend
        self._last_loop, self._last_async = loop, backend
        return backend

    def _client_kwargs(self, retry: object) -> dict[str, Any]:
        # A cache must fail fast: a Redis that does not answer costs the caller a short
        # timeout and one quick retry, then the function runs uncached. The URL can say
        # otherwise (socket_timeout=..., socket_connect_timeout=...).
        kwargs: dict[str, Any] = {"socket_timeout": 2.0, "socket_connect_timeout": 1.0}
        kwargs.update(self.settings.redis_kwargs)
        kwargs.setdefault("retry", retry)
        return kwargs

    def _new_client(self) -> redis.Redis:
        retry = redis.retry.Retry(redis.backoff.ExponentialBackoff(cap=0.05, base=0.005), 1)
        return redis.Redis(**self._client_kwargs(retry))

    def _new_async_client(self) -> redis.asyncio.Redis:
        retry = redis.asyncio.retry.Retry(redis.backoff.ExponentialBackoff(cap=0.05, base=0.005), 1)
        return redis.asyncio.Redis(**self._client_kwargs(retry))

    def _listener_ready(self) -> bool:
        return self._listener is None or self._listener.ready

    def _start_listener(self) -> None:
        """Subscribe to fill notifications (once per process); waiters fall back to their
        time limit if Redis cannot be reached for it."""
        if self._listener is not None and not self._listener.ensure():
            warn_throttled("listener-start", "redmemo: could not subscribe to fill notifications")

    def _report_backend_error(self, exc: BackendError) -> None:
        warn_throttled(
            "backend", "redmemo: %s unreachable, calling functions uncached: %s", self, exc
        )

    def stats(self, reset: bool = False) -> dict[str, int]:
        """The counters of every function decorated with this cache, summed (this process)."""
        return merge(fn.stats(reset) for fn in list(self._functions))

    def _stats_client(self) -> redis.Redis:
        backend = self._sync_backend()
        if not isinstance(backend, SyncRedisBackend):
            raise ConfigurationError("statistics are shared through Redis; this cache is memory")
        return backend.client

    def flush_stats(self) -> None:
        """Add what this process counted since its last flush to the totals in Redis."""
        if self._memory is None:
            self._shared_stats.flush(list(self._functions))

    def shared_stats(self) -> dict[str, dict[str, int]]:
        """Each function's counters summed over every process that flushed them.

        Processes flush every ``share_stats`` interval and on ``close()``; call
        :meth:`flush_stats` first to include this process's latest counts. On the memory
        backend, which no other process shares, these are this process's counters.
        """
        if self._memory is not None:
            return {fn.stats_name: fn.stats() for fn in list(self._functions)}
        return self._shared_stats.read()

    def _function_added(self) -> None:
        if self._memory is None:
            self._shared_stats.start(lambda: list(self._functions))

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Release the sync Redis connections, the listener and the refresh threads.

        The cache stays usable: each of them starts again when it is next needed.
        """
        if self._listener is not None:
            self._listener.stop()
        self._background.shutdown(wait=True)
        if self._shared_stats.interval is not None and self._memory is None and self._functions:
            self._shared_stats.stop()
            self.flush_stats()
        with self._lock:
            backend, self._sync = self._sync, None
        if backend is not None:
            backend.close()

    async def aclose(self) -> None:
        """Finish this loop's background refreshes, release its async connections, and
        everything :meth:`close` releases."""
        await self._background.drain()
        loop = asyncio.get_running_loop()
        backend = self._by_loop.pop(loop, None)
        if self._last_loop is loop:
            self._last_loop, self._last_async = None, None
        if backend is not None:
            await backend.close()
        await asyncio.to_thread(self.close)

    def __enter__(self) -> Cache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Cache:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- introspection used by tests and tools -------------------------------------------

    def full_key(self, key: str) -> str:
        """The backend key that ``key`` is stored under (the namespace prefix added)."""
        return self._key(key)
