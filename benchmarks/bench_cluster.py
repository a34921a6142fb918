"""redmemo on a local Redis Cluster (3 masters, 3 replicas): hit latency against a raw
``RedisCluster`` GET + unpickle, commands per hit and per miss (summed over every node),
tag invalidation of entries spread over all slots, and memory per entry.

    python -m benchmarks.bench_cluster [--large]

Starts its own cluster on free loopback ports and stops it at the end. ``--large`` adds a
tag invalidation of 100 000 entries (filling them takes a minute or two).
"""

from __future__ import annotations

import asyncio
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio.cluster

import redmemo
from benchmarks._harness import Result, interleave, report
from benchmarks.bench_seams import VALUE, _rounds
from tests.support.cluster import LocalCluster, start_cluster
from tests.support.spawn import collect, spawn

RAW = "raw RedisCluster GET + pickle.loads"
ARAW = "raw asyncio RedisCluster GET + pickle.loads"


def hit_latency(cluster: LocalCluster) -> None:
    client = cluster.cluster_client()
    client.set("raw:7", pickle.dumps(VALUE))
    cache = redmemo.Cache(cluster.url, namespace="hit")
    fn = cache(ttl=600, name="hit")(lambda user_id: dict(VALUE, id=user_id))
    fn(7)
    candidates: dict[str, Callable[[], object]] = {
        RAW: lambda: pickle.loads(client.get("raw:7")),  # type: ignore[arg-type]
        "redmemo hit": lambda: fn(7),
    }
    report("sync hit of a ~1 KB dict, on a cluster", interleave(candidates, baseline=RAW))

    async def run() -> None:
        seed = cluster.servers[0]
        aclient = redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=seed.port)

        async def raw() -> object:
            return pickle.loads(await aclient.get("raw:7"))  # type: ignore[arg-type]

        async def body(user_id: int) -> dict[str, Any]:
            return dict(VALUE, id=user_id)

        afn = cache(ttl=600, name="ahit")(body)
        await afn(7)
        result: Result = await _rounds({ARAW: raw, "redmemo hit": lambda: afn(7)}, ARAW)
        report("async hit of a ~1 KB dict, on a cluster", result)
        await aclient.aclose()
        await cache.aclose()

    asyncio.run(run())
    cache.close()
    client.close()


def _commands(cluster: LocalCluster, action: Callable[[], object]) -> dict[str, int]:
    """Commands processed by all primaries while ``action`` ran (INFO's own excluded)."""

    def snapshot() -> dict[str, int]:
        counts: dict[str, int] = {}
        for server in cluster.alive():
            with cluster.client(server.port) as client:
                if client.execute_command("ROLE")[0] not in (b"master", "master"):
                    continue
                for name, value in client.info("commandstats").items():
                    key = name.removeprefix("cmdstat_")
                    counts[key] = counts.get(key, 0) + int(value["calls"])
        return counts

    before = snapshot()
    action()
    after = snapshot()
    counts = {name: after[name] - before.get(name, 0) for name in after}
    return {n: c for n, c in counts.items() if c > 0 and n not in ("info", "role")}


def commands_per_call(cluster: LocalCluster) -> None:
    print("\ncommands per call, summed over the primaries (script bodies included)")
    with redmemo.Cache(cluster.url, namespace="count") as cache:
        for label, options in (("no tags", {}), ("3 tags", {"tags": ["a", "b:{user_id}", "c"]})):
            fn = cache(ttl=600, name=label.replace(" ", ""), **options)(
                lambda user_id: dict(VALUE, id=user_id)
            )
            fn(0)  # scripts loaded
            print(f"  {label:<8} miss {_commands(cluster, lambda fn=fn: fn(1))}")
            print(f"  {label:<8} hit  {_commands(cluster, lambda fn=fn: fn(1))}")


def tag_invalidation(cluster: LocalCluster, sizes: tuple[int, ...]) -> None:
    print("\ntag invalidation of entries spread over every slot")
    for size in sizes:
        with redmemo.Cache(cluster.url, namespace=f"tags{size}") as cache:

            @cache(ttl=3600, name="tagged", tags=["all"])
            async def tagged(i: int) -> int:
                return i

            async def fill(size: int = size) -> None:
                for start in range(0, size, 500):
                    await asyncio.gather(*(tagged(i) for i in range(start, min(size, start + 500))))
                await cache.aclose()

            asyncio.run(fill())
            began = time.perf_counter()
            counts: dict[str, int] = {}
            removed = 0

            def run() -> None:
                nonlocal removed
                removed = cache.invalidate_tags("all")

            counts = _commands(cluster, run)
            took = time.perf_counter() - began
            print(
                f"  {size:>7} entries: removed {removed}, {took:.3f} s (with the INFO "
                f"snapshots), commands {counts}"
            )


def stampede(cluster: LocalCluster, mode: str) -> None:
    """4 processes x 8 callers on one cold key, through the cluster."""
    namespace = f"stampede-{mode}-{time.time_ns()}"
    body_seconds = 0.5
    start_at = time.time() + 3.0
    processes = [spawn(cluster.url, namespace, mode, start_at, body_seconds) for _ in range(4)]
    reports = [collect(p) for p in processes]
    with cluster.cluster_client() as client:
        executions = int(client.get(f"{namespace}:executions") or 0)
    latencies = [t for r in reports for t in r["latencies"]]
    print(
        f"\ncold stampede on the cluster, 4 processes x 8 {mode}: {executions} execution(s) "
        f"for {len(latencies)} callers; slowest caller {max(latencies) * 1000:.1f} ms = body "
        f"{body_seconds * 1000:.0f} ms + {(max(latencies) - body_seconds) * 1000:.1f} ms; "
        f"median {statistics.median(latencies) * 1000:.1f} ms"
    )


def memory_per_entry(cluster: LocalCluster, count: int = 2000) -> None:
    data = pickle.dumps(VALUE)
    client = cluster.cluster_client()
    with redmemo.Cache(cluster.url, namespace="mem") as cache:
        fn = cache(ttl=600, name="mem")(lambda user_id: dict(VALUE, id=user_id))
        keys = [fn.key(i) for i in range(count)]
        for i in range(count):
            fn(i)
        ours = list(client.scan_iter(match="mem:*", count=1000))
        total = sum(client.memory_usage(k, samples=0) or 0 for k in ours)
    for key in keys:
        client.set(key[:-1] + "~", data)
    raw = sum(client.memory_usage(k[:-1] + "~", samples=0) or 0 for k in keys)
    print(
        f"\nmemory per entry on the cluster ({count} entries, every key counted): raw SET "
        f"{raw / count:.1f} B, redmemo {total / count:.1f} B ({len(ours)} keys): "
        f"{(total - raw) / count:+.1f} B per entry"
    )
    client.close()


def main() -> None:
    cluster = start_cluster()
    try:
        print(f"redmemo from {redmemo.__file__}; cluster {cluster.url}")
        hit_latency(cluster)
        commands_per_call(cluster)
        stampede(cluster, "threads")
        stampede(cluster, "tasks")
        sizes = (10, 1000, 10_000, 100_000) if "--large" in sys.argv else (10, 1000, 10_000)
        tag_invalidation(cluster, sizes)
        memory_per_entry(cluster)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
