"""Sync hits under threads: redmemo against a raw redis-py client with a pool, and the peers.

    python -m benchmarks.bench_threads [--runs 3] [--seconds 2]

Starts its own redis-server. N threads (1, 8, 32) call a cached function returning a ~1 KB
dict over 1 000 keys (all hits) for a fixed time; calls per second for redmemo (threads
that find a read in flight combine theirs: the default), redmemo with
``?auto_pipeline=false``, a raw redis-py client (one pool shared by the threads, GET +
unpickle), and the sync peers when installed (dogpile.cache, redis-func-cache). Ratio to
the raw client: median of the runs, with the spread.
"""

from __future__ import annotations

import argparse
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

import redmemo
from benchmarks._harness import throughput_table
from benchmarks.bench_peers import body, sync_peers
from tests.support.servers import start_redis

KEYS = 1000
THREADS = (1, 8, 32)
RAW = "raw redis-py pool"


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
        return body(x)

    alone = redmemo.Cache(url + "?auto_pipeline=false", namespace="bt")

    @alone(ttl=600, name="item")
    def item_alone(x: int) -> dict[str, Any]:
        return body(x)

    raw = redis.Redis.from_url(url, max_connections=64)
    candidates: dict[str, Callable[[int], Any]] = {
        RAW: lambda x: pickle.loads(raw.get(f"bt-raw:{x}")),  # type: ignore[arg-type]
        "redmemo": item,
        "redmemo auto_pipeline=false": item_alone,
        **sync_peers(url, int(url.rsplit(":", 1)[1].split("/")[0]), f"bt{time.time_ns()}"),
    }
    for x in range(KEYS):
        raw.set(f"bt-raw:{x}", pickle.dumps(body(x), protocol=pickle.HIGHEST_PROTOCOL))
        for name, call in candidates.items():
            if name != RAW:
                call(x)

    out: dict[tuple[int, str], float] = {}
    for threads in THREADS:
        for name, call in candidates.items():
            out[(threads, name)] = _throughput(call, threads, seconds)
    assert item.stats()["misses"] == KEYS  # every timed call was a hit
    cache.close()
    alone.close()
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
    throughput_table("threads", runs, THREADS, RAW)


if __name__ == "__main__":
    main()
