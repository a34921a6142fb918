"""Tags: invalidation cost by tag size, hit latency with tags, and bookkeeping after expiry.

    python -m benchmarks.bench_tags

Starts its own redis-server on a free loopback port and stops it at the end. Entries are
written through the real lease, register and store scripts, pipelined, so that 100 000
of them take seconds rather than the minutes that one decorated call each would.
"""

from __future__ import annotations

import time
from typing import Any

import redis

import redmemo
from benchmarks._harness import commands_during, interleave, report
from redmemo.coordination.leases import PUBLISH_LIMIT, LeaseMode, new_token
from tests.support.servers import start_redis

VALUE = {"id": 7, "name": "Ada Lovelace", "bio": "x" * 200}


def populate(cache: redmemo.Cache, count: int, tags: list[str], ttl_ms: int, prefix: str) -> None:
    """Store ``count`` entries carrying ``tags`` as the decorator does: lease and register
    (before computing), then store; pipelined in batches."""
    backend: Any = cache._runtime.sync_backend()
    space = cache.keyspace
    indexes = [space.tag(tag) for tag in tags]
    data = cache._runtime.codec.encode(VALUE, created=time.time(), expire_after=ttl_ms / 1000)
    batch = 2000
    for start in range(0, count, batch):
        calls: list[Any] = []
        for i in range(start, min(count, start + batch)):
            key = cache.full_key(f"{prefix}:{i}")
            token = new_token()
            calls.append(("lease", backend._triple(key), [token, 30000, LeaseMode.FILL.value]))
            calls += backend._registrations(key, indexes, 30000 + ttl_ms, 0)
            args = [token, data, ttl_ms, space.channel, PUBLISH_LIMIT]
            calls.append(("store", backend._triple(key), args))
        backend._scripts(calls)


def invalidation(cache: redmemo.Cache, client: redis.Redis, port: int) -> None:
    print("\ninvalidate_tags(tag) by the number of entries carrying the tag")
    for count in (10, 1_000, 100_000):
        populate(cache, count, [f"size-{count}"], 600_000, f"e{count}")
        assert client.zcard(cache.keyspace.tag(f"size-{count}")) == count
        elapsed: list[float] = []

        def run(count: int = count, elapsed: list[float] = elapsed) -> None:
            start = time.perf_counter()
            removed = cache.invalidate_tags(f"size-{count}")
            elapsed.append(time.perf_counter() - start)
            assert removed == count, removed

        commands = commands_during(client, run)
        inside = {k: v for k, v in commands.items() if k != "evalsha"}
        print(
            f"  {count:>7} entries: {elapsed[0] * 1000:9.2f} ms, "
            f"{commands.get('evalsha', 0)} scripts (one per hash slot, pipelined); "
            f"inside them: {inside}"
        )


def hit_latency(cache: redmemo.Cache) -> None:
    def plain(user_id: int) -> dict[str, Any]:
        return dict(VALUE, id=user_id)

    def tagged(user_id: int) -> dict[str, Any]:
        return dict(VALUE, id=user_id)

    untagged_fn = cache(ttl=600)(plain)
    tagged_fn = cache(ttl=600, tags=["users", "user:{user_id}", "team:{user_id}"])(tagged)
    untagged_fn(7)
    tagged_fn(7)
    result = interleave(
        {"0 tags": lambda: untagged_fn(7), "3 tags": lambda: tagged_fn(7)}, baseline="0 tags"
    )
    report("hit latency of an entry with 0 vs 3 tags", result)


def expiry(cache: redmemo.Cache, client: redis.Redis) -> None:
    client.flushall()
    baseline = client.info("memory")["used_memory"]
    populate(cache, 100_000, ["all", "half-a", "half-b"], 30_000, "exp")
    loaded = client.info("memory")["used_memory"]
    index = cache.keyspace.tag("all")
    print(
        f"\n100 000 entries with 3 tags each, ttl 30 s: {client.dbsize()} keys, "
        f"{(loaded - baseline) / 1e6:.1f} MB over the empty database; "
        f"the tag 'all' holds {client.zcard(index)} members"
    )
    deadline = time.monotonic() + 120
    while client.dbsize() and time.monotonic() < deadline:
        time.sleep(0.5)
        client.scan(count=10_000)  # nudge lazy expiry along, as traffic would
    left = client.info("memory")["used_memory"]
    print(
        f"after they expired on their own: {client.dbsize()} keys, "
        f"{(left - baseline) / 1e3:+.1f} kB over the empty database"
    )


def main() -> None:
    server = start_redis()
    try:
        url = f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis(host="127.0.0.1", port=server.port)
        cache = redmemo.Cache(url, namespace="tags")
        invalidation(cache, client, server.port)
        hit_latency(cache)
        expiry(cache, client)
        cache.close()
        client.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
