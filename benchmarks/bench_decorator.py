"""The decorator against a raw redis-py GET + pickle.loads, and against the peers.

    python -m benchmarks.bench_decorator

Starts its own redis-server on a free loopback port and stops it at the end. The peers
(cashews, aiocache, dogpile.cache, redis-func-cache) are measured when installed; they
are benchmark-only, never dependencies of redmemo.
"""

from __future__ import annotations

import asyncio
import pickle
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio

import redmemo
from benchmarks._harness import (
    client_commands,
    commands_during,
    interleave,
    interleave_async,
    report,
)
from tests.support.servers import start_redis
from tests.support.spawn import collect, spawn

VALUE = {"id": 7, "name": "Ada Lovelace", "tags": ["math", "engines"], "bio": "x" * 900}
RAW = "raw redis-py GET + pickle.loads"
ARAW = "raw redis.asyncio GET + pickle.loads"


def body(user_id: int) -> dict[str, Any]:
    return dict(VALUE, id=user_id)


async def abody(user_id: int) -> dict[str, Any]:
    return dict(VALUE, id=user_id)


def sync_peers(url: str, port: int) -> dict[str, Callable[[], object]]:
    peers: dict[str, Callable[[], object]] = {}
    try:
        from dogpile.cache import make_region

        region = make_region().configure(
            "dogpile.cache.redis",
            expiration_time=600,
            arguments={"host": "127.0.0.1", "port": port, "db": 0, "distributed_lock": True},
        )
        dogpile_fn = region.cache_on_arguments()(body)
        peers["dogpile.cache"] = lambda: dogpile_fn(7)
    except ImportError:
        print("(dogpile.cache not installed)")
    try:
        from redis_func_cache import LruTPolicy, RedisFuncCache

        rfc = RedisFuncCache(
            "bench", LruTPolicy(), client=redis.Redis.from_url(url), serializer="pickle"
        )
        rfc_fn = rfc(body)
        peers["redis-func-cache"] = lambda: rfc_fn(7)
    except ImportError:
        print("(redis-func-cache not installed)")
    return peers


def async_peers(url: str, port: int) -> dict[str, Callable[[], Awaitable[object]]]:
    peers: dict[str, Callable[[], Awaitable[object]]] = {}
    try:
        from cashews import Cache as CashewsCache

        cashews = CashewsCache()
        cashews.setup(url, client_side=False)
        cashews_fn = cashews(ttl="10m")(abody)
        peers["cashews"] = lambda: cashews_fn(7)
    except ImportError:
        print("(cashews not installed)")
    try:
        from aiocache import RedisCache, cached
        from aiocache.serializers import PickleSerializer

        aiocache_fn = cached(
            ttl=600,
            cache=RedisCache,
            endpoint="127.0.0.1",
            port=port,
            serializer=PickleSerializer(),
            namespace="aiocache",
        )(abody)
        peers["aiocache"] = lambda: aiocache_fn(7)
    except ImportError:
        print("(aiocache not installed)")
    try:
        from redis_func_cache import LruTPolicy, RedisFuncCache

        arfc = RedisFuncCache(
            "abench", LruTPolicy(), client=redis.asyncio.Redis.from_url(url), serializer="pickle"
        )
        arfc_fn = arfc(abody)
        peers["redis-func-cache (async)"] = lambda: arfc_fn(7)
    except ImportError:
        pass
    return peers


def hits(url: str, port: int) -> None:
    cache = redmemo.Cache(url, namespace="bench")
    cached = cache(ttl=600, refresh=300)(body)
    acached = cache(ttl=600, refresh=300)(abody)
    client = redis.Redis(host="127.0.0.1", port=port)
    client.set("plain", pickle.dumps(body(7), protocol=pickle.HIGHEST_PROTOCOL))

    def raw() -> object:
        return pickle.loads(client.get("plain"))  # type: ignore[arg-type]

    sync = interleave(
        {RAW: raw, "redmemo @cache (sync)": lambda: cached(7), **sync_peers(url, port)},
        baseline=RAW,
    )
    report("sync hit of a decorated function returning a ~1 KB dict", sync)

    aclient = redis.asyncio.Redis(host="127.0.0.1", port=port)

    async def araw() -> object:
        return pickle.loads(await aclient.get("plain"))  # type: ignore[arg-type]

    asy = interleave_async(
        {ARAW: araw, "redmemo @cache (async)": lambda: acached(7), **async_peers(url, port)},
        baseline=ARAW,
    )
    report("async hit of a decorated function returning a ~1 KB dict", asy)

    per_hit = commands_during(client, lambda: [cached(7) for _ in range(100)])
    print(f"\nRedis commands for 100 hits: {per_hit}")

    def misses() -> None:
        for i in range(100):
            cached(1000 + i)

    per_miss = commands_during(client, misses)
    print(f"Redis commands for 100 uncontended misses (with those run by scripts): {per_miss}")

    def more_misses() -> None:
        for i in range(100):
            cached(2000 + i)

    sent = client_commands(port, more_misses)
    print(f"Commands clients sent for 100 uncontended misses (round trips): {sent}")
    cache.close()


def stale(url: str) -> None:
    """One call at a time: a hit, then the first call after ``refresh`` of another key.

    Each background refresh finishes before the next sample, so a sample is the latency
    that one caller sees, not the cost of earlier refreshes competing for the GIL.
    """
    clock = [time.time()]
    cache = redmemo.Cache(url, namespace=f"stale{time.time_ns()}", clock=lambda: clock[0])
    cached = cache(ttl=3600, refresh=60)(body)
    samples = 400
    for k in range(samples):
        cached(k)
    cached(-1)
    clock[0] += 120  # every entry but the one refreshed below is now stale
    cached.refresh(-1)
    cached.refresh(-2)
    done = cached.stats()["fills"]  # counted once a refresh has stored: it is over
    hits, stales = [], []
    for k in range(samples):
        # Each sample after the same pause and the same call before it: the first
        # command after a longer idle is the slower one, on both ends.
        cached(-2)
        time.sleep(0.001)
        start = time.perf_counter()
        cached(-1)
        hits.append(time.perf_counter() - start)
        time.sleep(0.001)
        start = time.perf_counter()
        cached(k)
        stales.append(time.perf_counter() - start)
        while cached.stats()["fills"] < done + k + 1:  # wait for this key's refresh
            time.sleep(0.0005)
    hit, stale_call = statistics.median(hits), statistics.median(stales)
    print(
        f"\nfirst call after refresh: {stale_call * 1e6:.1f} us vs a hit {hit * 1e6:.1f} us "
        f"= {stale_call / hit:.2f}x (median of {samples} single calls each)"
    )
    cache.close()


def stampede(url: str, mode: str) -> None:
    client = redis.Redis.from_url(url)
    namespace = f"stampede-{mode}-{time.time_ns()}"
    body_seconds = 0.5
    start_at = time.time() + 3.0

    def run() -> list[dict[str, Any]]:
        procs = [spawn(url, namespace, mode, start_at, body_seconds) for _ in range(4)]
        return [collect(p) for p in procs]

    def measured() -> None:
        reports.extend(run())

    reports: list[dict[str, Any]] = []
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    counts = client_commands(port, measured)
    counts.pop("incr", None)  # the body's own execution counter
    counts.pop("exists", None)  # the processes' warm-up, before the race
    executions = int(client.get(f"{namespace}:executions") or 0)
    latencies = [t for r in reports for t in r["latencies"]]
    callers = len(latencies)
    print(
        f"\ncold stampede, 4 processes x 8 {mode}: {executions} execution(s) for {callers} callers; "
        f"slowest caller {max(latencies) * 1000:.1f} ms = body {body_seconds * 1000:.0f} ms "
        f"+ {(max(latencies) - body_seconds) * 1000:.1f} ms; median {statistics.median(latencies) * 1000:.1f} ms"
    )
    total = sum(counts.values())
    print(f"  Redis commands during it: {counts} = {total / callers:.2f} per caller")


def main() -> None:
    server = start_redis()
    try:
        url = f"redis://127.0.0.1:{server.port}/0"
        hits(url, server.port)
        stale(url)
        stampede(url, "threads")
        stampede(url, "tasks")
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
