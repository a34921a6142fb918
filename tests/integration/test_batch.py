"""Batch caching: @cache.multi_cached, id by id, on every backend and face."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import redmemo
from redmemo.events import CommandTiming


def _batch(cache: redmemo.Cache, mode: str, calls: list[list[int]], **options: Any) -> Any:
    options.setdefault("ttl", 60)
    if mode == "sync":

        @cache.multi_cached("ids", **options)
        def load(ids: list[int], lang: str = "en") -> dict[int, str]:
            calls.append(sorted(ids))
            return {i: f"{i}-{lang}" for i in ids if i >= 0}

        return load

    @cache.multi_cached("ids", **options)
    async def aload(ids: list[int], lang: str = "en") -> dict[int, str]:
        calls.append(sorted(ids))
        return {i: f"{i}-{lang}" for i in ids if i >= 0}

    return aload


def _call(face: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    if face.mode == "sync":
        return fn(*args, **kwargs)
    return face.loop.run_until_complete(fn(*args, **kwargs))


def test_partial_hits_compute_only_the_missing_ids_in_one_call(face: Any) -> None:
    store = face()
    calls: list[list[int]] = []
    load = _batch(store.cache, store.mode, calls)
    assert _call(store, load, [3, 1, 2]) == {3: "3-en", 1: "1-en", 2: "2-en"}
    assert list(_call(store, load, [4, 2, 3, 5])) == [4, 2, 3, 5]  # the caller's order
    assert calls == [[1, 2, 3], [4, 5]]
    assert _call(store, load, (5, 4, 5)) == {5: "5-en", 4: "4-en"}
    assert calls == [[1, 2, 3], [4, 5]]
    assert _call(store, load, [1], lang="fr") == {1: "1-fr"}  # other arguments, other keys
    assert calls[-1] == [1]
    stats = load.stats()
    assert stats["hits"] == 4 and stats["fills"] == 6 and stats["misses"] == 6  # noqa: PT018
    # Ids the function does not return are left out, and not cached.
    assert _call(store, load, [-1, 1]) == {1: "1-en"}
    assert _call(store, load, [-1]) == {}
    assert calls[-2:] == [[-1], [-1]]


def test_each_id_is_an_entry_of_its_own_with_its_tags(face: Any) -> None:
    store = face()
    calls: list[list[int]] = []
    load = _batch(store.cache, store.mode, calls, key="user:{ids}", tags=["user:{ids}", "all"])
    _call(store, load, [1, 2, 3])
    assert store.get("user:2") == "2-en"  # the key template sees one id
    assert store.invalidate_tags("user:2") == 1
    assert _call(store, load, [1, 2, 3]) == {1: "1-en", 2: "2-en", 3: "3-en"}
    assert calls == [[1, 2, 3], [2]]
    assert store.invalidate_tags("all") == 3
    _call(store, load, [3])
    assert calls[-1] == [3]


def test_round_trips_one_for_a_full_hit_three_for_a_partial_one(face: Any) -> None:
    store = face()
    operations: list[str] = []

    class Timings:
        wants_timings = True
        wants_events = (CommandTiming,)

        def __call__(self, event: Any) -> None:
            operations.append(event.operation)

    store.cache.add_hook(Timings())
    load = _batch(store.cache, store.mode, [])
    _call(store, load, [1, 2])
    operations.clear()
    _call(store, load, [1, 2])
    assert operations == ["get_many"]
    operations.clear()
    _call(store, load, [1, 2, 3, 4])
    assert operations == ["get_many", "lease_many", "store_many"]


def test_stale_ids_are_served_and_refreshed_behind(make_cache: Any) -> None:
    clock = [1000.0]
    cache = make_cache(clock=lambda: clock[0])
    calls: list[list[int]] = []

    @cache.multi_cached("ids", ttl=60, refresh=10)
    def load(ids: list[int]) -> dict[int, tuple[int, float]]:
        calls.append(sorted(ids))
        return {i: (i, clock[0]) for i in ids}

    assert load([1, 2]) == {1: (1, 1000.0), 2: (2, 1000.0)}
    clock[0] += 20  # stale, not expired
    assert load([1, 2, 3]) == {1: (1, 1000.0), 2: (2, 1000.0), 3: (3, 1020.0)}
    deadline = time.monotonic() + 10
    while load([1])[1][1] != 1020.0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert load([1, 2]) == {1: (1, 1020.0), 2: (2, 1020.0)}
    assert [1, 2] in calls[1:]  # one call refreshed both


def test_an_id_another_caller_computes_is_waited_for(make_cache: Any) -> None:
    cache = make_cache()
    started, release = threading.Event(), threading.Event()
    computed: list[int] = []

    @cache.multi_cached("ids", ttl=60, lease=30)
    def load(ids: list[int]) -> dict[int, int]:
        computed.extend(ids)
        if 1 in ids:
            started.set()
            release.wait(10)
        return {i: i * 10 for i in ids}

    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(load([1])))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: results.append(load([1, 2])))
    second.start()
    time.sleep(0.2)
    release.set()
    first.join(10)
    second.join(10)
    assert sorted(computed) == [1, 2]  # 1 computed once, by the first caller
    assert {1: 10, 2: 20} in results


def test_mistakes_are_named(make_cache: Any) -> None:
    cache = make_cache()
    with pytest.raises(redmemo.ConfigurationError, match="no parameter 'ids'"):

        @cache.multi_cached("ids")
        def wrong(keys: list[int]) -> dict[int, int]:
            return {}

    with pytest.raises(redmemo.ConfigurationError, match="does not take depends_on"):
        cache.multi_cached("ids", depends_on=["x"])

    @cache.multi_cached("ids", ttl=60)
    def listed(ids: list[int]) -> list[int]:
        return list(ids)

    with pytest.raises(TypeError, match="must return a mapping"):
        listed([1])
    with pytest.raises(TypeError, match="must be a collection of ids"):
        listed("12")
