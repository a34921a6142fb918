"""``Cache``: one object for sync and async code, on memory or on Redis.

It is the composition root: from its settings it builds the keyspace, the hooks, the
backend stack (a family chosen by the URL's scheme, with layers over it) and the
:class:`~redmemo.runtime.Runtime` that decorated functions and the store API run on.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from ssl import TLSVersion, VerifyMode
from types import TracebackType
from typing import Any

import redis

from ._async.store import AsyncStoreMixin
from ._sync.invalidation import run_invalidation
from ._sync.store import SyncStoreMixin
from .backends.factory import (
    LayerSpec,
    Near,
    RedisFamily,
    Stack,
    Timing,
    Tripping,
    open_family,
)
from .config import BackendSettings, env_disabled, resolve_settings
from .coordination.near import NearCache, NearSignals, NearStore
from .core.breaker import Breaker
from .core.durations import Duration, Forever, to_seconds_or_none
from .core.entry import EntryCodec
from .core.keyspace import Keyspace
from .core.policies import Policy
from .core.serializers import SerializerSpec, resolve_serializer
from .errors import ConfigurationError
from .events import Hook, Hooks, NearEvicted, NearFlushed, NearInvalidated
from .familiar import FamiliarMixin
from .locks import Lock, OptimisticLock
from .observe.logs import DecisionLog, LogHook
from .observe.shared_stats import SharedStats
from .observe.stats import StatsHook, merge
from .options import check_maxsize, check_policy
from .plugins import COMMANDS, EventAdapter, PluginList, async_wrapper, sync_wrapper
from .runtime import Runtime

__all__ = ["Cache"]

# Caches alive in this process, so that a forked child can reset what fork broke.
# get_or_set fillers kept per Cache (one per distinct ttl and serializer in use).
_FILLERS_KEPT = 32
_LIVE: weakref.WeakSet[Cache] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for cache in list(_LIVE):
        cache._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Cache(FamiliarMixin, SyncStoreMixin, AsyncStoreMixin):
    """A cache on memory (the default) or on Redis, for sync and async callers alike.

    ``get``/``set``/... serve sync code and ``aget``/``aset``/... async code; both share
    one configuration and, on the memory backend, one store. Redis clients are made on
    first use: one sync client, and one async client per event loop (an asyncio
    connection belongs to the loop that opened it).

    ``hooks``: callables that receive every event (see :mod:`redmemo.events`).
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
        ssl: bool | None = None,
        ssl_ca_certs: str | os.PathLike[str] | None = None,
        ssl_ca_path: str | os.PathLike[str] | None = None,
        ssl_ca_data: str | None = None,
        ssl_certfile: str | os.PathLike[str] | None = None,
        ssl_keyfile: str | os.PathLike[str] | None = None,
        ssl_password: str | None = None,
        ssl_cert_reqs: str | VerifyMode | None = None,
        ssl_check_hostname: bool | None = None,
        ssl_min_version: str | TLSVersion | None = None,
        ssl_ciphers: str | None = None,
        clock: Callable[[], float] | None = None,
        background_workers: int = 4,
        share_stats: Duration | None = None,
        hooks: Iterable[Hook] = (),
        plugins: Iterable[Any] = (),
        breaker: bool | Breaker | None = None,
        invalidation: str = "raise",
        maxsize: int | None = None,
        policy: str | Policy | None = None,
        near: bool | NearCache | None = None,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError(
                f"namespace must be a non-empty str (it confines clear()), got {namespace!r}"
            )
        if enabled is not None and not isinstance(enabled, bool):
            raise ConfigurationError(f"enabled must be True, False or None, got {enabled!r}")
        if not isinstance(background_workers, int) or background_workers < 1:
            raise ConfigurationError("background_workers must be a positive int")
        if invalidation not in ("raise", "retry"):
            raise ConfigurationError(
                f"invalidation must be 'raise' or 'retry', got {invalidation!r}"
            )
        tls = {
            "ssl": ssl,
            "ssl_ca_certs": ssl_ca_certs,
            "ssl_ca_path": ssl_ca_path,
            "ssl_ca_data": ssl_ca_data,
            "ssl_certfile": ssl_certfile,
            "ssl_keyfile": ssl_keyfile,
            "ssl_password": ssl_password,
            "ssl_cert_reqs": ssl_cert_reqs,
            "ssl_check_hostname": ssl_check_hostname,
            "ssl_min_version": ssl_min_version,
            "ssl_ciphers": ssl_ciphers,
        }
        self.settings: BackendSettings = resolve_settings(
            url, host=host, port=port, db=db, password=password, tls=tls
        )
        self.namespace = namespace
        self.keyspace = Keyspace(namespace)
        # A bound shared by the decorated functions that set none of their own.
        self.maxsize = check_maxsize(maxsize)
        self.policy = check_policy(policy)
        if self.policy is not None and self.maxsize is None:
            raise ConfigurationError("policy= needs maxsize= (the bound it evicts for)")
        self.default_ttl = to_seconds_or_none(ttl)
        self.serializer = resolve_serializer(serializer)
        codec = EntryCodec(
            self.serializer,
            compression=compression,
            compress_threshold=compress_threshold,
            secret=secret,
        )
        stats = StatsHook()
        self._hooks = Hooks([LogHook(repr(self))], primary=stats)
        for hook in hooks:
            self._hooks.add(hook)
            _bind(hook, self)
        self._runtime = Runtime(
            self.keyspace,
            codec,
            clock=time.time if clock is None else clock,
            enabled=(not env_disabled()) if enabled is None else enabled,
            hooks=self._hooks,
            stats=stats,
            background_workers=background_workers,
        )
        self._runtime.durable_invalidation = invalidation == "retry"
        self._runtime.pending.run = functools.partial(run_invalidation, self._runtime, keep=False)
        self._runtime.pending.body = self.keyspace.body
        family = open_family(self.settings, self.keyspace, self._runtime, self.clock)
        self.breaker = self._make_breaker(breaker, family.kind)
        self._near: Near | None = self._make_near(near, family)
        self._runtime.attach(Stack(family, self._layers()))
        self._functions: weakref.WeakSet[Any] = weakref.WeakSet()
        self._fillers: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._fillers_lock = threading.Lock()
        self._made_fillers = 0
        wanted = os.environ.get("REDMEMO_LOG_DECISIONS", "").strip()
        if wanted:
            names = [n.strip() for n in wanted.split(",") if n.strip() not in ("", "*")]
            self.add_hook(DecisionLog(names))
        self._plugin_hooks: list[EventAdapter] = []
        self._plugins = PluginList(plugins, self._wire_plugins)
        self._wire_plugins()
        self._shared_stats = SharedStats(
            self.keyspace,
            self._stats_client,
            to_seconds_or_none(share_stats, name="share_stats"),
            stats.totals,
        )
        _LIVE.add(self)

    @staticmethod
    def _make_breaker(breaker: bool | Breaker | None, kind: str) -> Breaker | None:
        # On by default where a backend can be unreachable; memory never is.
        if breaker is None:
            breaker = kind != "memory"
        if breaker is True:
            return Breaker()
        if breaker is False:
            return None
        if isinstance(breaker, Breaker):
            return breaker
        raise ConfigurationError(
            f"breaker must be True, False or a redmemo.Breaker, got {breaker!r}"
        )

    def _make_near(self, near: bool | NearCache | None, family: Any) -> Near | None:
        """The near cache asked for by keyword, else by the URL (``?near=true``). The
        memory backend is in-process already: it has none."""
        if near is not None:
            wanted = NearCache.of(near)
        elif self.settings.near is not None:
            wanted = NearCache(**self.settings.near)
        else:
            wanted = None
        if wanted is None or not isinstance(family, RedisFamily):
            return None
        emit = self._hooks.emit
        signals = NearSignals(
            invalidated=lambda keys, held: emit(NearInvalidated(keys, held)),
            flushed=lambda reason, dropped: emit(NearFlushed(reason, dropped)),
            evicted=lambda evicted: emit(NearEvicted(evicted)),
        )
        store = NearStore(wanted, signals)
        self._runtime.near = store
        return Near(store, family.track(store))

    def _layers(self) -> list[LayerSpec]:
        layers: list[LayerSpec] = []
        if self._hooks.timed:
            layers.append(Timing(self._hooks.emit))
        if self.breaker is not None:  # an open circuit skips everything below
            layers.append(Tripping(self.breaker, self._hooks.emit))
        if self._near is not None:  # outermost: a copy is served without the rest
            layers.append(self._near)
        return layers

    @property
    def _family(self) -> Any:
        assert self._runtime.stack is not None
        return self._runtime.stack.family

    def _after_fork(self) -> None:
        self._runtime.after_fork()
        for fn in list(self._functions):
            fn._refreshing = {}  # refreshes in flight at the fork ran in the parent
            touches = getattr(fn, "_touches", None)
            if touches is not None:
                touches.after_fork()  # the parent's held-back hits are the parent's

    def __repr__(self) -> str:
        return f"Cache({self.settings.display_url!r}, namespace={self.namespace!r})"

    # -- what the runtime holds, for users and tools ---------------------------------------

    @property
    def enabled(self) -> bool:
        return self._runtime.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._runtime.enabled = value

    @property
    def clock(self) -> Callable[[], float]:
        return self._runtime.clock

    @property
    def near(self) -> NearStore | None:
        """The near cache (``len(cache.near)``, ``cache.near.stats()``,
        ``cache.near.flush()``), or None when this cache has none."""
        return self._runtime.near

    @property
    def backend_kind(self) -> str:
        """``"memory"`` or ``"redis"``."""
        return self.settings.kind

    @property
    def hooks(self) -> tuple[Hook, ...]:
        """The hooks events go to, the built-in statistics and log hooks first."""
        return self._hooks.all

    def add_hook(self, hook: Hook) -> None:
        """Send every event from now on to ``hook`` as well."""
        timed = self._hooks.timed
        self._hooks.add(hook)
        _bind(hook, self)
        if self._hooks.timed and not timed:
            assert self._runtime.stack is not None
            self._runtime.stack.relayer(self._layers())

    @property
    def plugins(self) -> PluginList:
        """The plugins around the store commands; a list: append, extend, ``+=``, remove
        or assign a new list, and the commands are re-wired."""
        return self._plugins

    @plugins.setter
    def plugins(self, plugins: Iterable[Any]) -> None:
        if plugins is self._plugins:
            return  # ``cache.plugins += [...]`` assigns the same list back
        self._plugins = PluginList(plugins, self._wire_plugins)
        self._wire_plugins()

    def _wire_plugins(self) -> None:
        """Put the plugins around the commands they care about, and nothing around the
        others (a command with no plugin is the class's own method, at no cost)."""
        plugins = list(self.plugins)
        for command in COMMANDS:
            for name, wrap in ((command, sync_wrapper), ("a" + command, async_wrapper)):
                self.__dict__.pop(name, None)
                wrapped = wrap(self, command, getattr(self, name), plugins)
                if wrapped is not None:
                    self.__dict__[name] = wrapped
        for adapter in self._plugin_hooks:
            self._hooks.remove(adapter)
        self._plugin_hooks = []
        for plugin in plugins:
            _bind(plugin, self)
            if callable(getattr(plugin, "on_event", None)):
                adapter = EventAdapter(plugin)
                self._plugin_hooks.append(adapter)
                self.add_hook(adapter)

    # -- get_or_set: a cached function per ttl, so a cold key has one computer ------------

    def _sync_filler(self, ttl: Duration | None, serializer: SerializerSpec | None) -> Any:
        def make(key: str, factory: Callable[[], Any]) -> Any:
            return factory()

        return self._filler("get_or_set", make, ttl, serializer)

    def _async_filler(self, ttl: Duration | None, serializer: SerializerSpec | None) -> Any:
        async def make(key: str, factory: Callable[[], Any]) -> Any:
            value = factory()
            if inspect.isawaitable(value):
                value = await value
            return value

        return self._filler("aget_or_set", make, ttl, serializer)

    def _filler(
        self,
        face: str,
        make: Callable[..., Any],
        ttl: Duration | None,
        serializer: SerializerSpec | None,
    ) -> Any:
        """The cached function that fills ``get_or_set`` misses with this ``ttl``: keyed by
        the key alone, so its entries are the store API's. A few are kept (an application
        passes few distinct ttls); one dropped is made again when next needed."""
        wanted = (face, ttl if isinstance(ttl, Forever) else to_seconds_or_none(ttl), serializer)
        with self._fillers_lock:
            filler = self._fillers.get(wanted)
            if filler is not None:
                self._fillers.move_to_end(wanted)
                return filler
            options: dict[str, Any] = {"key": "{key}", "ttl": ttl}
            if serializer is not None:
                options["serializer"] = serializer
            name = f"{face}[ttl={wanted[1]}]"
            try:
                filler = self(name=name, **options)(make)
            except ConfigurationError:  # a dropped one of this name is still running
                self._made_fillers += 1
                filler = self(name=f"{name}#{self._made_fillers}", **options)(make)
            self._fillers[wanted] = filler
            if len(self._fillers) > _FILLERS_KEPT:
                self._fillers.popitem(last=False)
            return filler

    def lock(
        self,
        name: str,
        ttl: Duration = 30,
        *,
        blocking: bool = True,
        blocking_timeout: Duration | None = None,
    ) -> Lock:
        """A lock held by one holder at a time, as a sync or async context manager (see
        :mod:`redmemo.locks`): ``with cache.lock("nightly", ttl=60) as lock: ...``.
        Entering raises :class:`LockTimeoutError` when it is not acquired in time."""
        return Lock(self, name, ttl, blocking, blocking_timeout)

    def optimistic_lock(
        self, key: str, ttl: Duration | None = None, *, serializer: SerializerSpec | None = None
    ) -> OptimisticLock:
        """Read ``key``; ``lock.cas(value)`` writes only if nobody changed it meanwhile."""
        return OptimisticLock(self, key, ttl, serializer)

    def invalidate_on(
        self,
        signal: Any,
        *,
        sender: Any = None,
        keys: Iterable[str] | Callable[..., Iterable[str]] = (),
        tags: Iterable[str] | Callable[..., Iterable[str]] = (),
        patterns: Iterable[str] | Callable[..., Iterable[str]] = (),
    ) -> Callable[..., None]:
        """Invalidate when an application event fires (cacheme's ``invalid_sources``).

        ``signal`` is a Django or blinker signal (anything with ``connect``), or a
        function that registers a callback. ``keys``, ``tags`` and ``patterns`` are lists,
        or callables given the signal's arguments (``sender`` and its keyword arguments,
        such as Django's ``instance``) that return them:

            cache.invalidate_on(post_save, sender=User,
                                tags=lambda instance, **kw: [f"user:{instance.pk}"])

        Returns the receiver (to disconnect it). The signal keeps it alive: a receiver
        that disappeared with the garbage collector would silently stop invalidating.
        """
        if not any((keys, tags, patterns)):
            raise ConfigurationError("invalidate_on needs keys=, tags= or patterns=")

        def named(what: Any, sent_by: Any, arguments: dict[str, Any]) -> list[str]:
            found = what(sender=sent_by, **arguments) if callable(what) else what
            if isinstance(found, str):
                return [found]
            return list(found or ())

        def receiver(*positional: Any, **arguments: Any) -> None:
            # blinker passes the sender first; Django by name (with signal=).
            sent_by = positional[0] if positional else arguments.pop("sender", None)
            chosen_keys = named(keys, sent_by, arguments)
            chosen_tags = named(tags, sent_by, arguments)
            if chosen_keys:
                self.invalidate(*chosen_keys)
            if chosen_tags:
                self.invalidate_tags(chosen_tags)
            for pattern in named(patterns, sent_by, arguments):
                self.invalidate_pattern(pattern)

        connect = getattr(signal, "connect", None)
        if callable(connect):
            if sender is None:
                connect(receiver, weak=False)
            else:
                connect(receiver, sender=sender, weak=False)
        elif callable(signal):
            signal(receiver)
        else:
            raise ConfigurationError(
                f"invalidate_on takes a signal (with connect) or a function that registers "
                f"a callback, not {type(signal).__name__}"
            )
        return receiver

    def log_decisions(self, *functions: str) -> None:
        """Log every decision (hit, stale, miss, lease, wait, fill, ...) for these
        functions (their ``module.qualname`` or ``name=``), or for all when none is named,
        at DEBUG on the ``redmemo.decisions.<function>`` loggers. ``REDMEMO_LOG_DECISIONS``
        (names separated by commas, or ``*``) asks for the same from the environment."""
        self.add_hook(DecisionLog(functions))

    def full_key(self, key: str) -> str:
        """The backend key that ``key`` is stored under."""
        return self._key(key)

    # -- statistics --------------------------------------------------------------------------

    def stats(self, reset: bool = False) -> dict[str, int]:
        """The counters of every function decorated with this cache, summed (this process),
        and with a near cache, its own (``near_hits``, ``near_misses``, ...)."""
        counts = merge(fn.stats(reset) for fn in list(self._functions))
        if self._runtime.near is not None:
            for name, count in self._runtime.near.stats(reset).items():
                counts[name] = counts.get(name, 0) + count  # near_hits of the store API
        return counts

    def _stats_client(self) -> redis.Redis:
        family = self._family
        if not isinstance(family, RedisFamily):
            raise ConfigurationError("statistics are shared through Redis; this cache is memory")
        client: redis.Redis = family.sync().client
        return client

    def _shared_counts(self, delete: bool) -> dict[str, int] | None:
        if self._shared_stats.interval is None or not isinstance(self._family, RedisFamily):
            return None
        self.flush_stats()
        return merge(self._shared_stats.read(delete).values())

    def flush_stats(self) -> None:
        """Add what this process counted since its last flush to the totals in Redis."""
        if isinstance(self._family, RedisFamily):
            self._shared_stats.flush()

    def shared_stats(self) -> dict[str, dict[str, int]]:
        """Each function's counters summed over every process that flushed them.

        Processes flush every ``share_stats`` interval and on ``close()``; call
        :meth:`flush_stats` first to include this process's latest counts. On the memory
        backend, which no other process shares, these are this process's counters.
        """
        if not isinstance(self._family, RedisFamily):
            return self._runtime.stats.totals()
        return self._shared_stats.read()

    def _function_added(self, bounded: bool = False) -> None:
        if isinstance(self._family, RedisFamily):
            self._shared_stats.start()
            if bounded:  # from now on, invalidations look for bounded bookkeeping
                self._family.bounds.seen = True

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Release the sync Redis connections, the listener and the refresh threads.

        The cache stays usable: each of them starts again when it is next needed.
        """
        self._runtime.background.shutdown(wait=True)
        sharing = self._shared_stats.interval is not None and self._functions
        if sharing and isinstance(self._family, RedisFamily):
            self._shared_stats.stop()
            self.flush_stats()
        self._family.close()
        assert self._runtime.stack is not None
        self._runtime.stack.forget()

    async def aclose(self) -> None:
        """Finish this loop's background refreshes, release its async connections, and
        everything :meth:`close` releases."""
        await self._runtime.background.drain()
        await self._family.aclose()
        assert self._runtime.stack is not None
        self._runtime.stack.forget()
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


def _bind(hook: Hook, cache: Cache) -> None:
    """A hook or plugin with a ``bind(cache)`` method learns which cache it serves."""
    bind = getattr(hook, "bind", None)
    if callable(bind):
        bind(cache)
