"""The near cache as a layer: reads answered from this process's copies, writes and
invalidations reflected in them before they return (read-your-writes).

The copies and the rules that keep them coherent are in ``coordination/near.py``; the
connection that hears Redis's invalidations is ``backends/redis/tracking.py``. Here:

- ``get``/``get_many``: a copy if one may be served; else a read from Redis under a
  placeholder, whose reply is kept only if nothing invalidated the key meanwhile.
- Every write of an entry drops this process's copy of it once the write is done (or
  failed, when nobody knows whether it happened); a read already in flight for it is
  not kept.
- ``invalidate``: the keys named are dropped, then a barrier waits until Redis's
  invalidations of everything else it dropped (tag, function and dependency members)
  have reached the copies; a barrier that fails flushes them all. ``clear`` flushes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..._compat import AsyncCompat
from ...coordination.leases import Lease, LeaseMode, StoreRequest
from ...coordination.near import NearStore
from ...core.policies import BoundSpec
from ..redis.tracking import Tracker
from .layer import AsyncLayer
from .protocol import AsyncBackend

__all__ = ["AsyncNearLayer"]

R = TypeVar("R")

# How long an invalidation waits for its barrier before flushing the near cache instead.
BARRIER_TIMEOUT = 2.0


class AsyncNearLayer(AsyncLayer):
    def __init__(self, inner: AsyncBackend, store: NearStore, tracker: Tracker) -> None:
        super().__init__(inner)
        self.store = store
        self.tracker = tracker
        self.far = inner  # for reads that must not be kept (``@cache(near=False)``)

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        store = self.store
        held = store.lookup(key)
        if held is not None:
            return held.raw
        self.tracker.ensure()
        token = store.begin(key)
        try:
            raw = await self.inner.get(key)
        except BaseException:
            store.abandon(key, token)
            raise
        store.keep(key, token, raw)
        return raw

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        store = self.store
        found: list[bytes | None] = []
        missing: list[int] = []
        for i, key in enumerate(keys):
            held = store.lookup(key)
            found.append(None if held is None else held.raw)
            if held is None:
                missing.append(i)
        if not missing:
            return found
        self.tracker.ensure()
        wanted = [keys[i] for i in missing]
        tokens = [store.begin(key) for key in wanted]
        try:
            replies = await self.inner.get_many(wanted)
        except BaseException:
            for key, token in zip(wanted, tokens, strict=True):
                store.abandon(key, token)
            raise
        for i, key, token, raw in zip(missing, wanted, tokens, replies, strict=True):
            store.keep(key, token, raw)
            found[i] = raw
        return found

    # -- writes: the copy goes once the write is done ----------------------------------------

    async def _written(
        self, keys: Iterable[str], method: Callable[..., Awaitable[R]], *args: Any
    ) -> R:
        """Run a write of ``keys``; drop their copies, and reads of them in flight, once it
        is done or failed (when nobody knows whether it happened)."""
        try:
            return await method(*args)
        finally:
            self.store.drop(keys)

    async def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        await self._written((key,), self.inner.set, key, value, ttl_ms)

    async def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        return await self._written((key,), self.inner.add, key, value, ttl_ms)

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None:
        await self._written([key for key, _ in items], self.inner.set_many, items, ttl_ms)

    async def replace(self, key: str, observed: bytes, value: bytes, ttl_ms: int | None) -> bool:
        return await self._written((key,), self.inner.replace, key, observed, value, ttl_ms)

    async def incr(self, key: str, delta: int) -> int:
        return await self._written((key,), self.inner.incr, key, delta)

    async def expire(self, key: str, ttl_ms: int | None) -> bool:
        return await self._written((key,), self.inner.expire, key, ttl_ms)

    async def delete(self, keys: Sequence[str]) -> int:
        return await self._written(keys, self.inner.delete, keys)

    async def lease(
        self,
        key: str,
        token: bytes,
        lease_ms: int,
        mode: LeaseMode,
        indexes: Sequence[str] = (),
        ttl_ms: int | None = None,
    ) -> Lease:
        # Forcing or taking a lease may drop the entry; asking to fill or refresh does not.
        dropped = (key,) if mode is LeaseMode.FORCE or mode is LeaseMode.TAKE else ()
        return await self._written(
            dropped, self.inner.lease, key, token, lease_ms, mode, indexes, ttl_ms
        )

    async def store_leased(
        self,
        key: str,
        token: bytes,
        entry: bytes,
        ttl_ms: int | None,
        late: Sequence[str] = (),
        started_us: int = 0,
        bound: BoundSpec | None = None,
    ) -> bool:
        return await self._written(
            (key,), self.inner.store_leased, key, token, entry, ttl_ms, late, started_us, bound
        )

    async def store_many(self, requests: Sequence[StoreRequest]) -> list[bool]:
        keys = [request.key for request in requests]
        return await self._written(keys, self.inner.store_many, requests)

    # -- invalidation ------------------------------------------------------------------------------

    async def invalidate(self, keys: Sequence[str], indexes: Sequence[str] = ()) -> int:
        try:
            return await self.inner.invalidate(keys, indexes)
        finally:
            self.store.drop(keys)
            await self._settle()

    async def _settle(self) -> None:
        """Wait until Redis's invalidations sent so far have reached the copies; flush
        them if that cannot be known in time."""
        if not self.store.ready:
            return  # nothing is kept while tracking is down
        try:
            settled = await AsyncCompat.wait(self.tracker.barrier(), BARRIER_TIMEOUT)
        except TimeoutError:
            settled = False
        if not settled:
            self.store.flush("connection")

    async def clear(self) -> int:
        try:
            return await self.inner.clear()
        finally:
            self.store.flush("clear")
