"""State and small helpers that the sync and async faces of ``Cache`` share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .durations import Duration, to_seconds
from .entry import EntryCodec, is_counter
from .errors import InvalidKeyError
from .serializers import SerializerSpec, resolve_serializer

if TYPE_CHECKING:
    from ._async.backend import AsyncBackend
    from ._sync.backend import SyncBackend

__all__ = ["MISSING", "CacheCore", "Missing"]


class Missing:
    """The type of :data:`MISSING`: "no value", distinct from a stored ``None``."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "redmemo.MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING = Missing()


class CacheCore:
    """Attributes and helpers used by both store mixins; ``Cache`` fills them in."""

    namespace: str
    enabled: bool
    clock: Callable[[], float]
    default_ttl: float | None
    _prefix: str
    _codec: EntryCodec
    _channel: str
    _functions: Any  # WeakSet of the cache's decorated functions

    def _index_name(self, kind: str, name: str) -> str:
        """The key of an index of entries: of a tag, a dependency, a function, a node."""
        return f"{self._prefix}__{kind}__:{name}"

    def _entry_of(self, key: str) -> str | None:
        """The entry key that a key found by a pattern belongs to (None: bookkeeping)."""
        if key.startswith("{") and key.endswith("}:lease"):
            return key[1:-7]
        for kind in ("tag", "dep", "fn", "node", "redmemo_stats"):
            if key.startswith(f"{self._prefix}__{kind}__"):
                return None
        for suffix in (":lease:w", ":lease"):
            if key.endswith(suffix):
                return key[: -len(suffix)]
        return key

    def _marker_ms(self) -> int:
        """How long an invalidation marker lives: longer than any fill can hold a lease."""
        leases = [fn.options.lease for fn in list(self._functions)]
        return int(max(3600.0, 2 * max(leases, default=0.0)) * 1000)

    def _async_backend(self) -> AsyncBackend:
        raise NotImplementedError

    def _sync_backend(self) -> SyncBackend:
        raise NotImplementedError

    def _key(self, key: str) -> str:
        if type(key) is not str or not key:
            raise InvalidKeyError(
                f"cache keys are non-empty str values, got {key!r} ({type(key).__name__})"
            )
        return self._prefix + key

    def _codec_for(self, serializer: SerializerSpec | None) -> EntryCodec:
        if serializer is None:
            return self._codec
        return self._codec.with_serializer(resolve_serializer(serializer))

    def _ttl_ms(self, ttl: Duration | None) -> int | None:
        seconds = self.default_ttl if ttl is None else to_seconds(ttl)
        # Redis takes whole milliseconds; never round a positive TTL down to "expire now".
        return None if seconds is None else max(1, round(seconds * 1000))

    def _encode(self, value: Any, codec: EntryCodec, ttl_ms: int | None) -> bytes:
        if is_counter(value):
            # Plain decimal text, so that INCRBY can work on it atomically.
            return str(value).encode()
        return codec.encode(
            value,
            created=self.clock(),
            expire_after=None if ttl_ms is None else ttl_ms / 1000.0,
        )
