"""What both faces of the store API share: the cache's keyspace, default TTL and
runtime, and the checks every call makes before any I/O."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, ParamSpec, TypeVar

from .core.durations import Duration, Forever, to_seconds
from .core.entry import is_counter
from .core.keyspace import Keyspace
from .core.serializers import SerializerSpec, serializer_name
from .errors import CommandTimeoutError, InvalidKeyError
from .runtime import Runtime

__all__ = ["Facade"]

# Serializers whose values include ints: those are stored as counters. The others (raw
# bytes, strings, your own) get every value, ints included, as they say they do.
_COUNTING = frozenset({"pickle", "json", "msgpack"})


P = ParamSpec("P")
R = TypeVar("R")

# Sync commands given ``timeout=`` run here, so that the caller can stop waiting (a sync
# redis-py call cannot be interrupted). Made on first use; a forked child makes its own.
_TIMED_WORKERS = 16
_timed_pool: ThreadPoolExecutor | None = None
_timed_lock = threading.Lock()


def _timed_executor() -> ThreadPoolExecutor:
    global _timed_pool
    with _timed_lock:
        if _timed_pool is None:
            _timed_pool = ThreadPoolExecutor(_TIMED_WORKERS, thread_name_prefix="redmemo-timed")
        return _timed_pool


def _forget_timed_executor() -> None:
    global _timed_pool, _timed_lock
    _timed_pool = None  # its threads stayed in the parent
    _timed_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_timed_executor)


def _late(command: str, seconds: float) -> CommandTimeoutError:
    return CommandTimeoutError(
        f"{command} did not finish within {seconds:g} s (a write's outcome is unknown; "
        "it is not sent again)"
    )


class Facade:
    keyspace: Keyspace
    default_ttl: float | None
    _runtime: Runtime

    def _with_grouped(self, keys: list[str]) -> list[str]:
        """``keys``, and on a Redis Cluster the same user keys in each bounded group this
        process knows (a bounded function's entries carry their group's hash tag)."""
        groups = self._runtime.groups
        if not groups:
            return keys
        space = self.keyspace
        grouped = [
            space.grouped(group, body)
            for key in keys
            if space.group_of(key) is None and (body := space.body(key)) is not None
            for group in sorted(groups)
        ]
        return keys + grouped

    def _key(self, key: str) -> str:
        """The entry key of the user's ``key`` (checked). A key that redmemo showed (from
        ``fn.key()``, ``full_key()`` or an event) is already one and is taken as is."""
        if type(key) is not str:
            if not isinstance(key, str):
                raise InvalidKeyError(
                    f"cache keys are non-empty str values, got {key!r} ({type(key).__name__})"
                )
            key = str.__str__(key)  # a StrEnum member or str subclass: its string value
        if not key:
            raise InvalidKeyError("cache keys are non-empty str values, got ''")
        keyspace = self.keyspace
        if key.startswith(keyspace.prefix):
            stored = keyspace.as_stored(key)
            if stored is not None:
                return stored
        return keyspace.entry(key)

    def _sync_within(
        self, timeout: Duration, command: str, method: Callable[P, R], *args: P.args, **kw: P.kwargs
    ) -> R:
        """``method(*args, **kw)``, given up after ``timeout`` (pycached's ``timeout=``)."""
        seconds = to_seconds(timeout, name="timeout")
        future = _timed_executor().submit(method, *args, **kw)
        try:
            return future.result(seconds)
        except FutureTimeout:
            raise _late(command, seconds) from None

    async def _async_within(
        self,
        timeout: Duration,
        command: str,
        method: Callable[P, Awaitable[R]],
        *args: P.args,
        **kw: P.kwargs,
    ) -> R:
        seconds = to_seconds(timeout, name="timeout")
        try:
            return await asyncio.wait_for(method(*args, **kw), seconds)
        except asyncio.TimeoutError:
            raise _late(command, seconds) from None

    def _sync_filler(self, ttl: Duration | None, serializer: SerializerSpec | None) -> Any:
        """The cached function behind sync ``get_or_set`` for this ttl (see ``Cache``)."""
        raise NotImplementedError

    def _async_filler(self, ttl: Duration | None, serializer: SerializerSpec | None) -> Any:
        """The cached function behind ``aget_or_set`` for this ttl (see ``Cache``)."""
        raise NotImplementedError

    def _ttl_ms(self, ttl: Duration | None) -> int | None:
        if isinstance(ttl, Forever):
            return None  # never expires, whatever the cache's default
        seconds = self.default_ttl if ttl is None else to_seconds(ttl)
        # Redis takes whole milliseconds; never round a positive TTL down to "expire now".
        return None if seconds is None else max(1, round(seconds * 1000))

    def _encode(self, value: Any, serializer: SerializerSpec | None, ttl_ms: int | None) -> bytes:
        codec = self._runtime.codec.for_serializer(serializer)
        if is_counter(value) and serializer_name(codec.serializer) in _COUNTING:
            # Plain decimal text, so that INCRBY can work on it atomically.
            return str(value).encode()
        return codec.encode(
            value,
            created=self._runtime.clock(),
            expire_after=None if ttl_ms is None else ttl_ms / 1000.0,
        )
