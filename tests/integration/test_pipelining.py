"""Auto-pipelining of reads: the GETs of one event-loop turn share one MGET, and so do
the GETs of threads that find one in flight.

On real servers (Redis, Valkey, both clusters): the right value for every caller, the
commands the server saw, cancellation of some callers mid-batch, a server that stops
answering during a batch, and the switch that turns it off.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
import redis

import redmemo
from tests.conftest import _SERVER_PARAMS, URL_FIXTURES
from tests.support.proxy import Proxy
from tests.support.servers import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture(params=_SERVER_PARAMS)
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue(URL_FIXTURES[request.param])
    return value


def _commands(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def _filled(cache: redmemo.Cache, computed: list[int]) -> Any:
    @cache(ttl=600, name="item")
    async def item(x: int) -> dict[str, int]:
        computed.append(x)
        return {"x": x}

    return item


def test_concurrent_hits_get_their_own_values(url: str) -> None:
    computed: list[int] = []

    async def main() -> tuple[list[Any], dict[str, int]]:
        cache = redmemo.Cache(url, namespace="ap-" + uuid.uuid4().hex[:6])
        item = _filled(cache, computed)
        for x in range(200):
            await item(x)
        computed.clear()
        item.stats(reset=True)
        try:
            # 200 tasks at once, over 200 keys, several times each.
            values = await asyncio.gather(*(item(x % 200) for x in range(1000)))
            return values, item.stats()
        finally:
            await cache.aclose()

    values, stats = asyncio.run(main())
    assert values == [{"x": x % 200} for x in range(1000)]
    assert computed == []
    assert stats["hits"] == 1000  # every one read by the GET or the batch, as a hit
    assert stats["misses"] == 0


def test_the_reads_of_a_turn_go_as_one_command(redis_server: RedisServer) -> None:
    computed: list[int] = []
    admin = redis_server.client()

    async def main(cache_url: str) -> dict[str, int]:
        cache = redmemo.Cache(cache_url, namespace="ap-" + uuid.uuid4().hex[:6])
        item = _filled(cache, computed)
        for x in range(200):
            await item(x)
        await item(0)  # a hit ends the run of misses: reads go by GET again (not probes)
        before = _commands(admin)
        await asyncio.gather(*(item(x) for x in range(200)))
        after = _commands(admin)
        await cache.aclose()
        return {name: after.get(name, 0) - before.get(name, 0) for name in ("get", "mget")}

    try:
        on = asyncio.run(main(redis_server.url))
        off = asyncio.run(main(redis_server.url + "?auto_pipeline=false"))
    finally:
        admin.close()
        with redis_server.client() as client:
            client.flushall()
    assert on["get"] + on["mget"] <= 3  # the first GET alone, then one MGET (or two)
    assert on["mget"] >= 1
    assert off == {"get": 200, "mget": 0}


def test_cancelled_callers_leave_the_others_their_values(redis_url: str) -> None:
    computed: list[int] = []

    async def main() -> tuple[list[Any], int]:
        cache = redmemo.Cache(redis_url, namespace="ap-" + uuid.uuid4().hex[:6])
        item = _filled(cache, computed)
        for x in range(100):
            await item(x)
        computed.clear()
        tasks = [asyncio.ensure_future(item(x)) for x in range(100)]
        await asyncio.sleep(0)  # every task has issued its GET: all but the first wait in
        # the batch (the first was sent on its own, and redis-py's client finishes a
        # command it has sent even when its caller is cancelled: not cancelled here)
        for task in tasks[3::3]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await cache.aclose()
        return results, sum(1 for t in tasks if t.cancelled())

    results, cancelled = asyncio.run(main())
    assert cancelled == len(range(3, 100, 3))
    for x, result in enumerate(results):
        if x % 3 == 0 and x > 0:
            assert isinstance(result, asyncio.CancelledError)
        else:
            assert result == {"x": x}
    assert computed == []


def test_a_batch_whose_server_fails_fails_open_for_every_caller(
    redis_server: RedisServer,
) -> None:
    proxy = Proxy(redis_server.port)
    computed: list[int] = []

    async def main() -> list[Any]:
        cache = redmemo.Cache(
            proxy.url + "?socket_timeout=0.5", namespace="ap-" + uuid.uuid4().hex[:6]
        )
        item = _filled(cache, computed)
        for x in range(50):
            await item(x)
        computed.clear()
        proxy.stall(5)  # replies stop coming: the first GET and the batch time out
        try:
            return await asyncio.gather(*(item(x) for x in range(50)))
        finally:
            proxy.stall(0)
            await cache.aclose()

    try:
        values = asyncio.run(main())
    finally:
        proxy.close()
    assert values == [{"x": x} for x in range(50)]  # computed instead: fail-open
    assert sorted(computed) == list(range(50))


# -- the sync face: threads that find a read in flight combine theirs -----------------------


def _sync_filled(cache: redmemo.Cache, computed: list[int]) -> Any:
    @cache(ttl=600, name="item")
    def item(x: int) -> dict[str, int]:
        computed.append(x)
        return {"x": x}

    return item


def _in_threads(call: Any, threads: int, per_thread: int) -> list[list[tuple[int, Any]]]:
    """Each thread calls ``call(x)`` for its own sequence of x; what each one got."""
    start = threading.Barrier(threads)
    seen: list[list[tuple[int, Any]]] = [[] for _ in range(threads)]

    def worker(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            x = (i * 7 + n * 13) % 200
            seen[n].append((x, call(x)))

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    return seen


def test_concurrent_threads_get_their_own_values(url: str) -> None:
    computed: list[int] = []
    with redmemo.Cache(url, namespace="ap-" + uuid.uuid4().hex[:6]) as cache:
        item = _sync_filled(cache, computed)
        for x in range(200):
            item(x)
        computed.clear()
        item.stats(reset=True)
        seen = _in_threads(item, threads=32, per_thread=300)
        stats = item.stats()
    assert sum(len(calls) for calls in seen) == 32 * 300
    for calls in seen:
        assert all(value == {"x": x} for x, value in calls)
    assert computed == []
    assert (stats["hits"], stats["misses"]) == (32 * 300, 0)


def test_threads_that_find_a_read_in_flight_share_one_command(redis_server: RedisServer) -> None:
    admin = redis_server.client()

    def run(cache_url: str) -> dict[str, int]:
        with redmemo.Cache(cache_url, namespace="ap-" + uuid.uuid4().hex[:6]) as cache:
            item = _sync_filled(cache, [])
            for x in range(200):
                item(x)
            before = _commands(admin)
            _in_threads(item, threads=32, per_thread=100)
            after = _commands(admin)
        return {name: after.get(name, 0) - before.get(name, 0) for name in ("get", "mget")}

    try:
        on = run(redis_server.url)
        off = run(redis_server.url + "?auto_pipeline=false")
    finally:
        admin.close()
        with redis_server.client() as client:
            client.flushall()
    assert on["mget"] >= 1
    assert on["get"] + on["mget"] < 32 * 100 // 2  # most reads shared a command
    assert off["mget"] == 0


def test_threads_whose_shared_read_fails_all_fail_open(redis_server: RedisServer) -> None:
    proxy = Proxy(redis_server.port)
    computed: list[int] = []
    try:
        with redmemo.Cache(
            proxy.url + "?socket_timeout=0.5", namespace="ap-" + uuid.uuid4().hex[:6]
        ) as cache:
            item = _sync_filled(cache, computed)
            for x in range(200):
                item(x)
            computed.clear()
            proxy.stall(5)  # replies stop coming: the GET in flight and the queue time out
            try:
                seen = _in_threads(item, threads=16, per_thread=1)
            finally:
                proxy.stall(0)
    finally:
        proxy.close()
    got = [calls[0] for calls in seen]
    assert len(got) == 16
    assert all(value == {"x": x} for x, value in got)
    assert sorted(computed) == sorted(x for x, _ in got)  # computed instead: fail-open


# -- scripts of one turn share a pipeline ---------------------------------------------------


def _spied(cache: redmemo.Cache, loop_backend: Any) -> list[int]:
    """The sizes of the script pipelines the backend sends for several callers."""
    sizes: list[int] = []
    inner = loop_backend.inner
    send_all = inner._script_replies

    async def spy(calls: list[Any]) -> list[Any]:
        sizes.append(len(calls))
        replies: list[Any] = await send_all(calls)
        return replies

    inner._script_batch._send_all = spy
    return sizes


def test_concurrent_misses_share_script_pipelines_and_store_right_values(url: str) -> None:
    computed: list[int] = []

    async def main() -> tuple[list[Any], list[int], list[Any]]:
        namespace = "ap-" + uuid.uuid4().hex[:6]
        # Two caches, as two processes would: for each key one takes the lease and the
        # other finds it held, so replies of different kinds share each pipeline.
        cache, other = (redmemo.Cache(url, namespace=namespace) for _ in range(2))
        item, other_item = _filled(cache, computed), _filled(other, computed)
        await item(-1)
        sizes = _spied(cache, cache._runtime.async_backend())
        values = await asyncio.gather(
            *(item(x) for x in range(200)), *(other_item(x) for x in reversed(range(200)))
        )
        await cache.aclose()
        await other.aclose()
        reader = redmemo.Cache(url, namespace=namespace)
        again = _filled(reader, computed)
        stored = await asyncio.gather(*(again(x) for x in range(200)))
        await reader.aclose()
        return values, sizes, stored

    values, sizes, stored = asyncio.run(main())
    assert values == [{"x": x} for x in range(200)] + [{"x": x} for x in reversed(range(200))]
    assert sorted(computed) == [-1, *range(200)]  # once each, across both caches
    assert stored == values[:200]
    assert sizes
    assert max(sizes) > 1  # leases and stores of many callers went together


def test_a_failing_script_in_a_shared_pipeline_fails_only_its_caller(
    redis_server: RedisServer,
) -> None:
    computed: list[int] = []
    namespace = "ap-" + uuid.uuid4().hex[:6]

    async def main() -> tuple[list[Any], list[int], Any]:
        cache = redmemo.Cache(redis_server.url, namespace=namespace)
        item = _filled(cache, computed)
        await item(-1)
        with redis_server.client() as client:
            # Key 5's lease key holds a list: its lease script fails (WRONGTYPE).
            client.rpush(cache.keyspace.lease(item.key(5)), b"foreign")
        sizes = _spied(cache, cache._runtime.async_backend())
        values = await asyncio.gather(*(item(x) for x in range(50)))
        computed.clear()
        again = await asyncio.gather(*(item(x) for x in range(50)))
        stats = item.stats()
        await cache.aclose()
        return values + again, sizes, stats

    try:
        values, sizes, stats = asyncio.run(main())
    finally:
        with redis_server.client() as client:
            client.flushall()
    assert values == [{"x": x} for x in range(50)] * 2
    assert computed == [5]  # the others were stored; key 5 fails open each time
    assert stats["errors"] >= 2  # counted as backend failures, each time
    assert sizes
    assert max(sizes) > 1
