"""The Redis backend over one redis-py client (and its connection pool)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from ..errors import BackendError, NotACounterError
from ..leases import PUBLISH_LIMIT, LeaseMode, LeaseStatus, index_keys, lease_keys, load_script

__all__ = ["AsyncRedisBackend"]

_DELETE_BATCH = 500


def _failed(command: str, exc: RedisError) -> BackendError:
    return BackendError(f"Redis {command} failed: {type(exc).__name__}: {exc}")


class AsyncRedisBackend:
    def __init__(self, client: Redis) -> None:
        self.client = client
        self._lease = client.register_script(load_script("lease"))
        self._store = client.register_script(load_script("store"))
        self._release = client.register_script(load_script("release"))
        self._invalidate = client.register_script(load_script("invalidate"))

    async def get(self, key: str) -> bytes | None:
        try:
            value = cast("bytes | None", await self.client.get(key))
        except RedisError as exc:
            raise _failed("GET", exc) from exc
        return value

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        try:
            values = cast("list[bytes | None]", await self.client.mget(keys))
        except RedisError as exc:
            raise _failed("MGET", exc) from exc
        return values

    async def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        try:
            await self.client.set(key, value, px=ttl_ms)
        except RedisError as exc:
            raise _failed("SET", exc) from exc

    async def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        try:
            return bool(await self.client.set(key, value, px=ttl_ms, nx=True))
        except RedisError as exc:
            raise _failed("SET NX", exc) from exc

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None:
        if not items:
            return
        try:
            # One round trip: a pipeline of SETs (MSET cannot carry a TTL).
            async with self.client.pipeline(transaction=False) as pipe:
                for key, value in items:
                    pipe.set(key, value, px=ttl_ms)
                await pipe.execute()
        except RedisError as exc:
            raise _failed("SET (pipeline)", exc) from exc

    async def exists(self, key: str) -> bool:
        try:
            return bool(await self.client.exists(key))
        except RedisError as exc:
            raise _failed("EXISTS", exc) from exc

    async def incr(self, key: str, delta: int) -> int:
        try:
            result: int = await self.client.incrby(key, delta)
        except ResponseError as exc:
            raise NotACounterError(
                f"cannot increment {key!r}: it holds a value that is not an integer counter "
                f"(Redis said: {exc})"
            ) from exc
        except RedisError as exc:
            raise _failed("INCRBY", exc) from exc
        return result

    async def expire(self, key: str, ttl_ms: int | None) -> bool:
        try:
            if ttl_ms is None:
                # PERSIST answers 0 for a key without a TTL too; we want "does it exist".
                await self.client.persist(key)
                return bool(await self.client.exists(key))
            return bool(await self.client.pexpire(key, ttl_ms))
        except RedisError as exc:
            raise _failed("PEXPIRE", exc) from exc

    async def ttl_ms(self, key: str) -> int | None:
        try:
            left: int = await self.client.pttl(key)
        except RedisError as exc:
            raise _failed("PTTL", exc) from exc
        return left if left >= 0 else None

    async def delete(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        try:
            count: int = await self.client.unlink(*keys)
        except RedisError as exc:
            raise _failed("UNLINK", exc) from exc
        return count

    async def delete_matching(self, pattern: str) -> int:
        """Delete the keys matching ``pattern``, found with SCAN in batches (never KEYS)."""
        deleted = 0
        batch: list[Any] = []
        try:
            async for key in self.client.scan_iter(match=pattern, count=_DELETE_BATCH):
                batch.append(key)
                if len(batch) >= _DELETE_BATCH:
                    deleted += await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += await self.client.unlink(*batch)
        except RedisError as exc:
            raise _failed("SCAN/UNLINK", exc) from exc
        return deleted

    async def raw(self, command: str, *args: Any) -> Any:
        try:
            return await self.client.execute_command(command, *args)  # type: ignore[no-untyped-call]
        except RedisError as exc:
            raise _failed(command, exc) from exc

    # -- leases (see lua/ and leases.py) ---------------------------------------------------

    async def lease(
        self, key: str, token: bytes, lease_ms: int, mode: LeaseMode
    ) -> tuple[LeaseStatus, bytes | None, int]:
        """Get-or-lease: (ENTRY, entry, 0) | (ACQUIRED, None, 0) | (HELD, None, ms left)."""
        try:
            reply = await self._lease(keys=lease_keys(key), args=[token, lease_ms, mode.value])
        except RedisError as exc:
            raise _failed("EVALSHA lease", exc) from exc
        status = LeaseStatus(reply[0])
        if status is LeaseStatus.ENTRY:
            return status, reply[1], 0
        return status, None, int(reply[1]) if status is LeaseStatus.HELD else 0

    async def store_leased(
        self,
        key: str,
        token: bytes,
        entry: bytes,
        ttl_ms: int | None,
        channel: str,
        indexes: Sequence[str] = (),
    ) -> bool:
        """Store ``entry`` if still wanted (see lua/store.lua), register it in ``indexes``,
        wake waiters. False: not stored."""
        keys = [*lease_keys(key), *index_keys(indexes)]
        args: list[bytes | str | int] = [token, entry, ttl_ms or 0, channel, PUBLISH_LIMIT]
        try:
            return bool(await self._store(keys=keys, args=args))
        except RedisError as exc:
            raise _failed("EVALSHA store", exc) from exc

    async def release(self, key: str, token: bytes, channel: str) -> None:
        try:
            await self._release(keys=lease_keys(key), args=[token, channel])
        except RedisError as exc:
            raise _failed("EVALSHA release", exc) from exc

    async def invalidate(
        self,
        keys: Sequence[str],
        channel: str,
        indexes: Sequence[str] = (),
        marker_ms: int = 3_600_000,
    ) -> int:
        """Delete entries and the members of indexes, with their leases, atomically, so
        that running fills cannot store; wake waiters. Returns how many entries existed."""
        if not keys and not indexes:
            return 0
        try:
            removed = await self._invalidate(
                keys=[*keys, *indexes], args=[channel, len(keys), marker_ms]
            )
        except RedisError as exc:
            raise _failed("EVALSHA invalidate", exc) from exc
        return int(removed)

    async def scan(self, pattern: str) -> list[str]:
        """Every key matching ``pattern``, by SCAN in batches (never KEYS)."""
        try:
            return [
                key.decode()
                async for key in self.client.scan_iter(match=pattern, count=_DELETE_BATCH)
            ]
        except RedisError as exc:
            raise _failed("SCAN", exc) from exc

    async def close(self) -> None:
        await self.client.aclose()
