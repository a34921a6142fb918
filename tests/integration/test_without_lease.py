"""``@cache(lease=False)``: a miss is a GET, the call and a SET; no lease across
processes. Behaviour on every backend and both faces; on Redis, the commands it costs."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import redmemo
from tests.support.commands import commands_during
from tests.support.functions import Clock

from .test_invalidation import Counter


def test_results_are_stored_and_found_without_a_lease(decorate: Callable[..., Any]) -> None:
    body = Counter()
    fn = decorate(body, ttl=60, lease=False)
    for x in range(10):
        assert fn(x) == ((x,), x + 1)
    for x in range(10):
        assert fn(x) == ((x,), x + 1)  # stored: hits
    assert body.calls == 10
    stats = fn.wrapped.stats()
    assert (stats["misses"], stats["hits"], stats["fills"]) == (10, 10, 10)


def test_another_cache_finds_what_one_stored_without_a_lease(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache], backend: str
) -> None:
    shared: dict[str, Any] = {"namespace": "free-" + uuid.uuid4().hex[:8]}
    if backend == "memory":  # one store that two caches share, as two processes share Redis
        shared["url"] = "memory://" + shared["namespace"]
    one = decorate(Counter(), cache=make_cache(**shared), ttl=60, lease=False)
    other = decorate(Counter(), cache=make_cache(**shared), ttl=60, lease=False)
    assert one(3) == ((3,), 1)
    assert other(3) == ((3,), 1)  # the first one's value


def test_an_invalidated_key_is_computed_again(decorate: Callable[..., Any]) -> None:
    body = Counter()
    fn = decorate(body, ttl=60, lease=False)
    assert fn(1) == ((1,), 1)
    fn.invalidate(1)
    assert fn(1) == ((1,), 2)
    fn.cache_clear()  # every entry of the function
    assert fn(1) == ((1,), 3)


def test_a_stale_value_is_served_and_refreshed(
    mode: str, make_cache: Callable[..., redmemo.Cache], loop: Any
) -> None:
    from tests.support.functions import Decorated

    clock = Clock()
    body = Counter()
    fn = Decorated(make_cache(clock=clock), mode, loop, body, ttl=600, refresh=10, lease=False)
    assert fn(7) == ((7,), 1)
    clock.advance(20)
    assert fn(7) == ((7,), 1)  # served stale, refreshed in the background
    deadline = time.monotonic() + 10
    while fn(7) != ((7,), 2):
        assert time.monotonic() < deadline, "the refreshed value never arrived"
        if mode == "async":  # the refresh is a task of that loop
            loop.run_until_complete(asyncio.sleep(0.01))
        else:
            time.sleep(0.01)
    stats = fn.wrapped.stats()
    assert stats["stale"] >= 1
    assert stats["refreshes"] == 1


def test_refresh_computes_and_stores_without_a_lease(decorate: Callable[..., Any]) -> None:
    body = Counter()
    fn = decorate(body, ttl=60, lease=False)
    assert fn(1) == ((1,), 1)
    assert fn.refresh(1) == ((1,), 2)
    assert fn(1) == ((1,), 2)


def test_threads_of_one_process_still_compute_a_key_once(
    make_cache: Callable[..., redmemo.Cache],
) -> None:
    cache = make_cache()
    calls: list[int] = []
    started = threading.Event()
    release = threading.Event()

    @cache(ttl=60, lease=False)
    def slow(x: int) -> int:
        calls.append(x)
        started.set()
        release.wait(10)
        return x * 2

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(slow(5))) for _ in range(16)]
    threads[0].start()
    assert started.wait(10)
    for t in threads[1:]:
        t.start()
    time.sleep(0.05)  # let the others reach the flight of the first
    release.set()
    for t in threads:
        t.join(10)
    assert results == [10] * 16
    assert calls == [5]


@pytest.mark.parametrize(
    "options",
    [
        {"tags": ["t"]},
        {"depends_on": ["k"]},
        {"key": "user:{x}"},
        {"index": True},
        {"maxsize": 10},
    ],
)
def test_lease_false_is_refused_where_a_lease_carries_indexes_or_bounds(
    make_cache: Callable[..., redmemo.Cache], options: dict[str, Any]
) -> None:
    cache = make_cache()
    with pytest.raises(redmemo.ConfigurationError, match="lease=False"):

        @cache(ttl=60, lease=False, **options)
        def load(x: int) -> int:
            return x

    with pytest.raises(redmemo.ConfigurationError, match="lease=False"):
        cache.multi_cached("ids", ttl=60, lease=False)


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_miss_without_a_lease_is_one_get_and_one_set(
    mode: str, redis_url: str, redis_server: Any, loop: Any
) -> None:
    from tests.support.functions import Decorated

    with redmemo.Cache(redis_url, namespace="free") as cache:
        fn = Decorated(cache, mode, loop, Counter(), ttl=60, lease=False)

        def commands(x: int) -> dict[str, int]:
            return commands_during(redis_server, lambda: fn(x))

        misses = [commands(x) for x in range(5)]  # a run of misses too: no probe
        hit = commands(0)
        with redis_server.client() as client:
            leases = client.keys("free:#lease:*")
        if mode == "async":
            loop.run_until_complete(cache.aclose())
    assert misses == [{"get": 1, "set": 1}] * 5
    assert hit == {"get": 1}
    assert leases == []
