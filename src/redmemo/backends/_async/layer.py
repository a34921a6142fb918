"""A layer wraps a backend and is one: stack a near cache, a circuit breaker or timing
over any backend without the loop knowing (as dogpile's ProxyBackend, typed).

Every operation goes through :meth:`AsyncLayer.call`, so a layer that treats all of them
alike (timing, a breaker) overrides that one method; a layer that changes what an
operation means (a near cache) overrides the operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ...coordination.leases import Lease, LeaseMode, LeaseRequest, StoreRequest
from ...core.policies import BoundSpec
from .protocol import AsyncBackend

__all__ = ["AsyncLayer"]

R = TypeVar("R")


class AsyncLayer:
    def __init__(self, inner: AsyncBackend) -> None:
        self.inner = inner
        self.keyspace = inner.keyspace

    async def call(self, operation: str, method: Callable[..., Awaitable[R]], *args: Any) -> R:
        """Run one operation of the inner backend; override to act around every one."""
        return await method(*args)

    async def get(self, key: str) -> bytes | None:
        return await self.call("get", self.inner.get, key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return await self.call("get_many", self.inner.get_many, keys)

    async def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        await self.call("set", self.inner.set, key, value, ttl_ms)

    async def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        return await self.call("add", self.inner.add, key, value, ttl_ms)

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None:
        await self.call("set_many", self.inner.set_many, items, ttl_ms)

    async def exists(self, key: str) -> bool:
        return await self.call("exists", self.inner.exists, key)

    async def replace(self, key: str, observed: bytes, value: bytes, ttl_ms: int | None) -> bool:
        return await self.call("replace", self.inner.replace, key, observed, value, ttl_ms)

    async def incr(self, key: str, delta: int) -> int:
        return await self.call("incr", self.inner.incr, key, delta)

    async def expire(self, key: str, ttl_ms: int | None) -> bool:
        return await self.call("expire", self.inner.expire, key, ttl_ms)

    async def ttl_ms(self, key: str) -> int | None:
        return await self.call("ttl_ms", self.inner.ttl_ms, key)

    async def delete(self, keys: Sequence[str]) -> int:
        return await self.call("delete", self.inner.delete, keys)

    async def scan(self, pattern: str) -> list[str]:
        return await self.call("scan", self.inner.scan, pattern)

    async def raw(self, command: str, *args: Any) -> Any:
        return await self.call("raw", self.inner.raw, command, *args)

    async def lease(
        self,
        key: str,
        token: bytes,
        lease_ms: int,
        mode: LeaseMode,
        indexes: Sequence[str] = (),
        ttl_ms: int | None = None,
    ) -> Lease:
        return await self.call(
            "lease", self.inner.lease, key, token, lease_ms, mode, indexes, ttl_ms
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
        return await self.call(
            "store", self.inner.store_leased, key, token, entry, ttl_ms, late, started_us, bound
        )

    async def read_touch(self, key: str, bound: BoundSpec) -> bytes | None:
        return await self.call("get", self.inner.read_touch, key, bound)

    async def bound_size(self, bound: BoundSpec) -> int:
        return await self.call("bound_size", self.inner.bound_size, bound)

    async def index_size(self, index: str) -> int:
        return await self.call("index_size", self.inner.index_size, index)

    async def release(self, key: str, token: bytes) -> None:
        await self.call("release", self.inner.release, key, token)

    async def extend(self, key: str, token: bytes, lease_ms: int) -> bool:
        return await self.call("extend", self.inner.extend, key, token, lease_ms)

    async def lease_many(self, requests: Sequence[LeaseRequest]) -> list[Lease]:
        return await self.call("lease_many", self.inner.lease_many, requests)

    async def store_many(self, requests: Sequence[StoreRequest]) -> list[bool]:
        return await self.call("store_many", self.inner.store_many, requests)

    async def lock(self, key: str, fence: str, token: bytes, ttl_ms: int) -> int:
        return await self.call("lock", self.inner.lock, key, fence, token, ttl_ms)

    async def unlock(self, key: str, token: bytes) -> bool:
        return await self.call("unlock", self.inner.unlock, key, token)

    async def relock(self, key: str, token: bytes, ttl_ms: int) -> bool:
        return await self.call("relock", self.inner.relock, key, token, ttl_ms)

    async def invalidate(self, keys: Sequence[str], indexes: Sequence[str] = ()) -> int:
        return await self.call("invalidate", self.inner.invalidate, keys, indexes)

    async def clear(self) -> int:
        return await self.call("clear", self.inner.clear)

    async def listen(self) -> bool:
        return await self.inner.listen()

    async def close(self) -> None:
        await self.inner.close()
