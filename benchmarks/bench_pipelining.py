"""Async calls under concurrency: auto-pipelining against a raw client and cashews.

    python -m benchmarks.bench_pipelining [--runs 3] [--seconds 2]

Starts its own redis-server. N tasks (1, 8, 32, 200) on one event loop call a cached
async function over 1 000 keys (all hits) for a fixed time, then (1 and 200 tasks) with
new arguments every call (all misses: the leases and stores of one turn share a
pipeline); calls per second for: redmemo (auto-pipelining on, the default), redmemo with
``?auto_pipeline=false``, a raw ``redis.asyncio`` client with a connection pool (GET +
unpickle; for misses GET, then SET), and the decorators of cashews and aiocache on
their Redis backends (hits, if installed). Ratios to the raw client, median of the runs, with the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import pickle
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio

import redmemo
from benchmarks._harness import interleave_async, throughput_table
from tests.support.servers import start_redis

VALUE = {"id": 1, "name": "x" * 40, "tags": list(range(20))}
KEYS = 1000
RAW = "raw redis.asyncio pool"


async def _throughput(call: Callable[[int], Awaitable[Any]], tasks: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while time.perf_counter() < stop:
            await call(i % KEYS)
            i += 7
            done += 1

    await asyncio.gather(*(worker(n * 13) for n in range(tasks)))
    return done / seconds


def _on_and_off(
    url: str, namespace: str, name: str
) -> tuple[
    redmemo.Cache, redmemo.Cache, Callable[[int], Awaitable[Any]], Callable[[int], Awaitable[Any]]
]:
    """Two caches, auto-pipelining on and off, each decorating the same function."""
    on = redmemo.Cache(url, namespace=namespace)
    off = redmemo.Cache(url + "?auto_pipeline=false", namespace=namespace + "-off")

    async def item(x: int) -> dict[str, Any]:
        return VALUE

    return on, off, on(ttl=600, name=name)(item), off(ttl=600, name=name)(item)


async def _candidates(url: str) -> tuple[dict[str, Callable[[int], Awaitable[Any]]], list[Any]]:
    on, off, item_on, item_off = _on_and_off(url, "bp", "item")

    raw = redis.asyncio.Redis.from_url(url, max_connections=300)

    async def raw_hit(x: int) -> Any:
        return pickle.loads(await raw.get(f"bp-raw:{x}"))  # type: ignore[arg-type]

    for x in range(KEYS):  # every timed call a hit
        await item_on(x)
        await item_off(x)
        await raw.set(f"bp-raw:{x}", pickle.dumps(VALUE))
    candidates: dict[str, Callable[[int], Awaitable[Any]]] = {
        RAW: raw_hit,
        "redmemo": item_on,
        "redmemo auto_pipeline=false": item_off,
    }
    closers: list[Any] = [on.aclose, off.aclose, raw.aclose]
    try:
        from cashews import Cache as CashewsCache

        cashews = CashewsCache()
        cashews.setup(url)

        @cashews(ttl="10m")
        async def item_cashews(x: int) -> dict[str, Any]:
            return VALUE

        for x in range(KEYS):
            await item_cashews(x)
        candidates["cashews"] = item_cashews
        closers.append(cashews.close)
    except ImportError:
        pass
    try:
        from aiocache import RedisCache, cached
        from aiocache.serializers import PickleSerializer

        port = int(url.rsplit(":", 1)[1].split("/")[0])

        @cached(
            ttl=600,
            cache=RedisCache,
            endpoint="127.0.0.1",
            port=port,
            serializer=PickleSerializer(),
            namespace="bp-aiocache",
        )
        async def item_aiocache(x: int) -> dict[str, Any]:
            return VALUE

        for x in range(KEYS):
            await item_aiocache(x)
        candidates["aiocache"] = item_aiocache
    except ImportError:
        pass
    return candidates, closers


def run(url: str, seconds: float) -> dict[tuple[int, str], float]:
    async def main() -> dict[tuple[int, str], float]:
        candidates, closers = await _candidates(url)
        out: dict[tuple[int, str], float] = {}
        for tasks in (1, 8, 32, 200):
            for name, call in candidates.items():
                out[(tasks, name)] = await _throughput(call, tasks, seconds)
        for close in closers:
            await close()
        return out

    return asyncio.run(main())


def misses(url: str, seconds: float, run_id: int) -> dict[tuple[int, str], float]:
    """Misses under 1 and 200 tasks, every call on new arguments: leases and stores of
    one turn share a pipeline; raw: a GET that finds nothing, then a SET."""

    async def main() -> dict[tuple[int, str], float]:
        on, off, item_on, item_off = _on_and_off(url, f"bm{run_id}", "item")
        fresh = itertools.count()

        raw = redis.asyncio.Redis.from_url(url, max_connections=300)

        async def raw_miss(x: int) -> Any:
            key = f"bm{run_id}-raw:{next(fresh)}"
            if await raw.get(key) is None:
                await raw.set(key, pickle.dumps(VALUE), px=600_000)
            return VALUE

        candidates: dict[str, Callable[[int], Awaitable[Any]]] = {
            RAW: raw_miss,
            "redmemo": lambda x: item_on(next(fresh)),
            "redmemo auto_pipeline=false": lambda x: item_off(next(fresh)),
        }
        out: dict[tuple[int, str], float] = {}
        for tasks in (1, 200):
            for name, call in candidates.items():
                out[(tasks, name)] = await _throughput(call, tasks, seconds)
        await on.aclose()
        await off.aclose()
        await raw.aclose()
        return out

    return asyncio.run(main())


def single_caller(url: str, rounds: int) -> dict[str, float]:
    """One caller's hit latency, interleaved: auto-pipelining on and off, and raw."""
    _, _, one_on, one_off = _on_and_off(url, "bp1", "one")

    raw: list[Any] = []

    async def raw_hit() -> Any:
        if not raw:
            raw.append(redis.asyncio.Redis.from_url(url))
            await raw[0].set("bp1-raw", pickle.dumps(VALUE))
            await one_on(1)
        return pickle.loads(await raw[0].get("bp1-raw"))

    result = interleave_async(
        {"raw": raw_hit, "on": lambda: one_on(1), "off": lambda: one_off(1)},
        baseline="raw",
        rounds=rounds,
        per_round=50,
    )
    return {"on / raw": result.ratios["on"], "off / raw": result.ratios["off"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    server = start_redis()
    try:
        runs = [run(server.url, args.seconds) for _ in range(args.runs)]
        missed = [misses(server.url, args.seconds, i) for i in range(args.runs)]
        single = [single_caller(server.url, 200) for _ in range(args.runs)]
    finally:
        server.stop()
    print("one caller's hit, interleaved (median of runs [min, max])")
    for name in single[0]:
        values = [s[name] for s in single]
        print(
            f"  {name:<12} {statistics.median(values):5.3f}x [{min(values):.3f}, {max(values):.3f}]"
        )
    print(f"calls per second, median of {args.runs} runs [min, max]; ratio to the raw client")
    throughput_table("hits, tasks", runs, (1, 8, 32, 200), RAW)
    throughput_table("misses (new arguments every call), tasks", missed, (1, 200), RAW)


if __name__ == "__main__":
    main()
