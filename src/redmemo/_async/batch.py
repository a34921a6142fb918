"""Batch caching (async source of ``_sync/batch.py``): ``@cache.multi_cached("ids")``.

The function takes a collection of ids (in the parameter named) and returns a mapping
id -> value. Each id is an entry of its own, keyed as a call with that one id would be
(so ``key=`` templates and ``tags=`` see one id). A call reads every id in one round
trip; the ids missing are leased in one pipeline (with their tag registrations), computed
in one call of the function, and stored in one pipeline. Ids another process is
computing are waited for (read again until ``wait_timeout``), then computed here without
storing. Stale ids are served and refreshed behind the caller, in one call.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Collection, Mapping
from typing import Any

from .._log import logger
from ..coordination.leases import LeaseMode, LeaseRequest, LeaseStatus, StoreRequest, new_token
from ..errors import BackendError
from ..events import BackendFailure, Fill, Hit, Miss, Overtaken, Refresh, Stale

__all__ = ["AsyncBatchFunction"]

_FIRST_PAUSE = 0.005
_LAST_PAUSE = 0.1


class AsyncBatchFunction:
    """A function of many ids, cached id by id (see the module)."""

    def __init__(self, inner: Any, param: str) -> None:
        # ``inner`` is the function decorated as usual: its keys, tags, options and codec
        # serve every id (it is never called with the whole collection).
        self.inner = inner
        self.function = inner.function
        self.param = param
        self.__wrapped__ = inner.function
        self.__name__ = getattr(inner.function, "__name__", "batch")
        self.__doc__ = getattr(inner.function, "__doc__", None)
        self._refreshing: set[Any] = set()

    def __repr__(self) -> str:
        return f"<multi_cached {self.inner.stats_name} by {self.param!r}>"

    # -- the public face --------------------------------------------------------------------

    async def __call__(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        inner = self.inner
        arguments = inner.keys.arguments(args, kwargs)
        ids = self._ids(arguments)
        if not inner._runtime.enabled:
            return self._ordered(ids, await self._run(arguments, ids))
        calls = {i: self._call_of(arguments, i) for i in ids}
        try:
            found, stale, missing = await self._read(calls)
        except BackendError as exc:
            inner._emit(BackendFailure(exc, inner.stats_name, None))
            return self._ordered(ids, await self._run(arguments, ids))
        if missing:
            found.update(await self._fill(arguments, calls, missing))
        if stale:
            self._refresh_behind(arguments, calls, stale)
        return self._ordered(ids, found)

    def keys_of(self, *args: Any, **kwargs: Any) -> dict[Any, str]:
        """The stored key of each id of this call."""
        arguments = self.inner.keys.arguments(args, kwargs)
        return {i: self._call_of(arguments, i)[0] for i in self._ids(arguments)}

    async def invalidate(self, *args: Any, **kwargs: Any) -> int:
        """Forget the entries of this call's ids."""
        keys = list((self.keys_of(*args, **kwargs)).values())
        return int(await self.inner._runtime.async_backend().invalidate(keys))

    def stats(self, reset: bool = False) -> dict[str, int]:
        stats: dict[str, int] = self.inner.stats(reset)
        return stats

    # -- the parts -------------------------------------------------------------------------

    def _ids(self, arguments: Mapping[str, Any]) -> list[Any]:
        given = arguments.get(self.param)
        if isinstance(given, (str, bytes)) or not isinstance(given, Collection):
            raise TypeError(
                f"{self.inner.stats_name}: {self.param!r} must be a collection of ids "
                f"(list, tuple, set), got {type(given).__name__}"
            )
        return list(dict.fromkeys(given))  # each id once, in the caller's order

    def _call_of(self, arguments: Mapping[str, Any], one: Any) -> tuple[str, dict[str, Any]]:
        single = {**arguments, self.param: one}
        return self.inner.keys.key_of_arguments(single), single

    @staticmethod
    def _ordered(ids: list[Any], values: Mapping[Any, Any]) -> dict[Any, Any]:
        return {i: values[i] for i in ids if i in values}

    async def _run(self, arguments: Mapping[str, Any], ids: list[Any]) -> Mapping[Any, Any]:
        """The function itself, for ``ids`` (a list in the parameter)."""
        call = {**arguments, self.param: list(ids)}
        bound = inspect.BoundArguments(self.inner.keys.signature, call)  # type: ignore[arg-type,unused-ignore]
        result = await self.function(*bound.args, **bound.kwargs)
        if not isinstance(result, Mapping):
            raise TypeError(
                f"{self.inner.stats_name} must return a mapping of id -> value, "
                f"got {type(result).__name__}"
            )
        return result

    async def _read(
        self, calls: dict[Any, tuple[str, dict[str, Any]]]
    ) -> tuple[dict[Any, Any], list[Any], list[Any]]:
        inner = self.inner
        runtime = inner._runtime
        ids = list(calls)
        raws = await self.inner._reader().get_many([calls[i][0] for i in ids])
        now = runtime.clock()
        found: dict[Any, Any] = {}
        stale: list[Any] = []
        missing: list[Any] = []
        for one, raw in zip(ids, raws, strict=True):
            key = calls[one][0]
            entry = inner._codec.decode(raw, False)
            if entry is None or entry.expire_at <= now:
                missing.append(one)
                inner._emit(Miss(inner.stats_name, key))
                continue
            found[one] = entry.value
            if inner._touching is not None:
                inner._touches.record(key)  # a use, sent with the next store or read
            if entry.refresh_at <= now:
                stale.append(one)
                inner._emit(Stale(inner.stats_name, key, (), {}, entry.value))
            else:
                inner._emit(Hit(inner.stats_name, key, (), {}, entry.value))
        return found, stale, missing

    async def _fill(
        self,
        arguments: Mapping[str, Any],
        calls: dict[Any, tuple[str, dict[str, Any]]],
        missing: list[Any],
        mode: LeaseMode = LeaseMode.FILL,
    ) -> dict[Any, Any]:
        """Lease the missing ids in one round trip, compute those leased to us in one call,
        store them in one round trip; wait for the others."""
        inner = self.inner
        options = inner.options
        backend = inner._runtime.async_backend()
        token = new_token()
        requests = [
            LeaseRequest(
                calls[i][0],
                token,
                options.lease_ms,
                mode,
                tuple(inner.design.early_indexes(calls[i][1])),
                options.backend_ttl_ms,
            )
            for i in missing
        ]
        try:
            leases = await backend.lease_many(requests)
        except BackendError as exc:
            inner._emit(BackendFailure(exc, inner.stats_name, None))
            return dict(await self._run(arguments, missing))
        found: dict[Any, Any] = {}
        mine: list[Any] = []
        theirs: list[Any] = []
        for one, lease in zip(missing, leases, strict=True):
            if lease.status is LeaseStatus.ACQUIRED:
                mine.append(one)
            elif lease.status is LeaseStatus.ENTRY:
                entry = inner._codec.decode(lease.entry, False)
                if entry is not None and entry.expire_at > inner._runtime.clock():
                    found[one] = entry.value
                else:
                    theirs.append(one)  # unreadable: computed below, not stored
            elif mode is LeaseMode.FILL:
                theirs.append(one)
        if mine:
            found.update(await self._compute(arguments, calls, mine, token))
        if theirs:
            found.update(await self._wait_for(arguments, calls, theirs))
        return found

    async def _compute(
        self,
        arguments: Mapping[str, Any],
        calls: dict[Any, tuple[str, dict[str, Any]]],
        ids: list[Any],
        token: bytes,
    ) -> Mapping[Any, Any]:
        inner = self.inner
        backend = inner._runtime.async_backend()
        started = time.monotonic()
        try:
            values = await self._run(arguments, ids)
        except BaseException:
            for one in ids:
                await inner._release_quietly(calls[one][0], token)
            raise
        elapsed = time.monotonic() - started
        share = elapsed / max(1, len(ids))
        stores: list[StoreRequest] = []
        stored_ids: list[Any] = []
        for one in ids:
            key = calls[one][0]
            data = (
                inner._encode(key, values[one], share, (), calls[one][1]) if one in values else None
            )
            if data is None:  # not returned, or not to be stored
                await inner._release_quietly(key, token)
                continue
            bound = inner._bound_of(calls[one][1], [])
            stores.append(StoreRequest(key, token, data, inner.options.backend_ttl_ms, bound))
            stored_ids.append(one)
        if stores:
            try:
                results = await backend.store_many(stores)
            except BackendError as exc:
                inner._emit(BackendFailure(exc, inner.stats_name, None))
            else:
                for one, stored in zip(stored_ids, results, strict=True):
                    kind = Fill if stored else Overtaken
                    event = (
                        Fill(inner.stats_name, calls[one][0], (), {}, share)
                        if kind is Fill
                        else Overtaken(inner.stats_name, calls[one][0])
                    )
                    inner._emit(event)
        return values

    async def _wait_for(
        self,
        arguments: Mapping[str, Any],
        calls: dict[Any, tuple[str, dict[str, Any]]],
        ids: list[Any],
    ) -> dict[Any, Any]:
        """Read the ids another caller computes until they are stored or ``wait_timeout``
        passes; compute what is left here, without storing it (it could land late)."""
        inner = self.inner
        runtime = inner._runtime
        deadline = time.monotonic() + inner.options.wait_timeout
        found: dict[Any, Any] = {}
        left = list(ids)
        pause = _FIRST_PAUSE
        while left and time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LAST_PAUSE)
            try:
                raws = await self.inner._reader().get_many([calls[i][0] for i in left])
            except BackendError:
                break
            now = runtime.clock()
            waiting = []
            for one, raw in zip(left, raws, strict=True):
                entry = inner._codec.decode(raw, False)
                if entry is not None and entry.expire_at > now:
                    found[one] = entry.value
                else:
                    waiting.append(one)
            left = waiting
        if left:
            found.update(await self._run(arguments, left))
        return found

    def _refresh_behind(
        self,
        arguments: Mapping[str, Any],
        calls: dict[Any, tuple[str, dict[str, Any]]],
        stale: list[Any],
    ) -> None:
        """Refresh the stale ids in the background, each id once at a time."""
        due = [one for one in stale if calls[one][0] not in self._refreshing]
        if not due:
            return
        keys = {calls[one][0] for one in due}
        self._refreshing |= keys
        for one in due:
            self.inner._emit(Refresh(self.inner.stats_name, calls[one][0]))

        async def job() -> None:
            try:
                await self._fill(arguments, calls, due, LeaseMode.REFRESH)
            except Exception:
                logger.warning(
                    "redmemo: refreshing %s in the background failed",
                    self.inner.stats_name,
                    exc_info=True,
                )
            finally:
                self._refreshing -= keys

        self.inner._runtime.background.async_spawn(job)
