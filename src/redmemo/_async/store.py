"""The plain store API: get, set, add, multi_get, ... (async source of ``_sync/store.py``).

Async methods carry an ``a`` prefix; the generator drops it for the sync twin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core import CacheCore
from ..durations import Duration
from ..glob import escape_glob
from ..serializers import SerializerSpec

__all__ = ["AsyncStoreMixin"]

_INVALIDATE_BATCH = 500


class AsyncStoreMixin(CacheCore):
    async def aget(
        self, key: str, default: Any = None, *, serializer: SerializerSpec | None = None
    ) -> Any:
        """The value stored under ``key``, or ``default`` when there is none.

        Pass ``default=redmemo.MISSING`` to tell a miss from a stored ``None``.
        """
        full = self._key(key)
        if not self.enabled:
            return default
        raw = await self._async_backend().get(full)
        if raw is None:
            return default
        entry = (self._codec if serializer is None else self._codec_for(serializer)).decode(raw)
        return default if entry is None else entry.value

    async def aset(
        self,
        key: str,
        value: Any,
        ttl: Duration | None = None,
        *,
        serializer: SerializerSpec | None = None,
    ) -> None:
        """Store ``value`` under ``key``, for ``ttl`` (or the cache's default) if given."""
        full = self._key(key)
        ttl_ms = self._ttl_ms(ttl)
        data = self._encode(value, self._codec_for(serializer), ttl_ms)
        if self.enabled:
            await self._async_backend().set(full, data, ttl_ms)

    async def aadd(
        self,
        key: str,
        value: Any,
        ttl: Duration | None = None,
        *,
        serializer: SerializerSpec | None = None,
    ) -> bool:
        """Store ``value`` only if ``key`` holds nothing; return whether it was stored."""
        full = self._key(key)
        ttl_ms = self._ttl_ms(ttl)
        data = self._encode(value, self._codec_for(serializer), ttl_ms)
        if not self.enabled:
            return False
        return await self._async_backend().add(full, data, ttl_ms)

    async def amulti_get(
        self,
        keys: Sequence[str],
        default: Any = None,
        *,
        serializer: SerializerSpec | None = None,
    ) -> list[Any]:
        """The values of ``keys`` in order (``default`` for each miss), in one round trip."""
        if isinstance(keys, str):
            raise TypeError("multi_get takes a sequence of keys, not a single str")
        fulls = [self._key(k) for k in keys]
        if not self.enabled:
            return [default] * len(fulls)
        raws = await self._async_backend().get_many(fulls)
        codec = self._codec_for(serializer)
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
    ) -> None:
        """Store many values at once (one round trip); all are checked before any is sent."""
        pairs = items.items() if isinstance(items, Mapping) else items
        ttl_ms = self._ttl_ms(ttl)
        codec = self._codec_for(serializer)
        encoded = [(self._key(k), self._encode(v, codec, ttl_ms)) for k, v in pairs]
        if self.enabled:
            await self._async_backend().set_many(encoded, ttl_ms)

    async def aexists(self, key: str) -> bool:
        """Whether ``key`` holds a value."""
        full = self._key(key)
        if not self.enabled:
            return False
        return await self._async_backend().exists(full)

    async def aincrement(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` to the integer counter at ``key`` atomically; return the new value.

        A missing key counts from 0. A key holding anything but an integer raises
        :class:`~redmemo.NotACounterError` and is left as it was.
        """
        full = self._key(key)
        if type(delta) is not int:
            raise TypeError(f"increment takes an int delta, not {type(delta).__name__}")
        if not self.enabled:
            return delta
        return await self._async_backend().incr(full, delta)

    async def aexpire(self, key: str, ttl: Duration | None) -> bool:
        """Give ``key`` a new time to live (``None``: keep it forever); False if absent."""
        full = self._key(key)
        ttl_ms = None if ttl is None else self._ttl_ms(ttl)
        if not self.enabled:
            return False
        return await self._async_backend().expire(full, ttl_ms)

    async def attl(self, key: str) -> float | None:
        """Seconds ``key`` has left, or None when it is absent or never expires."""
        full = self._key(key)
        if not self.enabled:
            return None
        left = await self._async_backend().ttl_ms(full)
        return None if left is None else left / 1000.0

    async def adelete(self, *keys: str) -> int:
        """Delete ``keys``; return how many existed."""
        fulls = [self._key(k) for k in keys]
        if not self.enabled:
            return 0
        return await self._async_backend().delete(fulls)

    async def aclear(self) -> int:
        """Delete every key of this cache's namespace (SCAN in batches; never KEYS or FLUSHDB).

        Its cost grows with the size of the whole Redis database, not only the namespace.
        """
        if not self.enabled:
            return 0
        return await self._async_backend().delete_matching(escape_glob(self._prefix) + "*")

    async def ainvalidate(self, *keys: str) -> int:
        """Invalidate entries by key, and every entry registered with ``depends_on`` one of
        them. A computation of any of them already running will not store its result.
        Returns how many entries existed."""
        return await self._ainvalidate_full([self._key(k) for k in keys])

    async def _ainvalidate_full(self, fulls: Sequence[str]) -> int:
        if not self.enabled or not fulls:
            return 0
        dependents = [self._index_name("dep", key) for key in fulls]
        return await self._async_backend().invalidate(
            fulls, self._channel, dependents, self._marker_ms()
        )

    async def ainvalidate_tags(self, *tags: str) -> int:
        """Invalidate every entry carrying any of ``tags``, in every process; atomic per tag
        on one Redis, at a cost that grows with the tag's entries, not the database."""
        for tag in tags:
            if not isinstance(tag, str) or not tag:
                raise TypeError(f"tags are non-empty str values, got {tag!r}")
        return await self._ainvalidate_indexes([self._index_name("tag", tag) for tag in tags])

    async def _ainvalidate_indexes(self, indexes: Sequence[str]) -> int:
        if not self.enabled or not indexes:
            return 0
        return await self._async_backend().invalidate([], self._channel, indexes, self._marker_ms())

    async def ainvalidate_pattern(self, pattern: str) -> int:
        """Invalidate the entries whose keys match a glob ``pattern`` (within the namespace).

        It walks the whole database with SCAN, so its cost grows with the database's size;
        prefer tags, dependencies or ``invalidate_all`` where they fit.
        """
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f"pattern must be a non-empty str, got {pattern!r}")
        backend = self._async_backend()
        glob = escape_glob(self._prefix) + pattern
        keys = await backend.scan(glob)
        keys += await backend.scan("\\{" + glob + "\\}:lease")  # fills still running
        entries = sorted({e for e in map(self._entry_of, keys) if e is not None})
        removed = 0
        for start in range(0, len(entries), _INVALIDATE_BATCH):
            removed += await self._ainvalidate_full(entries[start : start + _INVALIDATE_BATCH])
        return removed

    async def araw(self, command: str, *args: Any) -> Any:
        """Send ``command`` to the backend as is: keys are not namespaced, values not decoded."""
        return await self._async_backend().raw(command, *args)
