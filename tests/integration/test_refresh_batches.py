"""Background refreshes in batches (coordination/refreshes.py): keys found stale while a
refresh runs are leased together, each refreshed once, a failing key alone left stale."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import redmemo
from redmemo import _workers
from tests.support.functions import Clock
from tests.support.servers import RedisServer

pytestmark = pytest.mark.redis

KEYS = 24


def _wait(condition: Any, mode: str, loop: asyncio.AbstractEventLoop, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, what
        if mode == "async":
            loop.run_until_complete(asyncio.sleep(0.01))
        else:
            time.sleep(0.01)


class Body:
    """Returns (x, generation); during refreshes key 0 waits for ``gate`` and every key
    notes how many later keys' leases exist in Redis as it computes."""

    def __init__(self, cache: redmemo.Cache, server: RedisServer) -> None:
        self.cache = cache
        self.server = server
        self.generation = 1
        self.gate = threading.Event()
        self.leased_ahead: list[int] = []
        self.failing: int | None = None
        self.keys: dict[int, str] = {}

    def before(self, x: int) -> None:
        if self.generation == 1:
            return
        if x == self.failing:
            raise RuntimeError(f"cannot refresh {x}")
        space = self.cache._runtime.keyspace
        with self.server.client() as client:
            later = [space.lease(self.keys[y]) for y in range(x + 1, KEYS)]
            self.leased_ahead.append(int(client.exists(*later)) if later else 0)


def _decorate(cache: redmemo.Cache, body: Body, mode: str) -> Any:
    if mode == "sync":

        @cache(ttl=600, refresh=10, name=f"batched-{mode}")
        def load(x: int) -> tuple[int, int]:
            if x == 0 and body.generation > 1:
                assert body.gate.wait(20)
            body.before(x)
            return x, body.generation

        return load

    @cache(ttl=600, refresh=10, name=f"batched-{mode}")
    async def aload(x: int) -> tuple[int, int]:
        if x == 0 and body.generation > 1:
            assert await asyncio.to_thread(body.gate.wait, 20)  # the loop runs on
        body.before(x)
        return x, body.generation

    return aload


def _all_stale(
    mode: str, url: str, server: RedisServer, loop: asyncio.AbstractEventLoop, namespace: str
) -> tuple[redmemo.Cache, Body, Any, Callable[[int], Any]]:
    """KEYS entries stored, then all stale; the next computations are generation 2."""
    clock = Clock()
    cache = redmemo.Cache(url, namespace=f"{namespace}-{mode}", clock=clock)
    body = Body(cache, server)
    fn = _decorate(cache, body, mode)

    def call(x: int) -> Any:
        return fn(x) if mode == "sync" else loop.run_until_complete(fn(x))

    for x in range(KEYS):
        assert call(x) == (x, 1)
        body.keys[x] = fn.key(x)
    clock.advance(20)
    body.generation = 2
    return cache, body, fn, call


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_keys_found_stale_during_a_refresh_are_leased_together_and_refreshed_once(
    mode: str, redis_url: str, redis_server: RedisServer, loop: asyncio.AbstractEventLoop
) -> None:
    cache, body, fn, call = _all_stale(mode, redis_url, redis_server, loop, "batches")

    async def stale_calls() -> list[Any]:
        return [await fn(x) for x in range(KEYS)]

    if mode == "sync":
        served = [call(x) for x in range(KEYS)]
    else:
        served = loop.run_until_complete(stale_calls())
    assert served == [(x, 1) for x in range(KEYS)]  # stale values, served at once
    body.gate.set()  # the refresh of key 0 was holding the first batch up
    _wait(lambda: fn.stats()["refreshes"] >= KEYS, mode, loop, "refreshes never ended")
    _wait(lambda: call(KEYS - 1) == (KEYS - 1, 2), mode, loop, "refreshed value not served")
    assert [call(x) for x in range(KEYS)] == [(x, 2) for x in range(KEYS)]
    stats = fn.stats()
    assert stats["refreshes"] == KEYS  # each key once
    assert stats["fills"] == 2 * KEYS
    # The keys queued behind key 0 were leased in one go, before the first of them was
    # computed: one at a time, as many leases as refresh threads could be seen ahead.
    assert max(body.leased_ahead) >= KEYS // 2
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_key_that_fails_in_a_batch_stays_stale_and_its_lease_is_given_back(
    mode: str, redis_url: str, redis_server: RedisServer, loop: asyncio.AbstractEventLoop
) -> None:
    cache, body, fn, call = _all_stale(mode, redis_url, redis_server, loop, "batch-fail")
    body.failing = 5
    body.gate.set()
    for x in range(KEYS):
        assert call(x) == (x, 1)
    _wait(lambda: fn.stats()["refreshes"] >= KEYS, mode, loop, "refreshes never ended")
    _wait(lambda: call(KEYS - 1) == (KEYS - 1, 2), mode, loop, "refreshed value not served")
    _wait(lambda: fn.stats()["failures"] >= 1, mode, loop, "the failure was not counted")
    with redis_server.client() as client:
        assert not client.exists(cache._runtime.keyspace.lease(fn.key(5)))  # given back
    assert call(5) == (5, 1)  # still the stale value (a new refresh fails again)
    assert call(6) == (6, 2)
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()


def test_a_refresh_handed_to_a_napping_thread_starts_as_the_next_command_waits(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sync: the refresh thread, having run one lately, naps; the stale call does not
    wake it (a system call on the caller's path) but leaves that to the next moment a
    thread waits for a reply from Redis (_workers.py)."""
    monkeypatch.setattr(_workers, "DOZE", 30.0)  # no nap ends within the test
    clock = Clock()
    cache = redmemo.Cache(redis_url, namespace="napping", clock=clock)
    calls: list[int] = []

    @cache(ttl=600, refresh=10)
    def load(x: int) -> int:
        calls.append(x)
        return x

    try:
        for x in (1, 2, 3):
            load(x)
        clock.advance(60)
        load(1)  # stale: the first refresh starts the thread, at once
        _until(lambda: calls.count(1) == 2, "the first refresh")
        workers = cache._runtime.background._workers
        _until(lambda: workers is not None and bool(workers._dozing), "a nap")
        load(2)  # stale: handed over, the wake-up put off
        time.sleep(0.2)
        assert calls.count(2) == 1  # not refreshed: nothing woke the thread
        cache.set("other", 1)  # a command sent, its reply awaited: the wake-up given
        _until(lambda: calls.count(2) == 2, "the put-off refresh")
    finally:
        cache.close()


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.001)
