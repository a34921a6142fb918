"""The memory backend's own rules: expiry on a controllable clock, LRU bound, sweeping,
and bookkeeping that a bound never evicts."""

from __future__ import annotations

import pytest

from redmemo.backends.memory import MemoryBackend, MemoryStore
from redmemo.coordination.leases import LeaseMode, LeaseStatus
from redmemo.core.keyspace import Keyspace
from redmemo.errors import NotACounterError

SPACE = Keyspace("t")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def backend(clock: Clock, maxsize: int | None = None) -> MemoryBackend:
    return MemoryBackend(MemoryStore(maxsize, clock), SPACE)


def test_expiry_follows_the_clock(clock: Clock) -> None:
    store = backend(clock)
    store.set("k", b"v", 1500)
    clock.now += 1.4
    assert store.get("k") == b"v"
    assert store.ttl_ms("k") == 100
    clock.now += 0.2
    assert store.get("k") is None
    assert store.add("k", b"new", None) is True


def test_lru_bound_evicts_the_least_recently_used(clock: Clock) -> None:
    store = backend(clock, maxsize=3)
    for key in "abc":
        store.set(key, key.encode(), None)
    assert store.get("a") == b"a"  # a is now the most recent
    store.set("d", b"d", None)
    assert store.get("b") is None
    assert [store.get(k) for k in "acd"] == [b"a", b"c", b"d"]
    assert len(store.store) == 3


def test_the_bound_never_evicts_bookkeeping(clock: Clock) -> None:
    store = backend(clock, maxsize=2)
    entry = SPACE.entry("slow")
    lease = store.lease(entry, b"tok", 60_000, LeaseMode.FILL, [SPACE.tag("t")], 60_000)
    assert lease.status is LeaseStatus.ACQUIRED
    for i in range(50):  # far more entries than the bound
        store.set(SPACE.entry(f"k{i}"), b"x", None)
    # The lease, the registration and the marker survived: the tag's invalidation still
    # reaches the fill, which then cannot store.
    assert store.invalidate([], [SPACE.tag("t")]) == 0
    assert store.store_leased(entry, b"tok", b"v", 60_000) is False


def test_expired_keys_nobody_reads_are_swept_by_writes(clock: Clock) -> None:
    store = backend(clock)
    for i in range(1000):
        store.set(f"old{i}", b"x", 10)
    clock.now += 1
    store.set("fresh", b"y", None)
    assert len(store.store.data) == 1


def test_dead_leases_are_swept(clock: Clock) -> None:
    store = backend(clock)
    for i in range(1000):
        store.lease(SPACE.entry(f"e{i}"), b"tok", 10, LeaseMode.FILL)
    clock.now += 1
    for i in range(1100):
        store.lease(SPACE.entry(f"new{i}"), b"tok", 10_000, LeaseMode.FILL)
    # Swept whenever the bookkeeping doubles: the 1000 dead leases are gone.
    assert len(store.store.leases) < 1500


def test_overwrites_do_not_grow_the_expiry_heap_without_bound(clock: Clock) -> None:
    store = backend(clock)
    for _ in range(10_000):
        store.set("same", b"x", 60_000)
    assert len(store.store._expiries) <= 130


def test_incr_rules(clock: Clock) -> None:
    store = backend(clock)
    assert store.incr("n", 5) == 5
    store.set("s", b"\xc5text", None)
    with pytest.raises(NotACounterError):
        store.incr("s", 1)
    store.set("big", str(2**63 - 1).encode(), None)
    with pytest.raises(NotACounterError, match="overflow"):
        store.incr("big", 1)


def test_raw_emulates_a_few_commands(clock: Clock) -> None:
    store = backend(clock)
    store.raw("SET", "k", "1")
    assert store.raw("GET", "k") == b"1"
    assert store.raw("TTL", "k") == -1
    assert store.raw("PTTL", "nope") == -2
    assert store.raw("KEYS", "*") == [b"k"]
    assert store.raw("DBSIZE") == 1
    with pytest.raises(NotImplementedError, match="HSET"):
        store.raw("HSET", "h", "f", "v")
