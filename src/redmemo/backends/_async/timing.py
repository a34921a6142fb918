"""A layer that times every backend operation and reports it as a ``CommandTiming``
event. The stack has it only when a hook asks for timings (``wants_timings = True``), so
a cache without such a hook pays nothing for it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ...events import CommandTiming, Event
from .layer import AsyncLayer
from .protocol import AsyncBackend

__all__ = ["AsyncTimingLayer"]

R = TypeVar("R")


class AsyncTimingLayer(AsyncLayer):
    def __init__(self, inner: AsyncBackend, emit: Callable[[Event], None]) -> None:
        super().__init__(inner)
        self._emit = emit

    async def call(self, operation: str, method: Callable[..., Awaitable[R]], *args: Any) -> R:
        started = time.perf_counter()
        ok = False
        try:
            result = await method(*args)
            ok = True
            return result
        finally:
            self._emit(CommandTiming(operation, time.perf_counter() - started, ok))
