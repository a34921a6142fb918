"""A Django cache backend on redmemo: ``django.core.cache`` with redmemo's store.

    CACHES = {
        "default": {
            "BACKEND": "redmemo.contrib.django.RedmemoCache",
            "LOCATION": "redis://localhost:6379/0",   # any redmemo URL: cluster, sentinel, memory
            "TIMEOUT": 300,
            "OPTIONS": {"namespace": "django", "serializer": "pickle"},
        }
    }

``OPTIONS`` are keyword arguments of :class:`redmemo.Cache` (``namespace`` defaults to
``"django"``, so ``cache.clear()`` removes this backend's entries and nobody else's), plus
``fail_open`` (default True): when Redis cannot be reached, reads are misses and writes
report that nothing was stored, instead of raising (``incr``/``decr`` still raise, since
no counter value can be made up).

Django's conventions hold: ``KEY_PREFIX``, ``VERSION`` and ``KEY_FUNCTION`` make the keys,
keys are checked as Django's other backends check them, a timeout of ``None`` keeps a
value forever and 0 (or less) expires it at once. Sync and async methods are native
(the async ones use redmemo's asyncio client, not a thread). ``get_or_set`` with a
callable default computes each cold key once across every process: the other callers
wait for it, with the leases redmemo's decorator uses.

The redmemo cache behind the backend is ``django_cache.redmemo``: decorate service
functions with it (``@caches["default"].redmemo(ttl=60)``) to share its connections.
"""

from __future__ import annotations

import pickle
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured

from ..cache import Cache
from ..core.durations import FOREVER, Duration
from ..core.missing import MISSING
from ..errors import BackendError, SerializationError

__all__ = ["RedmemoCache"]

# What a call that failed (fail_open) answers when None could be a real answer.
_FAILED = object()
# Options Django reads for its own culling backends; redmemo does not cull this way.
_CULLING = ("MAX_ENTRIES", "CULL_FREQUENCY")


class RedmemoCache(BaseCache):
    """``BACKEND = "redmemo.contrib.django.RedmemoCache"`` (see the module)."""

    def __init__(self, server: str | Iterable[str], params: dict[str, Any]) -> None:
        super().__init__(params)
        options = dict(params.get("OPTIONS") or {})
        for name in _CULLING:
            if name in options:
                raise ImproperlyConfigured(
                    f"RedmemoCache does not support OPTIONS[{name!r}]: entries leave by "
                    "their timeout, or by Redis's own maxmemory policy"
                )
        self._fail_open = bool(options.pop("fail_open", True))
        options.setdefault("namespace", "django")
        try:
            self.redmemo: Cache = Cache(_one_location(server), **options)
        except TypeError as exc:  # an OPTIONS key Cache does not take
            raise ImproperlyConfigured(f"RedmemoCache OPTIONS: {exc}") from exc

    # -- Django's conventions --------------------------------------------------------------

    def _ttl(self, timeout: Any) -> Duration:
        """A Django timeout as a redmemo ttl: None -> forever, 0 or less -> expire now."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return FOREVER
        return timeout if timeout > 0 else 0

    def _key(self, key: Any, version: int | None) -> str:
        made: str = self.make_and_validate_key(key, version=version)
        return made

    def _keys(self, keys: Iterable[Any], version: int | None) -> dict[str, Any]:
        return {self._key(key, version): key for key in keys}

    def _failed(self, exc: BackendError) -> None:
        if not self._fail_open:
            raise exc

    def _quietly(self, failed: Any, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)``, or ``failed`` when the backend fails and ``fail_open`` is on;
        a value pickle refuses raises pickle's error, as Django's backends do."""
        try:
            with _pickle_errors():
                return call(*args)
        except BackendError as exc:
            self._failed(exc)
            return failed

    async def _aquietly(self, failed: Any, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        try:
            with _pickle_errors():
                return await call(*args)
        except BackendError as exc:
            self._failed(exc)
            return failed

    # -- sync ------------------------------------------------------------------------------

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._quietly(default, self.redmemo.get, self._key(key, version), default)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._quietly(None, self.redmemo.set, self._key(key, version), value, self._ttl(timeout))

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        full, ttl = self._key(key, version), self._ttl(timeout)
        if ttl == 0:  # Django: "added" if the key was free, though nothing stays
            return not self._quietly(True, self.redmemo.exists, full)
        return bool(self._quietly(False, self.redmemo.add, full, value, ttl))

    def get_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> Any:
        if not callable(default):
            # Django's own steps (add, then read what is there), so that a value another
            # caller added first wins.
            return super().get_or_set(key, default, timeout=timeout, version=version)
        full = self._key(key, version)
        made = self._quietly(_FAILED, self.redmemo.get_or_set, full, default, self._ttl(timeout))
        return default() if made is _FAILED else made

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        full = self._key(key, version)
        return bool(self._quietly(False, self.redmemo.expire, full, self._ttl(timeout)))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._quietly(0, self.redmemo.delete, self._key(key, version)))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._quietly(False, self.redmemo.exists, self._key(key, version)))

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        named = self._keys(keys, version)
        if not named:
            return {}
        values = self._quietly(None, self.redmemo.multi_get, list(named), MISSING)
        return {} if values is None else _found(named, values)

    def set_many(
        self,
        data: Mapping[Any, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        items = [(self._key(key, version), value) for key, value in data.items()]
        if not items:
            return []
        done = self._quietly(_FAILED, self.redmemo.multi_set, items, self._ttl(timeout))
        return list(data) if done is _FAILED else []  # Django: the keys not stored

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        fulls = list(self._keys(keys, version))
        if fulls:
            self._quietly(None, self.redmemo.delete, *fulls)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        full = self._key(key, version)
        if not self.redmemo.exists(full):
            raise ValueError(f"Key '{key}' not found")
        return self.redmemo.increment(full, delta)

    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self.incr(key, -delta, version)

    def clear(self) -> None:
        self._quietly(None, self.redmemo.clear)

    def close(self, **kwargs: Any) -> None:
        # Django calls this at the end of every request; the connection pools are meant to
        # outlive requests, as Django's own Redis backend keeps them.
        return None

    # -- async (redmemo's asyncio client: no thread per call) ------------------------------

    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return await self._aquietly(default, self.redmemo.aget, self._key(key, version), default)

    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        full, ttl = self._key(key, version), self._ttl(timeout)
        await self._aquietly(None, self.redmemo.aset, full, value, ttl)

    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        full, ttl = self._key(key, version), self._ttl(timeout)
        if ttl == 0:
            return not await self._aquietly(True, self.redmemo.aexists, full)
        return bool(await self._aquietly(False, self.redmemo.aadd, full, value, ttl))

    async def aget_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> Any:
        if not callable(default):
            return await super().aget_or_set(key, default, timeout=timeout, version=version)
        full, ttl = self._key(key, version), self._ttl(timeout)
        made = await self._aquietly(_FAILED, self.redmemo.aget_or_set, full, default, ttl)
        return default() if made is _FAILED else made

    async def atouch(
        self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        full, ttl = self._key(key, version), self._ttl(timeout)
        return bool(await self._aquietly(False, self.redmemo.aexpire, full, ttl))

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        return bool(await self._aquietly(0, self.redmemo.adelete, self._key(key, version)))

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        return bool(await self._aquietly(False, self.redmemo.aexists, self._key(key, version)))

    async def aget_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        named = self._keys(keys, version)
        if not named:
            return {}
        values = await self._aquietly(None, self.redmemo.amulti_get, list(named), MISSING)
        return {} if values is None else _found(named, values)

    async def aset_many(
        self,
        data: Mapping[Any, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        items = [(self._key(key, version), value) for key, value in data.items()]
        if not items:
            return []
        done = await self._aquietly(_FAILED, self.redmemo.amulti_set, items, self._ttl(timeout))
        return list(data) if done is _FAILED else []

    async def adelete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        fulls = list(self._keys(keys, version))
        if fulls:
            await self._aquietly(None, self.redmemo.adelete, *fulls)

    async def aincr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        full = self._key(key, version)
        if not await self.redmemo.aexists(full):
            raise ValueError(f"Key '{key}' not found")
        return await self.redmemo.aincrement(full, delta)

    async def adecr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return await self.aincr(key, -delta, version)

    async def aclear(self) -> None:
        await self._aquietly(None, self.redmemo.aclear)

    async def aclose(self, **kwargs: Any) -> None:
        return None


def _one_location(server: str | Iterable[str]) -> str:
    """The one redmemo URL in LOCATION (a str, or a list of one)."""
    if isinstance(server, str):
        locations = [part.strip() for part in server.split(";") if part.strip()]
    else:
        locations = [str(part).strip() for part in server]
    if len(locations) != 1:
        raise ImproperlyConfigured(
            "RedmemoCache takes one LOCATION URL, got "
            f"{len(locations)}: use a redis+cluster:// or redis+sentinel:// URL to name "
            "several servers"
        )
    return locations[0]


def _found(named: dict[str, Any], values: list[Any]) -> dict[Any, Any]:
    return {
        original: value
        for (original, value) in zip(named.values(), values, strict=True)
        if value is not MISSING
    }


@contextmanager
def _pickle_errors() -> Iterator[None]:
    """Let a value pickle refuses raise pickle's own error, as Django's backends do
    (redmemo wraps it in SerializationError, naming the value's type)."""
    try:
        yield
    except SerializationError as exc:
        if isinstance(exc.__cause__, pickle.PickleError):
            raise exc.__cause__ from exc
        raise
