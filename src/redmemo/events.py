"""What redmemo tells hooks: frozen event records, one type per thing that happened.

A hook is any callable taking one event. Register hooks with ``Cache(url, hooks=[...])``
or ``cache.add_hook(hook)``; they are called synchronously, in the caller's thread, in
the order registered. A hook that raises is logged and never breaks the call, so keep
hooks quick (hand heavy work to a queue). Statistics, the ``on_hit`` / ``on_miss``
callbacks and the warning logs are hooks themselves.

A hook that wants the duration of every backend operation sets ``wants_timings = True``;
the cache then times them and sends :class:`CommandTiming` events (without such a hook,
nothing is timed).

Every event of a decorated function carries ``function`` (``module.qualname``, with
``:vN`` for a version) and ``key`` (the entry's key); ``args`` and ``kwargs`` are the
call's arguments as given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "BackendFailure",
    "CommandTiming",
    "Default",
    "Event",
    "Failure",
    "Fill",
    "Hit",
    "Hook",
    "Hooks",
    "Miss",
    "Overtaken",
    "Refresh",
    "Stale",
    "Takeover",
    "Wait",
]

logger = logging.getLogger("redmemo")


@dataclass(frozen=True, slots=True)
class _CallEvent:
    function: str
    key: str
    args: tuple[Any, ...] = field(default=(), repr=False)
    kwargs: dict[str, Any] = field(default_factory=dict, repr=False)
    stat: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Hit(_CallEvent):
    """A fresh value was served from the cache."""

    value: Any = field(default=None, repr=False)
    stat: ClassVar[str] = "hits"


@dataclass(frozen=True, slots=True)
class Stale(_CallEvent):
    """A stale value was served; one refresh runs in the background."""

    value: Any = field(default=None, repr=False)
    stat: ClassVar[str] = "stale"


@dataclass(frozen=True, slots=True)
class Miss(_CallEvent):
    """Nothing usable was cached: the value is computed, or waited for."""

    stat: ClassVar[str] = "misses"


@dataclass(frozen=True, slots=True)
class Fill(_CallEvent):
    """A computed value was stored; ``duration`` is the computation's, in seconds."""

    duration: float = 0.0
    stat: ClassVar[str] = "fills"


@dataclass(frozen=True, slots=True)
class Refresh(_CallEvent):
    """A refresh took the lease (background, early or explicit) and computes now."""

    stat: ClassVar[str] = "refreshes"


@dataclass(frozen=True, slots=True)
class Wait(_CallEvent):
    """The caller waits for another caller's computation (this process's or another's)."""

    stat: ClassVar[str] = "waits"


@dataclass(frozen=True, slots=True)
class Takeover(_CallEvent):
    """A lease whose holder went quiet was taken over."""

    stat: ClassVar[str] = "takeovers"


@dataclass(frozen=True, slots=True)
class Overtaken(_CallEvent):
    """A computed value was not stored: invalidated or taken over meanwhile."""

    stat: ClassVar[str] = "overtaken"


@dataclass(frozen=True, slots=True)
class Failure(_CallEvent):
    """The function raised (nothing was cached), or its result could not be stored."""

    error: BaseException | None = None
    stat: ClassVar[str] = "failures"


@dataclass(frozen=True, slots=True)
class Default(_CallEvent):
    """A miss returned the default at once (``wait=False``); the fill runs behind."""

    stat: ClassVar[str] = "defaults"


@dataclass(frozen=True, slots=True)
class BackendFailure:
    """The backend failed; ``function`` (if any) was called uncached."""

    error: BaseException
    function: str | None = None
    key: str | None = None
    stat: ClassVar[str] = "errors"


@dataclass(frozen=True, slots=True)
class CommandTiming:
    """One backend operation took ``duration`` seconds (``ok``: it did not raise)."""

    operation: str
    duration: float
    ok: bool
    stat: ClassVar[str] = ""


Event = (
    Hit
    | Stale
    | Miss
    | Fill
    | Refresh
    | Wait
    | Takeover
    | Overtaken
    | Failure
    | Default
    | BackendFailure
    | CommandTiming
)
Hook = Callable[[Event], Any]


class Hooks:
    """The hooks of one cache: a tuple, replaced (never mutated) when one is added."""

    __slots__ = ("all", "timed")

    def __init__(self, hooks: Iterable[Hook] = ()) -> None:
        self.all: tuple[Hook, ...] = ()
        self.timed = False
        for hook in hooks:
            self.add(hook)

    def add(self, hook: Hook) -> None:
        if not callable(hook):
            raise TypeError(f"a hook is a callable taking one event, not {hook!r}")
        self.all = (*self.all, hook)
        self.timed = self.timed or bool(getattr(hook, "wants_timings", False))

    def emit(self, event: Event) -> None:
        for hook in self.all:
            try:
                hook(event)
            except Exception:
                logger.warning("redmemo: hook %r failed on %r", hook, event, exc_info=True)
