"""Locks from a cache, for both faces in one object.

``cache.lock(name)`` is a lock held by one holder at a time: a token per holder, released
only by its holder (compare and delete, in one script), extendable while held, and a
fencing token that grows with every acquisition. It is for avoiding duplicate work, as
the Redlock-style locks of the other cache libraries are; it is not a consensus lock: a
holder paused past its ``ttl`` (a GC pause, a stalled VM) can still believe it holds
the lock after another took it. Pass ``fencing_token`` to the storage you protect, and
have it refuse a smaller token than the last it saw, when that matters.

``cache.optimistic_lock(key)`` holds nothing: it reads the value, and ``cas(new)`` writes
only if nobody changed it meanwhile (:class:`~redmemo.errors.OptimisticLockError`).
"""

from __future__ import annotations

import secrets
from typing import Any

from ._async.lock import AsyncLockMixin, AsyncOptimisticLockMixin
from ._sync.lock import SyncLockMixin, SyncOptimisticLockMixin
from .core.durations import Duration, to_seconds
from .core.serializers import SerializerSpec
from .errors import ConfigurationError
from .facade import Facade

__all__ = ["Lock", "OptimisticLock"]


class Lock(SyncLockMixin, AsyncLockMixin):
    """``with cache.lock("report", ttl=30): ...`` or ``async with``; see the module."""

    def __init__(
        self,
        cache: Facade,
        name: str,
        ttl: Duration,
        blocking: bool = True,
        blocking_timeout: Duration | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"a lock's name is a non-empty str, got {name!r}")
        ttl_ms = cache._ttl_ms(ttl)
        if ttl_ms is None:
            raise ConfigurationError(
                f"lock {name!r} needs a ttl: a holder that dies must not keep it for ever"
            )
        self._cache = cache
        self.name = name
        self.key = cache.keyspace.lock(name)
        self.fence = cache.keyspace.fence(name)
        self.ttl_ms = ttl_ms
        self.blocking = blocking
        self.blocking_timeout = _timeout(blocking_timeout)
        self.token = secrets.token_bytes(16)  # this holder's, for every acquisition
        self.fencing_token: int | None = None

    @property
    def owned(self) -> bool:
        """Whether this holder took the lock and has not given it back (it may still
        have run out: :meth:`extend` says)."""
        return self.fencing_token is not None

    def __repr__(self) -> str:
        state = f"held, fencing token {self.fencing_token}" if self.owned else "not held"
        return f"<Lock {self.name!r} {state}>"


def _timeout(value: Duration | None) -> float | None:
    """``blocking_timeout``: None waits for ever, 0 tries once, else a time span."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return 0.0
    return to_seconds(value, name="blocking_timeout")


class OptimisticLock(SyncOptimisticLockMixin, AsyncOptimisticLockMixin):
    """``with cache.optimistic_lock(key) as lock: lock.cas(compute(lock.value))``."""

    def __init__(
        self,
        cache: Facade,
        key: str,
        ttl: Duration | None = None,
        serializer: SerializerSpec | None = None,
    ) -> None:
        self._cache = cache
        self.key = key
        self.full = cache._key(key)
        self.ttl = ttl
        self.serializer = serializer
        self.observed: bytes | None = None
        self.value: Any = None

    def __repr__(self) -> str:
        return f"<OptimisticLock {self.key!r}>"
