"""The plain store API: get, set, add, multi_get, ... (async source of ``_sync/store.py``).

Async methods carry an ``a`` prefix; the generator drops it for the sync twin. Keys are
the user's; the keyspace names the entries they live at.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..coordination.pending import PendingInvalidation
from ..core.durations import Duration, expires_now
from ..core.missing import MISSING
from ..core.serializers import SerializerSpec
from ..facade import Facade
from .invalidation import run_invalidation

__all__ = ["AsyncStoreMixin"]


def _flatten(tags: tuple[str | Iterable[str], ...]) -> Iterable[Any]:
    for tag in tags:
        if isinstance(tag, (list, tuple, set, frozenset)):
            yield from tag
        else:
            yield tag


async def _made(factory: Callable[[], Any]) -> Any:
    """What ``factory`` makes (awaited, when the async face is given an async factory)."""
    value = factory()
    if inspect.isawaitable(value):
        value = await value
    return value


class AsyncStoreMixin(Facade):
    # -- the API ----------------------------------------------------------------------------

    async def aget(
        self,
        key: str,
        default: Any = None,
        *,
        serializer: SerializerSpec | None = None,
        timeout: Duration | None = None,
    ) -> Any:
        """The value stored under ``key``, or ``default`` when there is none.

        Pass ``default=redmemo.MISSING`` to tell a miss from a stored ``None``.
        """
        if timeout is not None:
            return await self._async_within(
                timeout, "get", type(self).aget, self, key, default, serializer=serializer
            )
        full = self._key(key)
        runtime = self._runtime
        if not runtime.enabled:
            return default
        if runtime.pending.active and runtime.pending.covers(full, tuple, False):
            return default  # an invalidation of it has not reached the backend yet
        raw = await runtime.async_backend().get(full)
        if raw is None:
            return default
        entry = runtime.codec.for_serializer(serializer).decode(raw)
        return default if entry is None else entry.value

    async def aset(
        self,
        key: str,
        value: Any,
        ttl: Duration | None = None,
        *,
        serializer: SerializerSpec | None = None,
        timeout: Duration | None = None,
    ) -> None:
        """Store ``value`` under ``key``, for ``ttl`` (or the cache's default) if given.

        ``ttl=redmemo.FOREVER``: never expire. ``ttl`` of 0 or less: expire now (the key
        is deleted), as in Django."""
        if timeout is not None:
            return await self._async_within(
                timeout, "set", type(self).aset, self, key, value, ttl, serializer=serializer
            )
        full = self._key(key)
        if expires_now(ttl):
            if self._runtime.enabled:
                await self._runtime.async_backend().delete([full])
            return
        ttl_ms = self._ttl_ms(ttl)
        data = self._encode(value, serializer, ttl_ms)
        if self._runtime.enabled:
            await self._runtime.async_backend().set(full, data, ttl_ms)

    async def aadd(
        self,
        key: str,
        value: Any,
        ttl: Duration | None = None,
        *,
        serializer: SerializerSpec | None = None,
        timeout: Duration | None = None,
    ) -> bool:
        """Store ``value`` only if ``key`` holds nothing; return whether it was stored
        (a ``ttl`` of 0 or less stores nothing)."""
        if timeout is not None:
            return await self._async_within(
                timeout, "add", type(self).aadd, self, key, value, ttl, serializer=serializer
            )
        full = self._key(key)
        if expires_now(ttl):
            return False
        ttl_ms = self._ttl_ms(ttl)
        data = self._encode(value, serializer, ttl_ms)
        runtime = self._runtime
        if not runtime.enabled:
            return False
        backend = runtime.async_backend()
        if await backend.add(full, data, ttl_ms):
            return True
        # Something is there: an entry (then nothing is added), or bytes that read as a
        # miss, which add() treats as the miss they are.
        there = await backend.get(full)
        if there is None:
            return await backend.add(full, data, ttl_ms)  # it expired meanwhile
        if runtime.codec.for_serializer(serializer).decode(there) is not None:
            return False
        return await backend.replace(full, there, data, ttl_ms)

    async def aget_or_set(
        self,
        key: str,
        default: Any,
        ttl: Duration | None = None,
        *,
        serializer: SerializerSpec | None = None,
    ) -> Any:
        """The value under ``key``; on a miss, ``default`` is stored and returned.

        A callable ``default`` (for ``aget_or_set`` it may return an awaitable) is called
        to make the value, once per key across every process and thread: the other
        callers of a key being made wait for it (with the leases of ``@cache``), so a cold
        key never causes a stampede. A plain ``default`` is added (kept only if the key is
        still empty) and the value then there returned, as Django's ``get_or_set`` does.
        """
        value = await self.aget(key, MISSING, serializer=serializer)
        if value is not MISSING:
            return value
        if not callable(default):
            await self.aadd(key, default, ttl, serializer=serializer)
            return await self.aget(key, default, serializer=serializer)
        if expires_now(ttl) or not self._runtime.enabled:
            return await _made(default)  # nothing will be stored, so nothing to share
        body = self.keyspace.describe(self._key(key))  # the filler's template: same entry
        return await self._async_filler(ttl, serializer)(body, default)

    async def amulti_get(
        self,
        keys: Sequence[str],
        default: Any = None,
        *,
        serializer: SerializerSpec | None = None,
        timeout: Duration | None = None,
    ) -> list[Any]:
        """The values of ``keys`` in order (``default`` for each miss), in one round trip."""
        if timeout is not None:
            return await self._async_within(
                timeout,
                "multi_get",
                type(self).amulti_get,
                self,
                keys,
                default,
                serializer=serializer,
            )
        if isinstance(keys, str):
            raise TypeError("multi_get takes a sequence of keys, not a single str")
        fulls = [self._key(k) for k in keys]
        runtime = self._runtime
        if not runtime.enabled:
            return [default] * len(fulls)
        raws = await runtime.async_backend().get_many(fulls)
        codec = runtime.codec.for_serializer(serializer)
        values = []
        for raw in raws:
            entry = None if raw is None else codec.decode(raw)
            values.append(default if entry is None else entry.value)
        return values

    async def amulti_set(
        self,
        items: Mapping[str, Any] | Iterable[tuple[str, Any]],
        ttl: Duration | None = None,
        *,
        serializer: SerializerSpec | None = None,
        timeout: Duration | None = None,
    ) -> None:
        """Store many values at once (one round trip); all are checked before any is sent."""
        if timeout is not None:
            return await self._async_within(
                timeout, "multi_set", type(self).amulti_set, self, items, ttl, serializer=serializer
            )
        pairs = items.items() if isinstance(items, Mapping) else items
        if expires_now(ttl):  # Django's convention: expire now
            fulls = [self._key(k) for k, _ in pairs]
            if self._runtime.enabled:
                await self._runtime.async_backend().delete(fulls)
            return
        ttl_ms = self._ttl_ms(ttl)
        encoded = [(self._key(k), self._encode(v, serializer, ttl_ms)) for k, v in pairs]
        if self._runtime.enabled:
            await self._runtime.async_backend().set_many(encoded, ttl_ms)

    async def aexists(self, key: str, *, timeout: Duration | None = None) -> bool:
        """Whether ``key`` holds a value (bytes that read as a miss do not count)."""
        if timeout is not None:
            return await self._async_within(timeout, "exists", type(self).aexists, self, key)
        full = self._key(key)
        if not self._runtime.enabled:
            return False
        raw = await self._runtime.async_backend().get(full)
        return raw is not None and self._runtime.codec.decode(raw) is not None

    async def aincrement(self, key: str, delta: int = 1, *, timeout: Duration | None = None) -> int:
        """Add ``delta`` to the integer counter at ``key`` atomically; return the new value.

        A missing key counts from 0. A key holding anything but an integer raises
        :class:`~redmemo.NotACounterError` and is left as it was.
        """
        if timeout is not None:
            return await self._async_within(
                timeout, "increment", type(self).aincrement, self, key, delta
            )
        full = self._key(key)
        if type(delta) is not int:
            raise TypeError(f"increment takes an int delta, not {type(delta).__name__}")
        if not self._runtime.enabled:
            return delta
        return await self._runtime.async_backend().incr(full, delta)

    async def aexpire(
        self, key: str, ttl: Duration | None, *, timeout: Duration | None = None
    ) -> bool:
        """Give ``key`` a new time to live (``None`` or ``FOREVER``: keep it forever; 0 or
        less: expire now); False if it was absent."""
        if timeout is not None:
            return await self._async_within(timeout, "expire", type(self).aexpire, self, key, ttl)
        full = self._key(key)
        if expires_now(ttl):
            return self._runtime.enabled and bool(
                await self._runtime.async_backend().delete([full])
            )
        ttl_ms = None if ttl is None else self._ttl_ms(ttl)  # FOREVER: None too
        if not self._runtime.enabled:
            return False
        return await self._runtime.async_backend().expire(full, ttl_ms)

    async def attl(self, key: str, *, timeout: Duration | None = None) -> float | None:
        """Seconds ``key`` has left, or None when it is absent or never expires."""
        if timeout is not None:
            return await self._async_within(timeout, "ttl", type(self).attl, self, key)
        full = self._key(key)
        if not self._runtime.enabled:
            return None
        left = await self._runtime.async_backend().ttl_ms(full)
        return None if left is None else left / 1000.0

    async def adelete(self, *keys: str, timeout: Duration | None = None) -> int:
        """Delete ``keys``; return how many existed."""
        if timeout is not None:
            return await self._async_within(timeout, "delete", type(self).adelete, self, *keys)
        fulls = [self._key(k) for k in keys]
        if not self._runtime.enabled:
            return 0
        return await self._runtime.async_backend().delete(fulls)

    async def aclear(self, *, timeout: Duration | None = None) -> int:
        """Delete every entry and all bookkeeping of this cache's namespace, and of no
        other; fills already running do not store afterwards. Returns the entries removed.

        It finds them with SCAN (never KEYS or FLUSHDB), so its cost grows with the size
        of the whole Redis database, not only the namespace.
        """
        if timeout is not None:
            return await self._async_within(timeout, "clear", type(self).aclear, self)
        if not self._runtime.enabled:
            return 0
        return await run_invalidation(self._runtime, PendingInvalidation(clear=True))

    async def ainvalidate(self, *keys: str) -> int:
        """Invalidate entries by key, and every entry registered with ``depends_on`` one of
        them. A computation of any of them already running will not store its result.
        Returns how many entries existed."""
        fulls = self._with_grouped([self._key(k) for k in keys])
        if not self._runtime.enabled or not fulls:
            return 0
        return await run_invalidation(self._runtime, PendingInvalidation(keys=tuple(fulls)))

    async def ainvalidate_tags(self, *tags: str | Iterable[str]) -> int:
        """Invalidate every entry carrying any of ``tags``, in every process, at a cost that
        grows with the tags' entries, not the database. Tags may be given one by one or
        as a list, as ``tags=`` takes them."""
        names = tuple(_flatten(tags))
        for tag in names:
            if not isinstance(tag, str) or not tag:
                raise TypeError(f"tags are non-empty str values, got {tag!r}")
        return await self._ainvalidate_indexes([self.keyspace.tag(tag) for tag in names])

    async def _ainvalidate_indexes(self, indexes: Sequence[str]) -> int:
        if not self._runtime.enabled or not indexes:
            return 0
        invalidation = PendingInvalidation(indexes=tuple(indexes))
        return await run_invalidation(self._runtime, invalidation)

    async def ainvalidate_pattern(self, pattern: str) -> int:
        """Invalidate the entries whose keys match a glob ``pattern`` (within the namespace),
        fills in progress included.

        It walks the whole database with SCAN, so its cost grows with the database's size;
        prefer tags, dependencies or ``invalidate_all`` where they fit.
        """
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f"pattern must be a non-empty str, got {pattern!r}")
        if not self._runtime.enabled:
            return 0
        return await run_invalidation(self._runtime, PendingInvalidation(pattern=pattern))

    async def araw(self, command: str, *args: Any, timeout: Duration | None = None) -> Any:
        """Send ``command`` to the backend as is: keys are not namespaced, values not decoded."""
        if timeout is not None:
            return await self._async_within(timeout, "raw", type(self).araw, self, command, *args)
        return await self._runtime.async_backend().raw(command, *args)
