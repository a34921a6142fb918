"""Callers under load for failover tests: threads and tasks calling cached functions whose
right answers are known, counting errors, wrong values and hits."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import redmemo
from redmemo.events import BackendFailure, Hit


class Load:
    """8 threads and 100 tasks calling a cached function with known right answers."""

    def __init__(self, cache: redmemo.Cache) -> None:
        self.errors: list[BaseException] = []
        self.wrong: list[Any] = []
        self.calls = 0
        self.stop = threading.Event()
        self.hits: list[tuple[float, str]] = []
        self.outages: list[float] = []  # when a backend failure was seen
        cache.add_hook(self._on_event)

        @cache(ttl=600, name="value")
        def value(i: int) -> str:
            return f"v{i}"

        @cache(ttl=600, name="avalue")
        async def avalue(i: int) -> str:
            return f"v{i}"

        self.value, self.avalue = value, avalue
        self.threads = [threading.Thread(target=self._thread, args=(n,)) for n in range(8)]
        self.threads.append(threading.Thread(target=lambda: asyncio.run(self._tasks())))

    def resumed_after(self, since: float, keys: set[str] | None = None) -> float | None:
        """The first hit (on ``keys``) after the first failure seen since ``since``, or
        after ``since`` itself when nothing failed after it."""
        failed = [at for at in self.outages if at > since]
        start = failed[0] if failed else since
        hits = [at for at, key in self.hits if at > start and (keys is None or key in keys)]
        return min(hits) if hits else None

    def _on_event(self, event: Any) -> None:
        if isinstance(event, BackendFailure):
            self.outages.append(time.monotonic())
        if isinstance(event, Hit):
            self.hits.append((time.monotonic(), event.key))

    def _check(self, i: int, got: Any) -> None:
        self.calls += 1
        if got != f"v{i}":
            self.wrong.append((i, got))

    def _thread(self, n: int) -> None:
        i = n
        while not self.stop.is_set():
            i = (i + 7) % 60
            try:
                self._check(i, self.value(i))
            except BaseException as exc:
                self.errors.append(exc)

    async def _tasks(self) -> None:
        async def one(n: int) -> None:
            i = n
            while not self.stop.is_set():
                i = (i + 11) % 60
                try:
                    self._check(i, await self.avalue(i))
                except BaseException as exc:
                    self.errors.append(exc)
                await asyncio.sleep(0)

        await asyncio.gather(*(one(n) for n in range(100)))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
