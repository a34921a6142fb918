"""A cached function: the get-or-compute loop (async source of ``_sync/function.py``).

Reading order: ``__call__`` -> ``_get_or_compute`` (the hit path: one GET) -> ``_fill``
(in-process flight) -> ``_fill_leased`` (cross-process lease, waiting) -> ``_compute``.
All it knows of its cache is the :class:`~redmemo.runtime.Runtime`.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from .._compat import INTERRUPTS, AsyncCompat
from ..backends._async.protocol import AsyncBackend
from ..coordination.flights import Abandoned
from ..coordination.leases import (
    Lease,
    LeaseMode,
    LeaseRequest,
    LeaseStatus,
    Notice,
    StoreRequest,
    new_token,
)
from ..coordination.near import Held
from ..coordination.pending import PendingInvalidation
from ..coordination.refreshes import RefreshQueue
from ..coordination.touches import Touches
from ..core.entry import Entry
from ..core.policies import TOUCHING, BoundSpec, CacheInfo
from ..core.policy import State, classify
from ..errors import BackendError, RecursiveCallError, SerializationError
from ..events import (
    BackendFailure,
    Default,
    Event,
    Failure,
    Fill,
    Hit,
    Miss,
    Overtaken,
    Refresh,
    Stale,
    Takeover,
    Wait,
    Waited,
)
from ..keydesign.bound import BoundCachedFunction
from ..keydesign.design import Design
from ..keydesign.nodes import CacheLike
from ..options import NODE_DEFAULTS, Options
from ..runtime import Runtime
from .invalidation import run_invalidation

__all__ = ["AsyncCachedFunction"]

P = ParamSpec("P")
P2 = ParamSpec("P2")
T = TypeVar("T")
S = TypeVar("S")

logger = logging.getLogger("redmemo")

# Misses in a row (read by GET) after which calls ask for the entry or the lease at once.
_COLD_STREAK = 2

# The entry keys this call chain (thread or task) is computing: a call that needs one of
# them again would wait for itself.
_COMPUTING: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "redmemo_computing", default=frozenset()
)


class AsyncCachedFunction(Generic[P, T]):
    """``fn`` with its results cached; call it as you would call ``fn``."""

    def __init__(
        self,
        cache: CacheLike,
        runtime: Runtime,
        fn: Callable[P, Awaitable[T]],
        options: Options,
        raw_options: dict[str, Any] | None = None,
    ) -> None:
        functools.update_wrapper(self, fn)
        self.function = fn
        self.cache = cache
        self._runtime = runtime
        self.options = options
        self.design = Design(cache, runtime.keyspace, fn, options)
        self.design.adopt_node_meta = self._adopt_node_meta
        if self.design.group is not None:
            runtime.groups.add(self.design.group)
        self.keys = self.design.keys
        self.stats_name = self.design.stats_name
        self._codec = runtime.codec.for_serializer(options.serializer)
        self._stats = runtime.stats.of(self.stats_name)
        # Background work per key (a task or a future), so that a key is refreshed once
        # at a time, and again once a refresh ended or its event loop closed.
        self._refreshing: dict[str, Any] = {}
        # Refreshes go in batches (coordination/refreshes.py), except for functions whose
        # fills register dependencies after computing (one store each, with its checks).
        self._refreshes = RefreshQueue()
        self._batches = options.leased and not self.design.has_late_indexes
        self._skip = options.skip
        self._own_hook = self.design.callback_hook if self.design.has_callbacks else None
        if self._own_hook is None:  # the common case: straight to the cache's hooks
            self._emit = runtime.hooks.emit  # type: ignore[method-assign]
        self._raw_options = raw_options or {}
        bound = self.design.bound
        self._touching = bound if bound is not None and bound.policy in TOUCHING else None
        self._touches = Touches()
        # The near cache's copies, read before anything else (None: none, or near=False,
        # whose reads then go around the near layer so that nothing of it is kept).
        self._near = runtime.near if options.near else None
        self._far = runtime.near is not None and not options.near
        self._early = options.early
        # Consecutive misses read by GET: from the second on, the next call asks for the
        # entry or the lease in one round trip (lease.lua's "fill", with the registrations
        # in the entry's indexes when it has some), so that a run of misses costs two
        # round trips each, not three. Not with near copies, recorded uses or
        # wait=False, which need the GET path.
        self._cold = 0
        self._probes = (
            self._near is None
            and not self._far
            and self._touching is None
            and options.wait
            and options.leased
        )

    # -- the public face ----------------------------------------------------------------

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        runtime = self._runtime
        if not runtime.enabled or (self._skip is not False and self._skips(args, kwargs)):
            return await self.function(*args, **kwargs)
        key = self.keys.key(args, kwargs)
        near = self._near
        if near is not None and not runtime.pending.active:
            # A copy in this process, fresh: served without Redis (the near hit path).
            held = near.data.get(key)
            if held is not None and (
                held.codec is self._codec or self._decode_held(held) is not None
            ):
                near.uses.append(key)
                now = runtime.clock()
                fresh = now < held.fresh_until
                if fresh and self._early:
                    fresh = classify(held.decoded, now, self._early) is State.FRESH
                if fresh:
                    value = held.decoded.value
                    if self._touching is not None:  # a use, for the bound in Redis too
                        self._touches.record(key)
                    if self._own_hook is None and Hit in runtime.hooks.direct:
                        next(self._stats.near)  # counts a hit and a near hit
                    else:
                        self._emit(Hit(self.stats_name, key, args, kwargs, value, True))
                    return value  # type: ignore[no-any-return]
        return await self._get_or_compute(key, args, kwargs)

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The backend key that this call's result is stored under."""
        return self.keys.key(args, kwargs)

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Forget this call's result (and what depends on it); a computation of it already
        running will not store its result."""
        key = self.keys.key(args, kwargs)
        invalidation = PendingInvalidation(keys=(key,))
        return await run_invalidation(self._runtime, invalidation) > 0

    async def invalidate_all(self) -> int:
        """Forget every result of this function (every process's); computations of it
        already running will not store. Through its index with ``index=True`` (and for
        ``key=`` / ``node=`` keys), else by SCAN over the function's keys."""
        return await run_invalidation(self._runtime, self._everything())

    def _everything(self) -> PendingInvalidation:
        """The invalidation of every entry of this function."""
        bodies = self.keys.bodies
        if self.design.indexed or bodies is None:
            return PendingInvalidation(indexes=(self.design.function_index,))
        return PendingInvalidation(pattern=bodies)

    async def refresh(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Compute this call now, store the result (pre-empting any running fill), return it."""
        key = self.keys.key(args, kwargs)
        if not self.options.leased:
            self._emit(Refresh(self.stats_name, key, args, kwargs))
            return await self._compute_free(key, args, kwargs, None)
        backend = self._runtime.async_backend()
        token = new_token()
        indexes = self._early_indexes(args, kwargs)
        lease = await backend.lease(
            key, token, self.options.lease_ms, LeaseMode.TAKE, indexes, self.options.backend_ttl_ms
        )
        self._emit(Refresh(self.stats_name, key, args, kwargs))
        return await self._compute(key, token, lease.started_us, args, kwargs, None)

    def stats(self, reset: bool = False) -> dict[str, int]:
        """This function's counters (hits, misses, stale, fills, ...) in this process."""
        return self._stats.snapshot(reset)

    async def cache_info(self) -> CacheInfo:
        """``(hits, misses, maxsize, currsize)`` as ``functools.lru_cache`` gives them:
        hits (stale ones included) and misses of this process; ``maxsize`` of the bound
        (None: unbounded); ``currsize`` the entries the bound holds now, in every
        process (for ``Cache(maxsize=)``, those of all the functions sharing it), or of an
        unbounded function, its entries not yet expired (read from its index, or counted
        by SCAN, where fills in progress count too)."""
        counts = self._stats.snapshot()
        backend = self._runtime.async_backend()
        bound = self.design.bound
        if bound is None and self.design.indexed:
            size = await backend.index_size(self.design.function_index)
        elif bound is None:  # found by SCAN: fills in progress count too
            size = len(await backend.scan(self.keys.bodies or ""))
        else:
            size = await backend.bound_size(bound)
        maxsize = None if bound is None else bound.maxsize
        return CacheInfo(counts["hits"] + counts["stale"], counts["misses"], maxsize, size)

    async def cache_clear(self) -> None:
        """Remove every entry of this function, in every process (``functools``' name for
        :meth:`invalidate_all`)."""
        await self.invalidate_all()

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
        runtime = self._runtime
        if runtime.pending.active and self._pending_covers(key, args, kwargs):
            # An invalidation of it has not reached the backend yet: compute afresh.
            return await self.function(*args, **kwargs)
        flight = runtime.flights.running(key)
        if flight is not None:  # this process is computing it now: share, without Redis
            if key in _COMPUTING.get():
                return await self._fill(key, args, kwargs, None)  # raises: a call to itself
            return await self._join(key, flight, args, kwargs, None)
        taken: tuple[bytes, Lease] | None = None  # the lease a probe took
        indexes = None
        if self._cold >= _COLD_STREAK and self._probes:
            indexes = self._probe_indexes(args, kwargs)
        if indexes is not None:
            try:
                raw, taken = await self._probe(key, indexes)
            except BackendError as exc:
                return await self._fail_open(exc, key, args, kwargs)
        else:
            reads = runtime.reads
            waiting = reads.lead(key)
            try:
                if waiting is None:  # a read of this key is in flight: take its answer
                    raw = await self._read_shared(key)
                else:
                    raw = await self._read(key)
                    reads.finish(key, waiting, raw)
            except BaseException as exc:
                if waiting is not None:
                    error = exc if isinstance(exc, Exception) else Abandoned()
                    reads.finish(key, waiting, error=error)
                if isinstance(exc, BackendError):
                    return await self._fail_open(exc, key, args, kwargs)
                raise
        fallback = None
        if raw is not None:
            entry = self._codec.decode(raw, False)
            if entry is not None:
                state = classify(entry, runtime.clock(), self.options.early)
                if self._cold:
                    self._cold = 0
                if state is State.FRESH:
                    if self._own_hook is None and Hit in runtime.hooks.direct:
                        self._stats.add("hits")  # what the statistics hook alone would do
                    else:
                        self._emit(Hit(self.stats_name, key, args, kwargs, entry.value))
                    return entry.value  # type: ignore[no-any-return]
                if state is State.STALE:
                    if self._own_hook is None and Stale in runtime.hooks.direct:
                        self._stats.add("stale")
                    else:
                        self._emit(Stale(self.stats_name, key, args, kwargs, entry.value))
                    self._start(key, args, kwargs, refresh=True)
                    return entry.value  # type: ignore[no-any-return]
                fallback = entry  # past ttl, kept only to fall back on if the fill fails
        if self._cold < _COLD_STREAK:
            self._cold += 1
        self._emit(Miss(self.stats_name, key, args, kwargs))
        if not self.options.wait:
            self._emit(Default(self.stats_name, key, args, kwargs))
            self._start(key, args, kwargs, refresh=False)
            return self.options.default  # type: ignore[no-any-return]
        return await self._fill(key, args, kwargs, fallback, taken)

    async def _read_shared(self, key: str) -> bytes | None:
        """The answer of the read of ``key`` in flight (or our own, if it just ended)."""
        future = self._runtime.reads.follow(key)
        if future is not None:
            try:
                shared: bytes | None = await AsyncCompat.wait(future, None)
                return shared
            except Abandoned:
                pass  # its reader was cancelled: read for ourselves
        return await self._read(key)

    def _decode_held(self, held: Held) -> Entry | None:
        """A near copy's entry, decoded once for every later hit (None: unreadable)."""
        entry = self._codec.decode(held.raw, False)
        if entry is None:
            return None
        held.decoded = entry
        # The local bound (a monotonic time) on the cache's clock, once.
        local = self._runtime.clock() + (held.until - time.monotonic())
        held.fresh_until = min(entry.refresh_at, entry.expire_at, local)
        held.codec = self._codec  # set last: a reader that sees the codec sees the rest
        return entry

    def _reader(self) -> AsyncBackend:
        """The backend to read entries from: around the near layer for ``near=False``
        (its reads would be kept as copies)."""
        backend = self._runtime.async_backend()
        far: AsyncBackend = getattr(backend, "far", backend)
        return far if self._far else backend

    async def _read(self, key: str) -> bytes | None:
        """The entry at ``key``: a GET. For a bound whose policy records hits, the hit is
        noted and sent later (coordination/touches.py)."""
        backend = self._reader()
        touching = self._touching
        if touching is None:
            return await backend.get(key)
        touches = self._touches
        if touches.due():  # the uses held back go with this read
            return await backend.read_touch(key, touching._replace(touched=touches.take()))
        raw = await backend.get(key)
        if raw is not None:
            touches.record(key)
        return raw

    def _early_indexes(self, args: Any, kwargs: Any) -> list[str]:
        """The indexes a fill registers in before computing (function, node, tags)."""
        fixed = self.design.fixed_indexes
        if fixed is not None:
            return fixed
        return self.design.early_indexes(self.keys.arguments(args, kwargs))

    def _bound_of(self, arguments: Mapping[str, Any], late: list[str]) -> BoundSpec | None:
        """This entry's part of its bound: the group, and the indexes it is registered
        in (an evicted entry leaves them too)."""
        bound = self.design.bound
        if bound is None:
            return None
        indexes = (*self.design.early_indexes(arguments), *late)
        touched = self._touches.take() if self._touching is not None else ()
        return bound._replace(indexes=indexes, touched=touched)

    def _probe_indexes(self, args: Any, kwargs: Any) -> list[str] | None:
        """The indexes a probe registers in; None: no probe (tags that fail to render
        take the GET path, where _fill_leased deals with them)."""
        try:
            return self._early_indexes(args, kwargs)
        except Exception:
            return None

    async def _probe(
        self, key: str, indexes: list[str]
    ) -> tuple[bytes | None, tuple[bytes, Lease] | None]:
        """The entry, or else its lease, asked for in one round trip without a GET first
        (after a run of misses), registered in ``indexes`` as a lease request is: the
        entry's bytes, and the token and lease if taken."""
        token = new_token()
        options = self.options
        try:
            lease = await self._runtime.async_backend().lease(
                key, token, options.lease_ms, LeaseMode.FILL, indexes, options.backend_ttl_ms
            )
        except INTERRUPTS:
            # The lease may be ours already: give it back rather than let it run out.
            await AsyncCompat.uncancelled(self._release_quietly(key, token))
            raise
        if lease.status is LeaseStatus.ENTRY:
            return lease.entry, None
        return None, (token, lease) if lease.status is LeaseStatus.ACQUIRED else None

    async def _fill(
        self,
        key: str,
        args: Any,
        kwargs: Any,
        fallback: Entry | None,
        taken: tuple[bytes, Lease] | None = None,
    ) -> T:
        """Compute a missing entry once per process: the first caller leads, others join."""
        computing = _COMPUTING.get()
        if key in computing:
            raise RecursiveCallError(
                f"{self.keys.base.rstrip(':')} calls itself with the same arguments (key "
                f"{self._runtime.keyspace.describe(key)!r}): it would wait for its own result"
            )
        flights = self._runtime.flights
        flight, leader = flights.join(key)
        if not leader:
            if taken is not None:  # another caller of this process leads: ours goes back
                await self._release_quietly(key, taken[0])
            return await self._join(key, flight, args, kwargs, fallback)
        marker = _COMPUTING.set(computing | {key})
        try:
            if self.options.leased:
                value = await self._fill_leased(key, args, kwargs, fallback, taken)
            else:
                value = await self._compute_free(key, args, kwargs, fallback)
        except BaseException as exc:
            # The function's own error is shared with those who joined; a cancellation
            # or interrupt is not theirs: they start over.
            flight.set_exception(exc if isinstance(exc, Exception) else Abandoned())
            raise
        else:
            flight.set_result(value)
            return value
        finally:
            _COMPUTING.reset(marker)
            flights.land(key, flight)

    async def _join(
        self, key: str, flight: Future[object], args: Any, kwargs: Any, fallback: Entry | None
    ) -> T:
        """Wait for this process's computation of ``key`` (bounded by wait_timeout)."""
        self._emit(Wait(self.stats_name, key, args, kwargs))
        began = time.monotonic()
        try:
            shared: Any = await AsyncCompat.wait(flight, self.options.wait_timeout)
            return shared  # type: ignore[no-any-return]
        except TimeoutError:
            self._waited(key, args, kwargs, began)
            began = 0.0
            return await self._fallback(key, args, kwargs, fallback)
        except Abandoned:
            self._waited(key, args, kwargs, began)
            began = 0.0
            return await self._get_or_compute(key, args, kwargs)
        finally:
            if began:
                self._waited(key, args, kwargs, began)

    def _waited(self, key: str, args: Any, kwargs: Any, began: float) -> None:
        self._emit(Waited(self.stats_name, key, args, kwargs, time.monotonic() - began))

    async def _fallback(self, key: str, args: Any, kwargs: Any, fallback: Entry | None) -> T:
        """Waited long enough: compute without the lease, once per key in this process
        however many callers gave up at the same moment."""
        flights = self._runtime.fallbacks
        flight, leader = flights.join(key)
        if not leader:
            shared: Any = await AsyncCompat.wait(flight, None)
            return shared  # type: ignore[no-any-return]
        try:
            value = await self._compute_unleased(key, args, kwargs, fallback)
        except BaseException as exc:
            flight.set_exception(exc if isinstance(exc, Exception) else Abandoned())
            raise
        else:
            flight.set_result(value)
            return value
        finally:
            flights.land(key, flight)

    async def _fill_leased(
        self,
        key: str,
        args: Any,
        kwargs: Any,
        fallback: Entry | None,
        taken: tuple[bytes, Lease] | None = None,
    ) -> T:
        """Compute under the cross-process lease, or wait for whoever holds it.
        ``taken``: the token and lease a probe already acquired."""
        runtime = self._runtime
        options = self.options
        try:
            indexes = self._early_indexes(args, kwargs)
        except Exception:
            # Without its tags the entry could not be invalidated: do not cache it.
            logger.warning("redmemo: not caching %s: its tags failed", key, exc_info=True)
            return await self._compute_unleased(key, args, kwargs, fallback)
        backend = runtime.async_backend()
        token = new_token() if taken is None else taken[0]
        deadline = time.monotonic() + options.wait_timeout
        held_before = False
        waiting_since = 0.0  # when this caller began to wait for another's fill
        force = fallback is not None  # an entry exists but is unusable: replace it
        # Registered before asking for the lease: a result stored after that answer must
        # find us listening.
        waiter = runtime.waiters.register(key)
        try:
            while True:
                if taken is not None:  # the probe's lease: ours already
                    lease, taken = taken[1], None
                else:
                    mode = LeaseMode.FORCE if force else LeaseMode.FILL
                    lease = await backend.lease(
                        key, token, options.lease_ms, mode, indexes, options.backend_ttl_ms
                    )
                if lease.status is LeaseStatus.ENTRY:
                    entry = self._codec.decode(lease.entry, False)
                    if entry is not None and entry.expire_at > runtime.clock():
                        return entry.value  # type: ignore[no-any-return]
                    fallback = entry or fallback  # unreadable or expired: replace it
                    force = True
                    continue
                if lease.status is LeaseStatus.ACQUIRED:
                    if held_before:
                        self._emit(Takeover(self.stats_name, key, args, kwargs))
                    return await self._compute(key, token, lease.started_us, args, kwargs, fallback)
                held_before = True
                if not await backend.listen():
                    # A fill stored before we listened would be missed: ask again, which
                    # answers with that entry.
                    continue
                self._emit(Wait(self.stats_name, key, args, kwargs))
                if not waiting_since:
                    waiting_since = time.monotonic()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return await self._fallback(key, args, kwargs, fallback)
                try:
                    # Wake at the latest when the holder's lease ends, to take it over.
                    kind, payload = await AsyncCompat.wait(
                        waiter, min(remaining, lease.left_ms / 1000 + 0.01)
                    )
                except TimeoutError:
                    continue
                if kind is Notice.VALUE:
                    entry = self._codec.decode(payload, False)
                    if entry is not None:
                        return entry.value  # type: ignore[no-any-return]
                waiter = runtime.waiters.register(key)  # woken without a value: ask again
        except BackendError as exc:
            return await self._fail_open(exc, key, args, kwargs)
        except INTERRUPTS:
            # Cancelled or interrupted: give the lease back now if it is ours, rather than
            # make every other process wait until it runs out.
            await AsyncCompat.uncancelled(self._release_quietly(key, token))
            raise
        finally:
            runtime.waiters.discard(key, waiter)
            if waiting_since:
                self._waited(key, args, kwargs, waiting_since)

    async def _compute(
        self,
        key: str,
        token: bytes,
        started_us: int,
        args: Any,
        kwargs: Any,
        fallback: Entry | None,
    ) -> T:
        """Run the function with the lease held, store its result, give the lease back."""
        backend = self._runtime.async_backend()
        heartbeat = self._runtime.heartbeat
        beat = heartbeat.start(key, token, self.options.lease_ms)  # a slow call keeps it
        started = time.monotonic()
        try:
            value = await self.function(*args, **kwargs)
        except Exception as exc:
            self._emit(Failure(self.stats_name, key, args, kwargs, exc))
            await self._release_quietly(key, token)
            return self._fallback_or_raise(exc, fallback)
        finally:
            heartbeat.stop(beat)
        elapsed = time.monotonic() - started
        data = self._encode(key, value, elapsed, args, kwargs)
        late: list[str] = []
        if data is not None and self.design.has_late_indexes:
            try:
                late = self.design.late_indexes(self.keys.arguments(args, kwargs), value)
            except Exception:
                # Without its dependencies the entry could not be invalidated: skip it.
                logger.warning(
                    "redmemo: not caching %s: its dependencies failed", key, exc_info=True
                )
                data = None
        if data is None:
            await self._release_quietly(key, token)
            return value
        try:
            bound = None
            if self.design.bound is not None:
                bound = self._bound_of(self.keys.arguments(args, kwargs), late)
            stored = await backend.store_leased(
                key, token, data, self.options.backend_ttl_ms, late, started_us, bound
            )
        except BackendError as exc:
            self._report(exc, key)
        else:
            # Not stored: invalidated or taken over meanwhile; the newer state wins.
            if stored:
                self._emit(Fill(self.stats_name, key, args, kwargs, elapsed))
            else:
                self._emit(Overtaken(self.stats_name, key, args, kwargs))
        return value

    async def _compute_free(self, key: str, args: Any, kwargs: Any, fallback: Entry | None) -> T:
        """lease=False: run the function and SET its result, no lease taken or checked."""
        started = time.monotonic()
        try:
            value = await self.function(*args, **kwargs)
        except Exception as exc:
            self._emit(Failure(self.stats_name, key, args, kwargs, exc))
            return self._fallback_or_raise(exc, fallback)
        elapsed = time.monotonic() - started
        data = self._encode(key, value, elapsed, args, kwargs)
        if data is None:
            return value
        try:
            await self._runtime.async_backend().set(key, data, self.options.backend_ttl_ms)
        except BackendError as exc:
            self._report(exc, key)
        else:
            self._emit(Fill(self.stats_name, key, args, kwargs, elapsed))
        return value

    async def _compute_unleased(
        self, key: str, args: Any, kwargs: Any, fallback: Entry | None
    ) -> T:
        """Compute without the lease (waited long enough, or the entry cannot be indexed).
        The result is not stored: it could land after an invalidation."""
        try:
            return await self.function(*args, **kwargs)
        except Exception as exc:
            self._emit(Failure(self.stats_name, key, args, kwargs, exc))
            return self._fallback_or_raise(exc, fallback)

    # -- background work ------------------------------------------------------------------

    def _start(self, key: str, args: Any, kwargs: Any, refresh: bool) -> None:
        """Refresh (or fill, for wait=False) in the background, once per key and process."""
        running = self._refreshing.get(key)
        if running is not None and self._runtime.background.running(running):
            return
        background = self._runtime.background
        if refresh and self._batches:
            loop = AsyncCompat.loop_id()
            self._refreshing[key] = self._refreshes.add(
                loop,
                (key, args, kwargs),
                background.running,
                lambda: background.async_spawn(self._refresh_queued, loop),
            )
            return
        self._refreshing[key] = background.async_spawn(
            self._background_job, key, args, kwargs, refresh
        )

    async def _refresh_queued(self, loop: int) -> None:
        """Refresh the keys queued for this loop, a batch at a time, until none is left."""
        _COMPUTING.set(frozenset())  # see _background_job
        while batch := self._refreshes.take(loop):
            try:
                await self._refresh_batch(batch)
            except BackendError as exc:
                self._report(exc, batch[0][0])
            except Exception:
                logger.warning("redmemo: background refresh of %s failed", self, exc_info=True)
            finally:
                for key, _, _ in batch:
                    self._refreshing.pop(key, None)

    async def _refresh_batch(self, batch: list[tuple[str, Any, Any]]) -> None:
        """Lease the keys in one round trip (only the process that takes a key's lease
        refreshes it), compute those leased, store them in one round trip."""
        runtime = self._runtime
        options = self.options
        backend = runtime.async_backend()
        token = new_token()
        items, requests = [], []
        for key, args, kwargs in batch:
            try:
                indexes = tuple(self._early_indexes(args, kwargs))
            except Exception:
                logger.warning("redmemo: not refreshing %s: its tags failed", key, exc_info=True)
                continue
            items.append((key, args, kwargs))
            requests.append(
                LeaseRequest(
                    key, token, options.lease_ms, LeaseMode.REFRESH, indexes, options.backend_ttl_ms
                )
            )
        leases = await backend.lease_many(requests)
        mine = [
            item
            for item, lease in zip(items, leases, strict=True)
            if lease.status is LeaseStatus.ACQUIRED
        ]
        heartbeat = runtime.heartbeat
        beats = [heartbeat.start(key, token, options.lease_ms) for key, _, _ in mine]
        held = [key for key, _, _ in mine]  # leases ours until stored or given back
        stores: list[StoreRequest] = []
        computed: list[tuple[str, Any, Any, float]] = []
        try:
            try:
                for key, args, kwargs in mine:
                    await AsyncCompat.let_others_run()  # callers first: background work
                    self._emit(Refresh(self.stats_name, key, args, kwargs))
                    started = time.monotonic()
                    try:
                        value = await self.function(*args, **kwargs)
                    except Exception as exc:
                        self._emit(Failure(self.stats_name, key, args, kwargs, exc))
                        data = None
                    else:
                        elapsed = time.monotonic() - started
                        data = self._encode(key, value, elapsed, args, kwargs)
                    if data is None:  # failed, or not to be stored
                        await self._release_quietly(key, token)
                        held.remove(key)
                        continue
                    bound = None
                    if self.design.bound is not None:
                        bound = self._bound_of(self.keys.arguments(args, kwargs), [])
                    stores.append(StoreRequest(key, token, data, options.backend_ttl_ms, bound))
                    computed.append((key, args, kwargs, elapsed))
            finally:
                for beat in beats:
                    heartbeat.stop(beat)
            results = await backend.store_many(stores) if stores else []
        except INTERRUPTS:
            # Give back the leases still ours (a store that did land ignores it), rather
            # than make other processes wait for them to run out.
            for key in held:
                await AsyncCompat.uncancelled(self._release_quietly(key, token))
            raise
        for (key, args, kwargs, elapsed), stored in zip(computed, results, strict=True):
            if stored:
                self._emit(Fill(self.stats_name, key, args, kwargs, elapsed))
            else:
                self._emit(Overtaken(self.stats_name, key, args, kwargs))

    async def _background_job(self, key: str, args: Any, kwargs: Any, refresh: bool) -> None:
        # A task inherits its creator's context; what the creator was computing is not
        # this job's (a thread of the pool starts with an empty one anyway).
        _COMPUTING.set(frozenset())
        try:
            if refresh and self.options.leased:
                # Across processes, only the one that takes the lease refreshes.
                backend = self._runtime.async_backend()
                token = new_token()
                indexes = self._early_indexes(args, kwargs)
                lease = await backend.lease(
                    key,
                    token,
                    self.options.lease_ms,
                    LeaseMode.REFRESH,
                    indexes,
                    self.options.backend_ttl_ms,
                )
                if lease.status is LeaseStatus.ACQUIRED:
                    self._emit(Refresh(self.stats_name, key, args, kwargs))
                    try:
                        await self._compute(key, token, lease.started_us, args, kwargs, None)
                    except INTERRUPTS:
                        await AsyncCompat.uncancelled(self._release_quietly(key, token))
                        raise
            else:
                if refresh:  # lease=False: every process that sees it stale refreshes
                    self._emit(Refresh(self.stats_name, key, args, kwargs))
                await self._fill(key, args, kwargs, None)
        except BackendError as exc:
            self._report(exc, key)
        except Exception:
            logger.warning("redmemo: background computation of %s failed", key, exc_info=True)
        finally:
            self._refreshing.pop(key, None)

    # -- helpers ----------------------------------------------------------------------------

    def _pending_covers(self, key: str, args: Any, kwargs: Any) -> bool:
        design = self.design
        return self._runtime.pending.covers(
            key,
            lambda: self._early_indexes(args, kwargs),
            design.has_late_indexes,
        )

    def _emit(self, event: Event) -> None:
        self._runtime.hooks.emit(event)
        if self._own_hook is not None:
            self._own_hook(event)

    def _adopt_node_meta(self, meta: dict[str, Any]) -> None:
        """Take a node's Meta defaults (ttl, refresh, ...) where the decorator gave none."""
        changes = {
            k: v for k, v in meta.items() if k in NODE_DEFAULTS and k not in self.options.explicit
        }
        if changes:
            self.options = Options.build({**self._raw_options, **changes}, self._cache_ttl())
            self._early = self.options.early

    def _cache_ttl(self) -> float | None:
        return getattr(self.cache, "default_ttl", None)

    def _encode(self, key: str, value: Any, elapsed: float, args: Any, kwargs: Any) -> bytes | None:
        """The entry to store for ``value``, or None when it is not to be stored."""
        if self.options.unless is not None and self.options.unless(value):
            return None
        try:
            return self._codec.encode(
                value,
                created=self._runtime.clock(),
                refresh_after=self.options.refresh,
                expire_after=self.options.ttl,
                compute_time=elapsed,
            )
        except SerializationError as exc:
            # The caller still gets its value; only the caching of it failed.
            self._emit(Failure(self.stats_name, key, args, kwargs, exc))
            logger.warning("redmemo: not caching a result of %s: %s", self.stats_name, exc)
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

    async def _release_quietly(self, key: str, token: bytes) -> bool:
        """Give the lease back if it is ours; False if the backend could not be told."""
        try:
            await self._runtime.async_backend().release(key, token)
        except BackendError as exc:
            self._report(exc, key)
            return False
        return True

    async def _fail_open(self, exc: BackendError, key: str, args: Any, kwargs: Any) -> T:
        """The backend failed: the function still answers, uncached."""
        self._report(exc, key)
        return await self.function(*args, **kwargs)

    def _report(self, exc: BackendError, key: str) -> None:
        self._emit(BackendFailure(exc, self.stats_name, key))
