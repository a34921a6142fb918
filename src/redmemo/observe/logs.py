"""The warning log lines, as a hook: each kind of problem at most once a minute."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .._log import logger, warn_throttled
from ..errors import CircuitOpenError
from ..events import (
    BackendFailure,
    BreakerClosed,
    BreakerOpened,
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

_SAID = {
    Hit: "hit: a fresh value served",
    Stale: "stale: the old value served, one refresh starts behind it",
    Miss: "miss: nothing usable; asking for the lease",
    Refresh: "lease taken: refreshing",
    Wait: "lease held by another caller: waiting for its value",
    Takeover: "lease taken over: its holder went quiet",
    Default: "miss answered by the default; the fill runs behind",
    Overtaken: "computed, not stored: invalidated or taken over meanwhile",
}

__all__ = ["DecisionLog", "LogHook"]


class LogHook:
    wants_events = (BackendFailure, BreakerOpened, BreakerClosed)

    def __init__(self, where: str) -> None:
        self.where = where  # the cache, as its repr shows it (no password)

    def __call__(self, event: Event) -> None:
        if isinstance(event, BreakerOpened):
            logger.warning(
                "redmemo: the backend of %s is unreachable (%s): calls skip it, and the "
                "functions run uncached, until it answers again",
                self.where,
                event.error,
            )
        elif isinstance(event, BreakerClosed):
            logger.warning(
                "redmemo: the backend of %s answers again after %.1fs; cached calls resume",
                self.where,
                event.opened_for,
            )
        elif isinstance(event, BackendFailure) and not isinstance(event.error, CircuitOpenError):
            warn_throttled(
                "backend",
                "redmemo: a backend call of %s failed, the function ran uncached: %s",
                self.where,
                event.error,
            )


class DecisionLog:
    """Every decision for some functions (or all), at DEBUG on ``redmemo.decisions``
    (``redmemo.decisions.<function>``, so that logging can narrow it further)."""

    wants_events = (*_SAID, Fill, Failure, Waited)

    def __init__(self, functions: Iterable[str] = ()) -> None:
        self.functions = frozenset(functions)

    def __call__(self, event: Event) -> None:
        function = getattr(event, "function", "")
        if self.functions and function not in self.functions:
            return
        log = logging.getLogger(f"redmemo.decisions.{function}")
        if not log.isEnabledFor(logging.DEBUG):
            return
        key = getattr(event, "key", "")
        if isinstance(event, Fill):
            said = f"computed in {event.duration:.3f}s and stored"
        elif isinstance(event, Waited):
            said = f"waited {event.duration:.3f}s"
        elif isinstance(event, Failure):
            said = f"failed: {event.error!r}; nothing stored"
        else:
            said = _SAID[type(event)]
        log.debug("redmemo: %s %s: %s", function, key, said)
