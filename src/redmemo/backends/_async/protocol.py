"""What a backend offers: semantic operations on the keys that ``core/keyspace.py`` names.

Times are integer milliseconds (``ttl_ms``); ``None`` means no expiry. Keys are entry keys.
Notices (a fill stored, a lease given back or invalidated) are the backend's business: it
delivers them to whoever it was built for, never through arguments of these calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ...coordination.leases import Lease, LeaseMode, LeaseRequest, StoreRequest
from ...core.keyspace import Keyspace
from ...core.policies import BoundSpec

__all__ = ["AsyncBackend"]


class AsyncBackend(Protocol):
    keyspace: Keyspace

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set(self, key: str, value: bytes, ttl_ms: int | None) -> None: ...

    async def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool: ...

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def replace(self, key: str, observed: bytes, value: bytes, ttl_ms: int | None) -> bool:
        """Set ``key`` to ``value`` only if it still holds ``observed``."""
        ...

    async def incr(self, key: str, delta: int) -> int: ...

    async def expire(self, key: str, ttl_ms: int | None) -> bool: ...

    async def ttl_ms(self, key: str) -> int | None: ...

    async def delete(self, keys: Sequence[str]) -> int: ...

    async def scan(self, pattern: str) -> list[str]:
        """The entries, stored or being filled, whose user key matches the glob."""
        ...

    async def raw(self, command: str, *args: Any) -> Any: ...

    async def lease(
        self,
        key: str,
        token: bytes,
        lease_ms: int,
        mode: LeaseMode,
        indexes: Sequence[str] = (),
        ttl_ms: int | None = None,
    ) -> Lease:
        """Get-or-lease ``key`` (see ``LeaseMode``), and register it in ``indexes`` for
        as long as the fill and the entry it stores (``ttl_ms``) can last."""
        ...

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
        """Store a fill's entry if its lease is still held and none of the ``late``
        indexes (registered now) was invalidated since ``started_us``; wake waiters. With
        ``bound``, record it in its bounded group and evict the policy's victims, in the
        same step."""
        ...

    async def read_touch(self, key: str, bound: BoundSpec) -> bytes | None:
        """``get`` of a bounded entry whose policy records hits, recording this one."""
        ...

    async def bound_size(self, bound: BoundSpec) -> int:
        """How many entries a bounded group holds (those past their time leave first)."""
        ...

    async def index_size(self, index: str) -> int:
        """How many members of an index are registered for longer than now."""
        ...

    async def lease_many(self, requests: Sequence[LeaseRequest]) -> list[Lease]:
        """:meth:`lease` for many keys in one round trip (batch caching)."""
        ...

    async def store_many(self, requests: Sequence[StoreRequest]) -> list[bool]:
        """:meth:`store_leased` (no late indexes) for many keys in one round trip."""
        ...

    async def release(self, key: str, token: bytes) -> None: ...

    async def extend(self, key: str, token: bytes, lease_ms: int) -> bool:
        """Give a lease we still hold ``lease_ms`` more; False if it is gone or another's."""
        ...

    async def lock(self, key: str, fence: str, token: bytes, ttl_ms: int) -> int:
        """Take the lock ``key`` for ``token``: its fencing token (``fence`` counts every
        acquisition), or 0 when another holds it."""
        ...

    async def unlock(self, key: str, token: bytes) -> bool:
        """Give back the lock if ``token`` holds it; False if it had run out."""
        ...

    async def relock(self, key: str, token: bytes, ttl_ms: int) -> bool:
        """Give the lock ``ttl_ms`` more from now if ``token`` holds it."""
        ...

    async def invalidate(self, keys: Sequence[str], indexes: Sequence[str] = ()) -> int:
        """Drop entries (with their leases and their dependents) and every member of
        ``indexes``; fills already running cannot store. Returns entries that existed."""
        ...

    async def clear(self) -> int:
        """Drop every key of the namespace, fills in progress included."""
        ...

    async def listen(self) -> bool:
        """Make sure notices reach this process; False if they did not until now."""
        ...

    async def close(self) -> None: ...
