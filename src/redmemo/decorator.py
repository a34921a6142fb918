"""``@cache(...)``: the typed front of the decorator, shared by sync and async functions."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, overload

from ._async.batch import AsyncBatchFunction
from ._async.function import AsyncCachedFunction
from ._sync.batch import SyncBatchFunction
from ._sync.function import SyncCachedFunction
from .core.durations import Duration
from .core.identity import Identity
from .core.policies import Policy
from .core.serializers import SerializerSpec
from .core.templates import Args
from .errors import ConfigurationError
from .keydesign.nodes import Node
from .options import Options
from .runtime import Runtime

__all__ = ["DecoratorMixin"]

P = ParamSpec("P")
T = TypeVar("T")


class Decorator(Protocol):
    """What ``cache(ttl=...)`` returns: apply it to a sync or an async function."""

    @overload
    def __call__(  # type: ignore[overload-overlap]
        self, fn: Callable[P, Coroutine[Any, Any, T]], /
    ) -> AsyncCachedFunction[P, T]: ...

    @overload
    def __call__(self, fn: Callable[P, T], /) -> SyncCachedFunction[P, T]: ...


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - async callable objects count too
    return inspect.iscoroutinefunction(call)


class DecoratorMixin:
    """Makes a ``Cache`` usable as ``@cache`` and ``@cache(ttl=..., refresh=...)``."""

    _functions: weakref.WeakSet[Any]
    _runtime: Runtime
    default_ttl: float | None

    @overload
    def __call__(  # type: ignore[overload-overlap]
        self, fn: Callable[P, Coroutine[Any, Any, T]], /
    ) -> AsyncCachedFunction[P, T]: ...

    @overload
    def __call__(self, fn: Callable[P, T], /) -> SyncCachedFunction[P, T]: ...

    @overload
    def __call__(
        self,
        fn: None = None,
        /,
        *,
        ttl: Duration | None = None,
        refresh: Duration | None = None,
        stale_if_error: Duration | None = None,
        early: bool | float = False,
        lease: Duration | Literal[False] | None = None,
        wait_timeout: Duration | None = None,
        wait: bool = True,
        default: Any = None,
        skip: bool | Callable[[inspect.BoundArguments], bool] = False,
        unless: Callable[[Any], bool] | None = None,
        ignore: Iterable[str] = (),
        version: int | str | None = None,
        name: str | None = None,
        serializer: SerializerSpec | None = None,
        key: str | Callable[[Args], str] | None = None,
        node: type[Node] | Callable[[Args], Node] | None = None,
        tags: Iterable[str] | Callable[[Args], Iterable[str]] = (),
        depends_on: Iterable[str] | Callable[[Args], Iterable[str]] = (),
        maxsize: int | None = None,
        policy: str | Policy | None = None,
        near: bool = True,
        index: bool | None = None,
        on_hit: Callable[[str, Any, Args], None] | None = None,
        on_miss: Callable[[str, Args], None] | None = None,
    ) -> Decorator: ...

    def __call__(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Cache the results of a function, sync or async.

        ``ttl``: never serve a value older than this (the cache's ``ttl`` if not given).
        ``refresh``: past this age, serve the value but recompute it once in the
        background. ``early``: refresh hot keys probabilistically before ``refresh``.
        ``stale_if_error``: when recomputing fails, serve the last value this much longer.
        ``lease``: how long one computation may hold a key before others take over;
        ``lease=False``: none (a miss is a GET and a SET; no waiting for, or fencing of,
        other processes' computations: see the guide).
        ``wait_timeout``: how long callers wait for another's computation (default: lease).
        ``wait=False``: a miss returns ``default`` at once and fills in the background.
        ``skip``: bypass the cache (a bool, or a callable on the bound arguments).
        ``unless``: a callable on the result; when true, the result is not stored.
        ``ignore``: parameters left out of the key. ``version``: moves every key at once.
        ``key``: a template (``"user:{user_id}"``) or a callable on the arguments giving
        the key; ``node``: a Node (class or callable) that makes it. ``tags`` and
        ``depends_on``: templates (or a callable) of tags and keys the entry is invalidated
        with. ``maxsize``: keep at most this many entries, evicted by ``policy`` ("lru",
        "lru-t", "lfu", "fifo", "mru", "random", "sieve"). ``near=False``: never copy this
        function's results into the cache's near cache. ``index=True``: keep an index of the
        function's entries, so that ``invalidate_all`` needs no SCAN (default: only for
        ``key=`` and ``node=`` keys). ``on_hit(key, value, c)`` /
        ``on_miss(key, c)``: callbacks.

        Every option is declared once, in :class:`redmemo.options.Options`.
        """
        checked = Options.build(options, self.default_ttl)
        if fn is None:
            return lambda target: self._decorate(target, checked, options)
        return self._decorate(fn, checked, options)

    def _decorate(self, fn: Any, options: Options, raw: dict[str, Any]) -> Any:
        # @cache above @classmethod / @staticmethod: cache the function inside, rewrap it.
        if isinstance(fn, (classmethod, staticmethod)):
            return type(fn)(self._decorate(fn.__func__, options, raw))
        if not callable(fn):
            raise ConfigurationError(f"@cache decorates functions, not {type(fn).__name__}")
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise ConfigurationError(
                f"{getattr(fn, '__qualname__', fn)} is a generator: cache a function that "
                "returns a list instead"
            )
        cache: Any = self
        wrapped: Any
        if _is_async(fn):
            wrapped = AsyncCachedFunction(cache, self._runtime, fn, options, raw)
            _mark_coroutine_function(wrapped)
        else:
            wrapped = SyncCachedFunction(cache, self._runtime, fn, options, raw)
        self._claim(wrapped.design.identity, fn)
        self._functions.add(wrapped)
        self._function_added(wrapped.design.bound is not None)
        return wrapped

    def multi_cached(self, param: str, /, **options: Any) -> Callable[[Callable[..., Any]], Any]:
        """Cache a function of many ids id by id: ``@cache.multi_cached("ids", ttl=60)``
        on ``def load(ids, ...) -> dict[id, value]``. Takes the options of ``@cache``
        (``ttl``, ``refresh``, ``tags``, ``key``, ``lease``, ``wait_timeout``, ``name``,
        ...), applied to each id as to a call with that one id; see
        :mod:`redmemo._async.batch`."""
        if not isinstance(param, str) or not param:
            raise ConfigurationError("multi_cached takes the name of the ids parameter")
        for refused in ("depends_on", "wait", "default", "early"):
            if refused in options:
                raise ConfigurationError(f"multi_cached does not take {refused}=")
        if options.get("lease") is False:
            raise ConfigurationError("multi_cached does not take lease=False")

        def decorate(fn: Callable[..., Any]) -> Any:
            if param not in inspect.signature(fn).parameters:
                raise ConfigurationError(
                    f"{getattr(fn, '__qualname__', fn)} has no parameter {param!r} to take ids"
                )
            inner = self(fn, **options)
            if isinstance(inner, AsyncCachedFunction):
                batch: Any = AsyncBatchFunction(inner, param)
                _mark_coroutine_function(batch)
                return batch
            return SyncBatchFunction(inner, param)

        return decorate

    def _claim(self, identity: Identity, fn: Callable[..., Any]) -> None:
        """Refuse a second, different callable whose keys would be this one's."""
        claimed: dict[str, Callable[[], Any]] = self.__dict__.setdefault("_identities", {})
        known = claimed.get(identity.name)
        previous = known() if known is not None else None
        if previous is not None and previous is not fn:
            same_code = getattr(previous, "__code__", None) == getattr(fn, "__code__", False)
            if not (identity.certain and same_code):  # the same code again (a reload)
                raise ConfigurationError(
                    f"{identity.name} already names another function of this cache "
                    f"({previous!r}); the two would share entries. Pass name='...' to give "
                    "this one a key space of its own"
                )
        try:
            claimed[identity.name] = weakref.ref(fn)
        except TypeError:  # a builtin: no weak reference, and it lives for ever anyway
            claimed[identity.name] = lambda: fn

    def _function_added(self, bounded: bool = False) -> None:
        """Called for each decorated function (the cache starts shared statistics)."""


def _mark_coroutine_function(obj: Any) -> None:
    """Let frameworks that check ``iscoroutinefunction`` see an async callable."""
    mark = getattr(inspect, "markcoroutinefunction", None)  # Python 3.12+
    if mark is not None:
        mark(obj)
    else:  # asyncio.iscoroutinefunction honours this marker before 3.12
        import asyncio.coroutines

        obj._is_coroutine = getattr(asyncio.coroutines, "_is_coroutine", None)
