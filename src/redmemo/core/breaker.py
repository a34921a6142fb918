"""The circuit breaker's rules, pure: when to stop asking a failing backend, and when to
ask again.

CLOSED: every call goes to the backend; ``threshold`` consecutive failures open it.
OPEN: no call goes to the backend (the caller gets an answer in microseconds: the
function runs uncached) until ``reset_after`` seconds have passed; then one call, the
probe, is let through (HALF_OPEN). Its success closes the breaker, its failure opens it
again for another ``reset_after``. Only outages count as failures (a refused connection,
a timeout), never an error Redis answered with.

The clock is injected and the state changes are returned, so the rules are tested with
plain numbers; the layer that uses it does the I/O and reports the changes.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable

__all__ = ["Breaker", "BreakerState"]


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Breaker:
    def __init__(
        self,
        threshold: int = 3,
        reset_after: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(threshold, int) or threshold < 1:
            raise ValueError(f"threshold must be a positive int, got {threshold!r}")
        if not isinstance(reset_after, (int, float)) or reset_after <= 0:
            raise ValueError(
                f"reset_after must be a positive number of seconds, got {reset_after!r}"
            )
        self.threshold = threshold
        self.reset_after = float(reset_after)
        self.clock = clock
        self._lock = threading.Lock()
        self.state = BreakerState.CLOSED
        self.failures = 0  # consecutive, while closed
        self._opened_at = 0.0
        self._since = 0.0  # when it opened from closed
        self.opened = 0  # how many times it opened
        self.short_circuited = 0  # calls answered without the backend

    def allow(self) -> bool:
        """Whether this call may go to the backend (False: answer without it)."""
        if self.state is BreakerState.CLOSED:  # the common case, without the lock
            return True
        with self._lock:
            if self.state is BreakerState.CLOSED:  # type: ignore[comparison-overlap]
                return True  # another thread closed it meanwhile
            now = self.clock()
            # Open long enough, or a probe that never reported back (cancelled): probe.
            if now - self._opened_at >= self.reset_after:
                self.state = BreakerState.HALF_OPEN
                self._opened_at = now
                return True
            self.short_circuited += 1
            return False

    @property
    def opened_since(self) -> float:
        """When it opened from closed, on its clock."""
        return self._since

    def succeeded(self) -> BreakerState | None:
        """Record a call that reached the backend; the new state if it changed."""
        if self.state is BreakerState.CLOSED and not self.failures:
            return None
        with self._lock:
            self.failures = 0
            if self.state is BreakerState.CLOSED:
                return None
            self.state = BreakerState.CLOSED
            return BreakerState.CLOSED

    def failed(self) -> BreakerState | None:
        """Record an outage; the new state if it changed."""
        with self._lock:
            now = self.clock()
            if self.state is BreakerState.CLOSED:
                self.failures += 1
                if self.failures < self.threshold:
                    return None
                self._since = now
                self.opened += 1
                changed: BreakerState | None = BreakerState.OPEN
            elif self.state is BreakerState.OPEN:
                return None  # a call that went out before it opened
            else:
                changed = None  # a failed probe: it stays open
            self.state = BreakerState.OPEN
            self._opened_at = now
            return changed
