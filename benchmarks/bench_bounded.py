"""Bounded caches: hit ratio of each policy, cost per call, bytes of bookkeeping.

    pip install -e '.[bench]'          # libcachesim and redis-func-cache 0.8, for comparison
    python -m benchmarks.bench_bounded [--requests N] [--quick]

1. Hit ratio. Workloads over a working set of 2 000 keys: Zipf alpha 0.8 and 1.0, a Zipf
   1.0 mix with one-time scans, and a loop larger than the cache; cache sizes 1 % and 10 %
   of the working set. Each policy is replayed through redmemo's policy model (the
   semantics the Lua scripts share: see tests/integration/test_bounded.py's differential
   test) and, where libcachesim has the same policy, through libcachesim's reference on
   the same request sequence. One workload is also replayed through redmemo on Redis, to
   show that Redis and the model agree there too.
2. Cost per call, interleaved: a hit of a bounded function against a raw redis-py GET +
   pickle.loads; a miss (the bound full, so every miss evicts) against GET + SET; and
   redis-func-cache 0.8's hit and miss on the same value.
3. Bytes of bookkeeping per entry for each policy (MEMORY USAGE of the group's keys and
   the entries' records, divided by the entries).

Starts its own redis-server on a free loopback port and stops it at the end.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import random
from collections.abc import Callable

import redis

import redmemo
from benchmarks._harness import interleave, report
from redmemo.core.policies import POLICIES, BoundState, Policy
from tests.support.servers import start_redis

WORKING_SET = 2000
VALUE = {"id": 7, "name": "Ada Lovelace", "tags": ["math", "engines"], "bio": "x" * 900}


# -- workloads --------------------------------------------------------------------------------


def zipf(alpha: float, n: int, requests: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    weights = [1.0 / (rank**alpha) for rank in range(1, n + 1)]
    ids = list(range(n))
    rng.shuffle(ids)  # popularity unrelated to the id
    return rng.choices(ids, weights=weights, k=requests)


def zipf_with_scans(n: int, requests: int, seed: int) -> list[int]:
    """Zipf 1.0, with a one-time scan of fresh keys (half the working set) every 5 000
    requests: the pattern that pushes LRU's hot keys out and that SIEVE resists."""
    base = zipf(1.0, n, requests, seed)
    out: list[int] = []
    fresh = itertools.count(10 * n)
    for i, key in enumerate(base):
        out.append(key)
        if i % 5000 == 4999:
            out.extend(next(fresh) for _ in range(n // 2))
    return out


def loop(n: int, requests: int) -> list[int]:
    return [i % n for i in range(requests)]


def workloads(requests: int) -> dict[str, list[int]]:
    return {
        "zipf 0.8": zipf(0.8, WORKING_SET, requests, 1),
        "zipf 1.0": zipf(1.0, WORKING_SET, requests, 2),
        "zipf 1.0 + scans": zipf_with_scans(WORKING_SET, requests, 3),
        "loop > cache": loop(WORKING_SET, requests),
    }


# -- replays ----------------------------------------------------------------------------------


def model_ratio(policy: str, size: int, trace: list[int]) -> float:
    """A replay through redmemo's policy model: a hit is a use, a miss an insert."""
    state = BoundState(Policy(policy, seed=0))
    hits = 0
    for step, key in enumerate(trace):
        name = str(key)
        if name in state.ranks:
            hits += 1
            state.touch(name, step)
            continue
        while len(state.ranks) >= size:
            victim = state.victim()
            assert victim is not None
            state.forget(victim)
        state.insert(name, step)
    return hits / len(trace)


REFERENCES = {"lru": "LRU", "fifo": "FIFO", "sieve": "Sieve", "lfu": "LFUDA", "random": "Random"}


def reference_ratio(policy: str, size: int, trace: list[int]) -> float | None:
    try:
        import libcachesim as lcs
    except ImportError:
        return None
    name = REFERENCES.get(policy)
    if name is None or (name == "LFUDA" and size < 50):
        return None  # libcachesim 0.3.5's LFUDA did not finish with 20 slots here
    cache = getattr(lcs, name)(cache_size=size)
    hits = 0
    for key in trace:
        request = lcs.Request()
        request.obj_id = key
        request.obj_size = 1
        hits += bool(cache.get(request))
    return hits / len(trace)


def s3fifo_reference(size: int, trace: list[int]) -> float | None:
    try:
        import libcachesim as lcs
    except ImportError:
        return None
    cache = lcs.S3FIFO(cache_size=size)
    hits = 0
    for key in trace:
        request = lcs.Request()
        request.obj_id = key
        request.obj_size = 1
        hits += bool(cache.get(request))
    return hits / len(trace)


def redis_ratio(url: str, policy: str, size: int, trace: list[int]) -> float:
    cache = redmemo.Cache(url, namespace=f"ratio-{policy}")
    cache.clear()
    fn = cache(ttl=3600, key="k:{x}", maxsize=size, policy=policy)(lambda x: x)
    for key in trace:
        fn(key)
    info = fn.cache_info()
    cache.clear()
    cache.close()
    return info.hits / len(trace)


def hit_ratios(url: str, requests: int, redis_requests: int) -> None:
    print(f"\n1. hit ratio (working set {WORKING_SET} keys, {requests} requests)")
    for label, trace in workloads(requests).items():
        for share in (0.01, 0.10):
            size = int(WORKING_SET * share)
            print(f"\n  {label}, cache {size} ({share:.0%})")
            lru = model_ratio("lru", size, trace)
            for policy in POLICIES:
                ours = model_ratio(policy, size, trace)
                ref = reference_ratio(policy, size, trace)
                line = f"    {policy:<7} {ours:6.3f}  ({ours - lru:+.3f} vs lru)"
                if ref is not None:
                    line += f"   libcachesim {REFERENCES[policy]}: {ref:6.3f} ({ours - ref:+.3f})"
                print(line)
            ref = s3fifo_reference(size, trace)
            if ref is not None:
                print(f"    (libcachesim S3FIFO, for reference: {ref:6.3f})")
    trace = workloads(redis_requests)["zipf 1.0"]
    size = WORKING_SET // 10
    print(f"\n  zipf 1.0, cache {size}, {redis_requests} requests: Redis vs the model")
    for policy in POLICIES:
        on_redis = redis_ratio(url, policy, size, trace)
        print(
            f"    {policy:<7} redis {on_redis:6.3f}  model {model_ratio(policy, size, trace):6.3f}"
        )


# -- cost per call ----------------------------------------------------------------------------


def cost(url: str, port: int, rounds: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    client.set("raw:7", pickle.dumps(VALUE))
    raw_hit = "raw GET + pickle.loads"
    hits: dict[str, Callable[[], object]] = {
        raw_hit: lambda: pickle.loads(client.get("raw:7"))  # type: ignore[arg-type]
    }
    caches = []
    for policy in (None, *POLICIES):
        cache = redmemo.Cache(url, namespace=f"cost-{policy}")
        caches.append(cache)
        options = {} if policy is None else {"maxsize": 1000, "policy": policy}
        fn = cache(ttl=3600, name="hit", **options)(lambda x: dict(VALUE, id=x))
        fn(7)
        hits["unbounded" if policy is None else policy] = lambda fn=fn: fn(7)
    try:
        from redis_func_cache import LruTPolicy, RedisFuncCache

        theirs = RedisFuncCache(
            "bench", LruTPolicy(), client=client, maxsize=1000, serializer="pickle"
        )
        other = theirs(lambda x: dict(VALUE, id=x))
        other(7)
        hits["redis-func-cache 0.8 lru-t"] = lambda: other(7)
    except ImportError:
        pass
    report(
        "2a. hit of a ~1 KB dict, bounded (maxsize 1000)",
        interleave(hits, baseline=raw_hit, rounds=rounds),
    )

    counter = itertools.count()
    raw_miss = "raw GET + SET"

    def raw() -> None:
        key = f"raw:m{next(counter)}"
        client.get(key)
        client.set(key, pickle.dumps(VALUE), ex=3600)

    misses: dict[str, Callable[[], object]] = {raw_miss: raw}
    for policy in (None, *POLICIES):
        cache = redmemo.Cache(url, namespace=f"miss-{policy}")
        caches.append(cache)
        options = {} if policy is None else {"maxsize": 200, "policy": policy}
        fn = cache(ttl=3600, name="miss", **options)(lambda x: dict(VALUE, id=x))
        for i in range(250):
            fn(-i)  # full: every miss below evicts
        misses["unbounded" if policy is None else policy] = lambda fn=fn: fn(next(counter))
    try:
        from redis_func_cache import LruTPolicy, RedisFuncCache

        theirs = RedisFuncCache(
            "bench-miss", LruTPolicy(), client=client, maxsize=200, serializer="pickle"
        )
        other = theirs(lambda x: dict(VALUE, id=x))
        misses["redis-func-cache 0.8 lru-t"] = lambda: other(next(counter))
    except ImportError:
        pass
    report(
        "2b. miss (the bound full: each one evicts)",
        interleave(misses, baseline=raw_miss, rounds=rounds // 2),
    )
    for cache in caches:
        cache.close()
    client.close()


# -- memory ----------------------------------------------------------------------------------


def bookkeeping(url: str, port: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    n = 2000
    print(f"\n3. bytes of bookkeeping per entry ({n} entries, MEMORY USAGE)")
    for policy in POLICIES:
        cache = redmemo.Cache(url, namespace=f"bytes-{policy}")
        fn = cache(ttl=3600, name="b", maxsize=n, policy=policy)(lambda x: x)
        for x in range(n):
            fn(x)
            if policy in ("sieve",) and x % 2:
                fn(x)  # half of them visited
        rank = fn.design.bound.rank
        total = 0
        for key in (
            rank,
            rank + ":exp",
            rank + ":m",
            rank + ":v",
            rank + ":f",
            cache.keyspace.bounds,
        ):
            total += client.memory_usage(key, samples=0) or 0
        print(f"  {policy:<7} {total / n:6.1f} B per entry")
        cache.clear()
        cache.close()
    client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="fewer requests and rounds")
    args = parser.parse_args(argv)
    requests = 20_000 if args.quick else args.requests
    server = start_redis()
    try:
        hit_ratios(server.url, requests, 5_000 if args.quick else 20_000)
        cost(server.url, server.port, 60 if args.quick else 200)
        bookkeeping(server.url, server.port)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
