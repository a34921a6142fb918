"""The warning log lines, as a hook: each kind of problem at most once a minute."""

from __future__ import annotations

from .._log import warn_throttled
from ..events import BackendFailure, Event

__all__ = ["LogHook"]


class LogHook:
    wants_events = (BackendFailure,)

    def __init__(self, where: str) -> None:
        self.where = where  # the cache, as its repr shows it (no password)

    def __call__(self, event: Event) -> None:
        if isinstance(event, BackendFailure):
            warn_throttled(
                "backend",
                "redmemo: the backend of %s failed, calling functions uncached: %s",
                self.where,
                event.error,
            )
