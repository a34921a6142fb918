"""redmemo against raw redis-py and the peers, side by side: hit, miss, stale call, bytes.

    python -m benchmarks.bench_peers [--runs 3]

Starts its own redis-server on a free loopback port. Every figure is a ratio to a
baseline timed in the same run, in alternating blocks (benchmarks/_harness.py); each
section runs ``--runs`` times and prints the median ratio with the spread [min, max].
The peers (cashews, aiocache, dogpile.cache, redis-func-cache) are measured when
installed (``pip install -e .[bench]``); they are never dependencies of redmemo.

- hit: a decorated function returning a ~1 KB dict, its entry in Redis; baseline a raw
  GET + ``pickle.loads``.
- miss: each call with new arguments (uncontended); baseline a raw GET that finds
  nothing, then SET of the pickled value with a TTL. redmemo with its lease (the
  default) and with ``lease=False``.
- stale call: the first call after ``refresh``, which serves the value and starts one
  background refresh, in a sustained loop (blocks of 50 calls on 50 stale keys, the
  refreshes left running while the block is timed), against a block of 50 hits.
- stale call in a sustained loop: a loop of hits on a hot key, never paused, one call in
  each block of 50 finding a stale entry; that call against the hits timed just before
  it, and the block's cost per call (the refresh runs during the hits after it) against
  a block of hits alone.
- bytes per entry: Redis ``used_memory`` grown per entry over 5 000 entries, all
  bookkeeping included, against a raw SET of the same pickle under a short key.

Throughput under 1, 8, 32 and 200 concurrent callers: ``bench_pipelining`` (tasks) and
``bench_threads`` (threads).
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

import redis
import redis.asyncio

import redmemo
from benchmarks._harness import interleave, interleave_async
from tests.support.servers import start_redis

VALUE = {"id": 7, "name": "Ada Lovelace", "tags": ["math", "engines"], "bio": "x" * 900}
TTL = 600
ENTRIES = 5000
PAUSE = 0.001  # before each one-at-a-time sample

# Each peer's keys start with the prefix given to it, then this.
PEER_PREFIXES = {
    "dogpile.cache": "dogpile",
    "redis-func-cache": "rfc",
    "cashews": "cashews",
    "aiocache": "aiocache",
}

SyncFn = Callable[[int], object]
AsyncFn = Callable[[int], Awaitable[object]]


def body(user_id: int) -> dict[str, Any]:
    return dict(VALUE, id=user_id)


async def abody(user_id: int) -> dict[str, Any]:
    return dict(VALUE, id=user_id)


def _pickled(user_id: int) -> bytes:
    return pickle.dumps(body(user_id), protocol=pickle.HIGHEST_PROTOCOL)


# -- the peers, each decorating the same body -----------------------------------------------


def sync_peers(url: str, port: int, prefix: str) -> dict[str, SyncFn]:
    peers: dict[str, SyncFn] = {}
    try:
        from dogpile.cache import make_region

        region = make_region(function_key_generator=_dogpile_keys(prefix)).configure(
            "dogpile.cache.redis",
            expiration_time=TTL,
            arguments={"host": "127.0.0.1", "port": port, "db": 0, "distributed_lock": True},
        )
        peers["dogpile.cache"] = region.cache_on_arguments()(body)
    except ImportError:
        print("(dogpile.cache not installed)")
    try:
        from redis_func_cache import LruTPolicy, RedisFuncCache

        rfc = RedisFuncCache(
            "f",
            LruTPolicy(),
            prefix=prefix + PEER_PREFIXES["redis-func-cache"],
            client=redis.Redis.from_url(url),
            serializer="pickle",
            maxsize=1_000_000,  # unbounded here, like the others
            ttl=TTL,
        )
        peers["redis-func-cache"] = rfc(body)
    except ImportError:
        print("(redis-func-cache not installed)")
    return peers


def _dogpile_keys(prefix: str) -> Callable[..., Callable[..., str]]:
    def generate(namespace: Any, fn: Callable[..., Any]) -> Callable[..., str]:
        return lambda *args: f"{prefix}{PEER_PREFIXES['dogpile.cache']}:{fn.__name__}:{args}"

    return generate


def async_peers(url: str, port: int, prefix: str) -> dict[str, AsyncFn]:
    peers: dict[str, AsyncFn] = {}
    try:
        from cashews import Cache as CashewsCache

        cashews = CashewsCache()
        cashews.setup(url, client_side=False)
        peers["cashews"] = cashews(ttl=f"{TTL}s", prefix=prefix + PEER_PREFIXES["cashews"])(abody)
    except ImportError:
        print("(cashews not installed)")
    try:
        from aiocache import RedisCache, cached
        from aiocache.serializers import PickleSerializer

        peers["aiocache"] = cached(
            ttl=TTL,
            cache=RedisCache,
            endpoint="127.0.0.1",
            port=port,
            serializer=PickleSerializer(),
            namespace=prefix + PEER_PREFIXES["aiocache"],
        )(abody)
    except ImportError:
        print("(aiocache not installed)")
    return peers


# -- reporting over runs ------------------------------------------------------------------


class Runs:
    """Ratios of every run, by section and candidate; printed as median [min, max]."""

    def __init__(self) -> None:
        self.ratios: dict[str, dict[str, list[float]]] = {}
        self.absolute: dict[str, dict[str, list[float]]] = {}

    def add(self, section: str, ratios: dict[str, float], absolute: dict[str, float]) -> None:
        for name, ratio in ratios.items():
            self.ratios.setdefault(section, {}).setdefault(name, []).append(ratio)
            self.absolute.setdefault(section, {}).setdefault(name, []).append(absolute[name])

    def print(self, units: dict[str, str]) -> None:
        for section, by_name in self.ratios.items():
            unit = units.get(section, "us")
            print(f"\n{section}")
            for name, ratios in by_name.items():
                values = self.absolute[section][name]
                shown = statistics.median(values) * (1e6 if unit == "us" else 1)
                print(
                    f"  {name:<44} {shown:9.1f} {unit:<3} {statistics.median(ratios):6.2f}x "
                    f"[{min(ratios):.2f}, {max(ratios):.2f}]"
                )


# -- the sections ---------------------------------------------------------------------------


def hits(url: str, port: int, runs: Runs) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    client.set("plain", _pickled(7))
    cache = redmemo.Cache(url, namespace="hit")
    cached = cache(ttl=TTL)(body)
    sync: dict[str, Callable[[], object]] = {
        "raw GET + loads": lambda: pickle.loads(client.get("plain")),  # type: ignore[arg-type]
        "redmemo": lambda: cached(7),
    }
    for name, fn in sync_peers(url, port, "hit").items():
        sync[name] = lambda fn=fn: fn(7)  # type: ignore[misc]
    result = interleave(sync, baseline="raw GET + loads", rounds=100, per_round=40)
    runs.add("hit, sync", result.ratios, result.medians)

    aclient = redis.asyncio.Redis(host="127.0.0.1", port=port)
    acached = cache(ttl=TTL)(abody)

    async def araw() -> object:
        return pickle.loads(await aclient.get("plain"))  # type: ignore[arg-type]

    asy: dict[str, Callable[[], Awaitable[object]]] = {
        "raw GET + loads": araw,
        "redmemo": lambda: acached(7),
    }
    for name, afn in async_peers(url, port, "hit").items():
        asy[name] = lambda afn=afn: afn(7)  # type: ignore[misc]
    result = interleave_async(asy, baseline="raw GET + loads", rounds=100, per_round=40)
    runs.add("hit, async", result.ratios, result.medians)
    cache.close()


def misses(url: str, port: int, runs: Runs, run: int) -> None:
    """Every call on new arguments; the counters never meet an earlier run's keys."""
    client = redis.Redis(host="127.0.0.1", port=port)
    cache = redmemo.Cache(url, namespace=f"miss{run}")
    fresh = itertools.count(1_000_000)

    def raw() -> None:
        key = f"miss{run}:raw:{next(fresh)}"
        if client.get(key) is None:
            client.set(key, _pickled(7), px=TTL * 1000)

    sync: dict[str, Callable[[], object]] = {"raw GET + SET": raw}
    functions: dict[str, SyncFn] = {
        "redmemo": cache(ttl=TTL, name="plain")(body),
        "redmemo, lease=False": cache(ttl=TTL, name="free", lease=False)(body),
        "redmemo, one tag": cache(ttl=TTL, name="tagged", tags=["users"])(body),
        **sync_peers(url, port, f"miss{run}"),
    }
    for name, fn in functions.items():
        sync[name] = lambda fn=fn: fn(next(fresh))  # type: ignore[misc]
    result = interleave(sync, baseline="raw GET + SET", rounds=40, per_round=40)
    runs.add("miss, sync", result.ratios, result.medians)

    aclient = redis.asyncio.Redis(host="127.0.0.1", port=port)

    async def araw() -> None:
        key = f"miss{run}:araw:{next(fresh)}"
        if await aclient.get(key) is None:
            await aclient.set(key, _pickled(7), px=TTL * 1000)

    asy: dict[str, Callable[[], Awaitable[object]]] = {"raw GET + SET": araw}
    afunctions: dict[str, AsyncFn] = {
        "redmemo": cache(ttl=TTL, name="aplain")(abody),
        "redmemo, lease=False": cache(ttl=TTL, name="afree", lease=False)(abody),
        "redmemo, one tag": cache(ttl=TTL, name="atagged", tags=["users"])(abody),
        **async_peers(url, port, f"miss{run}"),
    }
    for name, afn in afunctions.items():
        asy[name] = lambda afn=afn: afn(next(fresh))  # type: ignore[misc]
    result = interleave_async(asy, baseline="raw GET + SET", rounds=40, per_round=40)
    runs.add("miss, async", result.ratios, result.medians)
    cache.close()


def stale(url: str, runs: Runs, run: int, blocks: int = 40, per_block: int = 50) -> None:
    """Blocks of first-calls-after-refresh against blocks of hits, alternating; between
    blocks (untimed) the refreshes of the previous block finish."""
    now = [time.time()]
    cache = redmemo.Cache(url, namespace=f"stale{run}", clock=lambda: now[0])
    sync_fn = cache(ttl=3600, refresh=60, name="sync")(body)
    async_fn = cache(ttl=3600, refresh=60, name="async")(abody)
    keys = blocks * per_block
    for k in range(keys):
        sync_fn(k)
    sync_fn(-1)

    async def fill() -> None:
        for k in range(keys):
            await async_fn(k)
        await async_fn(-1)

    asyncio.run(fill())
    now[0] += 120  # all stale now; the hit key is refreshed below, so fresh again
    sync_fn.refresh(-1)
    hit_times, stale_times = [], []
    for block in range(blocks):
        start = time.perf_counter()
        for _ in range(per_block):
            sync_fn(-1)
        hit_times.append((time.perf_counter() - start) / per_block)
        start = time.perf_counter()
        for k in range(block * per_block, (block + 1) * per_block):
            sync_fn(k)
        stale_times.append((time.perf_counter() - start) / per_block)
        _until(lambda b=block: sync_fn.stats()["refreshes"] >= (b + 1) * per_block + 1)  # type: ignore[misc]
    _add_pair(runs, "stale calls in a row vs hits in a row, sync", hit_times, stale_times)
    # One at a time: each sample is one call's own latency, its refresh over before the
    # next sample (what one caller waits for, without the earlier refreshes' work).
    now[0] += 120
    sync_fn.refresh(-1)
    sync_fn.refresh(-2)
    done = sync_fn.stats()["fills"]  # counted once a refresh has stored: it is over
    hit_times, stale_times = [], []
    for k in range(keys):
        # Each call after the same pause and the same call before it (the first command
        # after a longer idle is the slower one, on both ends), never while a refresh runs.
        sync_fn(-2)
        time.sleep(PAUSE)
        start = time.perf_counter()
        sync_fn(-1)
        hit_times.append(time.perf_counter() - start)
        time.sleep(PAUSE)
        start = time.perf_counter()
        sync_fn(k)
        stale_times.append(time.perf_counter() - start)
        _until(lambda k=k: sync_fn.stats()["fills"] >= done + k + 1)  # type: ignore[misc]
    _add_pair(runs, "one stale call vs one hit, sync", hit_times, stale_times)

    async def measure() -> tuple[list[float], list[float]]:
        await async_fn.refresh(-1)
        hits, stales = [], []
        for block in range(blocks):
            start = time.perf_counter()
            for _ in range(per_block):
                await async_fn(-1)
            hits.append((time.perf_counter() - start) / per_block)
            start = time.perf_counter()
            for k in range(block * per_block, (block + 1) * per_block):
                await async_fn(k)
            stales.append((time.perf_counter() - start) / per_block)
            while async_fn.stats()["refreshes"] < (block + 1) * per_block + 1:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
        return hits, stales

    hit_times, stale_times = asyncio.run(measure())
    _add_pair(runs, "stale calls in a row vs hits in a row, async", hit_times, stale_times)

    async def one_at_a_time() -> tuple[list[float], list[float]]:
        now[0] += 120
        await async_fn.refresh(-1)
        await async_fn.refresh(-2)
        done = async_fn.stats()["fills"]
        hits, stales = [], []
        for k in range(keys):
            await async_fn(-2)  # as in the sync loop
            await asyncio.sleep(PAUSE)
            start = time.perf_counter()
            await async_fn(-1)
            hits.append(time.perf_counter() - start)
            await asyncio.sleep(PAUSE)
            start = time.perf_counter()
            await async_fn(k)
            stales.append(time.perf_counter() - start)
            while async_fn.stats()["fills"] < done + k + 1:  # noqa: ASYNC110
                await asyncio.sleep(0)
        return hits, stales

    hit_times, stale_times = asyncio.run(one_at_a_time())
    _add_pair(runs, "one stale call vs one hit, async", hit_times, stale_times)
    cache.close()


def stale_in_loop(url: str, runs: Runs, run: int, blocks: int = 60, per_block: int = 50) -> None:
    """A loop of hits on a hot key that never pauses, one call in each block of
    ``per_block`` finding a stale entry (another key each time): that call's own latency
    against the hits timed the same way just before it, and the block's cost per call
    (the refresh running during the hits that follow) against a block of hits alone."""
    now = [time.time()]
    cache = redmemo.Cache(url, namespace=f"loop{run}", clock=lambda: now[0])
    sync_fn = cache(ttl=3600, refresh=60, name="sync")(body)
    async_fn = cache(ttl=3600, refresh=60, name="async")(abody)
    middle = per_block // 2
    for k in range(blocks):
        sync_fn(k)

    async def fill() -> None:
        for k in range(blocks):
            await async_fn(k)

    asyncio.run(fill())
    now[0] += 120  # every key stale; the hot one is refreshed, so fresh again
    sync_fn.refresh(-1)
    done = sync_fn.stats()["refreshes"]
    samples: dict[str, list[float]] = {"hit": [], "stale": [], "plain": [], "mixed": []}
    for k in range(blocks):
        start = time.perf_counter()
        for _ in range(per_block):
            sync_fn(-1)
        samples["plain"].append((time.perf_counter() - start) / per_block)
        before = []
        block = time.perf_counter()
        for i in range(per_block):
            start = time.perf_counter()
            if i == middle:
                sync_fn(k)
                samples["stale"].append(time.perf_counter() - start)
            else:
                sync_fn(-1)
                if i < middle:
                    before.append(time.perf_counter() - start)
        samples["mixed"].append((time.perf_counter() - block) / per_block)
        samples["hit"].append(statistics.median(before))
    _until(lambda: sync_fn.stats()["refreshes"] >= done + blocks)
    _add_loop(runs, "sync", samples)

    async def measure() -> dict[str, list[float]]:
        await async_fn.refresh(-1)
        done = async_fn.stats()["refreshes"]
        samples: dict[str, list[float]] = {"hit": [], "stale": [], "plain": [], "mixed": []}
        for k in range(blocks):
            start = time.perf_counter()
            for _ in range(per_block):
                await async_fn(-1)
            samples["plain"].append((time.perf_counter() - start) / per_block)
            before = []
            block = time.perf_counter()
            for i in range(per_block):
                start = time.perf_counter()
                if i == middle:
                    await async_fn(k)
                    samples["stale"].append(time.perf_counter() - start)
                else:
                    await async_fn(-1)
                    if i < middle:
                        before.append(time.perf_counter() - start)
            samples["mixed"].append((time.perf_counter() - block) / per_block)
            samples["hit"].append(statistics.median(before))
        while async_fn.stats()["refreshes"] < done + blocks:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        return samples

    _add_loop(runs, "async", asyncio.run(measure()))
    cache.close()


def _add_loop(runs: Runs, face: str, samples: dict[str, list[float]]) -> None:
    _add_pair(
        runs,
        f"one stale call in a sustained loop of hits, {face}",
        samples["hit"],
        samples["stale"],
    )
    ratio = statistics.median(
        m / p for m, p in zip(samples["mixed"], samples["plain"], strict=True)
    )
    runs.add(
        f"a loop of hits with one stale call in 50 (its refresh included) vs hits alone, {face}",
        {"hits alone": 1.0, "with one stale call": ratio},
        {
            "hits alone": statistics.median(samples["plain"]),
            "with one stale call": statistics.median(samples["mixed"]),
        },
    )


def _until(done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the background refreshes did not finish")
        time.sleep(0.001)


def _add_pair(runs: Runs, section: str, hits: list[float], stales: list[float]) -> None:
    ratio = statistics.median(s / h for s, h in zip(stales, hits, strict=True))
    runs.add(
        section,
        {"hit": 1.0, "first call after refresh": ratio},
        {"hit": statistics.median(hits), "first call after refresh": statistics.median(stales)},
    )


def memory(url: str, port: int, runs: Runs, run: int) -> None:
    """MEMORY USAGE of every key a candidate wrote (entries, indexes, bookkeeping),
    divided by the entries it holds."""
    client = redis.Redis(host="127.0.0.1", port=port)

    def per_entry(prefix: str, fill: Callable[[int], object]) -> float:
        for i in range(ENTRIES):
            fill(i)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        total = sum(int(client.memory_usage(key, samples=0) or 0) for key in keys)
        return total / ENTRIES

    def raw(prefix: str, key: Callable[[int], str]) -> Callable[[int], object]:
        return lambda i: client.set(prefix + key(i), _pickled(i), px=TTL * 1000)

    def redmemo_fn(tag: str, **options: Any) -> tuple[str, SyncFn]:
        cache = redmemo.Cache(url, namespace=f"m{run}{tag}")
        caches.append(cache)
        return f"m{run}{tag}", cache(ttl=TTL, name="load_user", **options)(body)

    caches: list[redmemo.Cache] = []
    plain = redmemo_fn("plain")
    sizes = {
        "raw SET, short key": per_entry(f"r{run}s:", raw(f"r{run}s:", lambda i: f"user:{i}")),
        "raw SET, redmemo's key": per_entry(f"r{run}k:", raw(f"r{run}k:", plain[1].key)),
        "redmemo": per_entry(*plain),
        "redmemo, one tag": per_entry(*redmemo_fn("tag", tags=["users"])),
        "redmemo, index=True": per_entry(*redmemo_fn("index", index=True)),
    }
    for name, fn in sync_peers(url, port, f"p{run}").items():
        sizes[name] = per_entry(f"p{run}{PEER_PREFIXES[name]}", fn)
    loop = asyncio.new_event_loop()
    for name, afn in async_peers(url, port, f"p{run}").items():
        sizes[name] = per_entry(
            f"p{run}{PEER_PREFIXES[name]}",
            lambda i, afn=afn: loop.run_until_complete(afn(i)),  # type: ignore[misc]
        )
    loop.close()
    base = sizes["raw SET, short key"]
    runs.add(
        "bytes per entry, MEMORY USAGE of all its keys (extra over a raw SET, short key)",
        {name: size / base for name, size in sizes.items()},
        {name: size - base for name, size in sizes.items()},
    )
    for cache in caches:
        cache.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    server = start_redis()
    runs = Runs()
    try:
        url = f"redis://127.0.0.1:{server.port}/0"
        for run in range(options.runs):
            print(f"run {run + 1} of {options.runs}", flush=True)
            hits(url, server.port, runs)
            misses(url, server.port, runs, run)
            stale(url, runs, run)
            stale_in_loop(url, runs, run)
            memory(url, server.port, runs, run)
    finally:
        server.stop()
    runs.print(
        {"bytes per entry, MEMORY USAGE of all its keys (extra over a raw SET, short key)": "B"}
    )


if __name__ == "__main__":
    main()
