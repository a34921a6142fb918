"""The warning log lines, as a hook: each kind of problem at most once a minute."""

from __future__ import annotations

from .._log import logger, warn_throttled
from ..errors import CircuitOpenError
from ..events import BackendFailure, BreakerClosed, BreakerOpened, Event

__all__ = ["LogHook"]


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
