"""Locks (async source of ``_sync/lock.py``): a lock held by one holder at a time, with
fencing tokens, and an optimistic lock that writes back only if nothing changed.

Async methods carry an ``a`` prefix; the generator drops it for the sync twin, and
:mod:`redmemo.locks` joins both faces in one object.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any

from ..core.durations import Duration
from ..core.serializers import SerializerSpec
from ..errors import LockNotOwnedError, LockTimeoutError, OptimisticLockError
from ..facade import Facade

__all__ = ["AsyncLockMixin", "AsyncOptimisticLockMixin"]

_FIRST_PAUSE = 0.005  # seconds between tries, doubling up to _LAST_PAUSE
_LAST_PAUSE = 0.1


class AsyncLockMixin:
    """The async face of :class:`redmemo.locks.Lock` (its state is set there)."""

    _cache: Facade
    name: str
    key: str
    fence: str
    ttl_ms: int
    blocking: bool
    blocking_timeout: float | None
    token: bytes
    fencing_token: int | None

    async def aacquire(
        self, blocking: bool | None = None, blocking_timeout: float | None = None
    ) -> bool:
        """Take the lock; with ``blocking``, try again until ``blocking_timeout`` (None:
        for ever). True when taken, False when not (never raises for that)."""
        blocking = self.blocking if blocking is None else blocking
        timeout = self.blocking_timeout if blocking_timeout is None else blocking_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = _FIRST_PAUSE
        while True:
            backend = self._cache._runtime.async_backend()
            number = await backend.lock(self.key, self.fence, self.token, self.ttl_ms)
            if number:
                self.fencing_token = number
                return True
            if not blocking:
                return False
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            await asyncio.sleep(pause if left is None else min(pause, left))
            pause = min(pause * 2, _LAST_PAUSE)

    async def arelease(self) -> None:
        """Give the lock back; :class:`LockNotOwnedError` if it was not held (any more)."""
        backend = self._cache._runtime.async_backend()
        held = self.fencing_token is not None
        self.fencing_token = None
        if not held or not await backend.unlock(self.key, self.token):
            raise LockNotOwnedError(
                f"lock {self.name!r} is not held by this holder: its ttl ran out, or it was "
                "never taken (another holder may have it now)"
            )

    async def aextend(self, ttl: Duration | None = None) -> None:
        """Keep the lock ``ttl`` (default: its own) longer from now."""
        ttl_ms = self.ttl_ms if ttl is None else self._cache._ttl_ms(ttl) or self.ttl_ms
        backend = self._cache._runtime.async_backend()
        if self.fencing_token is None or not await backend.relock(self.key, self.token, ttl_ms):
            raise LockNotOwnedError(f"lock {self.name!r} is not held by this holder")

    async def __aenter__(self) -> Any:
        if not await self.aacquire():
            waited = "" if not self.blocking else f" within {self.blocking_timeout}s"
            raise LockTimeoutError(f"lock {self.name!r} was not acquired{waited}")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.arelease()


class AsyncOptimisticLockMixin:
    """The async face of :class:`redmemo.locks.OptimisticLock`."""

    _cache: Facade
    key: str
    full: str
    ttl: Duration | None
    serializer: SerializerSpec | None
    observed: bytes | None
    value: Any

    async def aread(self) -> Any:
        """Read the value now (what ``cas`` compares with); None when absent."""
        cache = self._cache
        raw = await cache._runtime.async_backend().get(self.full)
        self.observed = raw
        entry = cache._runtime.codec.for_serializer(self.serializer).decode(raw)
        self.value = None if entry is None else entry.value
        return self.value

    async def acas(self, value: Any, ttl: Duration | None = None) -> None:
        """Write ``value`` only if the stored value is still what was read (or still
        absent); :class:`OptimisticLockError` otherwise, and nothing is written."""
        cache = self._cache
        ttl_ms = cache._ttl_ms(self.ttl if ttl is None else ttl)
        data = cache._encode(value, self.serializer, ttl_ms)
        backend = cache._runtime.async_backend()
        if self.observed is None:
            done = await backend.add(self.full, data, ttl_ms)
        else:
            done = await backend.replace(self.full, self.observed, data, ttl_ms)
        if not done:
            raise OptimisticLockError(
                f"{self.key!r} changed since it was read; {value!r} was not written"
            )
        self.observed = data
        self.value = value

    async def __aenter__(self) -> Any:
        await self.aread()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Nothing to give back: an optimistic lock holds nothing."""
