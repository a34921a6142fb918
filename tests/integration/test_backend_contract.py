"""One behaviour contract for every backend: the same operations on memory and on a real
Redis give the same answers, so the two can never drift apart.

Each scenario drives a backend through the protocol (plain operations, leases and
stores, registrations before and after a fill, every kind of invalidation, patterns,
clear) and returns what it observed; the test compares the memory backend's record with
the Redis backend's. The memory backend's Python twins of the Lua scripts are checked
here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from redmemo.backends._sync.protocol import SyncBackend
from redmemo.backends._sync.redis import SyncRedisBackend
from redmemo.backends.memory import MemoryBackend, MemoryStore
from redmemo.coordination.leases import LeaseMode
from redmemo.core.keyspace import Keyspace

pytestmark = pytest.mark.redis

Scenario = Callable[[SyncBackend], list[Any]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def lease_view(lease: Any) -> tuple[Any, ...]:
    # Times differ between the two; what they mean does not.
    return (lease.status.name, lease.entry, lease.left_ms > 0, lease.started_us > 0)


@scenario
def plain_operations(b: SyncBackend) -> list[Any]:
    e = b.keyspace.entry
    seen: list[Any] = [b.get(e("a")), b.exists(e("a"))]
    b.set(e("a"), b"1", None)
    seen += [b.get(e("a")), b.add(e("a"), b"2", None), b.add(e("b"), b"2", 60_000)]
    seen += [b.incr(e("a"), 5), b.incr(e("n"), -3), b.get_many([e("a"), e("zz"), e("b")])]
    b.set_many([(e("c"), b"x"), (e("d"), b"y")], 60_000)
    seen += [b.ttl_ms(e("a")), (b.ttl_ms(e("c")) or 0) > 59_000, b.expire(e("a"), 30_000)]
    seen += [b.expire(e("nope"), 1000), (b.ttl_ms(e("a")) or 0) > 29_000]
    seen += [b.expire(e("a"), None), b.ttl_ms(e("a")), b.delete([e("a"), e("b"), e("q")])]
    seen += [b.exists(e("a")), b.get(e("c"))]
    seen += [b.replace(e("c"), b"x", b"x2", None), b.replace(e("c"), b"x", b"x3", None)]
    seen += [b.get(e("c")), b.replace(e("none"), b"x", b"y", None), b.ttl_ms(e("c"))]
    return seen


@scenario
def leases_and_stores(b: SyncBackend) -> list[Any]:
    k = b.keyspace.entry("job")
    seen = [lease_view(b.lease(k, b"t1", 60_000, LeaseMode.FILL))]
    seen.append(lease_view(b.lease(k, b"t2", 60_000, LeaseMode.FILL)))  # held: a waiter
    seen.append(lease_view(b.lease(k, b"t3", 60_000, LeaseMode.REFRESH)))
    seen.append(b.store_leased(k, b"t2", b"wrong", 60_000))  # not the holder
    seen.append(b.store_leased(k, b"t1", b"v1", 60_000))
    seen.append(b.store_leased(k, b"t1", b"again", 60_000))  # the lease is gone
    seen.append(lease_view(b.lease(k, b"t4", 60_000, LeaseMode.FILL)))  # answers the entry
    seen.append(lease_view(b.lease(k, b"t5", 60_000, LeaseMode.FORCE)))
    seen.append(lease_view(b.lease(k, b"t6", 60_000, LeaseMode.TAKE)))  # pre-empts t5
    seen.append(b.store_leased(k, b"t5", b"v5", None))
    b.release(k, b"t5")  # not the holder: nothing happens
    seen.append(b.store_leased(k, b"t6", b"v6", None))
    seen += [b.get(k), b.ttl_ms(k)]
    first = b.lease(k, b"t7", 60_000, LeaseMode.FORCE)
    again = b.lease(k, b"t7", 60_000, LeaseMode.FORCE)  # sent again: still ours
    seen += [lease_view(again), again.started_us == first.started_us]
    seen += [b.extend(k, b"t7", 120_000), b.extend(k, b"t0", 120_000)]  # ours, not ours
    b.release(k, b"t7")
    seen.append(b.extend(k, b"t7", 120_000))  # given back: nothing to extend
    seen.append(lease_view(b.lease(k, b"t8", 60_000, LeaseMode.FORCE)))  # free again
    return seen


@scenario
def registrations_before_the_fill(b: SyncBackend) -> list[Any]:
    space = b.keyspace
    fills = [space.entry(f"u:{i}") for i in range(4)]
    tag, fn = space.tag("users"), space.index("fn", "mod.load")
    for i, key in enumerate(fills):
        b.lease(key, b"t", 60_000, LeaseMode.FILL, [fn, tag] if i % 2 else [fn], 60_000)
    stored = [b.store_leased(key, b"t", b"v", 60_000) for key in fills[:2]]
    # fills[2:] still run; the tag's invalidation reaches the running fill 3 and entry 1.
    removed = b.invalidate([], [tag])
    late = [b.store_leased(key, b"t", b"v", 60_000) for key in fills[2:]]
    after = [b.get(key) for key in fills]
    return [stored, removed, late, after, b.invalidate([], [fn]), [b.get(k) for k in fills]]


@scenario
def dependencies_after_the_fill(b: SyncBackend) -> list[Any]:
    space = b.keyspace
    source, other = space.entry("source:1"), space.entry("source:2")
    deps = [space.dependents(source)]
    early, late = space.entry("early"), space.entry("late")
    b.invalidate([source])  # before the fill began: no effect on it
    started = b.lease(early, b"t", 60_000, LeaseMode.FILL).started_us
    first = b.store_leased(early, b"t", b"v", 60_000, deps, started)
    started = b.lease(late, b"t", 60_000, LeaseMode.FILL).started_us
    b.invalidate([source])  # while it computes: it must not store; "early" goes too
    second = b.store_leased(late, b"t", b"v", 60_000, deps, started)
    gone = b.get(early)
    started = b.lease(early, b"t", 60_000, LeaseMode.FILL).started_us
    b.store_leased(early, b"t", b"v2", 60_000, deps, started)
    third = b.invalidate([other, source])  # "early" depends on source
    return [first, second, b.get(late), gone, third, b.get(early)]


@scenario
def invalidating_keys(b: SyncBackend) -> list[Any]:
    space = b.keyspace
    keys = [space.entry(f"k{i}") for i in range(5)]
    for key in keys[:3]:
        b.set(key, b"x", None)
    b.lease(keys[3], b"t", 60_000, LeaseMode.FILL)
    removed = b.invalidate(keys)
    return [removed, b.store_leased(keys[3], b"t", b"v", None), [b.get(k) for k in keys]]


@scenario
def patterns(b: SyncBackend) -> list[Any]:
    space = b.keyspace
    names = ["user:1", "user:10", "user:2", "team:1", "user:{x}", "user:50%", "user:a*b"]
    for name in names:
        b.set(space.entry(name), b"x", None)
    b.lease(space.entry("user:running"), b"t", 60_000, LeaseMode.FILL)
    seen = [
        [space.body(k) for k in b.scan(p)]
        for p in ("user:1*", "user:?", "*", "user:{*", "user:*%", "user:a\\*b", "user:[12]")
    ]
    return seen


@scenario
def clearing(b: SyncBackend) -> list[Any]:
    space = b.keyspace
    b.set(space.entry("a"), b"x", None)
    b.lease(space.entry("b"), b"t", 60_000, LeaseMode.FILL, [space.tag("t")], None)
    b.lease(space.entry("c"), b"t", 60_000, LeaseMode.FILL)
    b.store_leased(space.entry("c"), b"t", b"y", None)
    removed = b.clear()
    return [
        removed,
        b.store_leased(space.entry("b"), b"t", b"z", None),
        b.get(space.entry("a")),
        b.scan("*"),
        b.invalidate([], [space.tag("t")]),
    ]


@pytest.fixture
def redis_backend(redis_url: str) -> Iterator[Callable[[], SyncBackend]]:
    made: list[redis.Redis] = []

    def make() -> SyncBackend:
        client = redis.Redis.from_url(redis_url)
        made.append(client)
        return SyncRedisBackend(client, Keyspace("c" + uuid.uuid4().hex[:6]))

    yield make
    for client in made:
        client.close()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_memory_and_redis_agree(name: str, redis_backend: Callable[[], SyncBackend]) -> None:
    memory = MemoryBackend(MemoryStore(), Keyspace("c" + uuid.uuid4().hex[:6]))
    on_memory = SCENARIOS[name](memory)
    on_redis = SCENARIOS[name](redis_backend())
    assert on_memory == on_redis


def test_the_scenarios_observe_what_matters(redis_backend: Callable[[], SyncBackend]) -> None:
    """Guard against scenarios that agree because they observe nothing."""
    seen = SCENARIOS["registrations_before_the_fill"](redis_backend())
    assert seen == [
        [True, True],
        1,  # entry 1 carried the tag (entry 0 did not)
        [True, False],  # fill 2 had no tag; fill 3 lost its lease
        [b"v", None, b"v", None],
        2,
        [None, None, None, None],
    ]
    deps = SCENARIOS["dependencies_after_the_fill"](redis_backend())
    assert deps == [True, False, None, None, 1, None]
