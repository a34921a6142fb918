"""A process that calls one cold cached function from many threads or tasks at once.

    python -m tests.support.stampede URL NAMESPACE MODE START_AT BODY_SECONDS [LEASE]

MODE is "threads" or "tasks" (8 concurrent callers), "one" (a single caller), or "tagged"
(a single caller of a function whose entries carry the tag "race"). The body
counts its executions in Redis (so they are counted across processes) and sleeps.
Prints one JSON line: results, each caller's latency, and the function's stats.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

import redmemo
from tests.support.servers import direct_client

URL, NAMESPACE, MODE, START_AT, BODY_SECONDS = sys.argv[1:6]
LEASE = float(sys.argv[6]) if len(sys.argv) > 6 else 30.0
counter = direct_client(URL)
cache = redmemo.Cache(URL, namespace=NAMESPACE)


@cache(ttl=60, lease=LEASE)
def cold(x: int) -> dict[str, Any]:
    counter.incr(f"{NAMESPACE}:executions")
    time.sleep(float(BODY_SECONDS))
    return {"x": x, "pid": os.getpid()}


@cache(ttl=60, lease=LEASE)
async def acold(x: int) -> dict[str, Any]:
    counter.incr(f"{NAMESPACE}:executions")
    await asyncio.sleep(float(BODY_SECONDS))
    return {"x": x, "pid": os.getpid()}


@cache(ttl=60, lease=LEASE, tags=["race"])
def tagged(x: int) -> dict[str, Any]:
    counter.incr(f"{NAMESPACE}:executions")
    time.sleep(float(BODY_SECONDS))
    return {"x": x, "pid": os.getpid()}


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def warm_up() -> None:
    """Open the connections a running service would already have open."""
    threads = [threading.Thread(target=cache.exists, args=("warm-up",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    if MODE == "threads":
        warm_up()
    # Everyone starts at the same instant, so the callers really race.
    time.sleep(max(0.0, float(START_AT) - time.time()))
    outcomes: list[tuple[Any, float]] = []
    if MODE == "threads":
        threads = [
            threading.Thread(target=lambda: outcomes.append(timed(lambda: cold(1))))
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = cold.stats()
    elif MODE == "tasks":

        async def one() -> tuple[Any, float]:
            start = time.perf_counter()
            result = await acold(1)
            return result, time.perf_counter() - start

        async def many() -> list[tuple[Any, float]]:
            await asyncio.gather(*(cache.aexists("warm-up") for _ in range(8)))
            await asyncio.sleep(max(0.0, float(START_AT) - time.time()))
            try:
                return list(await asyncio.gather(*(one() for _ in range(8))))
            finally:
                await cache.aclose()

        outcomes = asyncio.run(many())
        stats = acold.stats()
    elif MODE == "tagged":
        outcomes.append(timed(lambda: tagged(1)))
        stats = tagged.stats()
    else:
        outcomes.append(timed(lambda: cold(1)))
        stats = cold.stats()
    cache.close()
    print(
        json.dumps(
            {
                "pid": os.getpid(),
                "results": [r for r, _ in outcomes],
                "latencies": [t for _, t in outcomes],
                "stats": stats,
            }
        )
    )


if __name__ == "__main__":
    main()
