"""A decorated function seen through a face, so one test body checks sync and async."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

import redmemo


class Decorated:
    """``body`` decorated by ``cache`` as a sync function, or as an async twin of it."""

    def __init__(
        self,
        cache: redmemo.Cache,
        mode: str,
        loop: asyncio.AbstractEventLoop,
        body: Callable[..., Any],
        **options: Any,
    ) -> None:
        self.mode = mode
        self.loop = loop
        self.cache = cache
        if mode == "sync":
            self.wrapped: Any = cache(**options)(body)
        else:

            @functools.wraps(body)
            async def abody(*args: Any, **kwargs: Any) -> Any:
                return body(*args, **kwargs)

            self.wrapped = cache(**options)(abody)

    def _run(self, result: Any) -> Any:
        return self.loop.run_until_complete(result) if self.mode == "async" else result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self.wrapped(*args, **kwargs))

    def invalidate(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self.wrapped.invalidate(*args, **kwargs))

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self.wrapped.refresh(*args, **kwargs))

    def cache_info(self) -> Any:
        return self._run(self.wrapped.cache_info())

    def cache_clear(self) -> Any:
        return self._run(self.wrapped.cache_clear())

    def key(self, *args: Any, **kwargs: Any) -> str:
        key: str = self.wrapped.key(*args, **kwargs)
        return key

    def quiesce(self) -> None:
        """Wait until the background work this function started (refreshes) has ended."""
        background = self.cache._runtime.background
        if self.mode == "async":
            self.loop.run_until_complete(background.drain())
        else:
            background.shutdown(wait=True)  # the pool starts again on next use

    def settle(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Let background work run until ``condition`` holds (bounded; never a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            if self.mode == "async":
                self.loop.run_until_complete(asyncio.sleep(0.005))
            else:
                time.sleep(0.005)
        return True


class Clock:
    """A controllable wall clock for Cache(clock=...)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
