"""What redmemo tells hooks: frozen event records, one type per thing that happened.

A hook is any callable taking one event. Register hooks with ``Cache(url, hooks=[...])``
or ``cache.add_hook(hook)``; they are called synchronously, in the caller's thread, in
the order registered. A hook that raises is logged and never breaks the call, so keep
hooks quick (hand heavy work to a queue). Statistics, the ``on_hit`` / ``on_miss``
callbacks and the warning logs are hooks themselves.

A hook that wants only some events names their types in a ``wants_events`` attribute
(say ``wants_events = (Fill, Failure)``). A hook that wants the duration of every backend operation
sets ``wants_timings = True``; the cache then times them and sends
:class:`CommandTiming` events (without such a hook, nothing is timed).

Events are named tuples: immutable, cheap to make, and their fields can be read by name.

Every event of a decorated function carries ``function`` (``module.qualname``, with
``:vN`` for a version) and ``key`` (the entry's key); ``args`` and ``kwargs`` are the
call's arguments as given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

__all__ = [
    "BackendFailure",
    "BreakerClosed",
    "BreakerOpened",
    "CommandTiming",
    "Default",
    "Event",
    "Failure",
    "Fill",
    "Hit",
    "Hook",
    "Hooks",
    "Miss",
    "NearEvicted",
    "NearFlushed",
    "NearInvalidated",
    "Overtaken",
    "Refresh",
    "Stale",
    "Takeover",
    "Wait",
    "Waited",
]

logger = logging.getLogger("redmemo")


# Shared by every event that has no keyword arguments (never mutated).
_NO_KWARGS: dict[str, Any] = {}


class Hit(NamedTuple):
    """A fresh value was served from the cache (``near``: from this process's near
    cache, without asking Redis)."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS
    value: Any = None
    near: bool = False


class Stale(NamedTuple):
    """A stale value was served; one refresh runs in the background."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS
    value: Any = None


class Miss(NamedTuple):
    """Nothing usable was cached: the value is computed, or waited for."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS


class Fill(NamedTuple):
    """A computed value was stored; ``duration`` is the computation's, in seconds."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS
    duration: float = 0.0


class Refresh(NamedTuple):
    """A refresh took the lease (background, early or explicit) and computes now."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS


class Wait(NamedTuple):
    """The caller waits for another caller's computation (this process's or another's)."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS


class Waited(NamedTuple):
    """A wait ended: the value arrived, or the caller gave up and went on (``duration``
    is the time spent waiting, in seconds)."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS
    duration: float = 0.0


class Takeover(NamedTuple):
    """A lease whose holder went quiet was taken over."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS


class Overtaken(NamedTuple):
    """A computed value was not stored: invalidated or taken over meanwhile."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS


class Failure(NamedTuple):
    """The function raised (nothing was cached), or its result could not be stored."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS
    error: BaseException | None = None


class Default(NamedTuple):
    """A miss returned the default at once (``wait=False``); the fill runs behind."""

    function: str
    key: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = _NO_KWARGS


class BackendFailure(NamedTuple):
    """The backend failed; ``function`` (if any) was called uncached."""

    error: BaseException
    function: str | None = None
    key: str | None = None


class BreakerOpened(NamedTuple):
    """The backend failed ``failures`` times in a row: calls skip it for a while."""

    failures: int
    error: BaseException | None = None


class BreakerClosed(NamedTuple):
    """The backend answered a probe: calls use it again."""

    opened_for: float  # seconds since it opened


class CommandTiming(NamedTuple):
    """One backend operation took ``duration`` seconds (``ok``: it did not raise)."""

    operation: str
    duration: float
    ok: bool


class NearInvalidated(NamedTuple):
    """Redis said ``keys`` changed (client tracking): their near copies were dropped
    (``held``: how many of them this process held)."""

    keys: int
    held: int


class NearFlushed(NamedTuple):
    """The near cache was emptied: ``reason`` is ``"connection"`` (the invalidation
    connection was lost or could not be trusted), ``"flushdb"`` (Redis said everything
    changed), ``"clear"`` (``cache.clear()``), ``"fork"`` or ``"manual"``
    (``cache.near.flush()``)."""

    reason: str
    dropped: int


class NearEvicted(NamedTuple):
    """The near cache was full: ``evicted`` copies left by its policy."""

    evicted: int


Event = (
    Hit
    | Stale
    | Miss
    | Fill
    | Refresh
    | Wait
    | Waited
    | Takeover
    | Overtaken
    | Failure
    | Default
    | BackendFailure
    | BreakerOpened
    | BreakerClosed
    | CommandTiming
    | NearInvalidated
    | NearFlushed
    | NearEvicted
)
Hook = Callable[[Event], Any]
EVENT_TYPES: tuple[type, ...] = (
    Hit,
    Stale,
    Miss,
    Fill,
    Refresh,
    Wait,
    Waited,
    Takeover,
    Overtaken,
    Failure,
    Default,
    BackendFailure,
    BreakerOpened,
    BreakerClosed,
    CommandTiming,
    NearInvalidated,
    NearFlushed,
    NearEvicted,
)


class Hooks:
    """The hooks of one cache, and which of them each type of event goes to.

    A hook may say which events it wants with a ``wants_events`` attribute (a tuple of event
    types); without one it gets them all. The routes are tuples, rebuilt (never mutated)
    when a hook is added, so emitting takes no lock.
    """

    __slots__ = ("_routes", "all", "direct", "primary", "timed")

    def __init__(self, hooks: Iterable[Hook] = (), primary: Hook | None = None) -> None:
        self.all: tuple[Hook, ...] = ()
        self.timed = False
        self._routes: dict[type, tuple[Hook, ...]] = {}
        # The event types that go to the primary hook (statistics) alone: for those, the
        # hot path may count directly and skip making the event at all.
        self.primary = primary
        self.direct: frozenset[type] = frozenset()
        for hook in ([primary] if primary is not None else []) + list(hooks):
            self.add(hook)

    def add(self, hook: Hook) -> None:
        if not callable(hook):
            raise TypeError(f"a hook is a callable taking one event, not {hook!r}")
        self.all = (*self.all, hook)
        self.timed = self.timed or bool(getattr(hook, "wants_timings", False))
        self._routes = {}
        primary = self.primary
        self.direct = frozenset(t for t in EVENT_TYPES if self._route(t) == (primary,))

    def remove(self, hook: Hook) -> None:
        """Stop sending events to ``hook`` (one registration of it)."""
        hooks = list(self.all)
        hooks.remove(hook)
        self.all = tuple(hooks)
        self.timed = any(getattr(h, "wants_timings", False) for h in hooks)
        self._routes = {}
        primary = self.primary
        self.direct = frozenset(t for t in EVENT_TYPES if self._route(t) == (primary,))

    def _route(self, kind: type) -> tuple[Hook, ...]:
        route = tuple(h for h in self.all if issubclass(kind, getattr(h, "wants_events", object)))
        self._routes[kind] = route
        return route

    def emit(self, event: Event) -> None:
        route = self._routes.get(type(event))
        if route is None:
            route = self._route(type(event))
        for hook in route:
            try:
                hook(event)
            except Exception:
                logger.warning("redmemo: hook %r failed on %r", hook, event, exc_info=True)
