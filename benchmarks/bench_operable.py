"""What observing a cache costs, and whether the command line streams.

    python -m benchmarks.bench_operable [--entries N]

1. A decorated hit with no plugin, with the two built-in plugins, with the Prometheus
   hook, with the OpenTelemetry hook (SDK providers, in-memory reader and exporter),
   interleaved against a raw redis-py GET + pickle.loads.
2. ``redmemo keys --json`` over N entries (default 1 000 000): wall time and the command's
   peak memory (it must stream, not load everything).

Starts its own redis-server on a free loopback port and stops it at the end.
"""

from __future__ import annotations

import os
import pickle
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import redis

import redmemo
from benchmarks._harness import interleave, report
from redmemo.plugins import HitMissRatioPlugin, TimingPlugin
from tests.support.servers import start_redis

VALUE = {"id": 7, "name": "Ada Lovelace", "tags": ["math", "engines"], "bio": "x" * 900}
RAW = "raw redis-py GET + pickle.loads"


def _observers() -> dict[str, dict[str, Any]]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client import CollectorRegistry

    from redmemo.contrib.opentelemetry import OpenTelemetryHook
    from redmemo.contrib.prometheus import PrometheusHook

    otel = OpenTelemetryHook(
        tracer_provider=TracerProvider(),
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
    )
    return {
        "no plugin, no hook": {},
        "HitMissRatio + Timing plugins": {"plugins": [HitMissRatioPlugin(), TimingPlugin()]},
        "PrometheusHook": {"hooks": [PrometheusHook(registry=CollectorRegistry())]},
        "OpenTelemetryHook": {"hooks": [otel]},
    }


def hit_latency(url: str, port: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    client.set("raw:7", pickle.dumps(VALUE))
    candidates: dict[str, Callable[[], object]] = {
        RAW: lambda: pickle.loads(client.get("raw:7"))  # type: ignore[arg-type]
    }
    caches = []
    for i, (label, options) in enumerate(_observers().items()):
        cache = redmemo.Cache(url, namespace=f"obs{i}", **options)
        caches.append(cache)
        fn = cache(ttl=600, name="hit")(lambda user_id: dict(VALUE, id=user_id))
        fn(7)
        candidates[label] = lambda fn=fn: fn(7)
    report("sync decorated hit of a ~1 KB dict", interleave(candidates, baseline=RAW))
    for cache in caches:
        cache.close()
    client.close()


def added_cost() -> None:
    """What each observer adds to one hit, on the memory backend (no network noise):
    the best of many interleaved rounds."""
    import random
    import timeit

    functions = {}
    for i, (label, options) in enumerate(_observers().items()):
        cache = redmemo.Cache("memory://", namespace=f"cost{i}", **options)
        fn = cache(ttl=600, name="cost")(lambda x: x)
        fn(1)
        functions[label] = fn
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(15):
        order = list(functions)
        random.shuffle(order)
        for label in order:
            fn = functions[label]
            best[label] = min(best[label], timeit.timeit(lambda fn=fn: fn(1), number=5000) / 5000)
    base = best["no plugin, no hook"]
    print("\nadded cost per hit, memory backend (best of 15 interleaved rounds of 5 000)")
    for label, seconds in best.items():
        print(f"  {label:<32} {seconds * 1e6:6.2f} us  (+{(seconds - base) * 1e6:.2f} us)")


def keys_at_scale(url: str, port: int, entries: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    with redmemo.Cache(url, namespace="big") as cache:
        fn = cache(ttl=3600, name="big")(lambda i: {"i": i})
        fn(0)
        sample = client.get(fn.key(0))
        assert sample is not None
        started = time.perf_counter()
        prefix = cache.keyspace.prefix
        with client.pipeline(transaction=False) as pipe:
            for i in range(entries):
                pipe.set(f"{prefix}{{big:{i:032x}}}", sample, ex=3600)
                if i % 10_000 == 9_999:
                    pipe.execute()
            pipe.execute()
        print(f"\nwrote {entries} entries in {time.perf_counter() - started:.1f}s")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        done = subprocess.run(
            [sys.executable, "-m", "redmemo", "--url", url, "--namespace", "big", "keys", "--json"],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    print(
        f"redmemo keys --json over {entries} entries: {took:.1f}s "
        f"({entries / took:,.0f} entries/s), peak memory of the command {peak / 1024:.0f} MiB"
        + ("" if peak > before else " (at most that of an earlier child)")
    )
    client.close()


def main() -> None:
    entries = 1_000_000
    if "--entries" in sys.argv:
        entries = int(sys.argv[sys.argv.index("--entries") + 1])
    server = start_redis()
    try:
        url = f"redis://127.0.0.1:{server.port}/0"
        print(f"redmemo from {redmemo.__file__}")
        hit_latency(url, server.port)
        added_cost()
        keys_at_scale(url, server.port, entries)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
