"""One process of the near cache's coherence test (tests/integration/test_near.py).

    python -m tests.support.near_coherence writer URL NAMESPACE WRITES
    python -m tests.support.near_coherence reader URL NAMESPACE WRITES

The writer sets the entry ``k`` to 1, 2, ... WRITES (every fifth by deleting it first),
and after each write returned, publishes the number in a key outside the namespace.
A reader, with a near cache, reads the published number and then ``k``, over and over
until the last write: a read that gives less than a number it has already seen
published is stale, by the time since it first saw a larger number. It prints one JSON
line: reads, stale reads, the longest staleness, its near hits.
"""

from __future__ import annotations

import json
import sys
import time

import redmemo


def published_key(namespace: str) -> str:
    return f"{namespace}-published"


def writer(url: str, namespace: str, writes: int) -> dict[str, float]:
    cache = redmemo.Cache(url, namespace=namespace)
    try:
        for value in range(1, writes + 1):
            if value % 5 == 0:
                cache.delete("k")
            cache.set("k", value)
            cache.raw("SET", published_key(namespace), value)
            time.sleep(0.004)  # readers get copies to serve between writes
    finally:
        cache.close()
    return {"writes": writes}


def reader(url: str, namespace: str, writes: int) -> dict[str, float]:
    cache = redmemo.Cache(url, namespace=namespace, near=True)
    assert cache.near is not None
    cache.get("k")
    if not cache.near.connected.wait(10):
        raise SystemExit("tracking did not start")
    print("ready", flush=True)
    first_seen: dict[int, float] = {}  # published number -> when first seen here
    reads = stale = 0
    longest = 0.0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = time.monotonic()
        raw = cache.raw("GET", published_key(namespace))
        published = int(raw) if raw is not None else 0
        first_seen.setdefault(published, now)
        value = cache.get("k")
        reads += 1
        if value is not None and value < published:
            stale += 1
            since = min(at for seen, at in first_seen.items() if seen > value)
            longest = max(longest, time.monotonic() - since)
        if published >= writes:
            break
    counts = cache.stats()
    cache.close()
    return {"reads": reads, "stale": stale, "longest": longest, "near_hits": counts["near_hits"]}


if __name__ == "__main__":
    role, url, namespace, writes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    report = (writer if role == "writer" else reader)(url, namespace, writes)
    print(json.dumps(report), flush=True)
