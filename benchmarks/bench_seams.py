"""What the seams cost: hit latency with and without hooks, commands per hit and per miss
(sent by the client, and run inside Lua), and Redis memory per entry with every piece of
bookkeeping counted.

    python -m benchmarks.bench_seams

Starts its own redis-server on a free loopback port and stops it at the end. It uses only
the public API (plus ``hooks=`` where this version has it), so the same file measures an
older checkout side by side: ``PYTHONPATH=<old checkout>/src python -m benchmarks.bench_seams``.
"""

from __future__ import annotations

import asyncio
import pickle
import random
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio

import redmemo
from benchmarks._harness import Result, client_commands, commands_during, interleave, report
from tests.support.servers import start_redis

VALUE = {"id": 7, "name": "Ada Lovelace", "tags": ["math", "engines"], "bio": "x" * 900}
RAW = "raw redis-py GET + pickle.loads"
ARAW = "raw redis.asyncio GET + pickle.loads"


def noop(event: object) -> None:
    """A hook that does nothing: the cost measured is dispatch itself."""


# Distinct functions: redmemo keys a function by module and qualname.
def plain(user_id: int) -> dict[str, Any]:
    return dict(VALUE, id=user_id)


def tagged(user_id: int) -> dict[str, Any]:
    return dict(VALUE, id=user_id)


def with_dependency(user_id: int) -> dict[str, Any]:
    return dict(VALUE, id=user_id)


def make_cache(url: str, namespace: str, hooks: int) -> redmemo.Cache:
    if hooks == 0:
        return redmemo.Cache(url, namespace=namespace)
    try:
        return redmemo.Cache(url, namespace=namespace, hooks=[noop] * hooks)  # type: ignore[call-arg]
    except TypeError:
        raise SystemExit("this version of redmemo has no hooks") from None


def hit_latency(url: str, port: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    client.set("raw:7", pickle.dumps(VALUE))
    candidates: dict[str, Callable[[], object]] = {RAW: lambda: pickle.loads(client.get("raw:7"))}  # type: ignore[arg-type]
    caches = []
    for hooks in (0, 3):
        try:
            cache = make_cache(url, f"hit{hooks}", hooks)
        except SystemExit:
            continue
        caches.append(cache)
        fn = cache(ttl=600)(lambda user_id: dict(VALUE, id=user_id))
        fn(7)
        candidates[f"redmemo hit, {hooks} hooks added"] = lambda fn=fn: fn(7)
    report("sync hit of a ~1 KB dict", interleave(candidates, baseline=RAW))

    async def run() -> None:
        aclient = redis.asyncio.Redis(host="127.0.0.1", port=port)

        async def raw() -> object:
            return pickle.loads(await aclient.get("raw:7"))  # type: ignore[arg-type]

        acandidates: dict[str, Callable[[], Any]] = {ARAW: raw}
        for hooks, cache in zip((0, 3), caches, strict=False):

            async def body(user_id: int) -> dict[str, Any]:
                return dict(VALUE, id=user_id)

            afn = cache(ttl=600)(body)
            await afn(7)
            acandidates[f"redmemo hit, {hooks} hooks added"] = lambda afn=afn: afn(7)
        # Not interleave_async: it runs a loop of its own, and these clients belong to
        # this one.
        report("async hit of a ~1 KB dict", await _rounds(acandidates))
        await aclient.aclose()
        for cache in caches:
            await cache.aclose()

    asyncio.run(run())
    for cache in caches:
        cache.close()
    client.close()


async def _rounds(candidates: dict[str, Callable[[], Any]], baseline: str = ARAW) -> Result:
    """The rounds of ``interleave_async``, on the running loop."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    order = list(candidates.items())
    for _, fn in order:
        for _ in range(200):
            await fn()
    for _ in range(200):
        random.shuffle(order)
        for name, fn in order:
            start = time.perf_counter()
            for _ in range(50):
                await fn()
            samples[name].append((time.perf_counter() - start) / 50)
    return Result(samples, baseline)


def commands_per_call(url: str, port: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    with redmemo.Cache(url, namespace="cmds") as cache:
        fns = {
            "no tags": cache(ttl=600)(plain),
            "3 tags": cache(ttl=600, tags=["users", "user:{user_id}", "team:{user_id}"])(tagged),
            "1 dependency": cache(ttl=600, depends_on=["owner:{user_id}"])(with_dependency),
        }
        for fn in fns.values():
            fn(0)  # scripts loaded
        print("\ncommands per call (client: sent over the network; lua: run inside scripts)")
        for label, fn in fns.items():
            for kind, arg in (("miss", 1), ("hit", 1)):
                sent = client_commands(port, lambda fn=fn, arg=arg: fn(arg))
                total = commands_during(client, lambda fn=fn, arg=arg: fn(arg + 100))
                inside = {k: v for k, v in total.items() if k not in ("evalsha", "get")}
                if kind == "hit":
                    inside = {}
                print(f"  {label:<13} {kind:<5} client {sent}   lua {inside}")
    client.close()


def memory_per_entry(url: str, port: int, count: int = 2000) -> None:
    """Every key the entries create, against raw SETs of the same pickle under keys of
    the same length (key names weigh as much as a small value)."""
    client = redis.Redis(host="127.0.0.1", port=port)
    client.flushall()
    data = pickle.dumps(VALUE)
    print(f"\nRedis memory per entry ({count} entries, MEMORY USAGE ... SAMPLES 0, all keys)")
    for label, options, fn_body in (
        ("no tags", {}, plain),
        ("3 tags", {"tags": ["users", "user:{user_id}", "team"]}, tagged),
    ):
        namespace = "mem" + label.replace(" ", "")
        with redmemo.Cache(url, namespace=namespace) as cache:
            fn = cache(ttl=600, **options)(fn_body)
            entries = [fn.key(i) for i in range(count)]
            for i in range(count):
                fn(i)
            keys = list(client.scan_iter(match=namespace + ":*", count=1000))
            total = sum(client.memory_usage(k, samples=0) or 0 for k in keys)
            alone = sum(client.memory_usage(k, samples=0) or 0 for k in entries)
            envelope = len(client.get(entries[0]) or b"") - len(data)
        for key in entries:
            client.set(key[:-1] + "~", data)  # same length, not an entry of the namespace
        raw = sum(client.memory_usage(k[:-1] + "~", samples=0) or 0 for k in entries)
        print(
            f"  {label:<8} raw SET {raw / count:8.1f} B; redmemo {total / count:8.1f} B "
            f"({len(keys)} keys): {(total - raw) / count:+7.1f} B per entry; "
            f"the entry key alone {(alone - raw) / count:+6.1f} B "
            f"(its envelope: {envelope:+d} B of value)"
        )
    client.close()


def main() -> None:
    server = start_redis()
    try:
        url = f"redis://127.0.0.1:{server.port}/0"
        print(f"redmemo from {redmemo.__file__}")
        hit_latency(url, server.port)
        commands_per_call(url, server.port)
        memory_per_entry(url, server.port)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
