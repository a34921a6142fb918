"""A cached function: the get-or-compute loop (async source of ``_sync/function.py``).

Reading order: ``__call__`` -> ``_get_or_compute`` (the hit path: one GET) -> ``_fill``
(in-process flight) -> ``_fill_leased`` (cross-process lease, waiting) -> ``_compute``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from .._compat import AsyncCompat
from ..bound import BoundCachedFunction
from ..design import Design
from ..entry import Entry
from ..errors import BackendError, SerializationError
from ..leases import LeaseMode, LeaseStatus, Notice, new_token
from ..options import NODE_DEFAULTS, Options
from ..policy import State, classify
from ..stats import Stats

if TYPE_CHECKING:
    from ..cache import Cache

__all__ = ["AsyncCachedFunction"]

P = ParamSpec("P")
P2 = ParamSpec("P2")
T = TypeVar("T")
S = TypeVar("S")

logger = logging.getLogger("redmemo")


class AsyncCachedFunction(Generic[P, T]):
    """``fn`` with its results cached; call it as you would call ``fn``."""

    def __init__(
        self,
        cache: Cache,
        fn: Callable[P, Awaitable[T]],
        options: Options,
        raw_options: dict[str, Any] | None = None,
    ) -> None:
        functools.update_wrapper(self, fn)
        self.function = fn
        self.cache = cache
        self.options = options
        self.design = Design(cache, fn, options)
        self.design.adopt_node_meta = self._adopt_node_meta
        self.keys = self.design.keys
        self.stats_name = self.design.stats_name
        self.stats_counter = Stats()
        self._codec = cache._codec_for(options.serializer)
        self._refreshing: set[str] = set()
        self._skip = options.skip
        self._callbacks = self.design.has_callbacks
        self._raw_options = raw_options or {}

    # -- the public face ----------------------------------------------------------------

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        if not self.cache.enabled or (self._skip is not False and self._skips(args, kwargs)):
            return await self.function(*args, **kwargs)
        return await self._get_or_compute(self.keys.key(args, kwargs), args, kwargs)

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The backend key that this call's result is stored under."""
        return self.keys.key(args, kwargs)

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Forget this call's result (and what depends on it); a computation of it already
        running will not store its result."""
        key = self.keys.key(args, kwargs)
        return await self.cache._ainvalidate_full([key]) > 0

    async def invalidate_all(self) -> int:
        """Forget every result of this function (every process's), without a scan."""
        return await self.cache._ainvalidate_indexes([self.design.function_index])

    async def refresh(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Compute this call now, store the result (pre-empting any running fill), return it."""
        key = self.keys.key(args, kwargs)
        backend = self.cache._async_backend()
        token = new_token()
        await backend.lease(key, token, self.options.lease_ms, LeaseMode.TAKE)
        self.stats_counter.add("refreshes")
        return await self._compute(key, token, args, kwargs, None)

    def stats(self, reset: bool = False) -> dict[str, int]:
        """This function's counters (hits, misses, stale, fills, ...) in this process."""
        return self.stats_counter.snapshot(reset)

    @overload
    def __get__(
        self, instance: None, owner: type[Any] | None = None
    ) -> AsyncCachedFunction[P, T]: ...

    @overload
    def __get__(
        self: AsyncCachedFunction[Concatenate[S, P2], T],
        instance: S,
        owner: type[Any] | None = None,
    ) -> BoundCachedFunction[P2, Awaitable[T]]: ...

    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Any:
        # As a method, bind like a function does: obj.method(x) calls us with obj first,
        # and obj.method.invalidate(x) invalidates that same call.
        return self if instance is None else BoundCachedFunction(self, instance)

    def __repr__(self) -> str:
        return f"<cached {self.keys.base.rstrip(':')} in {self.cache!r}>"

    # -- the loop -------------------------------------------------------------------------

    def _skips(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if self._skip is True:
            return True
        return bool(self._skip(self.keys.bind(args, kwargs)))  # type: ignore[operator]

    async def _get_or_compute(self, key: str, args: Any, kwargs: Any) -> T:
        flight = self.cache._flights.running(key)
        if flight is not None:  # this process is computing it now: share, without Redis
            return await self._join(key, flight, args, kwargs, None)
        try:
            raw = await self.cache._async_backend().get(key)
        except BackendError as exc:
            return await self._fail_open(exc, args, kwargs)
        fallback = None
        if raw is not None:
            entry = self._codec.decode(raw)
            if entry is not None:
                state = classify(entry, self.cache.clock(), self.options.beta)
                if state is State.FRESH:
                    self.stats_counter.add("hits")
                    if self._callbacks:
                        self.design.hit(key, entry.value, args, kwargs)
                    return entry.value  # type: ignore[no-any-return]
                if state is State.STALE:
                    self.stats_counter.add("stale")
                    self._start(key, args, kwargs, refresh=True)
                    return entry.value  # type: ignore[no-any-return]
                fallback = entry  # past ttl, kept only to fall back on if the fill fails
        self.stats_counter.add("misses")
        if self._callbacks:
            self.design.miss(key, args, kwargs)
        if not self.options.wait:
            self.stats_counter.add("defaults")
            self._start(key, args, kwargs, refresh=False)
            return self.options.default  # type: ignore[no-any-return]
        return await self._fill(key, args, kwargs, fallback)

    async def _fill(self, key: str, args: Any, kwargs: Any, fallback: Entry | None) -> T:
        """Compute a missing entry once per process: the first caller leads, others join."""
        flight, leader = self.cache._flights.join(key)
        if not leader:
            return await self._join(key, flight, args, kwargs, fallback)
        try:
            value = await self._fill_leased(key, args, kwargs, fallback)
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(value)
            return value
        finally:
            self.cache._flights.land(key, flight)

    async def _join(
        self, key: str, flight: Future[object], args: Any, kwargs: Any, fallback: Entry | None
    ) -> T:
        """Wait for this process's computation of ``key`` (bounded by wait_timeout)."""
        self.stats_counter.add("waits")
        try:
            shared: Any = await AsyncCompat.wait(flight, self.options.wait_timeout)
            return shared  # type: ignore[no-any-return]
        except TimeoutError:
            return await self._compute_unleased(key, args, kwargs, fallback)

    async def _fill_leased(self, key: str, args: Any, kwargs: Any, fallback: Entry | None) -> T:
        """Compute under the cross-process lease, or wait for whoever holds it."""
        cache = self.cache
        backend = cache._async_backend()
        token = new_token()
        deadline = time.monotonic() + self.options.wait_timeout
        held_before = False
        force = fallback is not None  # an entry exists but is unusable: replace it
        # Registered before asking for the lease: a result stored after that answer must
        # find us listening.
        waiter = cache._waiters.register(key)
        try:
            while True:
                mode = LeaseMode.FORCE if force else LeaseMode.FILL
                status, raw, left = await backend.lease(key, token, self.options.lease_ms, mode)
                if status is LeaseStatus.ENTRY:
                    entry = self._codec.decode(raw)
                    if entry is not None and entry.expire_at > cache.clock():
                        return entry.value  # type: ignore[no-any-return]
                    fallback = entry or fallback  # unreadable or expired: replace it
                    force = True
                    continue
                if status is LeaseStatus.ACQUIRED:
                    if held_before:
                        self.stats_counter.add("takeovers")
                    return await self._compute(key, token, args, kwargs, fallback)
                held_before = True
                if not cache._listener_ready():
                    # Only waiters need notifications, so the listener starts here, off the
                    # holder's path. A fill stored before it subscribed would be missed:
                    # ask again, which answers with that entry.
                    await AsyncCompat.run_blocking(cache._start_listener)
                    continue
                self.stats_counter.add("waits")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return await self._compute_unleased(key, args, kwargs, fallback)
                try:
                    # Wake at the latest when the holder's lease ends, to take it over.
                    kind, payload = await AsyncCompat.wait(
                        waiter, min(remaining, left / 1000 + 0.01)
                    )
                except TimeoutError:
                    continue
                if kind is Notice.VALUE:
                    entry = self._codec.decode(payload)
                    if entry is not None:
                        return entry.value  # type: ignore[no-any-return]
                waiter = cache._waiters.register(key)  # woken without a value: ask again
        except BackendError as exc:
            return await self._fail_open(exc, args, kwargs)
        finally:
            cache._waiters.discard(key, waiter)

    async def _compute(
        self, key: str, token: bytes, args: Any, kwargs: Any, fallback: Entry | None
    ) -> T:
        """Run the function with the lease held, store its result, give the lease back."""
        backend = self.cache._async_backend()
        started = time.monotonic()
        try:
            value = await self.function(*args, **kwargs)
        except Exception as exc:
            self.stats_counter.add("failures")
            await self._release_quietly(key, token)
            return self._fallback_or_raise(exc, fallback)
        elapsed = time.monotonic() - started
        data = self._encode(value, elapsed)
        try:
            indexes = self.design.indexes(self.keys.arguments(args, kwargs), value)
        except Exception:
            # Without its tags and dependencies the entry could not be invalidated: skip it.
            logger.warning("redmemo: not caching %s: its tags failed", key, exc_info=True)
            data = None
        if data is None:
            await self._release_quietly(key, token)
            return value
        try:
            stored = await backend.store_leased(
                key, token, data, self.options.backend_ttl_ms, self.cache._channel, indexes
            )
        except BackendError as exc:
            self._count_backend_error(exc)
        else:
            # Not stored: invalidated or taken over meanwhile; the newer state wins.
            self.stats_counter.add("fills" if stored else "overtaken")
        return value

    async def _compute_unleased(
        self, key: str, args: Any, kwargs: Any, fallback: Entry | None
    ) -> T:
        """Waited long enough: compute by ourselves. Without the lease the result is not
        stored: it could land after an invalidation, and the holder stores anyway."""
        try:
            return await self.function(*args, **kwargs)
        except Exception as exc:
            self.stats_counter.add("failures")
            return self._fallback_or_raise(exc, fallback)

    # -- background work ------------------------------------------------------------------

    def _start(self, key: str, args: Any, kwargs: Any, refresh: bool) -> None:
        """Refresh (or fill, for wait=False) in the background, once per key and process."""
        if key in self._refreshing:
            return
        self._refreshing.add(key)
        self.cache._background.async_spawn(self._background_job, key, args, kwargs, refresh)

    async def _background_job(self, key: str, args: Any, kwargs: Any, refresh: bool) -> None:
        try:
            backend = self.cache._async_backend()
            token = new_token()
            if refresh:
                # Across processes, only the one that takes the lease refreshes.
                mode = LeaseMode.REFRESH
                status, _, _ = await backend.lease(key, token, self.options.lease_ms, mode)
                if status is LeaseStatus.ACQUIRED:
                    self.stats_counter.add("refreshes")
                    await self._compute(key, token, args, kwargs, None)
            else:
                await self._fill(key, args, kwargs, None)
        except BackendError as exc:
            self._count_backend_error(exc)
        except Exception:
            logger.warning("redmemo: background computation of %s failed", key, exc_info=True)
        finally:
            self._refreshing.discard(key)

    # -- helpers ----------------------------------------------------------------------------

    def _adopt_node_meta(self, meta: dict[str, Any]) -> None:
        """Take a node's Meta defaults (ttl, refresh, ...) where the decorator gave none."""
        changes = {
            k: v for k, v in meta.items() if k in NODE_DEFAULTS and k not in self.options.explicit
        }
        if changes:
            self.options = Options.build(**{**self._raw_options, **changes})

    def _encode(self, value: Any, elapsed: float) -> bytes | None:
        """The entry to store for ``value``, or None when it is not to be stored."""
        if self.options.unless is not None and self.options.unless(value):
            return None
        try:
            return self._codec.encode(
                value,
                created=self.cache.clock(),
                refresh_after=self.options.refresh,
                expire_after=self.options.ttl,
                compute_time=elapsed,
            )
        except SerializationError as exc:
            # The caller still gets its value; only the caching of it failed.
            self.stats_counter.add("failures")
            logger.warning("redmemo: not caching a result of %s: %s", self.keys.base, exc)
            return None

    def _fallback_or_raise(self, exc: Exception, fallback: Entry | None) -> T:
        if fallback is not None and self.options.stale_if_error is not None:
            logger.warning(
                "redmemo: %s failed; serving its last value (stale_if_error)",
                self.keys.base,
                exc_info=exc,
            )
            return fallback.value  # type: ignore[no-any-return]
        raise exc

    async def _release_quietly(self, key: str, token: bytes) -> None:
        try:
            await self.cache._async_backend().release(key, token, self.cache._channel)
        except BackendError as exc:
            self._count_backend_error(exc)

    async def _fail_open(self, exc: BackendError, args: Any, kwargs: Any) -> T:
        """The backend failed: the function still answers, uncached."""
        self._count_backend_error(exc)
        return await self.function(*args, **kwargs)

    def _count_backend_error(self, exc: BackendError) -> None:
        self.stats_counter.add("errors")
        self.cache._report_backend_error(exc)
