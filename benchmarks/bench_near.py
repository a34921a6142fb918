"""Near cache: hit latency, invalidation delivery and commands saved, side by side.

    python -m benchmarks.bench_near [--runs 3] [--quick]

Starts its own redis-server. Four parts:

1. Hit latency, sync: ``functools.lru_cache`` (the floor), redmemo with a near cache,
   redmemo without one (a Redis hit), raw redis-py GET + unpickle, and redis-py's own
   client-side cache (``CacheConfig``, RESP3) GET + unpickle; interleaved, ratios per run.
2. The same, async: redmemo near and Redis hits, raw ``redis.asyncio`` GET + unpickle, and
   cashews' client-side backend (``client_side=True``) decorated hit, if installed.
3. Invalidation delivery: another process holds copies; this one invalidates keys one at a
   time; the time from ``invalidate()`` returning here to the copy dropped there.
4. A Zipf workload (alpha 1.0 over 5 000 keys, 1 % writes) in 4 processes: the near
   layer's hit ratio and the GETs Redis served, against the same workload without a near
   cache, through redis-py's ``CacheConfig`` and through cashews' client-side backend.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import pickle
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
from redis.cache import CacheConfig

import redmemo
from benchmarks._harness import client_commands, interleave, interleave_async
from tests.support.servers import start_redis

ROOT = Path(__file__).resolve().parents[1]
VALUE = {"id": 1, "name": "x" * 40, "tags": list(range(20))}


def _wait_tracking(cache: redmemo.Cache) -> None:
    assert cache.near is not None
    cache.get("warm-up")
    assert cache.near.connected.wait(10)


def _keep(call: Any, key: str, cache: redmemo.Cache) -> None:
    """Call until the reply is kept as a copy (after a barrier: no late invalidation)."""
    assert cache._near is not None
    assert cache._near.tracker.barrier().result(10)
    call()
    while key not in cache.near:  # type: ignore[operator]
        time.sleep(0.001)
        call()


# -- 1 and 2: hit latency -----------------------------------------------------------------


def sync_hits(url: str, rounds: int) -> dict[str, float]:
    near_cache = redmemo.Cache(url, namespace="bn-near", near=True)
    far_cache = redmemo.Cache(url, namespace="bn-far")
    _wait_tracking(near_cache)

    @near_cache(ttl=600)
    def near_fn(x: int) -> dict[str, Any]:
        return VALUE

    @far_cache(ttl=600)
    def far_fn(x: int) -> dict[str, Any]:
        return VALUE

    @functools.lru_cache
    def lru_fn(x: int) -> dict[str, Any]:
        return VALUE

    raw = redis.Redis.from_url(url)
    raw.set("bn-raw", pickle.dumps(VALUE))
    tracked: Any = redis.Redis.from_url(url, protocol=3, cache_config=CacheConfig())
    try:
        tracked.get("bn-raw")
    except redis.ConnectionError as exc:  # it refuses Redis before 7.4, and Valkey
        print(f"  (redis-py CacheConfig not measured: {exc})")
        tracked = None
    near_fn(1)
    _keep(lambda: near_fn(1), near_fn.key(1), near_cache)
    far_fn(1)
    candidates = {
        "functools.lru_cache": lambda: lru_fn(1),
        "redmemo near hit": lambda: near_fn(1),
        "redmemo Redis hit": lambda: far_fn(1),
        "redis-py GET + loads": lambda: pickle.loads(raw.get("bn-raw")),  # type: ignore[arg-type]
    }
    if tracked is not None:
        candidates["redis-py CacheConfig GET + loads"] = lambda: pickle.loads(tracked.get("bn-raw"))
    result = interleave(candidates, baseline="functools.lru_cache", rounds=rounds, per_round=50)
    assert near_fn.stats()["near_hits"] > 0
    near_cache.close()
    far_cache.close()
    raw.close()
    out = {f"{name} us": result.medians[name] * 1e6 for name in candidates}
    out["near / lru_cache"] = result.ratios["redmemo near hit"]
    out["Redis hit / near hit"] = (
        result.ratios["redmemo Redis hit"] / result.ratios["redmemo near hit"]
    )
    if tracked is not None:
        tracked.close()
        out["CacheConfig / near hit"] = (
            result.ratios["redis-py CacheConfig GET + loads"] / result.ratios["redmemo near hit"]
        )
    return out


def async_hits(url: str, rounds: int) -> dict[str, float]:
    near_cache = redmemo.Cache(url, namespace="bn-anear", near=True)
    far_cache = redmemo.Cache(url, namespace="bn-afar")
    _wait_tracking(near_cache)

    @near_cache(ttl=600)
    async def near_fn(x: int) -> dict[str, Any]:
        return VALUE

    @far_cache(ttl=600)
    async def far_fn(x: int) -> dict[str, Any]:
        return VALUE

    @functools.lru_cache
    def lru_fn(x: int) -> dict[str, Any]:
        return VALUE

    async def lru_async(x: int) -> dict[str, Any]:
        return lru_fn(x)

    candidates: dict[str, Any] = {
        "lru_cache in a coroutine": lambda: lru_async(1),
        "redmemo near hit": lambda: near_fn(1),
        "redmemo Redis hit": lambda: far_fn(1),
    }
    raw = redis.asyncio.Redis.from_url(url)

    async def raw_hit() -> Any:
        return pickle.loads(await raw.get("bn-araw"))  # type: ignore[arg-type]

    candidates["redis.asyncio GET + loads"] = raw_hit
    try:
        from cashews import Cache as CashewsCache

        cashews = CashewsCache()
        cashews.setup(url, client_side=True)

        @cashews(ttl="10m")
        async def cashews_fn(x: int) -> dict[str, Any]:
            return VALUE

        candidates["cashews client_side hit"] = lambda: cashews_fn(1)
    except ImportError:
        cashews_fn = None

    async def prepare() -> None:
        await raw.set("bn-araw", pickle.dumps(VALUE))
        await near_fn(1)
        await far_fn(1)
        if cashews_fn is not None:
            await cashews_fn(1)

    # The clients live on the harness's loop: prepare there too, by a first candidate call.
    prepared: list[bool] = []

    async def first() -> Any:
        if not prepared:
            await prepare()
            assert near_cache._near is not None
            await asyncio.wrap_future(near_cache._near.tracker.barrier())
            while near_fn.key(1) not in near_cache.near:  # type: ignore[operator]
                await near_fn(1)
                await asyncio.sleep(0.001)
            prepared.append(True)
        return await lru_async(1)

    candidates["lru_cache in a coroutine"] = first
    result = interleave_async(
        candidates, baseline="lru_cache in a coroutine", rounds=rounds, per_round=50
    )
    # cashews' client (closers) belonged to the harness's loop, closed with it.
    near_cache.close()
    far_cache.close()
    out = {f"{name} us": result.medians[name] * 1e6 for name in candidates}
    out["near / lru_cache"] = result.ratios["redmemo near hit"]
    out["Redis hit / near hit"] = (
        result.ratios["redmemo Redis hit"] / result.ratios["redmemo near hit"]
    )
    if "cashews client_side hit" in candidates:
        out["cashews / near hit"] = (
            result.ratios["cashews client_side hit"] / result.ratios["redmemo near hit"]
        )
    return out


# -- 3: invalidation delivery ---------------------------------------------------------------


def holder(url: str, keys: int) -> None:
    """The other process: copy ``keys`` keys, then note when each copy is dropped."""
    cache = redmemo.Cache(url, namespace="bn-deliver", near=True)
    _wait_tracking(cache)
    store = cache.near
    assert store is not None
    dropped: dict[str, float] = {}
    invalidated = store.invalidated

    def noting(names: list[str]) -> None:
        invalidated(names)
        now = time.monotonic()
        for name in names:
            dropped.setdefault(name, now)

    store.invalidated = noting  # type: ignore[method-assign]
    for i in range(keys):
        _keep(lambda i=i: cache.get(f"k{i}"), cache.full_key(f"k{i}"), cache)
    print("ready", flush=True)
    sys.stdin.readline()  # the invalidating process is done
    time.sleep(0.2)
    print(json.dumps(dropped), flush=True)
    cache.close()


def delivery(url: str, keys: int) -> dict[str, float]:
    writer = redmemo.Cache(url, namespace="bn-deliver")
    for i in range(keys):
        writer.set(f"k{i}", i)
    other = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_near", "--holder", url, str(keys)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdin is not None
    assert other.stdout is not None
    assert other.stdout.readline().strip() == "ready"
    called: dict[str, float] = {}
    returned: dict[str, float] = {}
    for i in range(keys):
        key = writer.full_key(f"k{i}")
        called[key] = time.monotonic()
        writer.invalidate(f"k{i}")
        returned[key] = time.monotonic()
        time.sleep(0.002)
    other.stdin.write("done\n")
    other.stdin.flush()
    dropped = json.loads(other.stdout.readline())
    other.wait()
    writer.close()
    # time.monotonic() is one clock for every process of a Linux machine.
    lags = sorted((dropped[key] - at) * 1e6 for key, at in returned.items() if key in dropped)
    from_call = sorted((dropped[key] - at) * 1e6 for key, at in called.items() if key in dropped)
    out = {"not delivered": float(keys - len(lags))}
    for name, values in (
        ("after invalidate() returned", lags),
        ("after invalidate() was called", from_call),
    ):
        out[f"{name}: p50 us"] = statistics.median(values)
        out[f"{name}: p99 us"] = values[int(0.99 * (len(values) - 1))]
        out[f"{name}: max us"] = values[-1]
    return out


# -- 4: Zipf in 4 processes ---------------------------------------------------------------------


def _zipf_keys(count: int, keys: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) for rank in range(keys)]
    return rng.choices(range(keys), weights=weights, k=count)


def worker(kind: str, url: str, seed: int, calls: int) -> None:
    """One of the 4 processes: ``calls`` Zipf reads, 1 % of them writes."""
    sequence = _zipf_keys(calls, 5000, seed)
    rng = random.Random(seed + 1)
    if kind in ("near", "far"):
        cache = redmemo.Cache(
            url,
            namespace="bn-zipf-" + kind,
            near=True if kind == "near" else None,  # 10 000 copies, as cashews keeps
        )
        if kind == "near":
            _wait_tracking(cache)

        @cache(ttl=600, name="item")
        def item(x: int) -> dict[str, Any]:
            return {"x": x, **VALUE}

        for x in sequence:
            if rng.random() < 0.01:
                item.invalidate(x)
            item(x)
        stats = cache.stats()
        print(json.dumps({"near_hits": stats["near_hits"], "calls": calls}), flush=True)
        cache.close()
    elif kind == "cacheconfig":
        client = redis.Redis.from_url(url, protocol=3, cache_config=CacheConfig(max_size=500))
        try:
            client.ping()
        except redis.ConnectionError as exc:
            print(json.dumps({"calls": calls, "refused": str(exc)}), flush=True)
            return
        for x in sequence:
            key = f"bn-zipf-cc:{x}"
            if rng.random() < 0.01:
                client.delete(key)
            raw = client.get(key)
            if raw is None:
                client.set(key, pickle.dumps({"x": x, **VALUE}), ex=600)
            else:
                pickle.loads(raw)  # type: ignore[arg-type]
        print(json.dumps({"calls": calls}), flush=True)
        client.close()
    else:  # cashews
        from cashews import Cache as CashewsCache

        cashews = CashewsCache()
        cashews.setup(url, client_side=True)

        @cashews(ttl="10m", key="item:{x}")
        async def item_async(x: int) -> dict[str, Any]:
            return {"x": x, **VALUE}

        async def run() -> None:
            for x in sequence:
                if rng.random() < 0.01:
                    await cashews.delete(f"item:{x}")
                await item_async(x)
            await cashews.close()

        asyncio.run(run())
        print(json.dumps({"calls": calls}), flush=True)


def zipf(url: str, port: int, calls: int) -> dict[str, dict[str, float]]:
    kinds = ["far", "near", "cacheconfig"]
    try:
        import cashews  # noqa: F401

        kinds.append("cashews")
    except ImportError:
        pass
    out: dict[str, dict[str, float]] = {}
    for kind in kinds:
        reports: list[dict[str, Any]] = []

        def run(kind: str = kind, reports: list[dict[str, Any]] = reports) -> None:
            procs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.bench_near",
                        "--worker",
                        kind,
                        url,
                        str(seed),
                        str(calls),
                    ],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for seed in range(4)
            ]
            reports.extend(json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs)

        # Commands the clients sent (MONITOR), not those Lua scripts ran.
        sent = client_commands(port, run)
        refused = [r["refused"] for r in reports if "refused" in r]
        if refused:
            print(f"  ({kind} not measured: {refused[0]})")
            continue
        total = 4 * calls
        entry: dict[str, float] = {
            "commands per call": sum(sent.values()) / total,
            "GETs per call": sent.get("get", 0) / total,
        }
        if kind == "near":
            entry["near hit ratio"] = sum(r["near_hits"] for r in reports) / total
        out[kind] = entry
    return out


# -- main -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--holder":
        holder(argv[1], int(argv[2]))
        return
    if argv and argv[0] == "--worker":
        worker(argv[1], argv[2], int(argv[3]), int(argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args(argv)
    rounds = 40 if args.quick else 200
    server = start_redis()
    try:
        runs: dict[str, list[dict[str, float]]] = {"sync": [], "async": []}
        for _ in range(args.runs):
            runs["sync"].append(sync_hits(server.url, rounds))
            runs["async"].append(async_hits(server.url, rounds))
        for face, results in runs.items():
            print(f"\n{face} hits ({args.runs} runs: median [min, max])")
            for name in results[0]:
                values = [r[name] for r in results]
                print(
                    f"  {name:<40} {statistics.median(values):10.2f}  [{min(values):.2f}, {max(values):.2f}]"
                )
        print("\ninvalidation delivery to another process (negative: before invalidate() returned)")
        for name, value in delivery(server.url, 100 if args.quick else 500).items():
            print(f"  {name:<45} {value:10.1f}")
        print("\nZipf 1.0 over 5 000 keys, 1 % writes, 4 processes")
        for kind, entry in zipf(server.url, server.port, 2000 if args.quick else 20000).items():
            shown = ", ".join(
                f"{k} {v:.3f}" if v < 10 else f"{k} {v:.0f}" for k, v in entry.items()
            )
            print(f"  {kind:<12} {shown}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
