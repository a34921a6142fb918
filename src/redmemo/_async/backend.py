"""What a backend offers: bytes in, bytes out, no business logic.

Times are integer milliseconds (``ttl_ms``); ``None`` means no expiry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..leases import LeaseMode, LeaseStatus

__all__ = ["AsyncBackend"]


class AsyncBackend(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set(self, key: str, value: bytes, ttl_ms: int | None) -> None: ...

    async def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool: ...

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def incr(self, key: str, delta: int) -> int: ...

    async def expire(self, key: str, ttl_ms: int | None) -> bool: ...

    async def ttl_ms(self, key: str) -> int | None: ...

    async def delete(self, keys: Sequence[str]) -> int: ...

    async def delete_matching(self, pattern: str) -> int: ...

    async def raw(self, command: str, *args: Any) -> Any: ...

    async def lease(
        self, key: str, token: bytes, lease_ms: int, mode: LeaseMode
    ) -> tuple[LeaseStatus, bytes | None, int]: ...

    async def store_leased(
        self,
        key: str,
        token: bytes,
        entry: bytes,
        ttl_ms: int | None,
        channel: str,
        indexes: Sequence[str] = (),
    ) -> bool: ...

    async def release(self, key: str, token: bytes, channel: str) -> None: ...

    async def invalidate(
        self,
        keys: Sequence[str],
        channel: str,
        indexes: Sequence[str] = (),
        marker_ms: int = 3_600_000,
    ) -> int: ...

    async def scan(self, pattern: str) -> list[str]: ...

    async def close(self) -> None: ...
