"""Under load and under faults: executions and errors with many concurrent callers, and
what a hung Redis costs callers with and without the circuit breaker.

    python -m benchmarks.bench_reliability [--stall SECONDS]

Starts its own redis-server processes on free loopback ports and stops them by PID.
The outage part pauses its own server with SIGSTOP, then resumes it with SIGCONT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import threading
import time
from typing import Any

import redis
import redis.asyncio

import redmemo
from tests.support.servers import start_redis


def crowd_async(url: str, port: int) -> None:
    print("\n1000 concurrent async tasks (default settings)")
    for keys in (1, 1000):
        calls: dict[int, int] = {}

        async def main(keys: int = keys, calls: dict[int, int] = calls) -> dict[str, int]:
            cache = redmemo.Cache(url, namespace=f"crowd{keys}")

            @cache(ttl=60)
            async def load(x: int) -> int:
                calls[x] = calls.get(x, 0) + 1
                await asyncio.sleep(0.01)
                return x

            results = await asyncio.gather(*(load(i % keys) for i in range(1000)))
            assert results == [i % keys for i in range(1000)]
            stats = load.stats()
            await cache.aclose()
            return stats

        stats = asyncio.run(main())
        print(
            f"  {keys:>4} cold key(s): {sum(calls.values())} executions "
            f"({keys} needed), {stats['errors']} errors"
        )

    async def raw() -> int:
        client = redis.asyncio.Redis(host="127.0.0.1", port=port)
        outcomes = await asyncio.gather(
            *(client.get(f"raw:{i}") for i in range(1000)), return_exceptions=True
        )
        await client.aclose()
        return sum(isinstance(o, Exception) for o in outcomes)

    print(f"  for context, raw redis.asyncio, 1000 concurrent GETs: {asyncio.run(raw())} errors")


def crowd_threads(url: str, port: int) -> None:
    print("\n256 threads (default settings)")
    for keys in (1, 256):
        cache = redmemo.Cache(url, namespace=f"threads{keys}")
        calls: dict[int, int] = {}
        lock = threading.Lock()

        def body(x: int, calls: dict[int, int] = calls, lock: Any = lock) -> int:
            with lock:
                calls[x] = calls.get(x, 0) + 1
            time.sleep(0.01)
            return x

        load = cache(ttl=60)(body)
        barrier = threading.Barrier(256)

        def call(i: int, load: Any = load, keys: int = keys, barrier: Any = barrier) -> None:
            barrier.wait()
            load(i % keys)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(256)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(
            f"  {keys:>4} cold key(s): {sum(calls.values())} executions ({keys} needed), "
            f"{load.stats()['errors']} errors"
        )
        cache.close()


def outage(stall: float) -> None:
    print(f"\nRedis paused (SIGSTOP) for {stall:g} s under 8 threads calling a cached function")
    for breaker in (True, False):
        server = start_redis()
        try:
            cache = redmemo.Cache(server.url, namespace="outage", breaker=breaker)
            reached = {"n": 0}
            lock = threading.Lock()

            def body(x: int, reached: dict[str, int] = reached, lock: Any = lock) -> int:
                with lock:
                    reached["n"] += 1
                return x

            load = cache(ttl=600)(body)
            load(1)
            stop = threading.Event()
            answered = {"n": 0}

            def caller(
                load: Any = load,
                stop: Any = stop,
                answered: dict[str, int] = answered,
                lock: Any = lock,
            ) -> None:
                while not stop.is_set():
                    load(1)
                    with lock:
                        answered["n"] += 1

            reached["n"] = 0
            os.kill(server.process.pid, signal.SIGSTOP)
            threads = [threading.Thread(target=caller) for _ in range(8)]
            for t in threads:
                t.start()
            time.sleep(stall)
            stop.set()
            for t in threads:
                t.join()
            hits = load.stats()["hits"]
            os.kill(server.process.pid, signal.SIGCONT)
            resumed = time.monotonic()
            while load.stats()["hits"] == hits:
                load(1)
                time.sleep(0.001)
            back = time.monotonic() - resumed
            print(
                f"  breaker {'on ' if breaker else 'off'}: {answered['n'] / stall:9.0f} answers/s "
                f"({reached['n'] / stall:7.0f}/s computed uncached), "
                f"first hit {back * 1000:6.0f} ms after Redis returned"
            )
            cache.close()
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stall", type=float, default=8.0)
    args = parser.parse_args()
    server = start_redis()
    try:
        url = server.url
        crowd_async(url, server.port)
        crowd_threads(url, server.port)
    finally:
        server.stop()
    outage(args.stall)


if __name__ == "__main__":
    main()
