"""The circuit breaker as a layer: while the backend is down, calls skip it and the
function runs uncached in microseconds, instead of each paying a timeout.

Only outages count (no connection, a timeout); an error Redis answered with (a wrong
type, a script error) says the server is up. See ``core/breaker.py`` for the rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.exceptions import ConnectionError, TimeoutError

from ...core.breaker import Breaker, BreakerState
from ...errors import BackendError, CircuitOpenError
from ...events import BreakerClosed, BreakerOpened, Event
from .layer import AsyncLayer
from .protocol import AsyncBackend

__all__ = ["AsyncBreakerLayer", "is_outage"]

R = TypeVar("R")


def is_outage(error: BaseException) -> bool:
    """Whether a backend error means the server is unreachable (not: it said no)."""
    cause = error.__cause__ if isinstance(error, BackendError) else error
    return isinstance(cause, (ConnectionError, TimeoutError, OSError))


class AsyncBreakerLayer(AsyncLayer):
    def __init__(
        self, inner: AsyncBackend, breaker: Breaker, emit: Callable[[Event], None]
    ) -> None:
        super().__init__(inner)
        self.breaker = breaker
        self._emit = emit

    async def get(self, key: str) -> bytes | None:
        # The hit path, without the generic call's extra frame while all is well.
        breaker = self.breaker
        if breaker.state is not BreakerState.CLOSED or breaker.failures:
            return await self.call("get", self.inner.get, key)
        try:
            return await self.inner.get(key)
        except BackendError as exc:
            self._failed(exc)
            raise

    def _failed(self, exc: BackendError) -> None:
        if is_outage(exc) and self.breaker.failed() is BreakerState.OPEN:
            self._emit(BreakerOpened(self.breaker.threshold, exc))

    async def call(self, operation: str, method: Callable[..., Awaitable[R]], *args: Any) -> R:
        breaker = self.breaker
        if not breaker.allow():
            raise CircuitOpenError(
                f"the backend failed {breaker.threshold} times in a row; not asked for "
                f"{breaker.reset_after:g}s (circuit breaker open)"
            )
        try:
            result = await method(*args)
        except BackendError as exc:
            self._failed(exc)
            raise
        if breaker.succeeded() is BreakerState.CLOSED:
            self._emit(BreakerClosed(breaker.clock() - breaker.opened_since))
        return result
