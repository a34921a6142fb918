"""Sync hits under threads: redmemo against a raw redis-py client with a pool.

    python -m benchmarks.bench_threads [--runs 3] [--seconds 2]

Starts its own redis-server. N threads (1, 8, 32) call a cached function over 1 000 keys
(all hits) for a fixed time; calls per second for redmemo and for a raw redis-py client
(one pool shared by the threads, GET + unpickle). Ratio to the raw client: median of the
runs, with the spread.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

import redmemo
from tests.support.servers import start_redis

VALUE = {"id": 1, "name": "x" * 40, "tags": list(range(20))}
KEYS = 1000


def _throughput(call: Callable[[int], Any], threads: int, seconds: float) -> float:
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    stop_at: list[float] = []

    def worker(n: int) -> None:
        start.wait()
        i, done = n * 13, 0
        deadline = stop_at[0]
        while time.perf_counter() < deadline:
            call(i % KEYS)
            i += 7
            done += 1
        counts[n] = done

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    stop_at.append(time.perf_counter() + seconds)
    start.wait()
    for t in pool:
        t.join()
    return sum(counts) / seconds


def run(url: str, seconds: float) -> dict[tuple[int, str], float]:
    cache = redmemo.Cache(url, namespace="bt")
    cache.clear()  # each run fills afresh: every timed call is then a hit

    @cache(ttl=600, name="item")
    def item(x: int) -> dict[str, Any]:
        return VALUE

    raw = redis.Redis.from_url(url, max_connections=64)
    for x in range(KEYS):
        item(x)
        raw.set(f"bt-raw:{x}", pickle.dumps(VALUE))

    def raw_hit(x: int) -> Any:
        return pickle.loads(raw.get(f"bt-raw:{x}"))  # type: ignore[arg-type]

    out: dict[tuple[int, str], float] = {}
    for threads in (1, 8, 32):
        out[(threads, "raw redis-py pool")] = _throughput(raw_hit, threads, seconds)
        out[(threads, "redmemo")] = _throughput(item, threads, seconds)
    assert item.stats()["misses"] == KEYS  # every timed call was a hit
    cache.close()
    raw.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    server = start_redis()
    try:
        runs = [run(server.url, args.seconds) for _ in range(args.runs)]
    finally:
        server.stop()
    print(f"calls per second, median of {args.runs} runs [min, max]; ratio to the raw client")
    for threads in (1, 8, 32):
        print(f"\n{threads} threads")
        for name in ("raw redis-py pool", "redmemo"):
            values = [r[(threads, name)] for r in runs]
            ratios = [r[(threads, name)] / r[(threads, "raw redis-py pool")] for r in runs]
            print(
                f"  {name:<20} {statistics.median(values):9.0f}/s [{min(values):.0f}, {max(values):.0f}]"
                f"  {statistics.median(ratios):5.2f}x [{min(ratios):.2f}, {max(ratios):.2f}]"
            )


if __name__ == "__main__":
    main()
