"""Real conditions: late replies, many concurrent callers, cancelled computations,
invalidation inside one process. Counts are asserted (executions, errors, values),
never wall-clock times."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import redmemo
from tests.support.proxy import Proxy
from tests.support.servers import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def proxy(redis_server: RedisServer, redis_url: str) -> Iterator[Proxy]:
    p = Proxy(redis_server.port)
    yield p
    p.close()


# -- a command is never sent twice ----------------------------------------------------------


@pytest.mark.chaos
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_write_whose_reply_comes_late_is_never_sent_again(
    mode: str, proxy: Proxy, redis_server: RedisServer, loop: asyncio.AbstractEventLoop
) -> None:
    cache = redmemo.Cache(proxy.url + "?socket_timeout=200ms", namespace="late")

    def run(name: str, *args: Any) -> Any:
        if mode == "sync":
            return getattr(cache, name)(*args)
        return loop.run_until_complete(getattr(cache, "a" + name)(*args))  # one loop, one pool

    run("set", "n", 10)
    # The command reaches Redis and runs; its reply comes after the client gave up, but
    # soon enough that a retry (which must not happen) would get through.
    proxy.stall(0.35)
    with pytest.raises(redmemo.BackendError, match="may or may not have taken effect"):
        run("increment", "n")
    time.sleep(0.6)
    with redis_server.client() as direct:
        assert direct.get(cache.full_key("n")) == b"11"  # once, not twice
    run("get", "n")  # a warm connection again
    proxy.stall(0.35)
    with pytest.raises(redmemo.BackendError, match="may or may not"):
        run("add", "fresh", "mine")
    time.sleep(0.6)
    assert cache.get("fresh") == "mine"  # stored once
    assert run("add", "fresh", "other") is False
    assert run("increment", "n") == 12
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()


@pytest.mark.chaos
def test_a_read_after_a_cut_connection_is_sent_again(proxy: Proxy) -> None:
    cache = redmemo.Cache(proxy.url, namespace="cut")
    cache.set("k", "v")
    proxy.cut()  # the pooled connection is dead; the next read finds out
    assert cache.get("k") == "v"
    cache.close()


# -- many concurrent callers -------------------------------------------------------------------


def _quiet(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.slow
def test_a_thousand_tasks_on_one_cold_key_compute_it_once(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}

    async def main() -> tuple[list[int], dict[str, int]]:
        cache = redmemo.Cache(redis_url, namespace="crowd1")

        @cache(ttl=60)
        async def load(x: int) -> int:
            calls["n"] += 1
            await asyncio.sleep(0.05)
            return x * 2

        results = await asyncio.gather(*(load(7) for _ in range(1000)))
        stats = load.stats()
        await cache.aclose()
        return results, stats

    with caplog.at_level(logging.WARNING, logger="redmemo"):
        results, stats = asyncio.run(main())
    assert calls["n"] == 1
    assert results == [14] * 1000
    assert stats["errors"] == 0
    assert _quiet(caplog) == []


@pytest.mark.slow
def test_a_thousand_tasks_on_a_thousand_keys_compute_each_once(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: dict[int, int] = {}

    async def main() -> tuple[list[int], dict[str, int]]:
        cache = redmemo.Cache(redis_url, namespace="crowd2")

        @cache(ttl=60)
        async def load(x: int) -> int:
            calls[x] = calls.get(x, 0) + 1
            await asyncio.sleep(0.01)
            return x

        results = await asyncio.gather(*(load(i) for i in range(1000)))
        stats = load.stats()
        await cache.aclose()
        return results, stats

    with caplog.at_level(logging.WARNING, logger="redmemo"):
        results, stats = asyncio.run(main())
    assert results == list(range(1000))
    assert set(calls.values()) == {1}
    assert (stats["errors"], stats["fills"]) == (0, 1000)
    assert _quiet(caplog) == []


@pytest.mark.slow
def test_256_threads_on_256_keys_never_fail_open(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = redmemo.Cache(redis_url, namespace="threads256")
    calls: dict[int, int] = {}
    lock = threading.Lock()

    @cache(ttl=60)
    def load(x: int) -> int:
        with lock:
            calls[x] = calls.get(x, 0) + 1
        time.sleep(0.01)
        return x

    barrier = threading.Barrier(256)
    results: list[int] = []

    def call(i: int) -> None:
        barrier.wait()
        results.append(load(i))

    with caplog.at_level(logging.WARNING, logger="redmemo"):
        threads = [threading.Thread(target=call, args=(i,)) for i in range(256)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(results) == list(range(256))
    assert set(calls.values()) == {1}
    assert load.stats()["errors"] == 0
    assert _quiet(caplog) == []
    cache.close()
