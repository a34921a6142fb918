"""What both faces of the store API share: the cache's keyspace, default TTL and
runtime, and the checks every call makes before any I/O."""

from __future__ import annotations

from typing import Any

from .core.durations import Duration, to_seconds
from .core.entry import is_counter
from .core.keyspace import Keyspace
from .core.serializers import SerializerSpec
from .errors import InvalidKeyError
from .runtime import Runtime

__all__ = ["Facade"]


class Facade:
    keyspace: Keyspace
    default_ttl: float | None
    _runtime: Runtime

    def _key(self, key: str) -> str:
        """The entry key of the user's ``key`` (checked)."""
        if type(key) is not str or not key:
            raise InvalidKeyError(
                f"cache keys are non-empty str values, got {key!r} ({type(key).__name__})"
            )
        return self.keyspace.entry(key)

    def _ttl_ms(self, ttl: Duration | None) -> int | None:
        seconds = self.default_ttl if ttl is None else to_seconds(ttl)
        # Redis takes whole milliseconds; never round a positive TTL down to "expire now".
        return None if seconds is None else max(1, round(seconds * 1000))

    def _encode(self, value: Any, serializer: SerializerSpec | None, ttl_ms: int | None) -> bytes:
        if is_counter(value):
            # Plain decimal text, so that INCRBY can work on it atomically.
            return str(value).encode()
        return self._runtime.codec.for_serializer(serializer).encode(
            value,
            created=self._runtime.clock(),
            expire_after=None if ttl_ms is None else ttl_ms / 1000.0,
        )
