"""Bounded caches: maxsize and eviction policies, on every backend through both faces
(on a Redis Cluster a bounded function's entries share its group's slot), with the
policies' own semantics checked on a fixed sequence, against a replay on the model, and
under concurrency."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest

import redmemo
from redmemo.core.policies import POLICIES, BoundState, Policy
from tests.support.servers import direct_client

CLUSTERS = ("cluster", "valkey-cluster")
# Insert 0..4, use 3 twice, insert 5 and 6, with maxsize 3 (keys "sq:<n>", so that ties
# are broken in the order of n): who is left, by policy.
SEQUENCE = [0, 1, 2, 3, 4, 3, 3, 5, 6]
SURVIVORS = {
    "lru": {3, 5, 6},
    "lru-t": {3, 5, 6},
    "fifo": {4, 5, 6},
    "mru": {0, 1, 6},
    "lfu": {3, 5, 6},  # by hand: LFU-DA, ties to the smaller key
    "sieve": {3, 5, 6},  # by hand: 0, 1, 2 evicted in turn; 3 spared once (visited), 4 goes
}


def _square(x: int) -> int:
    return x * x


def _bounded(decorate: Callable[..., Any], backend: str, **options: Any) -> Any:
    options.setdefault("ttl", 60)
    options.setdefault("key", "sq:{x}")
    fn = decorate(_square, **options)
    if backend in CLUSTERS:  # every entry in the slot of the group's bookkeeping
        group = fn.wrapped.design.group
        assert group is not None
        assert fn.key(1) == fn.cache.keyspace.grouped(group, "sq:1")
    return fn


def _alive(fn: Any, candidates: range) -> set[int]:
    return {x for x in candidates if fn.cache.exists(fn.key(x))}


@pytest.mark.parametrize("policy", sorted(SURVIVORS))
def test_each_policy_keeps_the_entries_it_says(
    decorate: Callable[..., Any], backend: str, policy: str
) -> None:
    fn = _bounded(decorate, backend, maxsize=3, policy=policy)
    for x in SEQUENCE:
        assert fn(x) == x * x
        if policy == "lru-t":
            time.sleep(0.003)  # its ranks are milliseconds: one per call
    assert _alive(fn, range(7)) == SURVIVORS[policy]
    info = fn.cache_info()
    assert info.maxsize == 3
    assert info.currsize == 3
    assert info.misses == len(SEQUENCE) - info.hits
    fn.cache_clear()
    assert fn.cache_info().currsize == 0
    assert _alive(fn, range(7)) == set()


def test_random_keeps_exactly_maxsize_and_its_seed_repeats_on_memory(
    decorate: Callable[..., Any], backend: str
) -> None:
    fn = _bounded(decorate, backend, maxsize=5, policy="random")
    for x in range(40):
        fn(x)
    survivors = _alive(fn, range(40))
    assert len(survivors) == 5
    assert fn.cache_info().currsize == 5
    if backend == "memory":
        runs = []
        for _ in range(2):
            cache = redmemo.Cache("memory://")
            seeded = cache(ttl=60, key="r:{x}", maxsize=5, policy=Policy("random", seed=7))(_square)
            for x in range(40):
                seeded(x)
            runs.append({x for x in range(40) if cache.exists(seeded.key(x))})
        assert runs[0] == runs[1]


@pytest.mark.redis
def test_random_on_redis_evicts_uniformly(redis_url: str) -> None:
    """Each of the first ten entries of a cache of ten, pushed out by ten more, is still
    there in about a third of runs (the chance under uniform picks is 0.35); no policy
    that favours an end would pass."""
    kept = [0] * 10
    runs = 60
    for run in range(runs):
        cache = redmemo.Cache(redis_url, namespace=f"rnd{run}")
        fn = cache(ttl=60, key="r:{x}", maxsize=10, policy="random")(_square)
        for x in range(20):
            fn(x)
        for x in range(10):
            kept[x] += cache.exists(fn.key(x))
        cache.close()
    share = sum(kept) / (10 * runs)
    assert 0.2 < share < 0.5, kept
    assert min(kept) > 0  # every early position survived sometimes


def test_an_unknown_policy_is_refused_with_the_valid_names(make_cache: Any) -> None:
    cache = make_cache()
    with pytest.raises(redmemo.ConfigurationError, match=r"unknown eviction policy 'lruu'"):
        cache(maxsize=3, policy="lruu")
    with pytest.raises(redmemo.ConfigurationError, match="lru, lru-t, lfu, fifo, mru, random"):
        cache(maxsize=3, policy="arc")
    with pytest.raises(redmemo.ConfigurationError, match="maxsize must be a positive int"):
        cache(maxsize=0)
    with pytest.raises(redmemo.ConfigurationError, match="maxsize must be a positive int"):
        cache(maxsize=True)
    with pytest.raises(redmemo.ConfigurationError, match="policy= needs maxsize="):
        cache(policy="lfu")(_square)
    with pytest.raises(redmemo.ConfigurationError, match="policy= needs maxsize="):
        redmemo.Cache("memory://", policy="lfu")


def test_the_cache_bound_is_shared_and_a_function_may_set_its_own(
    make_cache: Callable[..., redmemo.Cache], backend: str
) -> None:
    cache = make_cache(maxsize=4, policy="fifo")

    @cache(ttl=60, key="a:{x}")
    def a(x: int) -> int:
        return x

    @cache(ttl=60, key="b:{x}")
    def b(x: int) -> int:
        return x

    @cache(ttl=60, key="own:{x}", maxsize=2)
    def own(x: int) -> int:
        return x

    for x in range(3):
        a(x)
        b(x)
        own(x)
    # One bound of 4 over a and b, in the order filled: a0 b0 a1 b1 a2 b2 -> a1 b1 a2 b2.
    assert {x for x in range(3) if cache.exists(a.key(x))} == {1, 2}
    assert {x for x in range(3) if cache.exists(b.key(x))} == {1, 2}
    assert {x for x in range(3) if cache.exists(own.key(x))} == {1, 2}  # its own bound
    assert a.cache_info().currsize == 4  # the shared bound's size
    assert own.cache_info() == redmemo.core.policies.CacheInfo(0, 3, 2, 2)


@pytest.mark.parametrize("policy", ["lru", "fifo", "mru", "lfu", "sieve"])
@pytest.mark.parametrize("hits_sent", ["late", "at once"])
@pytest.mark.redis
def test_redis_and_the_model_agree_on_a_long_random_replay(
    redis_url: str, policy: str, hits_sent: str
) -> None:
    """The differential test: the same calls and invalidations on Redis (the Lua scripts)
    and on memory (the Python policies) leave the same survivors, step by step; with
    hits held back until the next store (the default), and sent with every read."""
    from redmemo.coordination.touches import Touches

    rng = random.Random(policy)
    caches = [redmemo.Cache(redis_url, namespace="diff"), redmemo.Cache("memory://")]
    fns = [c(ttl=600, key="k:{x:03d}", maxsize=12, policy=policy)(_square) for c in caches]
    if hits_sent == "at once":
        for fn in fns:
            fn._touches = Touches(interval=0.0)  # every hit is due: bound_read.lua
    for step in range(400):
        x = int(rng.paretovariate(1.0)) % 60  # a skewed workload: some keys are hot
        if rng.random() < 0.05:
            for fn in fns:
                fn.invalidate(x)
        else:
            for fn in fns:
                fn(x)
        if step % 50 == 49:
            alive = [
                {y for y in range(60) if c.exists(f.key(y))}
                for c, f in zip(caches, fns, strict=True)
            ]
            assert alive[0] == alive[1], f"step {step}"
            assert len(alive[0]) <= 12
    sizes = [fn.cache_info().currsize for fn in fns]
    assert sizes[0] == sizes[1]
    for cache in caches:
        cache.close()


def test_the_model_replays_as_the_policies_say() -> None:
    """BoundState on its own: the sequence above, step by step (what memory runs)."""
    for name, expected in SURVIVORS.items():
        state = BoundState(Policy(name))
        for step, x in enumerate(SEQUENCE):
            key = f"sq:{x}"
            if key in state.ranks:
                state.touch(key, step)
                continue
            while len(state.ranks) >= 3:
                victim = state.victim()
                assert victim is not None
                state.forget(victim)
            state.insert(key, step)
        assert {int(k[3:]) for k in state.ranks} == expected, name
    assert set(POLICIES) == {*SURVIVORS, "random"}


def test_eviction_leaves_nothing_behind(
    decorate: Callable[..., Any], backend: str, make_cache: Callable[..., redmemo.Cache]
) -> None:
    fn = _bounded(decorate, backend, maxsize=2, policy="lru", tags=["t:{x}", "all"])
    for x in range(6):
        fn(x)
    cache = fn.cache
    assert _alive(fn, range(6)) == {4, 5}
    if backend != "memory":  # no member of an evicted entry in any index (other slots too)
        space = cache.keyspace
        with direct_client(cache.settings.url) as client:
            assert [client.zcard(space.tag(f"t:{x}")) for x in range(6)] == [0] * 4 + [1, 1]
            assert client.zcard(space.tag("all")) == 2
            assert client.zcard(fn.wrapped.design.function_index) == 2
    # The evicted entries left their tags' indexes: invalidating a tag of one finds none.
    assert cache.invalidate_tags("t:0", "t:1", "t:2", "t:3") == 0
    assert cache.invalidate_tags("all") == 2
    assert fn.cache_info().currsize == 0  # invalidated entries left the bound too
    if backend != "memory":
        with direct_client(cache.settings.url) as client:
            keys = [k.decode() for k in client.scan_iter(match=cache.keyspace.everything())]
        # What is left of the function: its bound's counters and its function index; no
        # entry, no member, no record.
        space = cache.keyspace
        kinds = sorted(space.kind(k) or "?" for k in keys)
        assert "entry" not in kinds
        rank = fn.wrapped.design.bound.rank
        records = space.bounds_of(rank) if backend in CLUSTERS else space.bounds
        with direct_client(cache.settings.url) as client:
            assert client.zcard(rank) == 0
            assert client.hlen(records) == 0


def test_bounded_entries_keep_two_ages_and_invalidation(
    decorate: Callable[..., Any], backend: str, make_cache: Callable[..., redmemo.Cache]
) -> None:
    from tests.support.functions import Clock

    clock = Clock()
    cache = make_cache(clock=clock)
    calls: list[int] = []

    def body(x: int) -> tuple[int, int]:
        calls.append(x)
        return x, len(calls)

    fn = decorate(body, cache=cache, ttl=60, refresh=10, key="b:{x}", maxsize=2, policy="lru")
    first = fn(1)
    fn(2)
    clock.advance(11)  # stale: served, refreshed behind
    assert fn(1) == first
    assert fn.settle(lambda: len(calls) == 3)
    fn.quiesce()
    assert fn.cache_info().currsize == 2  # the refresh stored again: still one entry each
    fn(3)  # evicts 2 (1 was used since)
    assert {x for x in (1, 2, 3) if cache.exists(fn.key(x))} == {1, 3}
    fn.invalidate(1)
    assert fn.cache_info().currsize == 1
    fn(4)
    fn(5)
    assert fn.cache_info().currsize == 2


@pytest.mark.redis
def test_entries_that_expire_leave_the_bound(redis_url: str) -> None:
    cache = redmemo.Cache(redis_url, namespace="expiring")
    fn = cache(ttl=0.3, key="e:{x}", maxsize=10, policy="fifo")(_square)
    for x in range(4):
        fn(x)
    assert fn.cache_info().currsize == 4
    time.sleep(0.5)
    assert fn.cache_info().currsize == 0  # the dead are not counted
    fn(9)
    with direct_client(redis_url) as client:
        assert client.hlen(cache.keyspace.bounds) == 1
    cache.close()


def test_a_fill_invalidated_while_running_is_not_recorded(
    decorate: Callable[..., Any], backend: str
) -> None:
    holder: list[Any] = []

    def body(x: int) -> int:
        if x == 1 and holder:
            holder[0].cache.invalidate(holder[0].key(1))  # lands while this computation runs
        return x

    fn = decorate(body, ttl=60, key="f:{x}", maxsize=2, policy="fifo")
    holder.append(fn)
    assert fn(1) == 1
    assert fn.cache_info().currsize == 0  # overtaken: neither stored nor recorded
    fn(2)
    fn(3)
    assert fn.cache_info().currsize == 2


_FILLER = """
import sys, threading
import redmemo
url, worker = sys.argv[1], int(sys.argv[2])
cache = redmemo.Cache(url, namespace="crowd")

@cache(ttl=600, key="c:{x}", maxsize=50, policy=sys.argv[3], name="crowd-load")
def load(x):
    return x

def run(thread):
    for i in range(40):
        load(worker * 10_000 + thread * 100 + i)   # distinct keys everywhere
        load(i % 7)                                 # and a few shared ones
threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]
for t in threads: t.start()
for t in threads: t.join()
cache.close()
"""


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.parametrize("policy", ["lru", "sieve"])
def test_four_processes_of_eight_threads_stay_within_the_bound(
    redis_or_cluster_url: str, policy: str
) -> None:
    import subprocess
    import sys

    redis_url = redis_or_cluster_url
    cluster = redis_url.startswith("redis+cluster://")

    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _FILLER, redis_url, str(w), policy],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    cache = redmemo.Cache(redis_url, namespace="crowd")
    space = cache.keyspace
    rank = space.bound("crowd-load")
    with direct_client(redis_url) as client:
        ranks = {m.decode() for m in client.zrange(rank, 0, -1)}
        entries = {
            k.decode()
            for k in client.scan_iter(match=space.everything(), count=1000)
            if space.kind(k.decode()) == "entry"
        }
        records = {
            f.decode() for f in client.hkeys(space.bounds_of(rank) if cluster else space.bounds)
        }
        expiring = {m.decode() for m in client.zrange(rank + ":exp", 0, -1)}
    assert len(ranks) == 50  # full, and never over
    assert entries == ranks  # no entry without bookkeeping, no bookkeeping without entry
    assert records == ranks
    assert expiring == ranks
    cache.close()


def test_batch_hits_count_as_uses(make_cache: Callable[..., redmemo.Cache], backend: str) -> None:
    cache = make_cache()

    def load(ids: list[int]) -> dict[int, int]:
        return {i: i * 10 for i in ids}

    bounded = cache.multi_cached("ids", ttl=60, key="m:{ids}", maxsize=3, policy="lru")
    load = bounded(load)

    load([1, 2, 3])
    load([1])  # 1 used: 2 is now the least recently used
    load([4])
    alive = {i for i in range(1, 5) if cache.exists(load.keys_of([i])[i])}
    assert alive == {1, 3, 4}


def test_user_keys_and_patterns_reach_bounded_entries(
    decorate: Callable[..., Any], backend: str
) -> None:
    """On a Redis Cluster a bounded function's entries are keyed in its group's slot;
    invalidating the user's key or a pattern still reaches them (and leaves the bound)."""
    fn = _bounded(decorate, backend, maxsize=5, policy="fifo")
    for x in range(4):
        fn(x)
    cache = fn.cache
    assert _alive(fn, range(4)) == {0, 1, 2, 3}
    assert cache.invalidate("sq:1") == 1
    assert _alive(fn, range(4)) == {0, 2, 3}
    assert cache.invalidate_pattern("sq:*") == 3
    assert _alive(fn, range(4)) == set()
    assert fn.cache_info().currsize == 0
